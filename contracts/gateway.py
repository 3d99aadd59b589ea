"""Public events of the gateway: the access log of elders' personal records."""
from marshmallow import Schema, fields, validate

from kernel.catalogue import EventCatalogue


class RecordReadSchema(Schema):
    elder_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    user = fields.String(required=True)
    department = fields.String(required=True)
    role = fields.String(required=True)
    route = fields.String(required=True)
    purpose = fields.String(required=True, allow_none=True)
    break_glass = fields.Boolean(required=True)
    caller_jurisdiction = fields.String(required=True)


EVENTS = [
    ("gateway.record_read.v1", RecordReadSchema, "someone read an elder's personal record (who, what, why)"),
]


def catalogue() -> EventCatalogue:
    result = EventCatalogue()
    for type_, schema, description in EVENTS:
        result.register(type_, schema, description)
    return result
