"""The outbox relay: publishes a service's log to RabbitMQ, in position order, exactly as
stored, and remembers how far it got only after the broker confirmed.

Publisher confirms are awaited per batch (publish N, then wait for their acks): waiting
per message caps near 1.4k msg/s here. Messages are ``mandatory``: an event no consumer is
bound for goes to the exchange's archive (``kernel.topology``); one the broker cannot route
even there (no archive declared) comes back, is logged as an error and kept in
``unroutable_events`` (``eldercare unroutable`` lists and republishes them). A crash
between publishing and moving the cursor republishes the batch on restart; consumers
skip what their inbox already holds, so nothing is lost or applied twice.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import amqp
import kombu
import structlog
from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from kernel.clock import utc_now
from kernel.db import transaction
from kernel.envelope import Envelope, format_time
from kernel.schema import relay_cursor, unroutable_events
from kernel.store import SqlAlchemyEventStore
from kernel.topology import alternate_exchange_name, events_exchange_arguments, exchange_name, routing_key

log = structlog.get_logger(__name__)
RELAY_NAME = "outbox"
UNROUTABLE_REPORT_SECONDS = 60


class PublishError(Exception):
    """The broker refused (nacked) or did not confirm a batch in time; nothing was marked."""


@dataclass
class Returned:
    event_id: str
    exchange: str
    routing_key: str
    reply_code: int
    reply_text: str


@dataclass
class BatchConfirmPublisher:
    """A py-amqp channel in confirm mode, publishing batches and awaiting their confirms."""

    amqp_uri: str
    confirm_timeout: float = 30.0
    _connection: kombu.Connection | None = None
    _channel: object = None
    _next_tag: int = 0
    _acked_up_to: int = 0
    _nacked: bool = False
    _returned: list[Returned] = field(default_factory=list)
    _declared: set = field(default_factory=set)

    def connect(self) -> None:
        if self._channel is not None:
            return
        self._connection = kombu.Connection(self.amqp_uri, heartbeat=0, connect_timeout=5)
        self._connection.connect()
        channel = self._connection.channel()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        channel.events["basic_return"].add(self._on_return)
        self._channel, self._next_tag, self._acked_up_to = channel, 0, 0
        self._declared.clear()

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail; we drop it anyway
                pass

    def declare_exchange(self, name: str) -> None:
        """The events exchange with its alternate exchange (``kernel.topology``): an event no
        consumer is bound for goes to the archive, if ``eldercare topology`` declared one."""
        if name not in self._declared:
            source = name.removesuffix(".events")
            self._channel.exchange_declare(alternate_exchange_name(source), "fanout", durable=True,
                                           auto_delete=False)
            self._channel.exchange_declare(name, "topic", durable=True, auto_delete=False,
                                           arguments=events_exchange_arguments(source))
            self._declared.add(name)

    def _on_ack(self, delivery_tag, multiple):
        self._acked_up_to = max(self._acked_up_to, delivery_tag)

    def _on_nack(self, delivery_tag, multiple):
        self._nacked = True
        self._acked_up_to = max(self._acked_up_to, delivery_tag)

    def _on_return(self, error, exchange, routing_key_, message):
        # py-amqp hands over the error it built from the reply code and text.
        self._returned.append(Returned(message.properties.get("message_id", "?"), exchange, routing_key_,
                                       getattr(error, "code", 0) or 0, str(getattr(error, "reply_text", error))))

    def publish_batch(self, messages: list[tuple[str, str, amqp.Message]]) -> list[Returned]:
        """Publish (exchange, routing key, message) triples; return what came back unroutable."""
        self.connect()
        self._returned, self._nacked = [], False
        for exchange, key, message in messages:
            self.declare_exchange(exchange)
            self._channel.basic_publish(message, exchange=exchange, routing_key=key, mandatory=True)
            self._next_tag += 1
        deadline = time.monotonic() + self.confirm_timeout
        while self._acked_up_to < self._next_tag:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishError(f"no confirm for {self._next_tag - self._acked_up_to} message(s) "
                                   f"within {self.confirm_timeout}s")
            try:
                self._connection.drain_events(timeout=min(remaining, 1.0))
            except TimeoutError:
                continue
        if self._nacked:
            raise PublishError("the broker nacked part of the batch")
        return list(self._returned)


def to_message(envelope: Envelope) -> amqp.Message:
    return amqp.Message(
        json.dumps(envelope.to_wire(), ensure_ascii=False).encode("utf-8"),
        content_type="application/json", content_encoding="utf-8", delivery_mode=2,
        message_id=envelope.id, correlation_id=envelope.correlation_id or "",
        type=envelope.type, application_headers={"x-position": envelope.position,
                                                 "x-source": envelope.source})


class OutboxRelay:
    """Moves a service's unpublished events to the broker. One active relay per log:
    on PostgreSQL an advisory lock elects it; SQLite runs one process per file."""

    def __init__(self, engine: Engine, store: SqlAlchemyEventStore, amqp_uri: str,
                 batch_size: int = 500, signer=None):
        """``signer``: a ``kernel.authenticity.RelaySigner`` of this log's source; without one
        the events go out unsigned (and consumers park them)."""
        self.engine, self.store, self.batch_size = engine, store, batch_size
        self.signer = signer
        self.publisher = BatchConfirmPublisher(amqp_uri)
        self.exchange = exchange_name(store.source)
        self._leader_connection = None
        self._unroutable_counts: dict[str, int] = {}
        self._unroutable_reported_at: dict[str, float] = {}

    # -- leadership (PostgreSQL only) -------------------------------------------------
    def acquire_leadership(self) -> bool:
        """True while this relay holds its log's lock. Called before every batch: a leader
        whose lock connection died (and so lost the lock) finds out here and re-competes."""
        if self.engine.dialect.name != "postgresql":
            return True
        if self._leader_connection is not None:
            try:
                self._leader_connection.execute(text("SELECT 1"))
                self._leader_connection.commit()
                return True
            except DBAPIError as error:
                log.warning("relay lost the connection that held its lock; competing again", error=str(error))
                self._leader_connection.invalidate()
                self._leader_connection = None
        self._leader_connection = self.engine.connect()
        got = self._leader_connection.execute(
            text("SELECT pg_try_advisory_lock(hashtext(:key))"), {"key": f"relay:{self.store.source}"}).scalar()
        self._leader_connection.commit()
        if not got:
            self._leader_connection.close()
            self._leader_connection = None
        return bool(got)

    def release(self) -> None:
        self.publisher.close()
        if self._leader_connection is not None:
            # The lock belongs to the session, and a pooled connection's session outlives
            # close(): unlock explicitly or the next relay waits for a lock nobody uses.
            try:
                self._leader_connection.execute(text("SELECT pg_advisory_unlock_all()"))
                self._leader_connection.commit()
                self._leader_connection.close()
            except DBAPIError:
                self._leader_connection.invalidate()   # the session (and its lock) is gone already
            finally:
                self._leader_connection = None

    # -- publishing -------------------------------------------------------------------
    def cursor_position(self, conn=None) -> int:
        if conn is not None:
            return published_position(conn)
        with self.engine.connect() as own:
            return published_position(own)

    def backlog(self) -> int:
        return outbox_backlog(self.engine, self.store)

    def publish_pending(self) -> int:
        """Publish one batch after the cursor; returns how many events were confirmed."""
        with self.engine.connect() as conn:
            after = self.cursor_position(conn)
            batch = self.store.read_all(after, self.batch_size, conn)
        if not batch:
            return 0
        returned = self._publish(batch)
        with transaction(self.engine) as conn:
            self._record_unroutable(conn, returned, {e.id: e for e in batch})
            self._move_cursor(conn, after, batch[-1].position)
        return len(batch)

    def _publish(self, envelopes: list[Envelope]) -> list[Returned]:
        messages = [to_message(e) for e in envelopes]
        if self.signer is not None:
            self.signer.seal(messages)      # kernel.authenticity: consumers park what is not sealed
        return self.publisher.publish_batch(
            [(self.exchange, routing_key(e.type, e.county_code), m) for e, m in zip(envelopes, messages)])

    def _move_cursor(self, conn, previous: int, position: int) -> None:
        now = format_time(utc_now())
        if previous == 0 and conn.execute(select(relay_cursor.c.relay)
                                          .where(relay_cursor.c.relay == RELAY_NAME)).first() is None:
            conn.execute(insert(relay_cursor).values(relay=RELAY_NAME, position=position, updated_at=now))
        else:
            conn.execute(update(relay_cursor).where(relay_cursor.c.relay == RELAY_NAME)
                         .values(position=position, updated_at=now))

    def _record_unroutable(self, conn, returned: list[Returned], by_id: dict[str, Envelope]) -> None:
        if not returned:
            return
        known = set(conn.execute(select(unroutable_events.c.event_id).where(
            unroutable_events.c.event_id.in_([r.event_id for r in returned]))).scalars())
        now = format_time(utc_now())
        for item in returned:
            envelope = by_id.get(item.event_id)
            if envelope is not None and item.event_id not in known:
                conn.execute(insert(unroutable_events).values(
                    event_id=item.event_id, position=envelope.position, type=envelope.type,
                    exchange=item.exchange, routing_key=item.routing_key, reply_code=item.reply_code,
                    reply_text=item.reply_text, detected_at=now))
        self._report_unroutable([by_id[r.event_id].type for r in returned if r.event_id in by_id], returned[0])

    def _report_unroutable(self, event_types: list[str], first: Returned) -> None:
        """An error line per event type at most once a minute, with the count since the last
        line: until a service's consumers are deployed every one of its events comes back,
        and a line per event (or per batch) would bury everything else in the log."""
        now = time.monotonic()
        for event_type in event_types:
            self._unroutable_counts[event_type] = self._unroutable_counts.get(event_type, 0) + 1
        for event_type in sorted(set(event_types)):
            if now - self._unroutable_reported_at.get(event_type, -UNROUTABLE_REPORT_SECONDS) < UNROUTABLE_REPORT_SECONDS:
                continue
            log.error("events unroutable: no queue is bound for them; kept in unroutable_events "
                      "(eldercare unroutable list/republish)", event_type=event_type,
                      count_since_last_report=self._unroutable_counts.pop(event_type),
                      exchange=first.exchange, reply_text=first.reply_text,
                      next_report_in_seconds=UNROUTABLE_REPORT_SECONDS)
            self._unroutable_reported_at[event_type] = now

    def run_until_caught_up(self) -> int:
        total = 0
        while (count := self.publish_pending()):
            total += count
        return total

    def republish_unroutable(self) -> int:
        """Publish again every event the broker returned (after the missing queue was declared)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(unroutable_events).where(unroutable_events.c.republished_at.is_(None))
                                .order_by(unroutable_events.c.position)).all()
            envelopes = {e.id: e for row in rows for e in self.store.read_all(row.position - 1, 1, conn)}
        if not rows:
            return 0
        returned = self._publish(list(envelopes.values()))
        still_unroutable = {r.event_id for r in returned}
        with transaction(self.engine) as conn:
            for event_id in envelopes:
                if event_id not in still_unroutable:
                    conn.execute(update(unroutable_events).where(unroutable_events.c.event_id == event_id)
                                 .values(republished_at=format_time(utc_now())))
        return len(envelopes) - len(still_unroutable)


def published_position(conn) -> int:
    """The log position up to which the relay has published (its cursor; 0 before the first)."""
    return conn.execute(select(relay_cursor.c.position).where(relay_cursor.c.relay == RELAY_NAME)).scalar() or 0


def outbox_backlog(engine, store) -> int:
    """Events appended to the service's log and not yet published: what the relay has to do."""
    with engine.connect() as conn:
        published = published_position(conn)
    return store.last_position() - published
