"""Every service holds the checkpoints the other services publish (kernel.checkpoints).

Revision ID: k0003
Revises: k0002
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "k0003"
down_revision = "k0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "held_checkpoints",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("tree_size", sa.Integer(), primary_key=True),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("sealed_at", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("held_checkpoints")
