"""Per-village alert counts for the dashboard (kept by the alert board), filled from the
board as it stands; indexes for the ages of recent alerts and referrals by division.

Revision ID: n0002
Revises: n0001
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "n0002"
down_revision = "n0001"
branch_labels = None
depends_on = None

# A department party is spelled department:<department>:<county>.
_DEPARTMENT = "SUBSTR(r.party, 12, LENGTH(r.party) - 18)"
# The counts as the board stands (also run by the gateway benchmark after a bulk load).
FILL_COUNTS = {
    "alert_counts": ["INSERT INTO alert_counts (division_code, status, alerts) "
                     "SELECT division_code, status, COUNT(*) FROM alerts GROUP BY division_code, status"],
    "alert_department_counts": [
        "INSERT INTO alert_department_counts (division_code, department, alerts) "
        f"SELECT a.division_code, {_DEPARTMENT}, COUNT(*) FROM alert_routes r JOIN alerts a ON a.alert_id = r.alert_id "
        f"WHERE a.status != 'closed' AND r.party LIKE 'department:%' GROUP BY a.division_code, {_DEPARTMENT}"],
}


def upgrade() -> None:
    op.create_table(
        "alert_counts",
        sa.Column("division_code", sa.String(12), primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("alerts", sa.Integer(), nullable=False),
    )
    op.create_table(
        "alert_department_counts",
        sa.Column("division_code", sa.String(12), primary_key=True),
        sa.Column("department", sa.String(48), primary_key=True),
        sa.Column("alerts", sa.Integer(), nullable=False),
    )
    op.create_index("ix_alerts_raised", "alerts", ["raised_at", "status", "division_code"])
    op.create_index("ix_referrals_division", "referrals", ["division_code", "status"])
    for statements in FILL_COUNTS.values():
        for statement in statements:
            op.execute(statement)

def downgrade() -> None:
    op.drop_index("ix_referrals_division", "referrals")
    op.drop_index("ix_alerts_raised", "alerts")
    op.drop_table("alert_department_counts")
    op.drop_table("alert_counts")
