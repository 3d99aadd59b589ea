"""The visits RPC edge: payload schemas (marshmallow stays here; handlers get plain values)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from contracts.fields import DivisionCode
from contracts.visits import FindingsSchema, RiskSchema, SERVICE_KINDS, VISIT_MODES, VISITOR_ROLES
from services.visits.domain import parse_period

_id = dict(required=True, validate=validate.Length(min=1, max=64))


class RegisterVisitorSchema(Schema):
    visitor_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    phone = fields.String(required=True, validate=validate.Regexp(r"^[0-9+\- ]{3,32}$"))
    role = fields.String(required=True, validate=validate.OneOf(VISITOR_ROLES))
    organisation = fields.String(required=True, validate=validate.Length(min=1, max=128))
    village_codes = fields.List(DivisionCode(), required=True, validate=validate.Length(min=1))
    effective_date = fields.Date(load_default=None)


class ChangeVisitorVillagesSchema(Schema):
    visitor_id = fields.String(**_id)
    village_codes = fields.List(DivisionCode(), required=True, validate=validate.Length(min=1))
    effective_date = fields.Date(load_default=None)


class DeactivateVisitorSchema(Schema):
    visitor_id = fields.String(**_id)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    effective_date = fields.Date(load_default=None)


class AssignVisitorSchema(Schema):
    elder_id = fields.String(**_id)
    visitor_id = fields.String(**_id)
    effective_date = fields.Date(load_default=None)


class RecordVisitSchema(Schema):
    elder_id = fields.String(**_id)
    visit_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    visitor_id = fields.String(**_id)
    mode = fields.String(required=True, validate=validate.OneOf(VISIT_MODES))
    visited_on = fields.Date(required=True)
    services = fields.List(fields.String(validate=validate.OneOf(SERVICE_KINDS)), required=True,
                           validate=validate.Length(min=1))
    findings = fields.Nested(FindingsSchema, load_default=dict)
    risks = fields.List(fields.Nested(RiskSchema), load_default=list)
    supersedes = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    correction_reason = fields.String(load_default=None, validate=validate.Length(min=1, max=500))


class PeriodField(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parse_period(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return text


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
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))

    @validates("division_code")
    def _not_national(self, value, **_kwargs):
        if value == "0" * 12:
            raise ValidationError("name a province, city, county, township or village")
