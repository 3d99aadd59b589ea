"""Per-village elder counts for the dashboard (kept by the elder directory projection),
filled from the directory as it stands.

Revision ID: r0002
Revises: r0001
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "r0002"
down_revision = "r0001"
branch_labels = None
depends_on = None

REASONS = ("hard_up", "advanced_age", "disabled", "living_alone")
COLUMNS = ("active", "left_behind", "key_target", "hospitalised", "deceased", *[f"key_target_{r}" for r in REASONS])
_ACTIVE, _KEY_TARGET = "record_status = 'active'", "record_status = 'active' AND key_target"
_SUMS = [f"SUM(CASE WHEN {_ACTIVE} THEN 1 ELSE 0 END)",
         f"SUM(CASE WHEN {_ACTIVE} AND left_behind THEN 1 ELSE 0 END)",
         f"SUM(CASE WHEN {_KEY_TARGET} THEN 1 ELSE 0 END)",
         f"SUM(CASE WHEN {_ACTIVE} AND hospitalised THEN 1 ELSE 0 END)",
         "SUM(CASE WHEN record_status = 'deceased' THEN 1 ELSE 0 END)",
         *[f"SUM(CASE WHEN {_KEY_TARGET} AND ',' || key_target_reasons || ',' LIKE '%,{r},%' THEN 1 ELSE 0 END)"
           for r in REASONS]]
# The counts as the directory stands (also run by the gateway benchmark after a bulk load).
FILL_COUNTS = {"elder_counts": [f"INSERT INTO elder_counts (division_code, {', '.join(COLUMNS)}) "
                                f"SELECT division_code, {', '.join(_SUMS)} FROM elders GROUP BY division_code "
                                # a village of merged records only counts nothing: no row
                                "HAVING SUM(CASE WHEN record_status IN ('active', 'deceased') THEN 1 ELSE 0 END) > 0"]}


def upgrade() -> None:
    op.create_table(
        "elder_counts",
        sa.Column("division_code", sa.String(12), primary_key=True),
        *[sa.Column(name, sa.Integer, nullable=False) for name in COLUMNS],
    )
    for statements in FILL_COUNTS.values():
        for statement in statements:
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("elder_counts")
