"""Where a held checkpoint's own event sat in its source's log (position and chain hash), as
the witness received it: a stored hash at a known position, so that a deletion or rewrite of
a log's last events shows in ``audit verify`` and a rewrite is located (kernel.checkpoints).
Nullable: checkpoints held before this revision have neither.

Revision ID: k0007
Revises: k0006
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "k0007"
down_revision = "k0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("held_checkpoints", sa.Column("event_position", sa.BigInteger()))
    op.add_column("held_checkpoints", sa.Column("event_hash", sa.String(64)))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): no table copy for two nullable columns.
    for column in ("event_hash", "event_position"):
        op.execute(f"ALTER TABLE held_checkpoints DROP COLUMN {column}")
