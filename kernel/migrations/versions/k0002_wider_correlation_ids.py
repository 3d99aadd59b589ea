"""Correlation and causation ids hold nameko call ids ("service.method.<uuid>", often over 64
characters), not only event ids: widen them.

Revision ID: k0002
Revises: k0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "k0002"
down_revision = "k0001"
branch_labels = None
depends_on = None


def _resize(old: int, new: int) -> None:
    # SQLite does not enforce VARCHAR lengths, and rebuilding the table there (its only way
    # to alter a column) would drop the append-only triggers: PostgreSQL only.
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in ("correlation_id", "causation_id"):
        op.alter_column("events", column, type_=sa.String(new), existing_type=sa.String(old))


def upgrade() -> None:
    _resize(64, 255)


def downgrade() -> None:
    _resize(255, 64)
