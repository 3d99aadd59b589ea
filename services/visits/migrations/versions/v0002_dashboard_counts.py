"""Per-village counts for the dashboard (kept by the plan directory and the visit ledger):
plans by target classes, the months each elder has a current visit record, elders under
obligation visited per month, closed periods by outcome. Filled from the tables as they stand.

Revision ID: v0002
Revises: v0001
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "v0002"
down_revision = "v0001"
branch_labels = None
depends_on = None

# The counts as the tables stand (also run by the gateway benchmark after a bulk load); the
# months with a visit (``plan_visit_months``) are per elder and filled here only.
FILL_COUNTS = {
    "plan_counts": ["INSERT INTO plan_counts (division_code, classes, elders) "
                    "SELECT division_code, classes, COUNT(*) FROM plans GROUP BY division_code, classes"],
    "visit_counts": ["INSERT INTO visit_counts (division_code, month, elders) "
                     "SELECT p.division_code, m.month, COUNT(*) FROM plan_visit_months m "
                     "JOIN plans p ON p.elder_id = m.elder_id WHERE p.classes != '' GROUP BY p.division_code, m.month"],
    "outcome_counts": ["INSERT INTO outcome_counts (division_code, period, target_class, outcome, elders) "
                       "SELECT division_code, period, target_class, outcome, COUNT(*) FROM period_outcomes "
                       "GROUP BY division_code, period, target_class, outcome"],
}


def upgrade() -> None:
    op.create_table(
        "plan_counts",
        sa.Column("division_code", sa.String(12), primary_key=True),
        sa.Column("classes", sa.String(64), primary_key=True),
        sa.Column("elders", sa.Integer(), nullable=False),
    )
    op.create_table(
        "plan_visit_months",
        sa.Column("elder_id", sa.String(64), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
    )
    op.create_table(
        "visit_counts",
        sa.Column("division_code", sa.String(12), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("elders", sa.Integer(), nullable=False),
    )
    op.create_table(
        "outcome_counts",
        sa.Column("division_code", sa.String(12), primary_key=True),
        sa.Column("period", sa.String(8), primary_key=True),
        sa.Column("target_class", sa.String(32), primary_key=True),
        sa.Column("outcome", sa.String(16), primary_key=True),
        sa.Column("elders", sa.Integer(), nullable=False),
    )
    op.execute("INSERT INTO plan_visit_months (elder_id, month) SELECT DISTINCT elder_id, SUBSTR(visited_on, 1, 7) "
               "FROM visit_records WHERE superseded_by IS NULL")
    for statements in FILL_COUNTS.values():
        for statement in statements:
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("outcome_counts")
    op.drop_table("visit_counts")
    op.drop_table("plan_visit_months")
    op.drop_table("plan_counts")
