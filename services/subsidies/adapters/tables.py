"""The subsidies service's own tables (only subsidies reads them).

Written by the consumers, in the inbox's transaction (not rebuildable from our log):

- ``fact_history``: every fact learnt about an elder from registry and facilities events,
  append-only, with its effective date and the instant subsidies recorded it — the
  bitemporal history that "as known at" questions fold;
- ``elders`` (a version bumped by every new fact), ``elder_divisions`` (every division an
  elder was ever in: who a jurisdiction's run looks at) and ``facility_grants``.

Written by runs: ``reviews`` (the fact version of each elder a jurisdiction's run last
recomputed: unchanged elders are not recomputed for past months) and ``run_progress``
(where an interrupted run resumes). ``runs`` and ``ledger`` are projections of our log,
rebuildable with ``eldercare rebuild subsidies``.
"""
from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, String, Text, Table

subsidies_metadata = MetaData()

fact_history = Table(
    "fact_history", subsidies_metadata,
    Column("fact_id", Integer, primary_key=True, autoincrement=True),
    Column("elder_id", String(64), nullable=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("effective_date", String(10), nullable=False),
    Column("recorded_at", String(32), nullable=False),        # when subsidies learnt it (UTC)
    Column("source_recorded_time", String(32), nullable=False),  # when the producer recorded it
    Column("data", Text, nullable=False),
    Index("ix_fact_history_elder", "elder_id", "fact_id"),
)

elders = Table(
    "elders", subsidies_metadata,
    Column("elder_id", String(64), primary_key=True),
    Column("facts_version", Integer, nullable=False),
)

elder_divisions = Table(
    "elder_divisions", subsidies_metadata,
    Column("division_code", String(12), primary_key=True),
    Column("elder_id", String(64), primary_key=True),
)

facility_grants = Table(
    "facility_grants", subsidies_metadata,
    Column("grant_id", String(36), primary_key=True),
    Column("facility_id", String(64), nullable=False),
    Column("programme", String(32), nullable=False),
    Column("division_code", String(12), nullable=False),
    Column("effective_date", String(10), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("policy_source", String(255), nullable=False),
    Column("recorded_at", String(32), nullable=False),
    Index("ix_facility_grants_division", "division_code"),
)

reviews = Table(
    "reviews", subsidies_metadata,
    Column("jurisdiction", String(12), primary_key=True),
    Column("elder_id", String(64), primary_key=True),
    Column("reviewed_version", Integer, nullable=False),
)

run_progress = Table(
    "run_progress", subsidies_metadata,
    Column("run_id", String(64), primary_key=True),
    # Cursor over elder_divisions' primary key (division, elder): a range scan per page.
    Column("after_division_code", String(12), nullable=False),
    Column("after_elder_id", String(64), nullable=False),
    Column("payments_version", Integer, nullable=False),
    Column("elders_done", Boolean, nullable=False),
)

runs = Table(
    "runs", subsidies_metadata,
    Column("run_id", String(64), primary_key=True),
    Column("jurisdiction", String(12), nullable=False),
    Column("month", String(7), nullable=False),
    Column("status", String(16), nullable=False),     # started | completed | approved | paid | none (closed only)
    Column("closed", Boolean, nullable=False),
    Column("rulebook_hash", String(64)),
    Column("started_at", String(32)),
    Column("beneficiaries", Integer),
    Column("disbursements", Integer),
    Column("disbursed_fen", BigInteger),
    Column("adjustments", Integer),
    Column("adjusted_fen", BigInteger),
    Column("approved_by", String(64)),
    Column("paid_on", String(10)),
    Column("payment_reference", String(128)),
    Index("ix_runs_month", "month", "jurisdiction"),
)

ledger = Table(
    "ledger", subsidies_metadata,
    Column("entry_id", String(36), primary_key=True),     # the event id
    Column("run_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),           # disbursement | adjustment
    Column("beneficiary_id", String(64), nullable=False),
    Column("beneficiary_kind", String(16), nullable=False),
    Column("programme", String(32), nullable=False),
    Column("period", String(7), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("division_code", String(12), nullable=False),
    Column("rule_version", String(128)),
    Column("rule_hash", String(64)),
    Column("corrects", Text, nullable=False),             # space-separated entry ids
    Column("recorded_at", String(32), nullable=False),
    Index("ix_ledger_beneficiary", "beneficiary_id", "period"),
    Index("ix_ledger_run", "run_id", "division_code"),
    Index("ix_ledger_reference", "reference"),
)

PROJECTION_TABLES = (runs, ledger)
