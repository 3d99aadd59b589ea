"""Public events of the notifications service (alerts, escalation, delivery, referrals).

Four kinds of stream in the notifications log:

- an **alert** stream (subject ``alert_id``): raised from a visit's risk finding, an overdue
  visit, a registry status change that needs the family, a device alarm or a missing
  heartbeat; routed to parties by the jurisdiction's policy, escalated level by level
  (village committee → township → county civil affairs) while nobody acknowledges it,
  acknowledged, closed with an outcome;
- a **delivery** stream (subject ``delivery_id``): one message to one party, each attempt
  on each channel and its result;
- a **referral** stream (subject ``referral_id``): an obligation one department owes another
  by a date (created, accepted, action taken, closed, overdue);
- a **device** stream (subject ``device:<device_id>``) and a **party** stream (subject
  ``party:<party>``) for device alarms/heartbeats and the contact channels of a party.

A *party* is a string naming who is addressed, with the place it answers for:
``village_committee:<12-digit village>``, ``township:<9 digits>``,
``county_civil_affairs:<6 digits>``, ``department:<department>:<6-digit county>``,
``supporter:<elder_id>:<supporter_id>``, ``carer:<elder_id>``.
Times are UTC ISO 8601 ('Z'); due dates of referrals are local dates.
"""
from marshmallow import Schema, ValidationError, fields, validate

from contracts.actors import DEFAULT_DEPARTMENTS
from contracts.fields import DivisionCode, personal
from contracts.visits import RISK_KINDS, SEVERITIES
from kernel.catalogue import EventCatalogue
from kernel.envelope import format_time, parse_time
from kernel.fast_validation import register_field_check

# The reporting chain of DOMAIN.md §4, lowest first.
LEVELS = ("village_committee", "township", "county_civil_affairs")
DEVICE_KINDS = ("one_key_button", "smart_bracelet", "smoke_alarm", "smart_pill_box")
DEVICE_ALARMS = ("one_key_call", "bracelet_sos", "bracelet_fall", "smoke_alarm", "pill_missed")
ALERT_KINDS = RISK_KINDS + DEVICE_ALARMS + (
    "visit_overdue", "became_key_target", "hospitalised", "heartbeat_missing", "contact_unreachable",
    "break_glass_read", "survey_behind_schedule", "health_risk_found", "case_opened",
    "payment_failed", "home_service_unaccepted")
ALERT_SEVERITIES = SEVERITIES
ROUTE_ROLES = ("responsible", "informed")   # responsible parties acknowledge; informed are told
ROUTE_REASONS = ("raised", "escalated", "policy_changed")
CHANNELS = ("sms", "email", "webhook", "inbox")
OUTCOMES = ("resolved", "referred", "family_took_over", "false_alarm", "elder_hospitalised",
            "elder_deceased", "no_action_needed")
DEPARTMENTS = DEFAULT_DEPARTMENTS

_id = dict(required=True, validate=validate.Length(min=1, max=64))
_party = dict(required=True, validate=validate.Length(min=3, max=64))


class UtcDateTime(fields.Field):
    """A timezone-aware instant as UTC ISO 8601 with 'Z' (``kernel.envelope.format_time``)."""

    default_error_messages = {"invalid": "must be a UTC ISO 8601 time with an offset, got {input!r}"}

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_time(value)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            if isinstance(value, str) and ("Z" in value or "+" in value[10:] or "-" in value[10:]):
                return parse_time(value)
        except ValueError:
            pass
        raise self.make_error("invalid", input=value)


def _is_utc_time(value, _field=UtcDateTime()) -> bool:
    """UtcDateTime's own rule, for the write path's compiled acceptor."""
    if type(value) is not str:
        return False
    try:
        _field.deserialize(value)
    except ValidationError:
        return False
    return True


register_field_check(UtcDateTime, _is_utc_time)


class ChannelAddressSchema(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    address = fields.String(required=True, validate=validate.Length(min=1, max=255))


class RouteSchema(Schema):
    party = fields.String(**_party)
    role = fields.String(required=True, validate=validate.OneOf(ROUTE_ROLES))


class AlertRaisedSchema(Schema):
    alert_id = fields.String(**_id)
    kind = fields.String(required=True, validate=validate.OneOf(ALERT_KINDS))
    incident_key = fields.String(required=True, validate=validate.Length(min=1, max=255))
    elder_id = fields.String(required=True, allow_none=True)
    division_code = DivisionCode(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(ALERT_SEVERITIES))
    summary = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    cause_type = fields.String(required=True)            # the event type or intake that raised it
    cause_id = fields.String(required=True, allow_none=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    ack_deadline = UtcDateTime(required=True)
    policy_ref = fields.String(required=True)
    raised_at = UtcDateTime(required=True)


class AlertRoutedSchema(Schema):
    alert_id = fields.String(**_id)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    routes = fields.List(fields.Nested(RouteSchema), required=True)
    reason = fields.String(required=True, validate=validate.OneOf(ROUTE_REASONS))
    policy_ref = fields.String(required=True)
    routed_at = UtcDateTime(required=True)


class AlertRepeatedSchema(Schema):
    alert_id = fields.String(**_id)
    occurrences = fields.Integer(strict=True, required=True, validate=validate.Range(min=2))
    summary = fields.String(required=True)
    cause_id = fields.String(required=True, allow_none=True)
    repeated_at = UtcDateTime(required=True)


class AlertEscalatedSchema(Schema):
    alert_id = fields.String(**_id)
    from_level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    to_level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    missed_deadline = UtcDateTime(required=True)
    ack_deadline = UtcDateTime(required=True)
    escalated_at = UtcDateTime(required=True)


class AlertUnacknowledgedAtTopSchema(Schema):
    alert_id = fields.String(**_id)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    missed_deadline = UtcDateTime(required=True)
    detected_at = UtcDateTime(required=True)


class AlertAcknowledgedSchema(Schema):
    alert_id = fields.String(**_id)
    party = fields.String(**_party)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    note = fields.String(required=True, allow_none=True)
    acknowledged_at = UtcDateTime(required=True)


class AlertClosedSchema(Schema):
    alert_id = fields.String(**_id)
    party = fields.String(**_party)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    note = fields.String(required=True, allow_none=True)
    closed_at = UtcDateTime(required=True)


class PersonalChannelAddressSchema(ChannelAddressSchema):
    address = personal(fields.String(required=True, validate=validate.Length(min=1, max=255)))


class DeliveryRequestedSchema(Schema):
    """Sealed with the party's key (a supporter's phone is theirs); erasing the elder erases
    their family parties' keys too."""
    personal_subject = "party"
    delivery_id = fields.String(**_id)
    alert_id = fields.String(**_id)
    party = fields.String(**_party)
    channels = fields.List(fields.Nested(PersonalChannelAddressSchema), required=True)
    subject = personal(fields.String(required=True))
    body = personal(fields.String(required=True))
    requested_at = UtcDateTime(required=True)


class DeliveryAttemptedSchema(Schema):
    personal_subject = "party"
    delivery_id = fields.String(**_id)
    alert_id = fields.String(**_id)
    party = fields.String(**_party)
    attempt = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    address = personal(fields.String(required=True))
    attempted_at = UtcDateTime(required=True)


class DeliverySucceededSchema(Schema):
    personal_subject = "party"
    delivery_id = fields.String(**_id)
    alert_id = fields.String(**_id)
    party = fields.String(**_party)
    attempt = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    address = personal(fields.String(required=True))
    detail = fields.String(required=True, allow_none=True)
    delivered_at = UtcDateTime(required=True)


class DeliveryFailedSchema(Schema):
    personal_subject = "party"
    delivery_id = fields.String(**_id)
    alert_id = fields.String(**_id)
    party = fields.String(**_party)
    attempt = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    channel = fields.String(required=True, allow_none=True, validate=validate.OneOf(CHANNELS))
    address = personal(fields.String(required=True, allow_none=True))
    error = fields.String(required=True)
    retry_at = UtcDateTime(required=True, allow_none=True)
    next_channel = fields.String(required=True, allow_none=True, validate=validate.OneOf(CHANNELS))
    final = fields.Boolean(required=True)
    failed_at = UtcDateTime(required=True)


class ReferralCreatedSchema(Schema):
    referral_id = fields.String(**_id)
    alert_id = fields.String(required=True, allow_none=True)
    elder_id = fields.String(required=True, allow_none=True)
    division_code = DivisionCode(required=True)
    from_department = fields.String(required=True, validate=validate.OneOf(DEPARTMENTS))
    to_department = fields.String(required=True, validate=validate.OneOf(DEPARTMENTS))
    request = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    due_on = fields.Date(required=True)
    created_by = fields.String(required=True)
    created_at = UtcDateTime(required=True)


class ReferralAcceptedSchema(Schema):
    referral_id = fields.String(**_id)
    department = fields.String(required=True, validate=validate.OneOf(DEPARTMENTS))
    note = fields.String(required=True, allow_none=True)
    accepted_at = UtcDateTime(required=True)


class ReferralActionTakenSchema(Schema):
    referral_id = fields.String(**_id)
    department = fields.String(required=True, validate=validate.OneOf(DEPARTMENTS))
    action = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    taken_at = UtcDateTime(required=True)


class ReferralClosedSchema(Schema):
    referral_id = fields.String(**_id)
    department = fields.String(required=True, validate=validate.OneOf(DEPARTMENTS))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    note = fields.String(required=True, allow_none=True)
    closed_at = UtcDateTime(required=True)


class ReferralOverdueSchema(Schema):
    referral_id = fields.String(**_id)
    to_department = fields.String(required=True, validate=validate.OneOf(DEPARTMENTS))
    due_on = fields.Date(required=True)
    days_late = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    detected_at = UtcDateTime(required=True)


class DeviceAlarmReceivedSchema(Schema):
    device_id = fields.String(**_id)
    device_kind = fields.String(required=True, validate=validate.OneOf(DEVICE_KINDS))
    alarm = fields.String(required=True, validate=validate.OneOf(DEVICE_ALARMS))
    elder_id = fields.String(required=True, allow_none=True)
    division_code = DivisionCode(required=True)
    alert_id = fields.String(**_id)
    occurred_at = UtcDateTime(required=True)


class HeartbeatMissingSchema(Schema):
    device_id = fields.String(**_id)
    device_kind = fields.String(required=True, validate=validate.OneOf(DEVICE_KINDS))
    elder_id = fields.String(required=True, allow_none=True)
    division_code = DivisionCode(required=True)
    last_seen_at = UtcDateTime(required=True)
    allowance_minutes = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    alert_id = fields.String(**_id)
    detected_at = UtcDateTime(required=True)


class HeartbeatResumedSchema(Schema):
    device_id = fields.String(**_id)
    missing_since = UtcDateTime(required=True)
    resumed_at = UtcDateTime(required=True)


class PartyContactsSetSchema(Schema):
    party = fields.String(**_party)
    channels = fields.List(fields.Nested(ChannelAddressSchema), required=True)
    set_at = UtcDateTime(required=True)


EVENTS = [
    ("notifications.alert_raised.v1", AlertRaisedSchema, "an alert was opened for an incident"),
    ("notifications.alert_routed.v1", AlertRoutedSchema, "parties were told of an alert (raised, escalated, policy changed)"),
    ("notifications.alert_repeated.v1", AlertRepeatedSchema, "the same incident was reported again while open"),
    ("notifications.alert_escalated.v1", AlertEscalatedSchema, "nobody acknowledged in time: next level"),
    ("notifications.alert_unacknowledged_at_top.v1", AlertUnacknowledgedAtTopSchema,
     "the last level's deadline passed too; the alert stays open and visible"),
    ("notifications.alert_acknowledged.v1", AlertAcknowledgedSchema, "a responsible party took the alert on"),
    ("notifications.alert_closed.v1", AlertClosedSchema, "an alert was closed with its outcome"),
    ("notifications.delivery_requested.v1", DeliveryRequestedSchema, "a message to a party was queued"),
    ("notifications.delivery_attempted.v1", DeliveryAttemptedSchema, "a channel was tried (before its answer)"),
    ("notifications.delivery_succeeded.v1", DeliverySucceededSchema, "a channel accepted the message"),
    ("notifications.delivery_failed.v1", DeliveryFailedSchema, "a channel failed: retry, next channel, or final"),
    ("notifications.referral_created.v1", ReferralCreatedSchema, "one department owes another an action by a date"),
    ("notifications.referral_accepted.v1", ReferralAcceptedSchema, "the owing department accepted"),
    ("notifications.referral_action_taken.v1", ReferralActionTakenSchema, "the owing department acted"),
    ("notifications.referral_closed.v1", ReferralClosedSchema, "the referral was closed with its outcome"),
    ("notifications.referral_overdue.v1", ReferralOverdueSchema, "the due date passed with the referral open"),
    ("notifications.device_alarm_received.v1", DeviceAlarmReceivedSchema, "a smart device raised an alarm"),
    ("notifications.heartbeat_missing.v1", HeartbeatMissingSchema, "a device went silent past its allowance"),
    ("notifications.heartbeat_resumed.v1", HeartbeatResumedSchema, "a silent device was heard again"),
    ("notifications.party_contacts_set.v1", PartyContactsSetSchema, "a party's contact channels were set"),
]


def catalogue() -> EventCatalogue:
    result = EventCatalogue()
    for type_, schema, description in EVENTS:
        result.register(type_, schema, description)
    return result
