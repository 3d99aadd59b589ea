"""The subsidies RPC edge: payload schemas. marshmallow stays here; the domain never sees a dict."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate

from services.subsidies.domain import Month

JURISDICTION = validate.Regexp(r"^\d{2,12}$", error="must be a division code or prefix of 2–12 digits")


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
    jurisdiction = fields.String(required=True, validate=JURISDICTION)
    month = MonthField(required=True)


class ApproveRunSchema(RunKeySchema):
    note = fields.String(load_default="", validate=validate.Length(max=500))


class MarkPaidSchema(RunKeySchema):
    paid_on = fields.Date(required=True)
    payment_reference = fields.String(required=True, validate=validate.Length(min=1, max=128))


class EntitlementQuerySchema(Schema):
    elder_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    month = MonthField(required=True)
    known_at = fields.AwareDateTime(load_default=None, allow_none=True)


class ListRunsSchema(Schema):
    jurisdiction = fields.String(load_default=None, allow_none=True, validate=JURISDICTION)
    month = MonthField(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))

    @post_load
    def _label(self, data, **_kwargs):
        data["month"] = data["month"].label if data["month"] else None
        return data
