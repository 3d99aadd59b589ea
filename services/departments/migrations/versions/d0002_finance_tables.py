"""Finance: payee accounts and payments.

Revision ID: d0002
Revises: d0001
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "d0002"
down_revision = "d0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payee_accounts",
        sa.Column("elder_id", sa.String(64), primary_key=True),
        sa.Column("payee_name", sa.String(64), nullable=False),
        sa.Column("bank", sa.String(128), nullable=False),
        sa.Column("card", sa.String(32), nullable=False),
        sa.Column("account_number", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "payments",
        sa.Column("entry_id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("file_id", sa.String(80), nullable=False),
        sa.Column("jurisdiction", sa.String(12), nullable=False),
        sa.Column("elder_id", sa.String(64), nullable=False),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("account_version", sa.Integer, nullable=False),
        sa.Column("next", sa.String(16)),
        sa.Column("alert_id", sa.String(64)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_payments_file", "payments", ["file_id"])
    op.create_index("ix_payments_run", "payments", ["run_id", "status"])


def downgrade() -> None:
    op.drop_table("payments")
    op.drop_table("payee_accounts")
