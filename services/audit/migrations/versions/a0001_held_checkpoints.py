"""The audit witness: checkpoints received from every sealing service.

Revision ID: a0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "a0001"
down_revision = None
branch_labels = ("audit",)
depends_on = ("k0001",)


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
