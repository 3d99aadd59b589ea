"""The dashboard's visit figures, kept per village by the plan directory and the visit ledger,
equal what a scan of plans, visit records and closed periods gives: as obligations start and
end, elders move, records are corrected into another month, periods close met or overdue and a
late visit resolves one; after rebuilding both projections; and when the migration fills the
counts from existing tables."""
from collections import Counter
from datetime import date

from sqlalchemy import select, text

from contracts import CATALOGUE
from kernel import migrate
from kernel.clock import FixedClock
from kernel.db import create_service_engine
from kernel.divisions import CHILD_PREFIX_LENGTH, significant_prefix
from kernel.envelope import Actor, CommandMeta
from kernel.projection import rebuild
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work
from services.visits import coverage
from services.visits.adapters.event_mapping import to_pending
from services.visits.adapters.tables import (outcome_counts, period_outcomes, plan_counts, plan_visit_months, plans,
                                             visit_counts, visit_records)
from services.visits.domain import (ElderRelocated, Findings, ObligationChanged, PlanOpened, RecordVisit,
                                    VisitRecorded, decide)
from services.visits.handlers import load_plan, sweep_periods
from services.visits.rules import visits_context, visits_projections

META = CommandMeta(Actor("civil_affairs", "tester", "county_coordinator"))
VILLAGES = ("410928101201", "410928101202", "410928102201")
PLACES = ("410928000000", "410928101000", "410928102000", *VILLAGES)
NOVEMBER = date(2026, 11, 20)


class Log:
    def __init__(self, url: str):
        self.engine = create_service_engine(url)
        self.store = SqlAlchemyEventStore(self.engine, "visits", CATALOGUE)
        self.context, self.projections = visits_context({}), visits_projections({})
        self.clock = FixedClock()

    def uow(self):
        return unit_of_work(self.engine, self.store, self.clock, self.projections)

    def append(self, events) -> None:
        with self.uow() as uow:
            versions = {e.elder_id: uow.stream_version(e.elder_id) for e in events}
            uow.append([to_pending(e, CATALOGUE, actor=META.actor, jurisdiction=VILLAGES[0]) for e in events], versions)

    def visit(self, elder_id: str, day: date, visit_id: str, supersedes: str | None = None) -> None:
        self.append([VisitRecorded(elder_id, day, visit_id, "cadre", "home", ("emotional_comfort",), Findings(), (),
                                   supersedes, "wrong day" if supersedes else None)])

    def late_visit(self, elder_id: str, day: date, visit_id: str, today: date) -> None:
        """Through the domain: a record that meets an overdue period also resolves it."""
        with self.uow() as uow:
            plan = load_plan(uow, elder_id, CATALOGUE)
            events = decide(plan, RecordVisit(elder_id, visit_id, "cadre", "home", day, ("emotional_comfort",),
                                              Findings(), (), today), self.context.policies)
            uow.append([to_pending(e, CATALOGUE, actor=META.actor, jurisdiction=VILLAGES[0]) for e in events],
                       {elder_id: plan.version})
        assert "visits.overdue_resolved.v1" in [e.TYPE for e in events]


def scanned(engine, division_code: str, today: date) -> dict:
    """The figures as scans of the projections give them (what the dashboard used to run)."""
    prefix = significant_prefix(division_code)
    with engine.connect() as conn:
        plan_rows = conn.execute(select(plans).where(plans.c.division_code.startswith(prefix))).all()
        records = conn.execute(select(visit_records).where(visit_records.c.superseded_by.is_(None))).all()
        closed = conn.execute(select(period_outcomes).where(period_outcomes.c.division_code.startswith(prefix))).all()
    owed = {p.elder_id: p for p in plan_rows if p.classes}
    by_class = Counter(c for p in owed.values() for c in p.classes.split())
    month = today.strftime("%Y-%m")
    visited = {r.elder_id for r in records if r.elder_id in owed and r.visited_on[:7] == month}
    return {"under_obligation": len(owed), "by_class": dict(by_class), "visited_this_month": len(visited),
            "open_overdue": sum(1 for c in closed if c.outcome == "overdue")}


def scanned_coverage(engine, period: str, division_code: str) -> list:
    prefix = significant_prefix(division_code)
    child = CHILD_PREFIX_LENGTH[len(prefix)]
    with engine.connect() as conn:
        rows = conn.execute(select(period_outcomes).where(period_outcomes.c.period == period,
                                                          period_outcomes.c.division_code.startswith(prefix))).all()
    return sorted(Counter((r.division_code[:child], r.target_class, r.outcome) for r in rows).items())


def answered(engine, division_code: str, today: date) -> tuple:
    prefix = significant_prefix(division_code)
    with engine.connect() as conn:
        summary = coverage.division_summary(conn, division_code, today)
        counts = coverage.live_counts(conn, "2026-10", prefix, CHILD_PREFIX_LENGTH[len(prefix)])
    figures = {k: summary[k] for k in ("under_obligation", "by_class", "visited_this_month", "open_overdue")}
    return figures, sorted(((child, c, o), n) for child, c, o, n in counts)


def expected(engine, division_code: str, today: date) -> tuple:
    return scanned(engine, division_code, today), scanned_coverage(engine, "2026-10", division_code)


def build(log: Log) -> None:
    """Six elders over three villages in two townships, October and November 2026."""
    for number in range(6):
        elder_id = f"elder-{number}"
        classes = ("general", "key_target") if number % 3 == 0 else ("general",)
        log.append([PlanOpened(elder_id, date(2026, 10, 1), f"老人{number}", VILLAGES[number % 3]),
                    ObligationChanged(elder_id, date(2026, 6, 1), classes, (), "left behind")])
    log.visit("elder-0", date(2026, 10, 5), "v0a")
    log.visit("elder-0", date(2026, 10, 19), "v0b")
    log.visit("elder-1", date(2026, 10, 9), "v1a")
    log.visit("elder-2", date(2026, 10, 30), "v2a")
    log.visit("elder-2", date(2026, 11, 3), "v2b", supersedes="v2a")    # the October record was November's
    log.visit("elder-4", date(2026, 10, 12), "v4a")
    log.clock.set_today(date(2026, 11, 2))
    sweep_periods(log.uow, log.engine.connect, log.context, date(2026, 11, 2), META)
    log.clock.set_today(NOVEMBER)
    log.visit("elder-1", date(2026, 11, 4), "v1b")
    log.visit("elder-3", date(2026, 11, 6), "v3a")
    log.visit("elder-5", date(2026, 11, 7), "v5a")
    log.late_visit("elder-5", date(2026, 10, 25), "v5b", NOVEMBER)       # October was overdue: recorded late
    log.append([ObligationChanged("elder-5", date(2026, 11, 10), (), ("general",), "supporter returned")])
    log.append([ElderRelocated("elder-1", date(2026, 11, 12), VILLAGES[1], VILLAGES[2])])


def test_dashboard_counts_equal_scans_live_and_after_rebuilding_both_projections(database_url):
    migrate.upgrade("visits", database_url)
    log = Log(database_url)
    build(log)
    live = {place: answered(log.engine, place, NOVEMBER) for place in PLACES}
    assert live == {place: expected(log.engine, place, NOVEMBER) for place in PLACES}
    county, county_coverage = live[PLACES[0]]
    assert county == {"under_obligation": 5, "by_class": {"general": 5, "key_target": 2}, "visited_this_month": 3,
                      "open_overdue": 2}
    by_outcome = Counter()
    for (_child, _class, outcome), n in county_coverage:
        by_outcome[outcome] += n
    assert by_outcome == {"met": 3, "overdue": 2, "resolved": 1}
    with log.engine.begin() as conn:
        for table in (plan_counts, plan_visit_months, visit_counts, outcome_counts):
            conn.execute(table.delete())
    for projection in log.projections:
        rebuild(log.engine, log.store, projection)
    assert {place: answered(log.engine, place, NOVEMBER) for place in PLACES} == live
    log.engine.dispose()


def test_the_migration_fills_the_counts_from_existing_tables(sqlite_url):
    migrate.upgrade("visits", sqlite_url)
    log = Log(sqlite_url)
    build(log)
    live = {place: answered(log.engine, place, NOVEMBER) for place in PLACES}
    with log.engine.begin() as conn:
        for table in ("plan_counts", "plan_visit_months", "visit_counts", "outcome_counts"):
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("UPDATE alembic_version SET version_num = 'v0001' WHERE version_num = 'v0002'"))
    migrate.upgrade("visits", sqlite_url)
    assert {place: answered(log.engine, place, NOVEMBER) for place in PLACES} == live
    log.engine.dispose()
