"""Subsidies tables: the fact history learnt from registry and facilities, facility grants,
run reviews and progress, and the runs and ledger projections.

Written out table by table (not ``metadata.create_all``) so that later changes to
``adapters/tables.py`` come with their own revision and never rewrite this one.

Revision ID: s0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "s0001"
down_revision = None
branch_labels = ("subsidies",)
depends_on = ("k0001",)


def upgrade() -> None:
    op.create_table(
        "fact_history",
        sa.Column("fact_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("elder_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("effective_date", sa.String(10), nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
        sa.Column("source_recorded_time", sa.String(32), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_fact_history_elder", "fact_history", ["elder_id", "fact_id"])
    op.create_table(
        "elders",
        sa.Column("elder_id", sa.String(64), primary_key=True),
        sa.Column("facts_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "elder_divisions",
        sa.Column("division_code", sa.String(12), primary_key=True),
        sa.Column("elder_id", sa.String(64), primary_key=True),
    )
    op.create_table(
        "facility_grants",
        sa.Column("grant_id", sa.String(36), primary_key=True),
        sa.Column("facility_id", sa.String(64), nullable=False),
        sa.Column("programme", sa.String(32), nullable=False),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("effective_date", sa.String(10), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("policy_source", sa.String(255), nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_facility_grants_division", "facility_grants", ["division_code"])
    op.create_table(
        "reviews",
        sa.Column("jurisdiction", sa.String(12), primary_key=True),
        sa.Column("elder_id", sa.String(64), primary_key=True),
        sa.Column("reviewed_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "run_progress",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("after_division_code", sa.String(12), nullable=False),
        sa.Column("after_elder_id", sa.String(64), nullable=False),
        sa.Column("payments_version", sa.Integer, nullable=False),
        sa.Column("elders_done", sa.Boolean, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("jurisdiction", sa.String(12), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.Column("rulebook_hash", sa.String(64)),
        sa.Column("started_at", sa.String(32)),
        sa.Column("beneficiaries", sa.Integer),
        sa.Column("disbursements", sa.Integer),
        sa.Column("disbursed_fen", sa.BigInteger),
        sa.Column("adjustments", sa.Integer),
        sa.Column("adjusted_fen", sa.BigInteger),
        sa.Column("approved_by", sa.String(64)),
        sa.Column("paid_on", sa.String(10)),
        sa.Column("payment_reference", sa.String(128)),
    )
    op.create_index("ix_runs_month", "runs", ["month", "jurisdiction"])
    op.create_table(
        "ledger",
        sa.Column("entry_id", sa.String(36), primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("beneficiary_id", sa.String(64), nullable=False),
        sa.Column("beneficiary_kind", sa.String(16), nullable=False),
        sa.Column("programme", sa.String(32), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("rule_version", sa.String(128)),
        sa.Column("rule_hash", sa.String(64)),
        sa.Column("corrects", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_ledger_beneficiary", "ledger", ["beneficiary_id", "period"])
    op.create_index("ix_ledger_run", "ledger", ["run_id", "division_code"])
    op.create_index("ix_ledger_reference", "ledger", ["reference"])


def downgrade() -> None:
    for table in ("ledger", "runs", "run_progress", "reviews", "facility_grants", "elder_divisions", "elders",
                  "fact_history"):
        op.drop_table(table)
