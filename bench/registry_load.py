"""The registry under the demo county: generated commands through the registry's edge
schemas, domain, event store and directory projection (what ``bin/run`` does over RPC, minus
the RPC), against raw INSERTs of the same events in the same transactions."""
from __future__ import annotations

import time
from datetime import date

from sqlalchemy import select

from bench.infra import Backend, new_service_database
from bench.report import Result
from contracts import CATALOGUE
from demo.generator import generate_county
from kernel.clock import FixedClock
from kernel.db import insert_many, transaction
from kernel.envelope import Actor
from kernel.schema import events as events_table
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work
from services.registry.handlers import CommandMeta, execute
from services.registry.rules import registry_context, registry_projections
from services.registry.schemas import COMMAND_SCHEMAS

TODAY = date(2026, 11, 1)
META = CommandMeta(Actor("civil_affairs", "bench", "county_coordinator"))


def bench_registry(backend: Backend, elders: int, seed: int = 42) -> Result:
    commands = list(generate_county(elders=elders, seed=seed, today=TODAY))
    url, engine = new_service_database(backend, "registry", service="registry")
    raw_url, raw_engine = new_service_database(backend, "registry_raw", service="registry")
    try:
        kernel_seconds, per_command = _load(url, engine, commands)
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(events_table).order_by(events_table.c.position))]
        baseline_seconds = _raw(raw_engine, rows, per_command)
    finally:
        engine.dispose()
        raw_engine.dispose()
    return Result(
        "registry", backend.name, len(rows), kernel_seconds, baseline_seconds,
        kernel_does=(f"demo county ({elders:,} elders, {len(commands):,} commands) → marshmallow command "
                     "schema → fold the elder's stream → decide (rules, derived status) → append → "
                     "directory projection, one transaction per command"),
        baseline_does="the same event rows bulk-inserted (kernel.db.insert_many), one transaction per command",
        details={"commands": len(commands), "commands/s": round(len(commands) / kernel_seconds)})


def _load(url: str, engine, commands) -> tuple[float, list[int]]:
    config = {"DATABASES": {"registry": url}}
    context, projections = registry_context(config), registry_projections(config)
    store = SqlAlchemyEventStore(engine, "registry", CATALOGUE)
    clock = FixedClock()
    clock.set_today(TODAY)
    per_command = []
    started = time.perf_counter()
    for command in commands:
        with unit_of_work(engine, store, clock, projections) as uow:
            execute(uow, context, COMMAND_SCHEMAS[command["command"]].load(command["payload"]), META, TODAY)
        per_command.append(len(uow.appended))
    return time.perf_counter() - started, per_command


def _raw(engine, rows: list[dict], per_command: list[int]) -> float:
    started, offset = time.perf_counter(), 0
    for count in per_command:
        with transaction(engine) as conn:
            insert_many(conn, events_table, rows[offset:offset + count])
        offset += count
    return time.perf_counter() - started
