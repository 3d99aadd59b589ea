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

# Finance: the payee account of each elder (personal: the finance department's own database
# only; the account number never leaves it but in the bank's payment file).
payee_accounts = Table(
    "payee_accounts", departments_metadata,
    Column("elder_id", String(64), primary_key=True),
    Column("payee_name", String(64), nullable=False),
    Column("bank", String(128), nullable=False),
    Column("card", String(32), nullable=False),
    Column("account_number", String(32), nullable=False),
    Column("version", Integer, nullable=False),               # the payee stream's version
)

# Finance: each subsidy ledger entry paid (or being paid) through a bank payment file.
payments = Table(
    "payments", departments_metadata,
    Column("entry_id", String(64), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("file_id", String(80), nullable=False),            # the file it was last issued in
    Column("jurisdiction", String(12), nullable=False),       # the run's (a division prefix)
    Column("elder_id", String(64), nullable=False),
    Column("division_code", String(12), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),             # issued | paid | failed
    Column("attempt", Integer, nullable=False),
    Column("account_version", Integer, nullable=False),
    Column("next", String(16)),                               # after a failure: reissue | alert
    Column("alert_id", String(64)),
    Column("version", Integer, nullable=False),
)
Index("ix_payments_file", payments.c.file_id)
Index("ix_payments_run", payments.c.run_id, payments.c.status)
