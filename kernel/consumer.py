"""The kernel's durable event handler: a nameko entrypoint that consumes another service's
events with the guarantees nameko's ``@event_handler`` lacks (it acks and loses an event
whose handler raised).

- One durable queue per handler, declared (with bindings and its dead-letter queue) before
  the first message is taken; single-active-consumer so several replicas keep order.
- Messages are applied in delivery order, so events of a stream are applied in the order
  the relay published them (position order). The messages already delivered (prefetched)
  are applied as one batch of up to ``CONSUMER.batch_size`` (default 100) — never waiting
  to fill one — in ONE transaction: one inbox lookup, one inbox insert, the handler called
  for each new event in order (inside one nameko worker whose context data is set to each
  event's in turn), commit, then one multiple-ack.
- Before anything is applied, each event must prove it came from the source's log
  (``kernel.authenticity``: hash, the relay's batch signature, its place in its stream);
  one that does not is parked at once with the reason and counted.
- Each event is applied in the same transaction as its inbox record ``(consumer, event
  id)``; a duplicate (redelivery, relay replay, a repeat inside a batch) is skipped.
  "Applied" means: the service's projections that handle the event's type are updated
  (a page at a time where they offer ``apply_many``), then the handler method is called.
- A fault of the infrastructure (``kernel.faults``: the database or broker unreachable,
  SQLite's "database is locked") is waited out, for as long as it lasts: the consumer
  pauses, retrying the same batch with backoff up to ``CONSUMER.max_fault_delay_seconds``,
  its messages unacked on the queue, and logs each wait. Nothing is parked for it.
- If anything else in a batch fails, the batch is rolled back and its messages are applied
  one at a time, each in its own transaction and its own worker: a handler that raises is
  retried with backoff, then the event is parked in ``<queue>.dead`` with the error in its
  headers (``eldercare parked`` lists/replays), and the good events around it are applied.
  A malformed or schema-invalid event is parked at once: retrying cannot fix it.
- Parked events whose cause may have gone (a handler's error, not a refusal of the event
  itself) are put back on the queue by the consumer itself (``kernel.parked.replay_due``)
  after ``CONSUMER.parked_retry_seconds``, doubling each time, ``CONSUMER.parked_retries``
  times; after that an event stays parked, marked given up, for an operator.
- Handlers must be idempotent beyond the database: a batch that is rolled back is applied
  again (and a crash before the ack redelivers).

Handler signature: ``def on_event(self, event: Envelope, uow: UnitOfWork)``; write only
through ``uow`` (it is the consumer's open transaction).
"""
from __future__ import annotations

import contextvars
import json
import sys
import time

import amqp
import eventlet
import kombu
import structlog
from eventlet.event import Event as GreenEvent
from nameko.containers import WorkerContext
from nameko.extensions import Entrypoint

from kernel.authenticity import EventAuthenticator, PublicKeys
from kernel.clock import utc_now
from kernel.config import amqp_uri, setting
from kernel.db import transaction
from kernel.envelope import Envelope, format_time
from kernel.errors import EventSchemaError, UnknownEventTypeError, ValidationError
from kernel.faults import is_transient
from kernel.inbox import consumed_among, record_many
from kernel.logging import configure_logging
from kernel.providers import find_database
from kernel.topology import Subscription, dead_letter_queue_name, declare, parked_exchange_name
from kernel.uow import UnitOfWork, apply_page_to_projections

log = structlog.get_logger(__name__)

# Deterministic failures: retrying the same event cannot succeed.
NOT_RETRYABLE = (EventSchemaError, UnknownEventTypeError, ValidationError)
DEFAULT_RETRY_DELAYS = (0.2, 1.0, 3.0)
# Waiting out a database or broker fault: the first retry, and the longest wait between two.
FIRST_FAULT_DELAY_SECONDS = 0.2
DEFAULT_MAX_FAULT_DELAY_SECONDS = 5.0
# Parked handler errors: first automatic replay after this, doubling, this many times.
DEFAULT_PARKED_RETRY_SECONDS = 60.0
DEFAULT_PARKED_RETRIES = 5
DEFAULT_BATCH_SIZE = 100
# How long to wait for one more already-delivered message before applying what is there.
DRAIN_POLL_SECONDS = 0.0005
# A batch applied in one worker yields to the hub every this many events.
YIELD_EVERY = 10


class DurableEventHandler(Entrypoint):
    def __init__(self, source: str, event_types, county_code: str | None = None, **kwargs):
        self.source = source
        self.event_types = tuple([event_types] if isinstance(event_types, str) else event_types)
        self.county_code = county_code
        self._stopping = False
        self._stopped = GreenEvent()
        self._park_channel = None
        self._connection = None
        super().__init__(**kwargs)

    # -- lifecycle -------------------------------------------------------------------
    def setup(self):
        configure_logging(self.container.service_name)
        config = self.container.config
        self.queue_name = f"{self.container.service_name}.{self.method_name}"
        self.subscription = Subscription(self.queue_name, self.source, self.event_types, self.county_code)
        self.amqp_uri = amqp_uri(config)
        self.prefetch = setting(config, "CONSUMER", "prefetch", 100)
        self.retry_delays = tuple(setting(config, "CONSUMER", "retry_delays", DEFAULT_RETRY_DELAYS))
        self.batch_size = max(1, int(setting(config, "CONSUMER", "batch_size", DEFAULT_BATCH_SIZE)))
        self.queue_type = config.get("QUEUE_TYPE", "classic")
        self.max_fault_delay = float(setting(config, "CONSUMER", "max_fault_delay_seconds",
                                             DEFAULT_MAX_FAULT_DELAY_SECONDS))
        self.parked_retry_seconds = float(setting(config, "CONSUMER", "parked_retry_seconds",
                                                  DEFAULT_PARKED_RETRY_SECONDS))
        self.parked_retries = int(setting(config, "CONSUMER", "parked_retries", DEFAULT_PARKED_RETRIES))
        # Off only to measure what authentication costs (bench); never in production.
        self.authenticator = (EventAuthenticator(self.source, PublicKeys.of(config), self._hashed_as_sent)
                              if setting(config, "CONSUMER", "authenticate", True) else None)
        if self.authenticator is None:
            log.warning("event authentication is OFF for this consumer: any publisher's events are applied",
                        queue=self.queue_name)

    def start(self):
        self.database = find_database(self.container)
        try:
            self.declare_topology()
        except Exception as exc:  # noqa: BLE001 - the consume loop keeps retrying
            log.warning("could not declare consumer queue yet", queue=self.queue_name, error=str(exc))
        self.container.spawn_managed_thread(self._consume_forever, identifier=f"consumer:{self.queue_name}")
        if self.parked_retries > 0:
            self.container.spawn_managed_thread(self._replay_parked_forever,
                                                identifier=f"parked-replay:{self.queue_name}")

    def stop(self):
        self._stopping = True
        self._stopped.wait()

    def kill(self):
        self._stopping = True

    def declare_topology(self) -> None:
        with kombu.Connection(self.amqp_uri, connect_timeout=5) as connection:
            declare(connection.default_channel, self.subscription, self.queue_type)

    # -- consuming -------------------------------------------------------------------
    def _consume_forever(self):
        structlog.contextvars.bind_contextvars(service=self.container.service_name, queue=self.queue_name)
        backoff = 0.5
        try:
            while not self._stopping:
                try:
                    self._consume_until_stopped()
                    backoff = 0.5
                except Exception as exc:  # noqa: BLE001 - reconnect on any broker failure
                    if self._stopping:
                        break
                    log.warning("consumer lost the broker; reconnecting", queue=self.queue_name,
                                error=str(exc), error_type=type(exc).__name__, retry_in_seconds=backoff)
                    eventlet.sleep(backoff)
                    backoff = min(backoff * 2, 10)
        finally:
            self._stopped.send(True)

    def _consume_until_stopped(self):
        with kombu.Connection(self.amqp_uri, heartbeat=60, connect_timeout=5) as connection:
            connection.connect()
            channel = connection.channel()
            declare(channel, self.subscription, self.queue_type)
            channel.basic_qos(0, self.prefetch, False)
            self._park_channel = connection.channel()
            self._connection = connection
            queue = self.subscription.queue(self.queue_type, exchange_exists=True)(channel)   # declare() made sure
            delivered: list = []   # on_message only buffers; batches are applied between drains
            with kombu.Consumer(channel, queues=[queue], on_message=delivered.append, no_ack=False):
                log.info("consuming", queue=self.queue_name, source=self.source, types=list(self.event_types),
                         batch_size=self.batch_size)
                while not self._stopping:
                    # Messages may already be waiting: parking drains the connection while it
                    # waits for the broker's confirm, and deliveries read then are buffered.
                    if not delivered:
                        try:
                            connection.drain_events(timeout=1)
                        except TimeoutError:
                            connection.heartbeat_check()
                            continue
                        if not delivered:
                            continue        # a frame that completed no message (e.g. a heartbeat)
                    self._take_ready(connection, delivered)
                    if self._stopping:
                        return              # left unacked: the broker requeues them on close
                    batch = delivered[:self.batch_size]
                    del delivered[:self.batch_size]
                    self._apply_batch(batch)
                    connection.heartbeat_check()

    def _take_ready(self, connection, delivered: list) -> None:
        """Add the messages already delivered (prefetched) to ``delivered``, up to a batch,
        without waiting for more: one message alone is applied at once."""
        while len(delivered) < self.batch_size and not self._stopping:
            try:
                connection.drain_events(timeout=DRAIN_POLL_SECONDS)
            except TimeoutError:
                return

    # -- applying --------------------------------------------------------------------
    def _decode(self, message) -> Envelope | None:
        """The message's envelope, or ``None`` once a malformed/schema-invalid message is parked."""
        try:
            envelope = Envelope.from_wire(json.loads(message.body))
            self.database.catalogue.validate(envelope.type, envelope.data)
        except Exception as exc:  # noqa: BLE001 - anything unreadable is parked, not lost
            self._park(message, None, exc, attempts=1, retryable=False)     # unreadable: for an operator
            return None
        return envelope

    def _apply_batch(self, messages: list) -> None:
        """Apply delivered messages in delivery order: all in one transaction if they all
        succeed; otherwise roll back and re-apply them one at a time (retry, then park)."""
        ready = []
        for message in messages:
            envelope = self._decode(message)
            if envelope is not None:
                ready.append((message, envelope))
        ready = self._admit(ready)
        if not ready:
            return
        if len(ready) == 1:
            self._apply_with_retry(*ready[0])
            return
        envelopes = [envelope for _, envelope in ready]
        try:
            applied = self._waiting_out_faults(lambda: self._apply_many(envelopes),
                                               events=len(envelopes), first_event_id=envelopes[0].id)
        except Exception as exc:  # noqa: BLE001 - isolate the failing message below
            if self._stopping:
                return                      # left unacked: the broker requeues them on close
            log.warning("event batch failed; applying its events one at a time", queue=self.queue_name,
                        events=len(ready), first_event_id=envelopes[0].id, last_event_id=envelopes[-1].id,
                        error=str(exc), error_type=type(exc).__name__)
            for message, envelope in ready:
                if not self._apply_with_retry(message, envelope):
                    return                  # stopping: this and the rest go back to the queue
            return
        # Every earlier delivery on this channel is settled (applied, parked or in this
        # batch), so one multiple-ack up to the last tag acks exactly this batch.
        ready[-1][0].ack(multiple=True)
        log.debug("events consumed", queue=self.queue_name, events=len(ready), applied=applied,
                  duplicates_skipped=len(ready) - applied, first_event_id=envelopes[0].id,
                  last_event_id=envelopes[-1].id)

    def _waiting_out_faults(self, apply, **about):
        """``apply()``, tried again for as long as it fails with a database or broker fault
        (the consumer pauses; its messages stay unacked on the queue). Raises anything else,
        and the fault itself once the consumer is stopping."""
        waits = 0
        while True:
            try:
                result = apply()
            except Exception as exc:
                if self._stopping or not is_transient(exc):
                    raise
                delay = min(FIRST_FAULT_DELAY_SECONDS * 2 ** min(waits, 16), self.max_fault_delay)
                log.warning("database or broker unavailable; consumer paused, will retry", queue=self.queue_name,
                            retry=waits + 1, retry_in_seconds=delay, error=str(exc)[:500],
                            error_type=type(exc).__name__, **about)
                self._pause(delay)
                waits += 1
                continue
            if waits:
                log.info("fault over; consumer resumed", queue=self.queue_name, retries=waits, **about)
            return result

    def _pause(self, seconds: float) -> None:
        """Sleep, keeping the broker connection's heartbeats going (a long database outage must
        not also cost the connection and redeliver the batch); returns early on stop."""
        deadline = time.monotonic() + seconds
        while not self._stopping and (left := deadline - time.monotonic()) > 0:
            eventlet.sleep(min(left, 1.0))
            if self._connection is not None:
                self._connection.heartbeat_check()

    def _hashed_as_sent(self, event_type: str) -> bool:
        """An event with personal fields is hashed with them sealed and sent with them open."""
        return not self.database.catalogue.contract(event_type).personal_paths

    def _admit(self, ready: list[tuple]) -> list[tuple]:
        """The (message, envelope) pairs proved to come from the source's log; the others are
        parked with the reason (``kernel.authenticity`` logs and counts them)."""
        if self.authenticator is None or not ready:
            return ready
        def admit():
            with self.database.engine.connect() as conn:
                return self.authenticator.admit(conn, self.queue_name, ready)
        admitted, rejected = self._waiting_out_faults(admit, events=len(ready))
        for item in rejected:    # refused, not failed: never replayed by the consumer itself
            self._park(item.message, item.envelope, item.error, attempts=1, retryable=False)
        return admitted

    def _apply_many(self, envelopes: list[Envelope]) -> int:
        """One transaction for the batch, the handler called for each new event in one worker.
        Returns how many were applied (the rest were duplicates)."""
        # Run in a copy of this thread's context: the worker's hooks rebind the log context.
        return self._apply_in_one_transaction(
            envelopes, lambda fresh, uow: contextvars.copy_context().run(self._run_batch_worker, fresh, uow))

    def _apply_in_one_transaction(self, envelopes: list[Envelope], run_handlers) -> int:
        """Bulk inbox check, inbox rows, projections, then ``run_handlers(fresh, uow)``, all in
        one transaction. Returns how many events were new (the rest were duplicates)."""
        database = self.database
        with transaction(database.engine) as conn:
            seen = consumed_among(conn, self.queue_name, [envelope.id for envelope in envelopes])
            fresh = []
            for envelope in envelopes:
                if envelope.id not in seen:          # also skips a repeat within the batch
                    seen.add(envelope.id)
                    fresh.append(envelope)
            if not fresh:
                return 0
            record_many(conn, self.queue_name, fresh)
            apply_page_to_projections(conn, database.projections, fresh)
            uow = UnitOfWork(conn, database.store, database.clock, database.projections)
            run_handlers(fresh, uow)
        if uow.appended:
            database.notify_committed(uow.appended)
        return len(fresh)

    def _run_batch_worker(self, envelopes: list[Envelope], uow: UnitOfWork) -> None:
        """Call the handler for each event, in order, inside ONE nameko worker lifecycle
        (dependencies injected, worker_setup ... worker_teardown) instead of one spawned worker
        per event. Before each call the worker's context data (correlation/causation/stream
        ids) is set to that event's and the dependencies are injected again, so what a
        handler appends or logs is attributed to the event it is handling. Raises what the
        handler raised (the caller rolls the batch back)."""
        container = self.container
        providers = container.dependencies
        service = container.service_cls()
        worker_ctx = WorkerContext(container, service, self, (envelopes[0], uow), {},
                                   data=_context_data(envelopes[0]))
        for provider in providers:
            setattr(service, provider.attr_name, provider.get_dependency(worker_ctx))
        for provider in providers:
            provider.worker_setup(worker_ctx)
        method = getattr(service, self.method_name)
        exc_info = None
        try:
            for index, envelope in enumerate(envelopes):
                if index:
                    context = _context_data(envelope)
                    worker_ctx.data.update(context)
                    worker_ctx.args = (envelope, uow)
                    for provider in providers:
                        setattr(service, provider.attr_name, provider.get_dependency(worker_ctx))
                    structlog.contextvars.bind_contextvars(correlation_id=context["correlation_id"],
                                                           stream_id=context["stream_id"])
                    if index % YIELD_EVERY == 0:
                        eventlet.sleep(0)        # let other greenthreads run during a long batch
                method(envelope, uow)
        except Exception:  # noqa: BLE001 - reported to the dependencies, then re-raised
            exc_info = sys.exc_info()
        try:
            for provider in providers:
                provider.worker_result(worker_ctx, None, exc_info)
            for provider in providers:
                provider.worker_teardown(worker_ctx)
            if exc_info is not None:
                raise exc_info[1].with_traceback(exc_info[2])
        finally:
            del exc_info

    def _apply_with_retry(self, message, envelope: Envelope) -> bool:
        """Apply one message alone, retrying with backoff, parking it when it cannot succeed.
        Returns False when it was handed back to the broker because the consumer is stopping."""
        attempt = 0
        while True:
            try:
                outcome = self._waiting_out_faults(lambda: self._apply_once(envelope), event_id=envelope.id)
                message.ack()
                log.debug("event consumed", queue=self.queue_name, event_id=envelope.id,
                          event_type=envelope.type, stream_id=envelope.subject, outcome=outcome)
                return True
            except NOT_RETRYABLE as exc:
                self._park(message, envelope, exc, attempts=attempt + 1)
                return True
            except Exception as exc:  # noqa: BLE001
                if self._stopping:
                    message.reject(requeue=True)
                    return False
                if attempt >= len(self.retry_delays):
                    self._park(message, envelope, exc, attempts=attempt + 1)
                    return True
                log.warning("event handler failed; retrying", queue=self.queue_name,
                            event_id=envelope.id, event_type=envelope.type, attempt=attempt + 1,
                            error=str(exc), error_type=type(exc).__name__)
                eventlet.sleep(self.retry_delays[attempt])
                attempt += 1

    def _apply_once(self, envelope: Envelope) -> str:
        # In this greenthread, as a batch is: a worker spawned from the pool while this
        # transaction holds the write lock would wait for a slot that RPC workers queued on
        # that very lock hold (a deadlock once the pool is full).
        return "applied" if self._apply_many([envelope]) else "duplicate_skipped"

    def _park(self, message, envelope: Envelope | None, exc: Exception, attempts: int,
              retryable: bool | None = None) -> None:
        """``retryable``: the event itself was not refused (a handler failed on it), so the
        consumer replays it later by itself (``_replay_parked_forever``); by default, unless
        ``exc`` is one of ``NOT_RETRYABLE``."""
        if retryable is None:
            retryable = not isinstance(exc, NOT_RETRYABLE)
        headers = dict(message.headers or {})
        headers.update({
            "x-parked-by": self.queue_name, "x-error-type": type(exc).__name__,
            "x-error": str(exc)[:2000], "x-attempts": attempts, "x-parked-at": format_time(utc_now()),
            "x-original-routing-key": message.delivery_info.get("routing_key", ""),
            "x-retryable": retryable,
        })
        parked = amqp.Message(message.body, content_type=message.content_type or "application/json",
                              content_encoding=message.content_encoding or "utf-8", delivery_mode=2,
                              message_id=(envelope.id if envelope else message.properties.get("message_id", "")),
                              application_headers=headers)
        self._park_channel.basic_publish_confirm(parked, exchange=parked_exchange_name(self.queue_name),
                                                 routing_key=dead_letter_queue_name(self.queue_name))
        message.ack()
        log.error("event parked in dead-letter queue after failing", queue=self.queue_name,
                  dead_letter_queue=dead_letter_queue_name(self.queue_name),
                  event_id=envelope.id if envelope else None,
                  event_type=envelope.type if envelope else None,
                  stream_id=envelope.subject if envelope else None, attempts=attempts,
                  error=str(exc), error_type=type(exc).__name__, exc_info=exc)

    # -- healing -----------------------------------------------------------------------
    def _replay_parked_forever(self):
        """Put parked events whose cause may have gone back on the queue, each after its
        backoff (``kernel.parked.replay_due``); runs beside the consumer on its own connection."""
        from kernel.parked import replay_due

        structlog.contextvars.bind_contextvars(service=self.container.service_name, queue=self.queue_name)
        check_every = min(max(self.parked_retry_seconds / 4, 0.05), 30.0)
        while not self._stopping:
            try:
                replayed, given_up = replay_due(self.amqp_uri, self.queue_name, first_delay=self.parked_retry_seconds,
                                                max_replays=self.parked_retries)
            except Exception as exc:  # noqa: BLE001 - the broker is away: try at the next turn
                log.debug("could not look at parked events", queue=self.queue_name, error=str(exc),
                          error_type=type(exc).__name__)
            else:
                if replayed:
                    log.info("parked events replayed by the consumer", queue=self.queue_name, event_ids=replayed)
                for event_id in given_up:
                    log.error("parked event given up after automatic replays; an operator must act "
                              "(eldercare parked list|replay)", queue=self.queue_name, event_id=event_id,
                              replays=self.parked_retries)
            deadline = time.monotonic() + check_every
            while not self._stopping and time.monotonic() < deadline:
                eventlet.sleep(min(0.5, check_every))


def _context_data(envelope: Envelope) -> dict:
    """The worker context of handling one event (read by ``CallContext`` and the logs)."""
    return {"correlation_id": envelope.correlation_id or envelope.id,
            "causation_id": envelope.id, "stream_id": envelope.subject}


durable_event_handler = DurableEventHandler.decorator


def subscriptions_of(service_class) -> list:
    """The consumer queues a nameko service class declares with ``@durable_event_handler``,
    so deploy/start-up can create them before any producer publishes."""
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

    from kernel.topology import Subscription

    found = []
    for method_name in dir(service_class):
        method = getattr(service_class, method_name, None)
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, DurableEventHandler):
                found.append(Subscription(f"{service_class.name}.{method_name}", entrypoint.source,
                                          entrypoint.event_types, entrypoint.county_code))
    return found
