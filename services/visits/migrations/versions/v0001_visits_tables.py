"""Visits tables: elder profiles learnt from the registry, visitors, plans, visit records,
closed periods, conflicts, notices and the period-close cursor.

Revision ID: v0001
Revises:
Create Date: 2026-11-23
"""
from alembic import op

from services.visits.adapters.tables import visits_metadata

revision = "v0001"
down_revision = None
branch_labels = ("visits",)
depends_on = ("k0001",)


def upgrade() -> None:
    # The tables are declared once (adapters/tables.py); later revisions alter them explicitly.
    visits_metadata.create_all(op.get_bind())


def downgrade() -> None:
    visits_metadata.drop_all(op.get_bind())
