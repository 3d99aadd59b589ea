"""The notifications service's tables (its own database; only it reads them).

Projections of its own log (rebuildable): ``alerts``, ``alert_routes``, ``deliveries``,
``referrals``, ``party_contacts``. Written by handlers in the unit of work, not rebuilt
from the log: ``elder_contacts`` (this service's copy of the registry's contact details,
applied with the inbox record of each registry event), ``device_heartbeats`` (the last
time each device was heard; heartbeats are telemetry, not events) and ``inbox_messages``
(the in-app channel's mailbox, read through the gateway).
The dashboard's counts per village, kept by the alert board in the same transaction:
``alert_counts`` (alerts by status) and ``alert_department_counts`` (alerts not closed routed
to each department).
Times are canonical UTC strings (``kernel.envelope.format_time``), comparable as text.
"""
from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table, Text

notifications_metadata = MetaData()
TIME = 32

alerts = Table(
    "alerts", notifications_metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("incident_key", String(255), nullable=False),
    # Set while the alert is not closed: the unique index makes "one open alert per incident"
    # hold even when two reports of it race (NULLs never collide).
    Column("open_incident_key", String(255), unique=True),
    Column("elder_id", String(64)),
    Column("division_code", String(12), nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("summary", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("level", String(32), nullable=False),
    # Set only while an acknowledgement is awaited (open, and not past the last level).
    Column("ack_deadline", String(TIME)),
    Column("raised_at", String(TIME), nullable=False),
    Column("acknowledged_by", String(64)),
    Column("acknowledged_at", String(TIME)),
    Column("outcome", String(32)),
    Column("closed_at", String(TIME)),
    Column("policy_ref", String(32), nullable=False),
    Column("occurrences", Integer, nullable=False),
    Column("top_deadline_missed", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
)
Index("ix_alerts_ack_deadline", alerts.c.ack_deadline)
Index("ix_alerts_status_division", alerts.c.status, alerts.c.division_code)
# The dashboard's ages of recent alerts: a range of raised_at answered from the index alone.
Index("ix_alerts_raised", alerts.c.raised_at, alerts.c.status, alerts.c.division_code)

alert_counts = Table(
    "alert_counts", notifications_metadata,
    Column("division_code", String(12), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("alerts", Integer, nullable=False),
)

alert_department_counts = Table(
    "alert_department_counts", notifications_metadata,
    Column("division_code", String(12), primary_key=True),
    Column("department", String(48), primary_key=True),
    Column("alerts", Integer, nullable=False),
)

alert_routes = Table(
    "alert_routes", notifications_metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("party", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
)
Index("ix_alert_routes_party", alert_routes.c.party)

deliveries = Table(
    "deliveries", notifications_metadata,
    Column("delivery_id", String(64), primary_key=True),
    Column("alert_id", String(64), nullable=False),
    Column("party", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("channel", String(16)),
    Column("attempts", Integer, nullable=False),
    Column("in_flight", Boolean, nullable=False),
    Column("next_attempt_at", String(TIME)),
    Column("last_error", String(500)),
    Column("version", Integer, nullable=False),
)
Index("ix_deliveries_due", deliveries.c.status, deliveries.c.next_attempt_at)
Index("ix_deliveries_alert", deliveries.c.alert_id)

referrals = Table(
    "referrals", notifications_metadata,
    Column("referral_id", String(64), primary_key=True),
    Column("alert_id", String(64)),
    Column("elder_id", String(64)),
    Column("division_code", String(12), nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("from_department", String(48), nullable=False),
    Column("to_department", String(48), nullable=False),
    Column("request", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("due_on", String(10), nullable=False),
    Column("overdue", Boolean, nullable=False),
    Column("outcome", String(32)),
    Column("version", Integer, nullable=False),
)
Index("ix_referrals_due", referrals.c.status, referrals.c.due_on)
Index("ix_referrals_to", referrals.c.to_department)
Index("ix_referrals_from", referrals.c.from_department)
Index("ix_referrals_division", referrals.c.division_code, referrals.c.status)

party_contacts = Table(
    "party_contacts", notifications_metadata,
    Column("party", String(64), primary_key=True),
    Column("channels", Text, nullable=False),       # JSON list of {channel, address}, preferred first
    Column("set_at", String(TIME), nullable=False),
)

elder_contacts = Table(
    "elder_contacts", notifications_metadata,
    Column("elder_id", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("division_code", String(12), nullable=False),
    Column("supporters", Text, nullable=False),     # JSON list of {supporter_id, name, phone}
    Column("carer", Text),                           # JSON {name, relationship, phone} or NULL
    Column("active", Boolean, nullable=False),
)

device_heartbeats = Table(
    "device_heartbeats", notifications_metadata,
    Column("device_id", String(64), primary_key=True),
    Column("device_kind", String(32), nullable=False),
    Column("elder_id", String(64)),
    Column("division_code", String(12), nullable=False),
    Column("last_seen_at", String(TIME), nullable=False),
    Column("missing_since", String(TIME)),
)
Index("ix_device_heartbeats_last_seen", device_heartbeats.c.last_seen_at)

inbox_messages = Table(
    "inbox_messages", notifications_metadata,
    Column("message_id", String(64), primary_key=True),   # the delivery id: one message per delivery
    Column("party", String(64), nullable=False),
    Column("alert_id", String(64), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", String(TIME), nullable=False),
    Column("read_at", String(TIME)),
)
Index("ix_inbox_messages_party", inbox_messages.c.party, inbox_messages.c.created_at)
