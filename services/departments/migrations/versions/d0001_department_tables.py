"""The departments' records and facts.

Revision ID: d0001
Revises:
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "d0001"
down_revision = None
branch_labels = ("departments",)
depends_on = ("k0001",)


def upgrade() -> None:
    op.create_table(
        "department_records",
        sa.Column("record_id", sa.String(80), primary_key=True),
        sa.Column("area", sa.String(16), nullable=False),
        sa.Column("elder_id", sa.String(64), nullable=False),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("department", sa.String(48), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32)),
        sa.Column("opened_on", sa.String(10), nullable=False),
        sa.Column("closed_on", sa.String(10)),
        sa.Column("updated_on", sa.String(10), nullable=False),
        sa.Column("monthly_amount_fen", sa.BigInteger),
        sa.Column("outcome", sa.String(32)),
        sa.Column("referral_id", sa.String(64)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_department_records_elder", "department_records", ["elder_id"])
    op.create_index("ix_department_records_division", "department_records", ["area", "status", "division_code"])
    op.create_table(
        "department_facts",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(80), nullable=False),
        sa.Column("elder_id", sa.String(64), nullable=False),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("department", sa.String(48), nullable=False),
        sa.Column("effective_date", sa.String(10), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("risk", sa.Boolean, nullable=False),
    )
    op.create_index("ix_department_facts_year", "department_facts", ["type", "year", "division_code"])
    op.create_index("ix_department_facts_record", "department_facts", ["record_id"])


def downgrade() -> None:
    op.drop_table("department_facts")
    op.drop_table("department_records")
