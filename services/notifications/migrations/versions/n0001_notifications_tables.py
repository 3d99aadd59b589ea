"""Notifications read models and working tables (see services/notifications/adapters/tables.py).

Revision ID: n0001
Revises:
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "n0001"
down_revision = None
branch_labels = ("notifications",)
depends_on = ("k0001",)


def upgrade() -> None:
    op.create_table(
        "alert_routes",
        sa.Column("alert_id", sa.String(64), primary_key=True),
        sa.Column("party", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
    )
    op.create_index("ix_alert_routes_party", "alert_routes", ["party"])
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("incident_key", sa.String(255), nullable=False),
        sa.Column("open_incident_key", sa.String(255), unique=True),
        sa.Column("elder_id", sa.String(64)),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("ack_deadline", sa.String(32)),
        sa.Column("raised_at", sa.String(32), nullable=False),
        sa.Column("acknowledged_by", sa.String(64)),
        sa.Column("acknowledged_at", sa.String(32)),
        sa.Column("outcome", sa.String(32)),
        sa.Column("closed_at", sa.String(32)),
        sa.Column("policy_ref", sa.String(32), nullable=False),
        sa.Column("occurrences", sa.Integer, nullable=False),
        sa.Column("top_deadline_missed", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_alerts_ack_deadline", "alerts", ["ack_deadline"])
    op.create_index("ix_alerts_status_division", "alerts", ["status", "division_code"])
    op.create_table(
        "deliveries",
        sa.Column("delivery_id", sa.String(64), primary_key=True),
        sa.Column("alert_id", sa.String(64), nullable=False),
        sa.Column("party", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("in_flight", sa.Boolean, nullable=False),
        sa.Column("next_attempt_at", sa.String(32)),
        sa.Column("last_error", sa.String(500)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_deliveries_alert", "deliveries", ["alert_id"])
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.create_table(
        "device_heartbeats",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("device_kind", sa.String(32), nullable=False),
        sa.Column("elder_id", sa.String(64)),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("last_seen_at", sa.String(32), nullable=False),
        sa.Column("missing_since", sa.String(32)),
    )
    op.create_index("ix_device_heartbeats_last_seen", "device_heartbeats", ["last_seen_at"])
    op.create_table(
        "elder_contacts",
        sa.Column("elder_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("supporters", sa.Text, nullable=False),
        sa.Column("carer", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "inbox_messages",
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("party", sa.String(64), nullable=False),
        sa.Column("alert_id", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("read_at", sa.String(32)),
    )
    op.create_index("ix_inbox_messages_party", "inbox_messages", ["party", "created_at"])
    op.create_table(
        "party_contacts",
        sa.Column("party", sa.String(64), primary_key=True),
        sa.Column("channels", sa.Text, nullable=False),
        sa.Column("set_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "referrals",
        sa.Column("referral_id", sa.String(64), primary_key=True),
        sa.Column("alert_id", sa.String(64)),
        sa.Column("elder_id", sa.String(64)),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("from_department", sa.String(48), nullable=False),
        sa.Column("to_department", sa.String(48), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_on", sa.String(10), nullable=False),
        sa.Column("overdue", sa.Boolean, nullable=False),
        sa.Column("outcome", sa.String(32)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_referrals_due", "referrals", ["status", "due_on"])
    op.create_index("ix_referrals_from", "referrals", ["from_department"])
    op.create_index("ix_referrals_to", "referrals", ["to_department"])


def downgrade() -> None:
    op.drop_table("referrals")
    op.drop_table("party_contacts")
    op.drop_table("inbox_messages")
    op.drop_table("elder_contacts")
    op.drop_table("device_heartbeats")
    op.drop_table("deliveries")
    op.drop_table("alerts")
    op.drop_table("alert_routes")
