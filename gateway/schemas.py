"""Request and response schemas of the HTTP API, for validation at the edge and for the
OpenAPI document. The services validate every command in full (their own schemas name each
bad field); these describe the shapes callers see."""
from marshmallow import INCLUDE, Schema, fields


class Payload(Schema):
    """A JSON object; the fields are the service command's (see its description)."""

    class Meta:
        unknown = INCLUDE


class Elder(Payload):
    elder_id = fields.String()
    name = fields.String()
    division_code = fields.String()
    record_status = fields.String()
    left_behind = fields.Boolean()
    key_target = fields.Boolean()
    version = fields.Integer()


class TimelineItem(Schema):
    source = fields.String(metadata={"description": "the service whose log holds the event"})
    position = fields.Integer()
    stream_id = fields.String(metadata={"description": "the stream (elder, facility, alert, ...) the event belongs to"})
    event_id = fields.String()
    type = fields.String()
    time = fields.String(metadata={"description": "when it took effect (UTC)"})
    recorded_time = fields.String(metadata={"description": "when the system learned it (UTC)"})
    actor = fields.String()
    causation_id = fields.String(allow_none=True)
    hash = fields.String(metadata={"description": "the event's link in its service's hash chain"})
    data = fields.Dict()


class Timeline(Schema):
    elder_id = fields.String()
    items = fields.List(fields.Nested(TimelineItem))
    sources_unavailable = fields.List(fields.Dict(), metadata={
        "description": "services that did not answer: their events are missing from items"})


class AccessRecord(Schema):
    recorded_time = fields.String()
    user = fields.String()
    department = fields.String()
    role = fields.String()
    route = fields.String()
    purpose = fields.String(allow_none=True)
    break_glass = fields.Boolean()


class Error(Schema):
    error = fields.String(metadata={"description": "machine-readable code, e.g. validation_failed"})
    message = fields.String()
    field = fields.String(allow_none=True)
    errors = fields.Dict(metadata={"description": "field → messages, for validation errors"})
    retry_after_seconds = fields.Integer(metadata={"description": "when a service is unavailable"})
