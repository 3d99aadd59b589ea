"""Survey campaigns and their task lists.

Revision ID: s0001
Revises:
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "s0001"
down_revision = None
branch_labels = ("surveys",)
depends_on = ("k0001",)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("jurisdiction", sa.String(12), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("opened_on", sa.String(10), nullable=False),
        sa.Column("deadline", sa.String(10), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "survey_tasks",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("elder_id", sa.String(64), primary_key=True),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.Column("surveyed_on", sa.String(10)),
        sa.Column("visitor", sa.String(64)),
    )
    op.create_index("ix_survey_tasks_village", "survey_tasks", ["campaign_id", "village_code"])


def downgrade() -> None:
    op.drop_table("survey_tasks")
    op.drop_table("campaigns")
