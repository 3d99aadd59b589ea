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


class RecordReadV2Schema(RecordReadSchema):
    unmasked = fields.List(fields.String(), required=True,
                           metadata={"description": "purpose-bound fields shown in clear (resident_id, health)"})


class AccessRefusedSchema(Schema):
    """An attempt refused (outside the jurisdiction, a purpose the role may not name, a field
    its view masks): logged although nothing was read."""
    elder_id = fields.String(required=True, allow_none=True)
    user = fields.String(required=True)
    department = fields.String(required=True)
    role = fields.String(required=True)
    route = fields.String(required=True)
    purpose = fields.String(required=True, allow_none=True)
    caller_jurisdiction = fields.String(required=True)
    reason = fields.String(required=True)
    field = fields.String(required=True, allow_none=True)


class RecordListedSchema(Schema):
    """An elder returned by a list read (search, overdue list, alerts, payment file)."""
    elder_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    user = fields.String(required=True)
    department = fields.String(required=True)
    role = fields.String(required=True)
    route = fields.String(required=True)
    purpose = fields.String(required=True, allow_none=True)
    caller_jurisdiction = fields.String(required=True)
    listed_with = fields.Integer(strict=True, required=True, metadata={"description": "elders in that answer"})


EVENTS = [
    ("gateway.record_read.v1", RecordReadSchema, "someone read an elder's personal record (who, what, why)"),
    ("gateway.record_read.v2", RecordReadV2Schema,
     "someone read an elder's personal record (who, what, why, which purpose-bound fields unmasked)"),
    ("gateway.access_refused.v1", AccessRefusedSchema, "an attempt to read personal data was refused (who, why)"),
    ("gateway.record_listed.v1", RecordListedSchema, "a list read returned this elder (who, which list, why)"),
]


def catalogue() -> EventCatalogue:
    result = EventCatalogue()
    for type_, schema, description in EVENTS:
        result.register(type_, schema, description)
    return result
