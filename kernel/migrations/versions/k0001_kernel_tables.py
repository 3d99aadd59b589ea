"""Kernel tables: the event log (also the outbox), relay cursor, inbox, unroutable events.

Revision ID: k0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from kernel.schema import append_only_ddl

revision = "k0001"
down_revision = None
branch_labels = ("kernel",)
depends_on = None

BIG_INTEGER = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", BIG_INTEGER, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("stream_id", sa.String(64), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("type", sa.String(128), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("time", sa.String(32), nullable=False),
        sa.Column("recorded_time", sa.String(32), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("jurisdiction", sa.String(12), nullable=False),
        sa.Column("correlation_id", sa.String(64)),
        sa.Column("causation_id", sa.String(64)),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("stream_id", "sequence", name="uq_events_stream_sequence"),
    )
    op.create_table(
        "relay_cursor",
        sa.Column("relay", sa.String(64), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(128), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("stream_id", sa.String(64), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("processed_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_inbox_consumer_stream", "inbox", ["consumer", "stream_id", "sequence"])
    op.create_table(
        "unroutable_events",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(128), nullable=False),
        sa.Column("exchange", sa.String(128), nullable=False),
        sa.Column("routing_key", sa.String(255), nullable=False),
        sa.Column("reply_code", sa.Integer, nullable=False),
        sa.Column("reply_text", sa.String(255), nullable=False),
        sa.Column("detected_at", sa.String(32), nullable=False),
        sa.Column("republished_at", sa.String(32)),
    )
    for statement in append_only_ddl(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    # Dropping the log is deliberate data destruction; allowed only as a whole-table drop.
    for table in ("unroutable_events", "inbox", "relay_cursor", "events"):
        op.drop_table(table)
