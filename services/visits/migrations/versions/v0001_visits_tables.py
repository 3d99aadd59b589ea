"""Visits tables: elder profiles learnt from the registry, visitors, plans, visit records,
closed periods, conflicts, notices and the period-close cursor.

Revision ID: v0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "v0001"
down_revision = None
branch_labels = ("visits",)
depends_on = ("k0001",)


def upgrade() -> None:
    op.create_table(
        "elder_profiles",
        sa.Column("elder_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("phone", sa.String(32)),
        sa.Column("supporters", sa.Text(), nullable=False),
        sa.Column("left_behind", sa.Boolean(), nullable=False),
        sa.Column("key_target", sa.Boolean(), nullable=False),
        sa.Column("hard_up", sa.Boolean(), nullable=False),
        sa.Column("record_status", sa.String(16), nullable=False),
        sa.Column("died_on", sa.String(10)),
    )
    op.create_table(
        "notices",
        sa.Column("notice_id", sa.String(64), primary_key=True),
        sa.Column("elder_id", sa.String(64), nullable=False),
        sa.Column("visitor_id", sa.String(64), nullable=False),
        sa.Column("issued_on", sa.String(10), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "period_outcomes",
        sa.Column("elder_id", sa.String(64), primary_key=True),
        sa.Column("period", sa.String(8), primary_key=True),
        sa.Column("period_start", sa.String(10), nullable=False),
        sa.Column("due_on", sa.String(10), nullable=False),
        sa.Column("target_class", sa.String(32), nullable=False),
        sa.Column("required_visits", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("days_late", sa.Integer()),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("visitor_id", sa.String(64)),
    )
    op.create_index("ix_period_outcomes_period_division", "period_outcomes", ["period", "division_code"])
    op.create_table(
        "period_sweeps",
        sa.Column("elder_id", sa.String(64), primary_key=True),
        sa.Column("swept_through", sa.String(10), nullable=False),
    )
    op.create_table(
        "plans",
        sa.Column("elder_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("classes", sa.String(64), nullable=False),
        sa.Column("visitor_id", sa.String(64)),
        sa.Column("reassignment_needed", sa.Boolean(), nullable=False),
        sa.Column("tracking_from", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_plans_visitor", "plans", ["visitor_id"])
    op.create_index("ix_plans_division", "plans", ["division_code"])
    op.create_table(
        "visit_conflicts",
        sa.Column("elder_id", sa.String(64), primary_key=True),
        sa.Column("visit_ids", sa.String(140), primary_key=True),
        sa.Column("visited_on", sa.String(10), nullable=False),
        sa.Column("differences", sa.Text(), nullable=False),
    )
    op.create_table(
        "visit_records",
        sa.Column("visit_id", sa.String(64), primary_key=True),
        sa.Column("elder_id", sa.String(64), nullable=False),
        sa.Column("visitor_id", sa.String(64), nullable=False),
        sa.Column("visited_on", sa.String(10), nullable=False),
        sa.Column("mode", sa.String(32), nullable=False),
        sa.Column("services", sa.String(128), nullable=False),
        sa.Column("risks", sa.String(256), nullable=False),
        sa.Column("superseded_by", sa.String(64)),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_visit_records_elder", "visit_records", ["elder_id", "visited_on"])
    op.create_table(
        "visitors",
        sa.Column("visitor_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("organisation", sa.String(128), nullable=False),
        sa.Column("village_codes", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("visitors")
    op.drop_table("visit_records")
    op.drop_table("visit_conflicts")
    op.drop_table("plans")
    op.drop_table("period_sweeps")
    op.drop_table("period_outcomes")
    op.drop_table("notices")
    op.drop_table("elder_profiles")
