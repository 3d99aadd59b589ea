"""The visits service's own tables (only visits reads them).

``elder_profiles`` is what visits has learnt from registry events (kept by the consumer in
the inbox's transaction); ``period_sweeps`` is the close-period timer's cursor. The other
tables are projections of the visits log, rebuildable with ``eldercare rebuild visits``.
The ``*_counts`` tables are the dashboard's figures per village, kept by the same projections
in the same transactions, so a county's figures add up a few thousand rows instead of
scanning every plan, record and closed period.
"""
from sqlalchemy import Boolean, Column, Index, Integer, LargeBinary, MetaData, String, Table, Text

visits_metadata = MetaData()

elder_profiles = Table(
    "elder_profiles", visits_metadata,
    Column("elder_id", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("division_code", String(12), nullable=False),
    Column("phone", String(32)),
    Column("supporters", Text, nullable=False),          # JSON list of {supporter_id, name, phone}
    Column("left_behind", Boolean, nullable=False),
    Column("key_target", Boolean, nullable=False),
    Column("hard_up", Boolean, nullable=False),
    Column("record_status", String(16), nullable=False),  # active | deceased | merged
    Column("died_on", String(10)),
)

visitors = Table(
    "visitors", visits_metadata,
    Column("visitor_id", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("role", String(32), nullable=False),
    Column("organisation", String(128), nullable=False),
    Column("village_codes", Text, nullable=False),       # space-separated 12-digit codes
    Column("active", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
)

plans = Table(
    "plans", visits_metadata,
    Column("elder_id", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("division_code", String(12), nullable=False),
    Column("classes", String(64), nullable=False),       # space-separated; "" = no obligation now
    Column("visitor_id", String(64)),
    Column("reassignment_needed", Boolean, nullable=False),
    Column("tracking_from", String(10), nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_plans_division", "division_code"),
    Index("ix_plans_visitor", "visitor_id"),
)

visit_records = Table(
    "visit_records", visits_metadata,
    Column("visit_id", String(64), primary_key=True),
    Column("elder_id", String(64), nullable=False),
    Column("visitor_id", String(64), nullable=False),
    Column("visited_on", String(10), nullable=False),
    Column("mode", String(32), nullable=False),
    Column("services", String(128), nullable=False),
    Column("risks", String(256), nullable=False),
    Column("superseded_by", String(64)),
    Column("position", Integer, nullable=False),
    Index("ix_visit_records_elder", "elder_id", "visited_on"),
)

period_outcomes = Table(
    "period_outcomes", visits_metadata,
    Column("elder_id", String(64), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("period_start", String(10), nullable=False),
    Column("due_on", String(10), nullable=False),
    Column("target_class", String(32), nullable=False),
    Column("required_visits", Integer, nullable=False),
    Column("visits", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),        # met | overdue | resolved
    Column("days_late", Integer),
    Column("division_code", String(12), nullable=False),
    Column("visitor_id", String(64)),
    Index("ix_period_outcomes_period_division", "period", "division_code"),
)

visit_conflicts = Table(
    "visit_conflicts", visits_metadata,
    Column("elder_id", String(64), primary_key=True),
    Column("visit_ids", String(140), primary_key=True),
    Column("visited_on", String(10), nullable=False),
    Column("differences", Text, nullable=False),
)

notices = Table(
    "notices", visits_metadata,
    Column("notice_id", String(64), primary_key=True),
    Column("elder_id", String(64), nullable=False),
    Column("visitor_id", String(64), nullable=False),
    Column("issued_on", String(10), nullable=False),
    Column("html", Text, nullable=False),
    Column("pdf", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
)

period_sweeps = Table(
    "period_sweeps", visits_metadata,
    Column("elder_id", String(64), primary_key=True),
    Column("swept_through", String(10), nullable=False),
)

# Per village and target classes (space-separated, "" = no obligation now): how many plans.
plan_counts = Table(
    "plan_counts", visits_metadata,
    Column("division_code", String(12), primary_key=True),
    Column("classes", String(64), primary_key=True),
    Column("elders", Integer, nullable=False),
)

# The months in which each elder has a current (not superseded) visit record.
plan_visit_months = Table(
    "plan_visit_months", visits_metadata,
    Column("elder_id", String(64), primary_key=True),
    Column("month", String(7), primary_key=True),
)

# Per village and month: elders now under obligation there with a current visit record that month.
visit_counts = Table(
    "visit_counts", visits_metadata,
    Column("division_code", String(12), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("elders", Integer, nullable=False),
)

# Per village, period, target class and outcome (met | overdue | resolved): closed periods.
outcome_counts = Table(
    "outcome_counts", visits_metadata,
    Column("division_code", String(12), primary_key=True),
    Column("period", String(8), primary_key=True),
    Column("target_class", String(32), primary_key=True),
    Column("outcome", String(16), primary_key=True),
    Column("elders", Integer, nullable=False),
)

PROJECTION_TABLES = (visitors, plans, visit_records, period_outcomes, visit_conflicts, plan_counts, plan_visit_months,
                     visit_counts, outcome_counts)
