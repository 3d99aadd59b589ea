"""Facilities read models (directory, residences) and its view of elders.

Revision ID: f0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "f0001"
down_revision = None
branch_labels = ("facilities",)
depends_on = ("k0001",)


def upgrade() -> None:
    op.create_table(
        "facilities",
        sa.Column("facility_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("township_code", sa.String(9), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("operating_model", sa.String(40), nullable=False),
        sa.Column("operator", sa.String(128), nullable=False),
        sa.Column("services", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("occupancy", sa.Integer, nullable=False),
        sa.Column("stars", sa.Integer),
        sa.Column("opened_on", sa.String(10), nullable=False),
        sa.Column("closed_on", sa.String(10)),
        sa.Column("merged_into", sa.String(64)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_facilities_division", "facilities", ["division_code"])
    op.create_index("ix_facilities_kind", "facilities", ["kind"])
    op.create_table(
        "residences",
        sa.Column("stay_id", sa.String(36), primary_key=True),
        sa.Column("elder_id", sa.String(64), nullable=False),
        sa.Column("facility_id", sa.String(64), nullable=False),
        sa.Column("admission_kind", sa.String(32), nullable=False),
        sa.Column("admitted_on", sa.String(10), nullable=False),
        sa.Column("left_on", sa.String(10)),
        sa.Column("left_reason", sa.Text),
    )
    op.create_index("ix_residences_facility", "residences", ["facility_id", "left_on"])
    op.create_index("ux_residences_current_stay", "residences", ["elder_id"], unique=True,
                    sqlite_where=sa.text("left_on IS NULL"), postgresql_where=sa.text("left_on IS NULL"))
    op.create_table(
        "known_elders",
        sa.Column("elder_id", sa.String(64), primary_key=True),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("record_status", sa.String(16), nullable=False),
        sa.Column("died_on", sa.String(10)),
        sa.Column("merged_into", sa.String(64)),
        sa.Column("version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("known_elders")
    op.drop_table("residences")
    op.drop_table("facilities")
