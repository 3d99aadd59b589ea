"""Home-service orders, what orders knows of elders and facilities, daily load, meals delivered.

Revision ID: o0001
Revises:
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "o0001"
down_revision = None
branch_labels = ("orders",)
depends_on = ("k0001",)


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("elder_id", sa.String(64), nullable=False),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("service_kind", sa.String(16), nullable=False),
        sa.Column("service_date", sa.String(10), nullable=False),
        sa.Column("caller", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("facility_id", sa.String(64)),
        sa.Column("accept_by", sa.String(32), nullable=False),
        sa.Column("unaccepted", sa.Boolean, nullable=False),
        sa.Column("delivered_on", sa.String(10)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_orders_facility", "orders", ["facility_id", "status", "service_date"])
    op.create_index("ix_orders_waiting", "orders", ["status", "accept_by"])
    op.create_index("ix_orders_elder", "orders", ["elder_id"])
    op.create_table(
        "order_elders",
        sa.Column("elder_id", sa.String(64), primary_key=True),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("record_status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "order_facilities",
        sa.Column("facility_id", sa.String(64), primary_key=True),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("in_operation", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "home_offers",
        sa.Column("facility_id", sa.String(64), primary_key=True),
        sa.Column("service_kind", sa.String(16), primary_key=True),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("daily_capacity", sa.Integer, nullable=False),
    )
    op.create_index("ix_home_offers_county", "home_offers", ["county_code", "service_kind"])
    op.create_table(
        "daily_load",
        sa.Column("facility_id", sa.String(64), primary_key=True),
        sa.Column("service_kind", sa.String(16), primary_key=True),
        sa.Column("service_date", sa.String(10), primary_key=True),
        sa.Column("taken", sa.Integer, nullable=False),
    )
    op.create_table(
        "meals_delivered",
        sa.Column("elder_id", sa.String(64), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("meals", sa.Integer, nullable=False),
    )
    op.create_index("ix_meals_delivered_month", "meals_delivered", ["month", "division_code"])


def downgrade() -> None:
    for table in ("meals_delivered", "daily_load", "home_offers", "order_facilities", "order_elders", "orders"):
        op.drop_table(table)
