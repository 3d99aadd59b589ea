"""Home-service orders' RPC surface (services/orders): what each method takes and answers."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from contracts.fields import AcceptedDate, DivisionCode, PageOffset
from contracts.orders import CALLERS, ORDER_STATUSES, SERVICE_KINDS
from kernel.envelope import format_time

_ID = validate.Length(min=1, max=64)


class PlaceOrderSchema(Schema):
    order_id = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Za-z0-9._-]{1,64}$"),
                             metadata={"description": "optional; made up by the service when absent"})
    elder_id = fields.String(required=True, validate=_ID)
    service_kind = fields.String(required=True, validate=validate.OneOf(SERVICE_KINDS))
    service_date = AcceptedDate(load_default=None, metadata={"description": "local date; default today"})
    caller = fields.String(required=True, validate=validate.OneOf(CALLERS))
    note = fields.String(load_default="", validate=validate.Length(max=500))
    facility_id = fields.String(load_default=None, allow_none=True, validate=_ID,
                                metadata={"description": "a facility the caller asks for (must offer the service)"})


class FacilityActionSchema(Schema):
    order_id = fields.String(required=True, validate=_ID)
    facility_id = fields.String(required=True, validate=_ID)


class DeclineOrderSchema(FacilityActionSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class CompleteOrderSchema(FacilityActionSchema):
    delivered_on = AcceptedDate(load_default=None, metadata={"description": "local date; default today"})
    note = fields.String(load_default="", validate=validate.Length(max=500))


class FacilityOrdersQuerySchema(Schema):
    facility_id = fields.String(required=True, validate=_ID)
    status = fields.String(load_default=None, validate=validate.OneOf(ORDER_STATUSES))
    service_date = AcceptedDate(load_default=None)
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=2000))
    offset = PageOffset()


class ElderOrdersQuerySchema(Schema):
    elder_id = fields.String(required=True, validate=_ID)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=2000))
    offset = PageOffset()


class MealsQuerySchema(Schema):
    month = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{4}-(0[1-9]|1[0-2])$"))
    division_code = DivisionCode(required=True)


class OrderView(Schema):
    order_id = fields.String()
    status = fields.String()
    elder_id = fields.String()
    division_code = fields.String()
    service_kind = fields.String()
    service_date = fields.Date(allow_none=True)
    caller = fields.String()
    note = fields.String()
    accept_by = fields.Method("_accept_by", metadata={"type": "string", "format": "date-time"})
    facility_id = fields.String(allow_none=True)
    nearness = fields.String(allow_none=True)
    declined_by = fields.List(fields.String())
    delivered_on = fields.Date(allow_none=True)
    unaccepted = fields.Boolean(metadata={"description": "raised to notifications as unaccepted (once)"})

    def _accept_by(self, state):
        return format_time(state.accept_by) if state.accept_by else None


class OrderListItemView(Schema):
    """One row of the ``orders`` read model."""

    order_id = fields.String()
    elder_id = fields.String()
    division_code = fields.String()
    service_kind = fields.String()
    service_date = fields.String(metadata={"format": "date"})
    caller = fields.String()
    status = fields.String()
    facility_id = fields.String(allow_none=True)
    accept_by = fields.String(metadata={"format": "date-time"})
    unaccepted = fields.Boolean()
    delivered_on = fields.String(allow_none=True, metadata={"format": "date"})


class MealsDeliveredView(Schema):
    elder_id = fields.String()
    division_code = fields.String()
    month = fields.String()
    meals = fields.Integer()
