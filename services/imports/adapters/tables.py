"""The import service's own tables: each import, its staged rows and the probable
duplicates found. Rows hold the ``register_elder`` payload built from the file (personal
data, as the registry's own); they are the work list of the resumable commit."""
from sqlalchemy import Boolean, Column, Index, Integer, LargeBinary, MetaData, String, Table, Text

imports_metadata = MetaData()

imports = Table(
    "imports", imports_metadata,
    Column("import_id", String(36), primary_key=True),
    Column("filename", String(255), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("jurisdiction", String(12), nullable=False),
    Column("mapping", Text, nullable=False),
    Column("status", String(16), nullable=False),          # reading, checking, checked, committing, committed; failed
    Column("rows_total", Integer, nullable=False),
    Column("opened_by", Text, nullable=False),
    Column("opened_at", String(32), nullable=False),
    Column("committed_by", Text),
    Column("effective_date", String(10), nullable=False),   # the day rows without 登记日期 are registered on
    Column("problem", Text),                                # why reading the file failed (status failed)
)
Index("ix_imports_status", imports.c.status)

import_rows = Table(
    "import_rows", imports_metadata,
    Column("import_id", String(36), primary_key=True),
    Column("row_no", Integer, primary_key=True),
    Column("payload", Text),
    Column("problems", Text),
    # pending, accepted, refused, existing, same_person, registered
    Column("status", String(16), nullable=False),
    Column("elder_id", String(64)),
    Column("same_as_row", Integer),
)
Index("ix_import_rows_status", import_rows.c.import_id, import_rows.c.status, import_rows.c.row_no)

import_matches = Table(
    "import_matches", imports_metadata,
    Column("import_id", String(36), primary_key=True),
    Column("row_no", Integer, primary_key=True),
    Column("other", String(80), primary_key=True),         # row:<n> or elder:<elder_id>
    Column("reason", String(40), nullable=False),
    Column("decision", String(16)),                        # merge, keep_both; empty: undecided
    Column("merged", Boolean, nullable=False),
)

# The file as uploaded (its SHA-256 is in the import_opened event): read in the background.
import_files = Table(
    "import_files", imports_metadata,
    Column("import_id", String(36), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)
