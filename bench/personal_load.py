"""Personal data sealed per person (kernel.personal): what it costs to append and to read
back (rebuild) a log whose events carry personal fields, against today's kernel appending
and reading the very same payloads unmarked — both sides measured here, in the same run.

The payload is shaped like ``registry.elder_registered``: an elder's name, resident ID,
phone, address and two supporters' names and phones (7 personal values), on 200 elder
streams, 100 events a transaction (like the append benchmark). The sealed side makes a
data key per elder on first use (wrapped by the master key, one INSERT) and seals every
personal value with AES-GCM; the read side opens them (keys cached after the first page)."""
from __future__ import annotations

import time

from marshmallow import Schema, fields

from contracts.fields import personal
from kernel import personal as pii
from kernel.catalogue import EventCatalogue
from kernel.db import transaction
from kernel.envelope import PendingEvent
from kernel.hashchain import verify_log
from kernel.store import SqlAlchemyEventStore

from bench import workload
from bench.infra import Backend, new_service_database
from bench.report import Result

TYPE = "bench.person_noted.v1"
BATCH = 100
STREAMS_PER_BATCH = 4
STREAM_COUNT = 200


def _schema(mark):
    class SupporterSchema(Schema):
        name = mark(fields.String(required=True))
        relationship = fields.String(required=True)
        phone = mark(fields.String(allow_none=True))

    class PersonNotedSchema(Schema):
        elder_id = fields.String(required=True)
        resident_id = mark(fields.String(required=True))
        name = mark(fields.String(required=True))
        phone = mark(fields.String(allow_none=True))
        address = mark(fields.String(required=True))
        supporters = fields.List(fields.Nested(SupporterSchema), required=True)
        self_care_level = fields.String(required=True)
        number = fields.Integer(required=True)

    return PersonNotedSchema


def _catalogue(sealed: bool) -> EventCatalogue:
    catalogue = EventCatalogue()
    catalogue.register(TYPE, _schema(personal if sealed else (lambda field: field)), "benchmark payload")
    return catalogue


def _payload(stream: str, number: int) -> dict:
    return {"elder_id": stream, "resident_id": f"41092819500101{number % 10000:04d}", "name": f"王秀英{number}",
            "phone": f"139{number:08d}", "address": f"濮阳县某乡某村{number}号",
            "supporters": [{"name": f"王小明{number}", "relationship": "son", "phone": f"138{number:08d}"},
                           {"name": f"王小红{number}", "relationship": "daughter", "phone": None}],
            "self_care_level": "full_self_care", "number": number}


def _batches(n: int) -> list[list[PendingEvent]]:
    plans = workload.plan_batches(n, BATCH, STREAMS_PER_BATCH, STREAM_COUNT)
    return [[PendingEvent(stream_id=stream, type=TYPE, data=_payload(stream, data["number"]), time=workload.T0,
                          actor=workload.ACTOR, jurisdiction=workload.JURISDICTION) for stream, data in batch]
            for batch in plans]


def _append(engine, store, batches) -> float:
    versions: dict[str, int] = {}
    started = time.perf_counter()
    for batch in batches:
        streams = {event.stream_id for event in batch}
        with transaction(engine) as conn:
            store.append(conn, batch, {s: versions.get(s, 0) for s in streams})
        for event in batch:
            versions[event.stream_id] = versions.get(event.stream_id, 0) + 1
    return time.perf_counter() - started


def _read(store) -> tuple[float, int]:
    started = time.perf_counter()
    count = sum(1 for _ in store.iter_all(batch_size=10_000))
    return time.perf_counter() - started, count


def bench_personal(backend: Backend, n: int) -> list[Result]:
    batches = _batches(n)
    sealed_url, sealed_engine = new_service_database(backend, "personal_sealed")
    plain_url, plain_engine = new_service_database(backend, "personal_plain")
    sealed = SqlAlchemyEventStore(sealed_engine, workload.SOURCE, _catalogue(True))
    plain = SqlAlchemyEventStore(plain_engine, workload.SOURCE, _catalogue(False))
    try:
        sealed_seconds = _append(sealed_engine, sealed, batches)
        plain_seconds = _append(plain_engine, plain, batches)
        if not verify_log(sealed_engine).ok:
            raise AssertionError("the sealed log does not verify")
        pii._keys_by_engine.pop(sealed_engine, None)        # the read starts with a cold key cache
        sealed_read, sealed_count = _read(sealed)
        plain_read, plain_count = _read(plain)
        if sealed_count != n or plain_count != n:
            raise AssertionError(f"read {sealed_count} / {plain_count} events, expected {n}")
        first = next(sealed.iter_all(batch_size=1))
        if first.data != batches[0][0].data:
            raise AssertionError("a sealed event did not read back as appended")
    finally:
        sealed_engine.dispose()
        plain_engine.dispose()
    shape = f"registry-shaped payloads (7 personal values each), {BATCH}/tx over {STREAMS_PER_BATCH} of {STREAM_COUNT} elders"
    return [
        Result("personal_append", backend.name, n, sealed_seconds, plain_seconds,
               kernel_does=f"SqlAlchemyEventStore.append with the fields marked personal: a data key per elder "
                           f"(wrapped, one INSERT on first use, then cached), AES-GCM per value; {shape}",
               baseline_does=f"today's SqlAlchemyEventStore.append of the same payloads unmarked; {shape}",
               min_ratio=0.8),
        Result("personal_read", backend.name, n, sealed_read, plain_read,
               kernel_does="store.iter_all over the sealed log, pages of 10,000: every personal value opened "
                           "(keys unwrapped once per elder, cold cache)",
               baseline_does="store.iter_all over the same payloads stored unmarked",
               min_ratio=0.8),
    ]
