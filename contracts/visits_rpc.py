"""The visits RPC surface: what each command and query takes and answers (marshmallow; the
service validates with these, the gateway documents its routes with them)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from contracts.fields import AcceptedDate, DivisionCode, PageOffset, PeriodField
from contracts.visits import FindingsSchema, RiskSchema, SERVICE_KINDS, VISIT_MODES, VISITOR_ROLES

_id = dict(required=True, validate=validate.Length(min=1, max=64))


class RegisterVisitorSchema(Schema):
    visitor_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    phone = fields.String(required=True, validate=validate.Regexp(r"^[0-9+\- ]{3,32}$"))
    role = fields.String(required=True, validate=validate.OneOf(VISITOR_ROLES))
    organisation = fields.String(required=True, validate=validate.Length(min=1, max=128))
    village_codes = fields.List(DivisionCode(), required=True, validate=validate.Length(min=1))
    effective_date = AcceptedDate(load_default=None)


class ChangeVisitorVillagesSchema(Schema):
    visitor_id = fields.String(**_id)
    village_codes = fields.List(DivisionCode(), required=True, validate=validate.Length(min=1))
    effective_date = AcceptedDate(load_default=None)


class DeactivateVisitorSchema(Schema):
    visitor_id = fields.String(**_id)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    effective_date = AcceptedDate(load_default=None)


class AssignVisitorSchema(Schema):
    elder_id = fields.String(**_id)
    visitor_id = fields.String(**_id)
    effective_date = AcceptedDate(load_default=None)


class RecordVisitSchema(Schema):
    elder_id = fields.String(**_id)
    visit_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    visitor_id = fields.String(**_id)
    mode = fields.String(required=True, validate=validate.OneOf(VISIT_MODES))
    visited_on = AcceptedDate(required=True)
    services = fields.List(fields.String(validate=validate.OneOf(SERVICE_KINDS)), required=True,
                           validate=validate.Length(min=1))
    findings = fields.Nested(FindingsSchema, load_default=dict)
    risks = fields.List(fields.Nested(RiskSchema), load_default=list)
    supersedes = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    correction_reason = fields.String(load_default=None, validate=validate.Length(min=1, max=500))


class CoverageQuerySchema(Schema):
    division_code = DivisionCode(required=True)
    period = PeriodField(required=True)
    # "What did we believe then?": only period events recorded by this UTC time count.
    known_at = fields.AwareDateTime(load_default=None)


class OverdueQuerySchema(Schema):
    division_code = DivisionCode(required=True)
    period = PeriodField(load_default=None)
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))


class DivisionQuerySchema(Schema):
    division_code = DivisionCode(required=True)
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))
    offset = PageOffset()

    @validates("division_code")
    def _not_national(self, value, **_kwargs):
        if value == "0" * 12:
            raise ValidationError("name a province, city, county, township or village")


# -- what the visits RPCs answer with (views.py and the read models build the dicts; these
# describe them for the gateway's OpenAPI document) --------------------------------------

class VisitorView(Schema):
    """``visitor_view``: what a visitor command answers."""

    visitor_id = fields.String()
    name = fields.String()
    phone = fields.String()
    role = fields.String(validate=validate.OneOf(VISITOR_ROLES))
    organisation = fields.String()
    village_codes = fields.List(fields.String())
    active = fields.Boolean()
    version = fields.Integer()


class VisitorListItemView(VisitorView):
    """One row of ``list_visitors``: the ``visitors`` read model, its villages as a list."""


class NoticeIssuedView(Schema):
    """``assign_visitor``: the written notice issued (fetch it with ``get_notice``)."""

    notice_id = fields.String()
    sha256 = fields.String()
    elder_id = fields.String()
    visitor_id = fields.String()


class VisitRecordedView(Schema):
    visit_id = fields.String()
    events = fields.List(fields.String(), metadata={"description": "the event types recorded"})


class ObligationView(Schema):
    from_ = fields.String(data_key="from", metadata={"format": "date"})
    classes = fields.List(fields.String())


class PlanVisitView(Schema):
    visit_id = fields.String()
    visitor_id = fields.String()
    visited_on = fields.String(metadata={"format": "date"})
    mode = fields.String(validate=validate.OneOf(VISIT_MODES))
    services = fields.List(fields.String(validate=validate.OneOf(SERVICE_KINDS)))
    risks = fields.List(fields.String(), metadata={"description": "the kinds of risk found"})


class PlanPeriodView(Schema):
    period = fields.String()
    due = fields.String(metadata={"format": "date"})
    target_class = fields.String()
    required = fields.Integer()
    outcome = fields.String(allow_none=True)


class PlanView(Schema):
    """``plan_view``: an elder's obligation, responsible visitor, visits and periods."""

    elder_id = fields.String()
    name = fields.String()
    division_code = fields.String()
    classes = fields.List(fields.String())
    visitor_id = fields.String(allow_none=True)
    notice_id = fields.String(allow_none=True, metadata={"description": "the latest written notice issued"})
    tracking_from = fields.String(metadata={"format": "date"})
    version = fields.Integer()
    obligation_history = fields.List(fields.Nested(ObligationView))
    visits = fields.List(fields.Nested(PlanVisitView))
    periods = fields.List(fields.Nested(PlanPeriodView))


class OverduePeriodView(Schema):
    """One row of ``list_overdue``: the ``period_outcomes`` read model as stored."""

    elder_id = fields.String()
    period = fields.String()
    period_start = fields.String(metadata={"format": "date"})
    due_on = fields.String(metadata={"format": "date"})
    target_class = fields.String()
    required_visits = fields.Integer()
    visits = fields.Integer()
    outcome = fields.String(validate=validate.OneOf(("met", "overdue", "resolved")))
    days_late = fields.Integer(allow_none=True)
    division_code = fields.String()
    visitor_id = fields.String(allow_none=True)


class CoverageFiguresView(Schema):
    due = fields.Integer()
    visited_on_time = fields.Integer()
    visited_late = fields.Integer()
    overdue = fields.Integer()
    coverage_rate = fields.Float(allow_none=True, metadata={"description": "visited ÷ due; null when none due"})
    on_time_rate = fields.Float(allow_none=True)


class ClassCoverageView(CoverageFiguresView):
    goal = fields.Float(allow_none=True, metadata={"description": "the policy's coverage goal for the class"})


class DivisionCoverageView(CoverageFiguresView):
    division_code = fields.String()
    name = fields.String(allow_none=True)


class CoverageView(CoverageFiguresView):
    """``coverage``: a division's closed period, by target class and by the next level down."""

    division_code = fields.String()
    name = fields.String(allow_none=True)
    period = fields.String()
    known_at = fields.AwareDateTime(allow_none=True)
    by_class = fields.Dict(keys=fields.String(), values=fields.Nested(ClassCoverageView))
    by_division = fields.List(fields.Nested(DivisionCoverageView))
