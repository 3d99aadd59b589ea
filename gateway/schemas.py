"""The shapes the gateway composes itself — the cross-agency timeline, the access log, the
quarterly report's query and the error body — for the OpenAPI document. What the services
take and answer is described by their own schemas (``gateway.service_schemas``)."""
from marshmallow import Schema, fields, validate

from contracts.fields import DivisionCode

# A client's key for a write (IETF draft "The Idempotency-Key HTTP Header Field"): the same
# request sent again with the same key gets the first answer and changes nothing.
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,128}$"


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
    outcome = fields.String(metadata={"description": "read | listed (returned by a list read) | refused"})
    unmasked = fields.List(fields.String(), metadata={"description": "purpose-bound fields shown in clear"})
    reason = fields.String(allow_none=True, metadata={"description": "why a refused attempt was refused"})


class CheckpointStatus(Schema):
    service = fields.String()
    witness_answering = fields.Boolean(metadata={"description": "the audit witness answered for this service"})
    log_answering = fields.Boolean(metadata={"description": "the service itself answered (its log's size)"})
    events = fields.Integer(allow_none=True, metadata={"description": "events in the service's log now"})
    tree_size = fields.Integer(allow_none=True, metadata={"description": "events the latest checkpoint seals"})
    sealed_at = fields.String(allow_none=True)
    key_id = fields.String(allow_none=True)
    unsealed = fields.Integer(allow_none=True, metadata={"description": "events appended after it"})
    signature = fields.String(allow_none=True, metadata={
        "description": "valid, the problem found, or null when not checked (no public key list here)"})


class Error(Schema):
    error = fields.String(metadata={"description": "machine-readable code, e.g. validation_failed"})
    message = fields.String()
    field = fields.String(allow_none=True)
    errors = fields.Dict(metadata={"description": "field → messages, for validation errors"})
    retry_after_seconds = fields.Integer(metadata={"description": "503, 429: when to try again"})
    limit_bytes = fields.Integer(metadata={"description": "413: the largest body the route takes"})
    allowed = fields.Dict(metadata={"description": "403: the departments and roles that may do this"})
    known = fields.Dict(metadata={"description": "403: every department and role a token can name"})


class QuarterlyReportQuery(Schema):
    division_code = DivisionCode(metadata={"description": "default: your jurisdiction"})
    quarter = fields.String(required=True, validate=validate.Regexp(r"^(?!0000)[0-9]{4}-[Qq][1-4]$"),
                            metadata={"description": "an ended quarter, e.g. 2026-Q3"})
    known_at = fields.AwareDateTime(metadata={"description": "replay as recorded by this time (default: now)"})
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))
