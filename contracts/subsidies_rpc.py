"""The subsidies RPC surface: what each command and query takes and answers, as marshmallow
schemas (the service validates with these; the gateway documents its routes with them)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate

from contracts.fields import DIVISION_PREFIX, AcceptedDate
from contracts.month import Month


class MonthField(fields.String):
    """``YYYY-MM`` → ``Month``."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return Month.parse(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class RunKeySchema(Schema):
    jurisdiction = fields.String(required=True, validate=DIVISION_PREFIX)
    month = MonthField(required=True)


class ApproveRunSchema(RunKeySchema):
    note = fields.String(load_default="", validate=validate.Length(max=500))


class MarkPaidSchema(RunKeySchema):
    paid_on = AcceptedDate(required=True)
    payment_reference = fields.String(required=True, validate=validate.Length(min=1, max=128))


class EntitlementQuerySchema(Schema):
    elder_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    month = MonthField(required=True)
    known_at = fields.AwareDateTime(load_default=None, allow_none=True)


class ListRunsSchema(Schema):
    jurisdiction = fields.String(load_default=None, allow_none=True, validate=DIVISION_PREFIX)
    month = MonthField(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))

    @post_load
    def _label(self, data, **_kwargs):
        data["month"] = data["month"].label if data["month"] else None
        return data


# -- what the subsidies RPCs answer with (plain dicts built by the handlers and the payment
# file adapter; these describe them for the gateway's OpenAPI document) --------------------
RUN_STATUSES = ("started", "completed", "approved", "paid", "none")


class RunTotalsView(Schema):
    beneficiaries = fields.Integer()
    disbursements = fields.Integer()
    disbursed_fen = fields.Integer()
    adjustments = fields.Integer()
    adjusted_fen = fields.Integer()


class RunComputedView(RunTotalsView):
    """``start_run``: the run's totals, and whether this call changed anything."""

    run_id = fields.String()
    status = fields.String(validate=validate.OneOf(RUN_STATUSES))
    changed = fields.Boolean()


class RunStatusView(Schema):
    """``approve_run``, ``mark_paid``, ``close_month``."""

    run_id = fields.String()
    status = fields.String(validate=validate.OneOf(RUN_STATUSES))
    closed = fields.Boolean()
    changed = fields.Boolean()


class RunListItemView(Schema):
    """One row of ``list_runs``: the ``runs`` read model as stored."""

    run_id = fields.String()
    jurisdiction = fields.String()
    month = fields.String()
    status = fields.String(validate=validate.OneOf(RUN_STATUSES))
    closed = fields.Boolean()
    rulebook_hash = fields.String(allow_none=True)
    started_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    beneficiaries = fields.Integer(allow_none=True)
    disbursements = fields.Integer(allow_none=True)
    disbursed_fen = fields.Integer(allow_none=True)
    adjustments = fields.Integer(allow_none=True)
    adjusted_fen = fields.Integer(allow_none=True)
    approved_by = fields.String(allow_none=True)
    paid_on = fields.String(allow_none=True, metadata={"format": "date"})
    payment_reference = fields.String(allow_none=True)


class PaymentFileView(Schema):
    run_id = fields.String()
    csv = fields.String(metadata={"description": "the payment file, one line per ledger entry"})
    rows = fields.Integer()
    total_fen = fields.Integer()
    total_yuan = fields.String(metadata={"description": "two decimals, e.g. 1234.50"})


class ProgrammeTotalsView(Schema):
    disbursed_fen = fields.Integer()
    adjusted_fen = fields.Integer()
    beneficiaries = fields.Integer()


class DivisionTotalsView(Schema):
    division_code = fields.String()
    disbursed_fen = fields.Integer()
    adjusted_fen = fields.Integer()
    total_fen = fields.Integer()
    total_yuan = fields.String()
    by_programme = fields.Dict(keys=fields.String(), values=fields.Nested(ProgrammeTotalsView))


class RunSummaryView(Schema):
    """``division_summary``: a run's totals by the next division level down."""

    run_id = fields.String()
    status = fields.String(validate=validate.OneOf(RUN_STATUSES))
    divisions = fields.List(fields.Nested(DivisionTotalsView))


class FactsUsedView(Schema):
    """The facts an entitlement was computed from (those that were known; absent ones left out)."""

    as_of = fields.String(metadata={"format": "date"})
    known_at = fields.String()
    division_code = fields.String()
    self_care_level = fields.String()
    support_mode = fields.String()
    age = fields.Integer()
    dibao = fields.Boolean()
    tekun = fields.Boolean()
    facility_id = fields.String()
    grant_id = fields.String()
    grant_policy_source = fields.String()


class EntitlementItemView(Schema):
    programme = fields.String()
    amount_fen = fields.Integer()
    rule_version = fields.String()
    rule_hash = fields.String()
    rule_source = fields.String()
    facts = fields.Nested(FactsUsedView)


class RecordedEntryView(Schema):
    entry_id = fields.String()
    run_id = fields.String()
    kind = fields.String(validate=validate.OneOf(("disbursement", "adjustment")))
    programme = fields.String()
    amount_fen = fields.Integer()
    rule_hash = fields.String(allow_none=True)


class EntitlementView(Schema):
    """``entitlement_as_of``: what was due for a month and why, and what was recorded, as known then."""

    elder_id = fields.String()
    month = fields.String()
    known_at = fields.AwareDateTime(allow_none=True)
    due_fen = fields.Integer()
    entitlements = fields.List(fields.Nested(EntitlementItemView))
    recorded_fen = fields.Integer()
    recorded = fields.List(fields.Nested(RecordedEntryView))
