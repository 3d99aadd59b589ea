"""The departments' read models, kept in the append's transaction by
``adapters.projections`` and rebuildable from the log: one row per record (stream) with its
current status, and one row per fact for the per-year counts of the dashboard."""
from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table

departments_metadata = MetaData()

records = Table(
    "department_records", departments_metadata,
    Column("record_id", String(80), primary_key=True),      # the stream id, e.g. pension:<elder>
    Column("area", String(16), nullable=False),
    Column("elder_id", String(64), nullable=False),
    Column("division_code", String(12), nullable=False),
    Column("department", String(48), nullable=False),
    Column("status", String(16), nullable=False),
    Column("kind", String(32)),                               # a case's kind
    Column("opened_on", String(10), nullable=False),
    Column("closed_on", String(10)),
    Column("updated_on", String(10), nullable=False),
    Column("monthly_amount_fen", BigInteger),                 # a pension received
    Column("outcome", String(32)),
    Column("referral_id", String(64)),
    Column("version", Integer, nullable=False),
)
Index("ix_department_records_elder", records.c.elder_id)
Index("ix_department_records_division", records.c.area, records.c.status, records.c.division_code)

facts = Table(
    "department_facts", departments_metadata,
    Column("event_id", String(64), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("record_id", String(80), nullable=False),
    Column("elder_id", String(64), nullable=False),
    Column("division_code", String(12), nullable=False),
    Column("department", String(48), nullable=False),
    Column("effective_date", String(10), nullable=False),
    Column("year", Integer, nullable=False),
    Column("risk", Boolean, nullable=False),                  # a health check that raised a risk
)
Index("ix_department_facts_year", facts.c.type, facts.c.year, facts.c.division_code)
Index("ix_department_facts_record", facts.c.record_id)
