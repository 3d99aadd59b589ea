"""Ledger imports: imports, uploaded files, staged rows, probable duplicates.

Revision ID: i0001
Revises:
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "i0001"
down_revision = None
branch_labels = ("imports",)
depends_on = ("k0001",)


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("import_id", sa.String(36), primary_key=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("jurisdiction", sa.String(12), nullable=False),
        sa.Column("mapping", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rows_total", sa.Integer, nullable=False),
        sa.Column("opened_by", sa.Text, nullable=False),
        sa.Column("opened_at", sa.String(32), nullable=False),
        sa.Column("committed_by", sa.Text),
        sa.Column("effective_date", sa.String(10), nullable=False),
        sa.Column("problem", sa.Text),
    )
    op.create_index("ix_imports_status", "imports", ["status"])
    op.create_table(
        "import_rows",
        sa.Column("import_id", sa.String(36), primary_key=True),
        sa.Column("row_no", sa.Integer, primary_key=True),
        sa.Column("payload", sa.Text),
        sa.Column("problems", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("elder_id", sa.String(64)),
        sa.Column("same_as_row", sa.Integer),
    )
    op.create_index("ix_import_rows_status", "import_rows", ["import_id", "status", "row_no"])
    op.create_table(
        "import_matches",
        sa.Column("import_id", sa.String(36), primary_key=True),
        sa.Column("row_no", sa.Integer, primary_key=True),
        sa.Column("other", sa.String(80), primary_key=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("decision", sa.String(16)),
        sa.Column("merged", sa.Boolean, nullable=False),
    )
    op.create_table(
        "import_files",
        sa.Column("import_id", sa.String(36), primary_key=True),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("import_files")
    op.drop_table("import_matches")
    op.drop_table("import_rows")
    op.drop_table("imports")
