"""Commands applied by the id their caller gave (kernel.commands).

Revision ID: k0004
Revises: k0003
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "k0004"
down_revision = "k0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applied_commands",
        sa.Column("command_id", sa.String(64), primary_key=True),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("applied_at", sa.String(32), nullable=False),
        sa.Column("answer", sa.Text()),
    )


def downgrade() -> None:
    op.drop_table("applied_commands")
