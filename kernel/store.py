"""The append-only event store (SQLAlchemy: SQLite and PostgreSQL) and its in-memory twin.

One log per service. Appends are serialised per log — a table lock on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite — so positions are gapless and commit in order (a reader
resuming "after position N" can never miss an earlier one that commits late) and each
event's ``previous_hash`` is its committed predecessor's hash. Every append names the
stream version it expects; a stale expectation raises ``ConcurrencyError`` and writes
nothing.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from functools import lru_cache

from sqlalchemy import String, bindparam, func, literal, select, text, union_all
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from kernel.catalogue import EventCatalogue
from kernel.db import insert_many
from kernel.divisions import is_division_code
from kernel.clock import utc_now
from kernel.envelope import (GENESIS_HASH, SPEC_VERSION, Actor, Envelope, PendingEvent, canonical_event_json, canonical_json,
                             format_time, sha256_hex)
from kernel.errors import ConcurrencyError, ValidationError
from kernel.ids import new_event_ids
from kernel.personal import needs_opening, open_payloads, seal_payloads
from kernel.schema import CORRELATION_ID_LENGTH
from kernel.schema import events as events_table


@lru_cache(maxsize=4096)
def _actor_from_json(text: str) -> Actor:
    # Few distinct actors write most events; decoding each row's actor again was measurable.
    return Actor.from_dict(json.loads(text))


@lru_cache(maxsize=4096)
def _actor_json(actor: Actor) -> str:
    return canonical_json(actor.to_dict())


# Column order of every SELECT the store issues; ``envelope_from_row`` reads by index.
EVENT_COLUMNS = [events_table.c[name] for name in (
    "position", "event_id", "stream_id", "sequence", "type", "source", "time", "recorded_time",
    "actor", "jurisdiction", "correlation_id", "causation_id", "data", "previous_hash", "hash")]


def _trusted_envelope(**values) -> Envelope:
    """A frozen Envelope built without running its generated ``__init__`` (one dict update
    instead of seventeen ``object.__setattr__``): for values the store produced or read
    back, on the append and replay paths where that constructor was the largest cost."""
    envelope = object.__new__(Envelope)
    envelope.__dict__.update(values, specversion=SPEC_VERSION, datacontenttype="application/json")
    return envelope


def envelope_from_row(row, conn: Connection | None = None) -> Envelope:
    """A stored row (in ``EVENT_COLUMNS`` order) as an Envelope, its personal values opened
    (``kernel.personal``: that needs ``conn``, the connection the row was read on)."""
    return envelopes_from_rows([row], conn)[0]


def envelopes_from_rows(rows, conn: Connection | None = None) -> list[Envelope]:
    """Stored rows as Envelopes; the sealed payloads among them opened in one key lookup.
    The envelopes' ``hash`` is the stored one: it covers the sealed payload."""
    envelopes, sealed = [], []
    for (position, event_id, stream_id, sequence, type_, source, time_, recorded_time, actor,
         jurisdiction, correlation_id, causation_id, data, previous_hash, hash_) in rows:
        if needs_opening(data):
            sealed.append(len(envelopes))
        envelopes.append(_trusted_envelope(
            id=event_id, source=source, type=type_, subject=stream_id,
            time=datetime.fromisoformat(time_), recorded_time=datetime.fromisoformat(recorded_time),
            sequence=sequence, position=position, actor=_actor_from_json(actor),
            jurisdiction=jurisdiction, correlation_id=correlation_id, causation_id=causation_id,
            data=json.loads(data), previous_hash=previous_hash, hash=hash_))
    if sealed:
        if conn is None:
            raise TypeError("a stored event holds sealed personal values: read it with its connection")
        opened = open_payloads(conn, [envelopes[i].data for i in sealed], [envelopes[i].id for i in sealed],
                               [envelopes[i].type for i in sealed])
        for index, data in zip(sealed, opened):
            envelopes[index].__dict__["data"] = data
    return envelopes


def row_hash(row: Mapping) -> str:
    """The SHA-256 of a stored row's canonical contents (its columns are canonical already)."""
    return sha256_hex(canonical_event_json(
        actor_json=row["actor"], causation_id=row["causation_id"], correlation_id=row["correlation_id"],
        data_json=row["data"], event_id=row["event_id"], jurisdiction=row["jurisdiction"],
        position=row["position"], previous_hash=row["previous_hash"], recorded_time=row["recorded_time"],
        sequence=row["sequence"], source=row["source"], subject=row["stream_id"], time=row["time"],
        type_=row["type"]))


class _EnvelopeBuilder:
    """Turns pending events into sealed, chained envelopes (and their rows) once the log
    head is known. Each value is serialised once and reused for the hash and the row."""

    def __init__(self, source: str, catalogue: EventCatalogue):
        self.source, self.catalogue = source, catalogue

    def check(self, pending: Sequence[PendingEvent], expected_versions: Mapping[str, int]) -> None:
        if not pending:
            raise ValidationError({"events": ["nothing to append"]})
        for index, event in enumerate(pending):
            if event.stream_id not in expected_versions:
                raise ValidationError({f"events[{index}].stream_id": [
                    f"no expected version given for stream {event.stream_id!r}"]})
            if not is_division_code(event.jurisdiction):
                raise ValidationError({f"events[{index}].jurisdiction": [
                    f"must be a 12-digit division code, got {event.jurisdiction!r}"]})
            if event.time.tzinfo is None:
                raise ValidationError({f"events[{index}].time": ["must be timezone-aware"]})
            for name in ("correlation_id", "causation_id"):
                if len(getattr(event, name) or "") > CORRELATION_ID_LENGTH:
                    raise ValidationError({f"events[{index}].{name}": [
                        f"at most {CORRELATION_ID_LENGTH} characters"]})
        self.catalogue.validate_many([(event.type, event.data) for event in pending])

    @staticmethod
    def event_ids(pending) -> list[str]:
        fresh_ids = iter(new_event_ids(sum(1 for event in pending if not event.id)))
        return [event.id or next(fresh_ids) for event in pending]

    def stored_payloads(self, conn: Connection | None, pending, ids: list[str]) -> list[dict] | None:
        """The payloads as the log keeps them: personal values sealed (``kernel.personal``),
        bound to their event's id. None when no event of the batch has a personal field."""
        contracts = [self.catalogue.contract(event.type) for event in pending]
        if not any(contract.personal_paths for contract in contracts) or conn is None:
            return None
        return seal_payloads(conn, [(contract, event.data, event.stream_id, event_id)
                                    for contract, event, event_id in zip(contracts, pending, ids)])

    def build(self, pending, versions: dict[str, int], head_position: int, head_hash: str,
              recorded_time: datetime, stored: list[dict] | None = None,
              ids: list[str] | None = None) -> tuple[list[Envelope], list[dict]]:
        sealed, rows, position, previous_hash = [], [], head_position, head_hash
        recorded = format_time(recorded_time)
        ids = ids or self.event_ids(pending)
        for index, event in enumerate(pending):
            versions[event.stream_id] += 1
            position += 1
            row = {
                "position": position, "event_id": ids[index], "stream_id": event.stream_id,
                "sequence": versions[event.stream_id], "type": event.type, "source": self.source,
                "time": format_time(event.time), "recorded_time": recorded,
                "actor": _actor_json(event.actor), "jurisdiction": event.jurisdiction,
                "correlation_id": event.correlation_id, "causation_id": event.causation_id,
                "data": canonical_json(event.data if stored is None else stored[index]),
                "previous_hash": previous_hash,
            }
            row["hash"] = previous_hash = row_hash(row)
            rows.append(row)
            sealed.append(_trusted_envelope(
                id=row["event_id"], source=self.source, type=event.type, subject=event.stream_id,
                time=event.time, recorded_time=recorded_time, sequence=row["sequence"],
                position=position, actor=event.actor, jurisdiction=event.jurisdiction,
                correlation_id=event.correlation_id, causation_id=event.causation_id,
                data=event.data, previous_hash=row["previous_hash"], hash=row["hash"]))
        return sealed, rows


def _check_versions(expected_versions: Mapping[str, int], current: Mapping[str, int]) -> None:
    for stream_id, expected in expected_versions.items():
        actual = current.get(stream_id, 0)
        if expected != actual:
            raise ConcurrencyError(stream_id, expected, actual)


class SqlAlchemyEventStore:
    """The log of one service in its own database. Methods that write take the caller's
    connection so the append commits (or not) with the caller's other writes."""

    def __init__(self, engine: Engine, source: str, catalogue: EventCatalogue):
        self.engine, self.source = engine, source
        self._builder = _EnvelopeBuilder(source, catalogue)
        self.catalogue = catalogue

    # -- writing -------------------------------------------------------------------
    def append(self, conn: Connection, pending: Sequence[PendingEvent],
               expected_versions: Mapping[str, int], recorded_time: datetime | None = None) -> list[Envelope]:
        self._builder.check(pending, expected_versions)
        ids = self._builder.event_ids(pending)
        stored = self._builder.stored_payloads(conn, pending, ids)
        self._lock_log(conn)
        current, (head_position, head_hash) = self._versions_and_head(conn, list(expected_versions))
        _check_versions(expected_versions, current)
        sealed, rows = self._builder.build(pending, {s: current.get(s, 0) for s in expected_versions},
                                           head_position, head_hash, recorded_time or utc_now(), stored, ids)
        try:
            insert_many(conn, events_table, rows)
        except IntegrityError as exc:
            # The lock makes this unreachable for well-behaved writers; it is the backstop.
            first = sealed[0]
            raise ConcurrencyError(first.subject, expected_versions[first.subject], -1) from exc
        return sealed

    # Built once: constructing this union per append cost more than running it.
    _VERSIONS_AND_HEAD = union_all(
        select(events_table.c.stream_id, func.max(events_table.c.sequence).label("number"),
               literal(None, String).label("hash"))
        .where(events_table.c.stream_id.in_(bindparam("stream_ids", expanding=True)))
        .group_by(events_table.c.stream_id),
        select(select(literal(None, String).label("stream_id"), events_table.c.position.label("number"),
                      events_table.c.hash)
               .order_by(events_table.c.position.desc()).limit(1).subquery()))

    def _versions_and_head(self, conn: Connection, stream_ids: list[str]) -> tuple[dict[str, int], tuple[int, str]]:
        """The current version of each stream and the log head (position, hash), in one
        round trip: appends run under the log lock, so every round trip is serialised time."""
        rows = conn.execute(self._VERSIONS_AND_HEAD, {"stream_ids": stream_ids}).all()
        current = {row.stream_id: row.number for row in rows if row.stream_id is not None}
        head_row = next((row for row in rows if row.stream_id is None), None)
        return current, ((head_row.number, head_row.hash) if head_row else (0, GENESIS_HASH))

    def _lock_log(self, conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            # Conflicts with itself (one appender at a time) but not with plain reads.
            conn.execute(text("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE"))
        # SQLite: the transaction began with BEGIN IMMEDIATE and already holds the write lock.

    # -- reading -------------------------------------------------------------------
    def _read(self, conn: Connection | None, statement) -> list[Envelope]:
        if conn is not None:
            return envelopes_from_rows(conn.execute(statement).all(), conn)
        with self.engine.connect() as own:
            return envelopes_from_rows(own.execute(statement).all(), own)

    def stream_version(self, stream_id: str, conn: Connection | None = None) -> int:
        statement = select(func.max(events_table.c.sequence)).where(events_table.c.stream_id == stream_id)
        if conn is not None:
            return conn.execute(statement).scalar() or 0
        with self.engine.connect() as own:
            return own.execute(statement).scalar() or 0

    def read_stream(self, stream_id: str, conn: Connection | None = None, *,
                    effective_until: datetime | None = None,
                    recorded_until: datetime | None = None) -> list[Envelope]:
        """A stream in sequence order; optionally only events in effect by ``effective_until``
        and/or only those the system had recorded by ``recorded_until`` (bitemporal reads)."""
        statement = select(*EVENT_COLUMNS).where(events_table.c.stream_id == stream_id)
        if effective_until is not None:
            statement = statement.where(events_table.c.time <= format_time(effective_until))
        if recorded_until is not None:
            statement = statement.where(events_table.c.recorded_time <= format_time(recorded_until))
        return self._read(conn, statement.order_by(events_table.c.sequence))

    def read_streams(self, stream_ids: Sequence[str], conn: Connection | None = None) -> dict[str, list[Envelope]]:
        """Several whole streams in one round trip (for sweeps over many aggregates)."""
        found: dict[str, list[Envelope]] = {stream_id: [] for stream_id in stream_ids}
        statement = (select(*EVENT_COLUMNS).where(events_table.c.stream_id.in_(list(stream_ids)))
                     .order_by(events_table.c.stream_id, events_table.c.sequence))
        for envelope in self._read(conn, statement):
            found[envelope.subject].append(envelope)
        return found

    def read_all(self, after_position: int = 0, limit: int = 1000,
                 conn: Connection | None = None) -> list[Envelope]:
        statement = (select(*EVENT_COLUMNS).where(events_table.c.position > after_position)
                     .order_by(events_table.c.position).limit(limit))
        return self._read(conn, statement)

    def iter_all(self, after_position: int = 0, batch_size: int = 5000) -> Iterator[Envelope]:
        while True:
            batch = self.read_all(after_position, batch_size)
            if not batch:
                return
            yield from batch
            after_position = batch[-1].position

    def last_position(self, conn: Connection | None = None) -> int:
        statement = select(func.max(events_table.c.position))
        if conn is not None:
            return conn.execute(statement).scalar() or 0
        with self.engine.connect() as own:
            return own.execute(statement).scalar() or 0


class InMemoryEventStore:
    """The same contract held in a list: for fast domain and handler tests."""

    def __init__(self, source: str, catalogue: EventCatalogue):
        self.source, self.catalogue = source, catalogue
        self._builder = _EnvelopeBuilder(source, catalogue)
        self._log: list[Envelope] = []

    def append(self, conn, pending, expected_versions, recorded_time=None) -> list[Envelope]:
        self._builder.check(pending, expected_versions)
        current = {stream: self.stream_version(stream) for stream in expected_versions}
        _check_versions(expected_versions, current)
        head_position, head_hash = ((self._log[-1].position, self._log[-1].hash)
                                    if self._log else (0, GENESIS_HASH))
        sealed, _rows = self._builder.build(pending, dict(current), head_position, head_hash,
                                            recorded_time or utc_now())
        self._log.extend(sealed)
        return sealed

    def stream_version(self, stream_id, conn=None) -> int:
        return max((e.sequence for e in self._log if e.subject == stream_id), default=0)

    def read_stream(self, stream_id, conn=None, *, effective_until=None, recorded_until=None):
        return [e for e in self._log if e.subject == stream_id
                and (effective_until is None or e.time <= effective_until)
                and (recorded_until is None or e.recorded_time <= recorded_until)]

    def read_streams(self, stream_ids, conn=None):
        return {stream_id: self.read_stream(stream_id) for stream_id in stream_ids}

    def read_all(self, after_position=0, limit=1000, conn=None):
        return [e for e in self._log if e.position > after_position][:limit]

    def iter_all(self, after_position=0, batch_size=5000):
        return iter([e for e in self._log if e.position > after_position])

    def last_position(self, conn=None) -> int:
        return self._log[-1].position if self._log else 0
