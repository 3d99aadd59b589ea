"""Where a held checkpoint's own event sat in its source's log (position and chain hash), as
the witness received it: a stored hash at a known position, so that a deletion or rewrite of
a log's last events shows in ``audit verify`` and a rewrite is located (kernel.checkpoints).
Nullable: checkpoints held before this revision have neither.

Revision ID: k0007
Revises: k0005 (independent of k0006: either may be applied first)
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "k0007"
down_revision = "k0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("held_checkpoints") as table:
        table.add_column(sa.Column("event_position", sa.BigInteger()))
        table.add_column(sa.Column("event_hash", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("held_checkpoints") as table:
        table.drop_column("event_hash")
        table.drop_column("event_position")
