"""Visits at county scale: close one monthly period for every elder with an obligation, then
compute coverage for the county and for the city.

Set-up (not timed): ``elders`` plans in the demo county (every village of 410928), a third
of them key targets, most visited once or twice in October 2026, written through the
visits handlers' event store and projections. Timed: the period sweep exactly as the
service's timer runs it (``handlers.sweep_periods``: fold each plan, decide, append the
period events, projections, sweep cursor; a page of elders per transaction) against raw
INSERTs of the same event rows in the same pages; then the two coverage queries.
"""
from __future__ import annotations

import random
import time
from datetime import date

from sqlalchemy import select

from bench.infra import Backend, new_service_database
from bench.report import Result
from contracts import CATALOGUE
from kernel.clock import FixedClock
from kernel.db import insert_many, transaction
from kernel.divisions import CHILD_PREFIX_LENGTH, configured_division_table, significant_prefix
from kernel.envelope import Actor, CommandMeta
from kernel.schema import events as events_table
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work
from services.visits import coverage
from services.visits.adapters.event_mapping import to_pending
from services.visits.domain import Findings, ObligationChanged, PlanOpened, VisitRecorded
from services.visits.handlers import SWEEP_PAGE, sweep_periods
from services.visits.rules import visits_context, visits_projections

OPENED_ON = date(2026, 10, 1)
TODAY = date(2026, 11, 2)            # October is due and not closed
META = CommandMeta(Actor("civil_affairs", "bench", "county_coordinator"))
SETUP_PAGE = 500


def bench_visits(backend: Backend, elders: int, seed: int = 7) -> Result:
    url, engine = new_service_database(backend, "visits", service="visits")
    raw_url, raw_engine = new_service_database(backend, "visits_raw", service="visits")
    config = {"DATABASES": {"visits": url}}
    context, projections = visits_context(config), visits_projections(config)
    store = SqlAlchemyEventStore(engine, "visits", CATALOGUE)
    clock = FixedClock()
    clock.set_today(TODAY)
    try:
        _seed_plans(engine, store, clock, projections, elders, seed)
        head = store.last_position()
        started = time.perf_counter()
        totals = sweep_periods(lambda: unit_of_work(engine, store, clock, projections), engine.connect, context,
                               TODAY, META)
        kernel_seconds = time.perf_counter() - started
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                select(events_table).where(events_table.c.position > head).order_by(events_table.c.position))]
        baseline_seconds = _raw(raw_engine, rows)
        timings = {}
        for label, code in (("county", "410928000000"), ("city", "410900000000")):
            started = time.perf_counter()
            prefix = significant_prefix(code)
            with engine.connect() as conn:
                counts = coverage.live_counts(conn, "2026-10", prefix, CHILD_PREFIX_LENGTH[len(prefix)])
            report = coverage.summarise(code, "2026-10", counts, context)
            timings[label] = (time.perf_counter() - started, report)
    finally:
        engine.dispose()
        raw_engine.dispose()
    county_seconds, county = timings["county"]
    city_seconds, _ = timings["city"]
    return Result(
        "visits", backend.name, len(rows), kernel_seconds, baseline_seconds,
        kernel_does=(f"monthly period close for {elders:,} elders (handlers.sweep_periods: fold plan, policy on the "
                     f"due date, decide met/overdue, append, projections, sweep cursor; {SWEEP_PAGE} elders/tx)"),
        baseline_does=f"the same period-event rows bulk-inserted (kernel.db.insert_many), {SWEEP_PAGE} elders/tx",
        details={"elders": elders, "met": totals["met"], "overdue": totals["overdue"],
                 "coverage county": f"{county_seconds * 1000:.0f} ms", "coverage city": f"{city_seconds * 1000:.0f} ms",
                 "county coverage rate": county["coverage_rate"]})


def _seed_plans(engine, store, clock, projections, elders: int, seed: int) -> None:
    randomness = random.Random(seed)
    villages = configured_division_table({}).villages_within("410928")
    for first in range(0, elders, SETUP_PAGE):
        events, division_of = [], {}
        for number in range(first, min(first + SETUP_PAGE, elders)):
            elder_id = f"elder-{number:07d}"
            village = division_of[elder_id] = randomness.choice(villages)
            classes = ("general", "key_target") if randomness.random() < 0.33 else ("general",)
            events += [PlanOpened(elder_id, OPENED_ON, f"老人{number}", village),
                       ObligationChanged(elder_id, date(2026, 6, 1), classes, (), "bench")]
            for visit in range(randomness.choice((0, 1, 1, 2, 2))):
                events.append(VisitRecorded(elder_id, date(2026, 10, 3 + 9 * visit), f"v-{number}-{visit}", "visitor-1",
                                            "home", ("emotional_comfort",), Findings(), (), None, None))
        pending = [to_pending(e, CATALOGUE, actor=META.actor, jurisdiction=division_of[e.elder_id]) for e in events]
        with unit_of_work(engine, store, clock, projections) as uow:
            uow.append(pending, {p.stream_id: 0 for p in pending})


def _raw(engine, rows: list[dict]) -> float:
    by_elder_pages = [rows[i:i + SWEEP_PAGE] for i in range(0, len(rows), SWEEP_PAGE)]
    started = time.perf_counter()
    for page in by_elder_pages:
        with transaction(engine) as conn:
            insert_many(conn, events_table, page)
    return time.perf_counter() - started
