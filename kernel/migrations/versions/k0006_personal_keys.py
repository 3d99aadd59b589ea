"""Personal data keys (kernel.personal): one data key per person, wrapped by a master key.

Revision ID: k0006
Revises: k0005
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "k0006"
down_revision = "k0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "personal_keys",
        sa.Column("person_id", sa.String(128), primary_key=True),
        sa.Column("master_key_id", sa.String(32)),
        sa.Column("wrapped", sa.Text),
        sa.Column("erased_at", sa.String(32)),
        sa.Column("erasure", sa.String(64)),
    )


def downgrade() -> None:
    op.drop_table("personal_keys")
