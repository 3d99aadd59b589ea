"""Subsidies at city scale: the monthly disbursement run of Jincheng for N elders, then the
same run started again (idempotent: it must find nothing to do), then next month's run
after 1% of the elders had a backdated self-care assessment (adjustments).

Set-up (not timed): ``elders`` fact histories in Jincheng villages, written straight into
the service's fact tables as the consumer would (a third tekun semi-disabled dispersed, a
third tekun in centralised support, a sixth 80+ in dibao families, the rest owed nothing).
Timed: ``handlers.start_run`` exactly as the RPC runs it (fold each history, rules in force,
decide, append one event per beneficiary × programme, projections, progress cursor and
reviews; a page of elders per transaction) against raw INSERTs of the same event rows in
the same pages.
"""
from __future__ import annotations

import json
import random
import time
from datetime import date

from sqlalchemy import select

from bench.infra import Backend, new_service_database
from bench.report import Result
from contracts import CATALOGUE
from kernel.clock import FixedClock
from kernel.db import insert_many, transaction
from kernel.envelope import Actor, CommandMeta, format_time
from kernel.schema import events as events_table
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work
from services.subsidies.adapters.tables import elder_divisions, elders, fact_history
from services.subsidies.domain import Month
from services.subsidies.handlers import RUN_PAGE, start_run
from services.subsidies.rules import subsidies_context, subsidies_projections

DEFAULT_SUBSIDY_ELDERS = 20_000
MONTH, NEXT_MONTH = Month(2026, 10), Month(2026, 11)
META = CommandMeta(Actor("civil_affairs", "bench", "county_coordinator"))
SETUP_PAGE = 5000
VILLAGES = [f"1405{county}{township:03d}{village:03d}" for county in ("21", "22", "24", "25")
            for township in (100, 101) for village in (201, 202, 203)]


def bench_subsidies(backend: Backend, elders_count: int = DEFAULT_SUBSIDY_ELDERS, seed: int = 7) -> Result:
    url, engine = new_service_database(backend, "subsidies", service="subsidies")
    raw_url, raw_engine = new_service_database(backend, "subsidies_raw", service="subsidies")
    context, projections = subsidies_context({}), subsidies_projections({})
    store = SqlAlchemyEventStore(engine, "subsidies", CATALOGUE)
    clock = FixedClock()
    clock.set_today(date(2026, 10, 3))
    open_uow = lambda: unit_of_work(engine, store, clock, projections)   # noqa: E731
    try:
        _seed_facts(engine, clock, elders_count, seed)
        head = store.last_position()
        started = time.perf_counter()
        first = start_run(open_uow, context, "1405", MONTH, clock.today(), META)
        kernel_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = start_run(open_uow, context, "1405", MONTH, clock.today(), META)
        rerun_seconds = time.perf_counter() - started
        assert again["changed"] is False and store.last_position() == head + first["disbursements"] + 2
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                select(events_table).where(events_table.c.position > head).order_by(events_table.c.position))]
        baseline_seconds = _raw(raw_engine, rows, elders_count)
        clock.set_today(date(2026, 11, 3))
        changed = _backdate_assessments(engine, clock, elders_count, seed)
        started = time.perf_counter()
        following = start_run(open_uow, context, "1405", NEXT_MONTH, clock.today(), META)
        next_seconds = time.perf_counter() - started
    finally:
        engine.dispose()
        raw_engine.dispose()
    return Result(
        # Counted in elders, so that the 1M extrapolation is the "1M elders".
        "subsidies", backend.name, elders_count, kernel_seconds, baseline_seconds,
        kernel_does=(f"monthly run for {elders_count:,} elders (handlers.start_run: fold each fact history, rules in "
                     f"force, one disbursement per beneficiary × programme, projections, cursor, reviews; "
                     f"{RUN_PAGE} elders/tx)"),
        baseline_does=f"the same event rows bulk-inserted (kernel.db.insert_many), {RUN_PAGE} elders' rows/tx",
        max_seconds_1m=60.0,
        details={"counted in": "elders", "events appended": len(rows), "beneficiaries": first["beneficiaries"],
                 "disbursed_yuan": first["disbursed_fen"] // 100,
                 "idempotent re-run": f"{rerun_seconds * 1000:.0f} ms",
                 "next month (1% backdated)": f"{next_seconds:.1f} s, {following['adjustments']} adjustments "
                                              f"for {changed} changed elders"})


def _seed_facts(engine, clock, count: int, seed: int) -> None:
    randomness = random.Random(seed)
    recorded = format_time(clock.now())
    for first in range(0, count, SETUP_PAGE):
        facts, versions, places = [], [], []
        for number in range(first, min(first + SETUP_PAGE, count)):
            elder_id, village = f"elder-{number:07d}", randomness.choice(VILLAGES)
            kind = number % 6
            status = {"dibao": kind == 4, "tekun": kind < 4, "poverty_registered": False}
            born = "1940-02-02" if kind == 4 else "1950-05-05"
            facts.append(_fact(elder_id, number * 2, "elder_registered", "2026-01-05", recorded, {
                "birth_date": born, "division_code": village, "self_care_level": "semi_disabled",
                "support_status": status}))
            if kind in (2, 3):
                facts.append(_fact(elder_id, number * 2 + 1, "entered_facility", "2026-03-01", recorded,
                                   {"facility_id": f"home-{number % 50}", "admission_kind": "centralised_support"}))
            versions.append({"elder_id": elder_id, "facts_version": 2 if kind in (2, 3) else 1})
            places.append({"division_code": village, "elder_id": elder_id})
        with transaction(engine) as conn:
            insert_many(conn, fact_history, facts)
            insert_many(conn, elders, versions)
            insert_many(conn, elder_divisions, places)


def _fact(elder_id, number, kind, effective, recorded, data) -> dict:
    return {"elder_id": elder_id, "event_id": f"seed-{number}", "kind": kind, "effective_date": effective,
            "recorded_at": recorded, "source_recorded_time": recorded, "data": json.dumps(data, sort_keys=True)}


def _backdate_assessments(engine, clock, count: int, seed: int) -> int:
    """1% of the elders assessed fully disabled from the month already paid."""
    randomness = random.Random(seed + 1)
    chosen = sorted(randomness.sample(range(count), max(1, count // 100)))
    recorded = format_time(clock.now())
    with transaction(engine) as conn:
        insert_many(conn, fact_history, [
            _fact(f"elder-{n:07d}", f"late-{n}", "self_care_assessed", MONTH.first_day.isoformat(), recorded,
                  {"level": "fully_disabled"}) for n in chosen])
        for n in chosen:
            conn.execute(elders.update().where(elders.c.elder_id == f"elder-{n:07d}")
                         .values(facts_version=elders.c.facts_version + 1))
    return len(chosen)


def _raw(engine, rows: list[dict], elders_count: int) -> float:
    # Pages of about the size the run appends per transaction (its rows per RUN_PAGE elders).
    per_page = max(1, len(rows) * RUN_PAGE // max(1, elders_count))
    pages = [rows[i:i + per_page] for i in range(0, len(rows), per_page)]
    started = time.perf_counter()
    for page in pages:
        with transaction(engine) as conn:
            insert_many(conn, events_table, page)
    return time.perf_counter() - started
