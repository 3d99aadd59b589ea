"""Public events of home-service orders (``services/orders``): an elder, their family, a
visitor or a device call orders meals, bathing, cleaning, medical help or accompaniment; the
order goes to the nearest facility in operation that offers it with a place left that day
(facilities declare what they offer: ``facilities.home_services_declared.v1``).

The stream id is the order id; every event's jurisdiction is the elder's village.
``order_unaccepted`` (once per order: nobody accepted it by its deadline, or every facility
that could take it declined) is what notifications raises an alert for; ``meal_delivered``
(with the elder's meals that month so far) is what subsidies pays a per-meal subsidy by.
"""
from marshmallow import Schema, fields, validate

from contracts.facilities import HOME_SERVICE_KINDS
from contracts.fields import DivisionCode, EnumValue
from contracts.notifications import UtcDateTime
from kernel.catalogue import EventCatalogue

SERVICE_KINDS = HOME_SERVICE_KINDS
CALLERS = ("elder", "family", "visitor", "device")
NEARNESS = ("village", "township", "county", "chosen")
UNACCEPTED_REASONS = ("deadline_passed", "no_facility_accepted")
ORDER_STATUSES = ("offered", "accepted", "completed", "unrouted")

_ID = validate.Length(min=1, max=64)


class OrderEventSchema(Schema):
    order_id = fields.String(required=True, validate=_ID)


class OrderPlacedSchema(OrderEventSchema):
    elder_id = fields.String(required=True, validate=_ID)
    division_code = DivisionCode(required=True, metadata={"description": "the elder's village"})
    service_kind = EnumValue(SERVICE_KINDS, required=True)
    service_date = fields.Date(required=True)
    caller = EnumValue(CALLERS, required=True)
    note = fields.String(required=True, validate=validate.Length(max=500))
    accept_by = UtcDateTime(required=True, metadata={"description": "not accepted by then: raised as unaccepted"})
    deadline_policy = fields.String(required=True)


class OrderOfferedSchema(OrderEventSchema):
    facility_id = fields.String(required=True, validate=_ID)
    facility_division_code = DivisionCode(required=True)
    nearness = EnumValue(NEARNESS, required=True)
    service_kind = EnumValue(SERVICE_KINDS, required=True)
    service_date = fields.Date(required=True)


class OrderDeclinedSchema(OrderEventSchema):
    facility_id = fields.String(required=True, validate=_ID)
    reason = fields.String(required=True)


class OrderAcceptedSchema(OrderEventSchema):
    facility_id = fields.String(required=True, validate=_ID)


class OrderCompletedSchema(OrderEventSchema):
    facility_id = fields.String(required=True, validate=_ID)
    elder_id = fields.String(required=True, validate=_ID)
    division_code = DivisionCode(required=True)
    service_kind = EnumValue(SERVICE_KINDS, required=True)
    delivered_on = fields.Date(required=True)
    note = fields.String(required=True)


class MealDeliveredSchema(OrderEventSchema):
    elder_id = fields.String(required=True, validate=_ID)
    division_code = DivisionCode(required=True)
    facility_id = fields.String(required=True, validate=_ID)
    delivered_on = fields.Date(required=True)
    month = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{4}-(0[1-9]|1[0-2])$"))
    meals_in_month = fields.Integer(strict=True, required=True, validate=validate.Range(min=1),
                                    metadata={"description": "meals delivered to the elder that month, this one included"})


class OrderUnacceptedSchema(OrderEventSchema):
    elder_id = fields.String(required=True, validate=_ID)
    division_code = DivisionCode(required=True)
    service_kind = EnumValue(SERVICE_KINDS, required=True)
    service_date = fields.Date(required=True)
    reason = EnumValue(UNACCEPTED_REASONS, required=True)
    facility_id = fields.String(required=True, allow_none=True, metadata={"description": "the facility it waited on"})
    declined_by = fields.List(fields.String(), required=True)
    accept_by = UtcDateTime(required=True)


EVENTS = [
    ("orders.order_placed.v1", OrderPlacedSchema, "a home-service order was placed for an elder"),
    ("orders.order_offered.v1", OrderOfferedSchema, "the order was offered to the nearest facility able to take it"),
    ("orders.order_declined.v1", OrderDeclinedSchema, "the facility offered the order declined it"),
    ("orders.order_accepted.v1", OrderAcceptedSchema, "the facility accepted the order"),
    ("orders.order_completed.v1", OrderCompletedSchema, "the facility delivered the service"),
    ("orders.meal_delivered.v1", MealDeliveredSchema,
     "a meal was delivered to an elder at home (with the month's count): subsidies pays per meal by it"),
    ("orders.order_unaccepted.v1", OrderUnacceptedSchema,
     "nobody accepted the order by its deadline, or every facility declined (once per order)"),
]


def catalogue() -> EventCatalogue:
    result = EventCatalogue()
    for type_, schema, description in EVENTS:
        result.register(type_, schema, description)
    return result
