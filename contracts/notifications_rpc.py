"""The notifications RPC surface: what each command and query takes and answers, as
marshmallow schemas (the service validates with these and builds its domain commands from
what they load; the gateway documents its routes with them)."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from contracts.fields import AcceptedDate, DivisionCode, PageOffset
from contracts.notifications import (ALERT_KINDS, ALERT_SEVERITIES, CHANNELS, DEPARTMENTS, DEVICE_ALARMS,
                                     DEVICE_KINDS, OUTCOMES, UtcDateTime)

_id = dict(required=True, validate=validate.Length(min=1, max=64))
_optional_text = dict(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class ReportAlertSchema(Schema):
    """A risk reported by hand (a neighbour's call to the village committee)."""

    kind = fields.String(required=True, validate=validate.OneOf(ALERT_KINDS))
    division_code = DivisionCode(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(ALERT_SEVERITIES))
    summary = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    elder_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    incident_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))


class DeviceAlarmSchema(Schema):
    device_id = fields.String(**_id)
    device_kind = fields.String(required=True, validate=validate.OneOf(DEVICE_KINDS))
    alarm = fields.String(required=True, validate=validate.OneOf(DEVICE_ALARMS))
    elder_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    division_code = DivisionCode(required=True)
    occurred_at = UtcDateTime(load_default=None, allow_none=True)
    detail = fields.String(**_optional_text)


class HeartbeatSchema(Schema):
    device_id = fields.String(**_id)
    device_kind = fields.String(required=True, validate=validate.OneOf(DEVICE_KINDS))
    elder_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    division_code = DivisionCode(required=True)
    at = UtcDateTime(load_default=None, allow_none=True)


class AnswerAlertSchema(Schema):
    alert_id = fields.String(**_id)
    party = fields.String(required=True, validate=validate.Length(min=3, max=64))
    note = fields.String(**_optional_text)


class CloseAlertSchema(AnswerAlertSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))


# A mainland mobile number (optionally +86), and an e-mail address with a dotted domain: what an
# SMS gateway and a mail server can be asked to reach, refused when set rather than at delivery.
MOBILE = re.compile(r"^(\+?86)?1[3-9][0-9]{9}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ChannelSchema(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    address = fields.String(required=True, validate=validate.Length(min=1, max=255))

    @validates_schema
    def address_fits_channel(self, data, **_kwargs):
        address = data.get("address") or ""
        if data.get("channel") == "sms" and not MOBILE.match(address):
            raise ValidationError(["must be an 11-digit mobile number (e.g. 13900000001)"], "address")
        if data.get("channel") == "email" and not EMAIL.match(address):
            raise ValidationError(["must be an e-mail address (e.g. name@example.org)"], "address")


class PartyContactsSchema(Schema):
    # "party:" + party is the stream id, at most 64 characters.
    party = fields.String(required=True, validate=validate.Length(min=3, max=58))
    channels = fields.List(fields.Nested(ChannelSchema), required=True)


class PartyContactsFilterSchema(Schema):
    """Parties whose place lies within ``division_code`` (a village committee, township, county
    civil affairs or a department's county bureau), with the channels set for each."""

    division_code = DivisionCode(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=5000))


class PartyContactsView(Schema):
    party = fields.String()
    channels = fields.List(fields.Nested(ChannelSchema))
    set_at = fields.String(metadata={"format": "date-time"})


class InboxMessageView(Schema):
    """One message of a party's in-app inbox: an alert delivered there (the channel of last
    resort, or the one the party chose)."""

    message_id = fields.String()
    party = fields.String()
    alert_id = fields.String()
    subject = fields.String()
    body = fields.String()
    created_at = fields.String(metadata={"format": "date-time"})
    read_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class CreateReferralSchema(Schema):
    referral_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    to_department = fields.String(required=True, validate=validate.OneOf(DEPARTMENTS))
    division_code = DivisionCode(required=True)
    request = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    due_on = AcceptedDate(load_default=None, allow_none=True)
    alert_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    elder_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


class AcceptReferralSchema(Schema):
    referral_id = fields.String(**_id)
    note = fields.String(**_optional_text)


class ReferralActionSchema(Schema):
    referral_id = fields.String(**_id)
    action = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class CloseReferralSchema(Schema):
    referral_id = fields.String(**_id)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    note = fields.String(**_optional_text)


class AlertFilterSchema(Schema):
    division_code = DivisionCode(load_default=None, allow_none=True)
    party = fields.String(load_default=None, allow_none=True)
    department = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(DEPARTMENTS))
    kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ALERT_KINDS))
    deadline_before = UtcDateTime(load_default=None, allow_none=True)
    status = fields.String(load_default="not_closed",
                           validate=validate.OneOf(("open", "acknowledged", "not_closed", "closed", "any")))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = PageOffset()


class ReferralFilterSchema(Schema):
    department = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(DEPARTMENTS))
    # owing: referrals the department must act on; owed: those it is waiting for.
    side = fields.String(load_default="either", validate=validate.OneOf(("owing", "owed", "either")))
    division_code = DivisionCode(load_default=None, allow_none=True)
    status = fields.String(load_default="open", validate=validate.OneOf(("open", "overdue", "closed", "any")))
    due_before = AcceptedDate(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = PageOffset()


class RouteView(Schema):
    party = fields.String()
    role = fields.String()


class AlertView(Schema):
    alert_id = fields.String()
    version = fields.Integer()
    status = fields.String()
    kind = fields.String()
    incident_key = fields.String()
    elder_id = fields.String(allow_none=True)
    division_code = fields.String()
    severity = fields.String()
    summary = fields.String()
    level = fields.String()
    ack_deadline = UtcDateTime(allow_none=True)
    policy_ref = fields.String()
    raised_at = UtcDateTime()
    routes = fields.List(fields.Nested(RouteView))
    occurrences = fields.Integer()
    top_deadline_missed = fields.Boolean()
    acknowledged_by = fields.String(allow_none=True)
    acknowledged_at = UtcDateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    closed_at = UtcDateTime(allow_none=True)


class ReferralView(Schema):
    referral_id = fields.String()
    version = fields.Integer()
    status = fields.String()
    from_department = fields.String()
    to_department = fields.String()
    division_code = fields.String()
    due_on = fields.Date()
    overdue = fields.Boolean()
    outcome = fields.String(allow_none=True)


class AlertListItemView(Schema):
    """One row of ``list_alerts``: the ``alerts`` read model as stored (times as canonical UTC
    text); ``get_alert`` answers with ``AlertView`` and its routes."""

    alert_id = fields.String()
    kind = fields.String(validate=validate.OneOf(ALERT_KINDS))
    incident_key = fields.String()
    open_incident_key = fields.String(allow_none=True, metadata={"description": "set while the alert is not closed"})
    elder_id = fields.String(allow_none=True)
    division_code = fields.String()
    county_code = fields.String()
    severity = fields.String(validate=validate.OneOf(ALERT_SEVERITIES))
    summary = fields.String()
    status = fields.String(validate=validate.OneOf(("open", "acknowledged", "closed")))
    level = fields.String()
    ack_deadline = fields.String(allow_none=True, metadata={"format": "date-time"})
    raised_at = fields.String(metadata={"format": "date-time"})
    acknowledged_by = fields.String(allow_none=True)
    acknowledged_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    outcome = fields.String(allow_none=True, validate=validate.OneOf(OUTCOMES))
    closed_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    policy_ref = fields.String()
    occurrences = fields.Integer()
    top_deadline_missed = fields.Boolean()
    version = fields.Integer()


class ReferralListItemView(Schema):
    """One row of ``list_referrals``: the ``referrals`` read model as stored; the commands
    answer with ``ReferralView``."""

    referral_id = fields.String()
    alert_id = fields.String(allow_none=True)
    elder_id = fields.String(allow_none=True)
    division_code = fields.String()
    county_code = fields.String()
    from_department = fields.String()
    to_department = fields.String()
    request = fields.String()
    status = fields.String()
    due_on = fields.String(metadata={"format": "date"})
    overdue = fields.Boolean()
    outcome = fields.String(allow_none=True, validate=validate.OneOf(OUTCOMES))
    version = fields.Integer()
