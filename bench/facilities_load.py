"""Facilities replayed: 20,000 facilities and 200,000 admissions and discharges decided by
the facilities domain and appended through the kernel (not timed), then both facilities
projections rebuilt from the log the way ``eldercare rebuild facilities`` does (timed),
against a raw scan of the same log that builds the same rows (timed, same run)."""
from __future__ import annotations

import json
import random
import time
from datetime import date, timedelta

from sqlalchemy import func, select

from bench.infra import Backend, new_service_database
from bench.report import Result
from contracts import CATALOGUE
from kernel.db import insert_many, transaction
from kernel.envelope import Actor
from kernel.projection import rebuild
from kernel.store import SqlAlchemyEventStore
from services.facilities.adapters.event_mapping import to_pending
from services.facilities.adapters.tables import facilities as facilities_table
from services.facilities.adapters.tables import residences
from services.facilities.domain import (AdmissionKind, AdmitElder, Circumstances, DischargeElder, FacilityKind,
                                        FacilityState, GrantPolicyBook, KnownElder, OpenFacility, OperatingModel,
                                        decide, evolve_all)
from services.facilities.rules import facilities_projections

FACILITIES = 20_000
MOVEMENTS = 200_000
APPEND_BATCH = 2_000          # events per seeding transaction
REBUILD_BATCH = 10_000        # kernel.projection.rebuild's default page; the baseline pages the same
FIRST_DAY = date(2020, 1, 1)
TODAY = date(2026, 11, 1)
ACTOR = Actor("civil_affairs", "bench", "county_coordinator")
KINDS = (FacilityKind.HAPPINESS_HOME, FacilityKind.TOWNSHIP_NURSING_HOME, FacilityKind.COUNTY_SUPPORT_CENTRE)


def bench_facilities(backend: Backend, facilities: int = FACILITIES, movements: int = MOVEMENTS,
                     seed: int = 42) -> Result:
    url, engine = new_service_database(backend, "facilities", service="facilities")
    store = SqlAlchemyEventStore(engine, "facilities", CATALOGUE)
    try:
        started = time.perf_counter()
        events = _seed(engine, store, _decided_events(facilities, movements, seed))
        seeded_seconds = time.perf_counter() - started
        kernel_seconds, kernel_rows = _kernel_rebuild(engine, store, events)
        baseline_seconds, baseline_rows = _raw_rebuild(engine)
        if kernel_rows != baseline_rows:
            raise AssertionError(f"rebuilt rows differ: kernel {kernel_rows}, raw {baseline_rows}")
    finally:
        engine.dispose()
    return Result(
        "facilities", backend.name, events, kernel_seconds, baseline_seconds,
        kernel_does=(f"{facilities:,} facilities, {movements:,} admissions/discharges (decided by the domain, appended "
                     "untimed) → kernel.projection.rebuild of the facilities read model (directory + residence log) "
                     f"in one pass: store.read_all pages of {REBUILD_BATCH:,} → Envelope → apply_many per page (load "
                     "touched rows, fold the page in memory, bulk delete/insert)"),
        baseline_does=(f"one tx, delete rows, raw keyset SELECT pages of {REBUILD_BATCH:,} (exec_driver_sql), "
                       "json.loads(data), the same rows of both tables folded in dicts, one bulk INSERT each at the "
                       "end (kernel.db.insert_many)"),
        details={"facilities": facilities, "admissions/discharges": events - facilities, "rows": kernel_rows,
                 "seeded in": f"{seeded_seconds:.1f} s"})


def _decided_events(facility_count: int, movements: int, seed: int):
    """Openings, then admissions and discharges, each decided by the domain on the current
    state (so every event is one the service would have appended), dated in order."""
    rng, book = random.Random(f"bench-facilities/{seed}"), GrantPolicyBook()
    states: dict[str, FacilityState] = {}
    for number in range(facility_count):
        facility_id = f"fac-{number:06d}"
        command = OpenFacility(facility_id, FIRST_DAY, f"设施{number}", f"4109{number % 6:02d}{100 + number % 12:03d}000",
                               KINDS[number % 3], OperatingModel.PUBLIC_BUILT_PUBLIC_RUN, "村委会",
                               rng.randint(8, 40))
        decided = decide(FacilityState.initial(facility_id), command, Circumstances(TODAY, book))
        states[facility_id] = evolve_all(states.get(facility_id, FacilityState.initial(facility_id)), decided)
        yield from decided
    ids, residence, elder_count = list(states), {}, movements // 2
    for step in range(movements):
        on = FIRST_DAY + timedelta(days=1 + step * 2000 // movements)
        elder_id = f"elder-{rng.randrange(elder_count):06d}"
        if elder_id in residence:
            facility_id = residence.pop(elder_id)
            command = DischargeElder(facility_id, on, elder_id, "went home")
        else:
            facility_id = rng.choice(ids)
            if states[facility_id].free_places == 0:
                continue
            residence[elder_id] = facility_id
            command = AdmitElder(facility_id, on, elder_id, AdmissionKind.CENTRALISED_SUPPORT)
        circumstances = Circumstances(TODAY, book, elder=KnownElder(elder_id, "410928101201"))
        decided = decide(states[facility_id], command, circumstances)
        states[facility_id] = evolve_all(states[facility_id], decided)
        yield from decided


def _seed(engine, store, events) -> int:
    batch, versions, total = [], {}, 0

    def flush():
        expected = {}
        for event in batch:
            expected.setdefault(event.facility_id, versions.get(event.facility_id, 0))
        pending = [to_pending(e, CATALOGUE, actor=ACTOR, jurisdiction=division[e.facility_id],
                              correlation_id=None, causation_id=None) for e in batch]
        with transaction(engine) as conn:
            store.append(conn, pending, expected)
        for event in batch:
            versions[event.facility_id] = versions.get(event.facility_id, 0) + 1

    division: dict[str, str] = {}
    for event in events:
        division.setdefault(event.facility_id, getattr(event, "division_code", ""))
        batch.append(event)
        total += 1
        if len(batch) == APPEND_BATCH:
            flush()
            batch = []
    if batch:
        flush()
    return total


def _row_counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar() for t in (facilities_table, residences))


def _kernel_rebuild(engine, store, events: int) -> tuple[float, tuple[int, int]]:
    started = time.perf_counter()
    for projection in facilities_projections():
        replayed = rebuild(engine, store, projection, batch_size=REBUILD_BATCH)
        if replayed != events:
            raise AssertionError(f"{projection.name}: replayed {replayed} events, expected {events}")
    return time.perf_counter() - started, _row_counts(engine)


_OCCUPANCY = {"facilities.elder_admitted.v1": 1, "facilities.elder_transferred.v1": 1,
              "facilities.elder_discharged.v1": -1, "facilities.elder_transferred_out.v1": -1}
_QUERY = "SELECT position, event_id, stream_id, sequence, type, data FROM events WHERE position > {} ORDER BY position LIMIT {}"


def _scan(conn):
    after = 0
    while True:
        # Literal ints: the paramstyle differs between sqlite3 (?) and psycopg (%s).
        rows = conn.exec_driver_sql(_QUERY.format(int(after), REBUILD_BATCH)).fetchall()
        if not rows:
            return
        yield from rows
        after = rows[-1][0]


def _raw_rows(conn) -> tuple[list[dict], list[dict]]:
    """The directory rows and the stays, folded from one raw scan."""
    rows: dict[str, dict] = {}
    stays, current = [], {}
    for _position, event_id, stream_id, sequence, type_, data in _scan(conn):
        data = json.loads(data)
        if type_ == "facilities.facility_opened.v1":
            code = data["division_code"]
            rows[stream_id] = {"facility_id": stream_id, "name": data["name"], "division_code": code,
                               "county_code": code[:6], "township_code": code[:9], "kind": data["kind"],
                               "operating_model": data["operating_model"], "operator": data["operator"],
                               "services": ",".join(data["services"]), "status": "open",
                               "capacity": data["capacity"], "occupancy": 0, "stars": None,
                               "opened_on": data["effective_date"], "closed_on": None, "merged_into": None}
        elif type_ in _OCCUPANCY:
            rows[stream_id]["occupancy"] += _OCCUPANCY[type_]
        rows[stream_id]["version"] = sequence
        if type_ == "facilities.elder_discharged.v1":
            current.pop(data["elder_id"]).update(left_on=data["effective_date"], left_reason=data["reason"])
        elif type_ == "facilities.elder_admitted.v1":
            stay = {"stay_id": event_id, "elder_id": data["elder_id"], "facility_id": stream_id,
                    "admission_kind": data["admission_kind"], "admitted_on": data["effective_date"],
                    "left_on": None, "left_reason": None}
            current[data["elder_id"]] = stay
            stays.append(stay)
    return list(rows.values()), stays


def _raw_rebuild(engine) -> tuple[float, tuple[int, int]]:
    started = time.perf_counter()
    with transaction(engine) as conn:
        conn.execute(residences.delete())
        conn.execute(facilities_table.delete())
        directory, stays = _raw_rows(conn)
        insert_many(conn, facilities_table, directory)
        insert_many(conn, residences, stays)
    return time.perf_counter() - started, _row_counts(engine)
