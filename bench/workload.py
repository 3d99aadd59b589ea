"""What the benchmarks write and read: a tiny catalogue, a sink service with a durable
handler, and a one-row-per-event projection (mirrors ``tests/kernel``)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from marshmallow import Schema, fields
from sqlalchemy import Column, Integer, MetaData, String, Table

from kernel.catalogue import EventCatalogue
from kernel.db import insert_many
from kernel.consumer import durable_event_handler
from kernel.envelope import Actor, PendingEvent, format_time
from kernel.providers import LoggingContext, ServiceDatabase

SOURCE = "bench"                      # the producing "service" (its log, its exchange)
SINK = "benchsink"                    # the consuming service
NOTE_TAKEN = "bench.note_taken.v1"
JURISDICTION = "410928101201"
ACTOR = Actor(department="civil_affairs", user="bench", role="county_coordinator")
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
T0_TEXT = format_time(T0)
ACTOR_JSON = json.dumps(ACTOR.to_dict(), sort_keys=True, separators=(",", ":"))


class NoteTakenSchema(Schema):
    text = fields.String(required=True)
    number = fields.Integer(required=True)


def bench_catalogue() -> EventCatalogue:
    catalogue = EventCatalogue()
    catalogue.register(NOTE_TAKEN, NoteTakenSchema, "a note was taken (benchmark payload)")
    return catalogue


def payload(number: int) -> dict:
    return {"text": f"note {number}", "number": number}


def stream_name(index: int) -> str:
    return f"elder-{index:06d}"


def pending(stream_id: str, data: dict) -> PendingEvent:
    return PendingEvent(stream_id=stream_id, type=NOTE_TAKEN, data=data, time=T0, actor=ACTOR,
                        jurisdiction=JURISDICTION)


def plan_batches(n: int, batch_size: int, streams_per_batch: int, stream_count: int) -> list[list[tuple[str, dict]]]:
    """``n`` events in batches; each batch spreads over ``streams_per_batch`` streams taken
    round-robin from ``stream_count`` streams. Same input for the kernel and the baseline."""
    batches, number, batch_index = [], 0, 0
    while number < n:
        size = min(batch_size, n - number)
        streams = [stream_name((batch_index * streams_per_batch + j) % stream_count)
                   for j in range(streams_per_batch)]
        batch = []
        for i in range(size):
            number += 1
            batch.append((streams[i % len(streams)], payload(number)))
        batches.append(batch)
        batch_index += 1
    return batches


# -- projection (rebuild benchmark) ------------------------------------------------------
projection_metadata = MetaData()
bench_notes = Table(
    "bench_notes", projection_metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("stream_id", String(64), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("number", Integer, nullable=False),
    Column("text", String(64), nullable=False),
)


class NotesProjection:
    """One row per note: the simplest read model. ``apply`` writes one row per event (the
    live path); ``apply_many`` a page per statement (the rebuild path)."""

    name = "bench_notes"
    handles = frozenset({NOTE_TAKEN})


    def apply(self, conn, envelope) -> None:
        self.apply_many(conn, [envelope])

    def apply_many(self, conn, envelopes) -> None:
        if envelopes:
            insert_many(conn, bench_notes, [{
                "position": e.position, "stream_id": e.subject, "sequence": e.sequence,
                "number": e.data["number"], "text": e.data["text"]} for e in envelopes])

    def tables(self):
        return [bench_notes]


# -- sink service (relay benchmark) --------------------------------------------------------
sink_metadata = MetaData()
notes_seen = Table(
    "bench_notes_seen", sink_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("stream_id", String(64), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("number", Integer, nullable=False),
)


class NotesSeenProjection:
    """The sink's read model: one row per consumed note, written a page per statement."""

    name = "bench_notes_seen"
    handles = frozenset({NOTE_TAKEN})

    def apply(self, conn, envelope) -> None:
        self.apply_many(conn, [envelope])

    def apply_many(self, conn, envelopes) -> None:
        insert_many(conn, notes_seen, [{"event_id": e.id, "stream_id": e.subject, "sequence": e.sequence,
                                        "number": e.data["number"]} for e in envelopes])

    def tables(self):
        return [notes_seen]


class BenchSink:
    """Consumes the bench log with the kernel's durable handler: inbox and the sink's
    projection in the consumer's transaction (a batch of delivered messages at a time)."""

    name = SINK
    db = ServiceDatabase(bench_catalogue(), projections=[NotesSeenProjection()])
    log = LoggingContext()

    @durable_event_handler(SOURCE, [NOTE_TAKEN])
    def on_note_taken(self, event, uow):
        # The projection has recorded the note; the handler only counts (progress signal).
        HANDLED["count"] += 1


SINK_QUEUE = f"{SINK}.on_note_taken"

# How many notes the handler has seen (cheap progress signal; the inbox count is the truth).
HANDLED = {"count": 0}
