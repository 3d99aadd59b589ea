"""Registry read model: one row per elder record (the ledger's current view).

Revision ID: r0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "r0001"
down_revision = None
branch_labels = ("registry",)
depends_on = ("k0001",)


def upgrade() -> None:
    op.create_table(
        "elders",
        sa.Column("elder_id", sa.String(64), primary_key=True),
        sa.Column("resident_id", sa.String(18), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("sex", sa.String(8), nullable=False),
        sa.Column("birth_date", sa.String(10), nullable=False),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("township_code", sa.String(9), nullable=False),
        sa.Column("record_status", sa.String(16), nullable=False),
        sa.Column("left_behind", sa.Boolean, nullable=False),
        sa.Column("left_behind_since", sa.String(10)),
        sa.Column("key_target", sa.Boolean, nullable=False),
        sa.Column("key_target_reasons", sa.String(128), nullable=False),
        sa.Column("self_care_level", sa.String(32), nullable=False),
        sa.Column("lives_alone", sa.Boolean, nullable=False),
        sa.Column("hospitalised", sa.Boolean, nullable=False),
        sa.Column("supporters_total", sa.Integer, nullable=False),
        sa.Column("supporters_away", sa.Integer, nullable=False),
        sa.Column("died_on", sa.String(10)),
        sa.Column("merged_into", sa.String(64)),
        sa.Column("next_review_on", sa.String(10)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_elders_resident_id", "elders", ["resident_id"])
    op.create_index("ix_elders_division", "elders", ["division_code"])
    op.create_index("ix_elders_next_review", "elders", ["next_review_on"])


def downgrade() -> None:
    op.drop_table("elders")
