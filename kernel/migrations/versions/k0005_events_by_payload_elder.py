"""An index of the log by the elder its payloads name (kernel.trace.events_about: the
gateway's timeline at county scale reads two index ranges instead of scanning the log).

Revision ID: k0005
Revises: k0004
Create Date: 2026-12-02
"""
from alembic import op

from kernel.schema import elder_index_ddl

revision = "k0005"
down_revision = "k0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in elder_index_ddl(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP INDEX ix_events_payload_elder_id")
