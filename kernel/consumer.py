"""The kernel's durable event handler: a nameko entrypoint that consumes another service's
events with the guarantees nameko's ``@event_handler`` lacks (it acks and loses an event
whose handler raised).

- One durable queue per handler, declared (with bindings and its dead-letter queue) before
  the first message is taken; single-active-consumer so several replicas keep order.
- Messages are applied one at a time in delivery order, so events of a stream are applied
  in the order the relay published them (position order).
- Each event is applied in one transaction with its inbox record ``(consumer, event id)``;
  a duplicate (redelivery, relay replay) is recognised and skipped.
- A handler that raises is retried with backoff; then the event is parked in
  ``<queue>.dead`` with the error in its headers (``eldercare parked`` lists/replays).
  A malformed or schema-invalid event is parked at once: retrying cannot fix it.

Handler signature: ``def on_event(self, event: Envelope, uow: UnitOfWork)``; write only
through ``uow`` (it is the consumer's open transaction).
"""
from __future__ import annotations

import json

import amqp
import eventlet
import kombu
import structlog
from eventlet.event import Event as GreenEvent
from nameko.extensions import Entrypoint

from kernel.clock import utc_now
from kernel.config import amqp_uri, setting
from kernel.db import transaction
from kernel.envelope import Envelope, format_time
from kernel.errors import EventSchemaError, UnknownEventTypeError, ValidationError
from kernel.inbox import already_consumed, record_consumed
from kernel.logging import configure_logging
from kernel.providers import find_database
from kernel.topology import Subscription, dead_letter_queue_name, declare
from kernel.uow import UnitOfWork

log = structlog.get_logger(__name__)

# Deterministic failures: retrying the same event cannot succeed.
NOT_RETRYABLE = (EventSchemaError, UnknownEventTypeError, ValidationError)
DEFAULT_RETRY_DELAYS = (0.2, 1.0, 3.0)


class DurableEventHandler(Entrypoint):
    def __init__(self, source: str, event_types, county_code: str | None = None, **kwargs):
        self.source = source
        self.event_types = tuple([event_types] if isinstance(event_types, str) else event_types)
        self.county_code = county_code
        self._stopping = False
        self._stopped = GreenEvent()
        self._park_channel = None
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
        self.queue_type = config.get("QUEUE_TYPE", "classic")

    def start(self):
        self.database = find_database(self.container)
        try:
            self.declare_topology()
        except Exception as exc:  # noqa: BLE001 - the consume loop keeps retrying
            log.warning("could not declare consumer queue yet", queue=self.queue_name, error=str(exc))
        self.container.spawn_managed_thread(self._consume_forever, identifier=f"consumer:{self.queue_name}")

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
            queue = self.subscription.queue(self.queue_type)(channel)
            with kombu.Consumer(channel, queues=[queue], on_message=self._on_message, no_ack=False):
                log.info("consuming", queue=self.queue_name, source=self.source, types=list(self.event_types))
                while not self._stopping:
                    try:
                        connection.drain_events(timeout=1)
                    except TimeoutError:
                        connection.heartbeat_check()

    def _on_message(self, message):
        try:
            envelope = Envelope.from_wire(json.loads(message.body))
            self.database.catalogue.validate(envelope.type, envelope.data)
        except Exception as exc:  # noqa: BLE001 - anything unreadable is parked, not lost
            self._park(message, None, exc, attempts=1)
            return
        attempt = 0
        while True:
            try:
                outcome = self._apply_once(envelope)
                message.ack()
                log.debug("event consumed", queue=self.queue_name, event_id=envelope.id,
                          event_type=envelope.type, stream_id=envelope.subject, outcome=outcome)
                return
            except NOT_RETRYABLE as exc:
                self._park(message, envelope, exc, attempts=attempt + 1)
                return
            except Exception as exc:  # noqa: BLE001
                if self._stopping:
                    message.reject(requeue=True)
                    return
                if attempt >= len(self.retry_delays):
                    self._park(message, envelope, exc, attempts=attempt + 1)
                    return
                log.warning("event handler failed; retrying", queue=self.queue_name,
                            event_id=envelope.id, event_type=envelope.type, attempt=attempt + 1,
                            error=str(exc), error_type=type(exc).__name__)
                eventlet.sleep(self.retry_delays[attempt])
                attempt += 1

    def _apply_once(self, envelope: Envelope) -> str:
        database = self.database
        with transaction(database.engine) as conn:
            if already_consumed(conn, self.queue_name, envelope.id):
                return "duplicate_skipped"
            record_consumed(conn, self.queue_name, envelope)
            uow = UnitOfWork(conn, database.store, database.clock, database.projections)
            self._run_worker(envelope, uow)
        if uow.appended:
            database.notify_committed(uow.appended)
        return "applied"

    def _run_worker(self, envelope: Envelope, uow: UnitOfWork):
        finished = GreenEvent()

        def handle_result(worker_ctx, result, exc_info):
            finished.send((result, exc_info))
            return result, exc_info

        context_data = {"correlation_id": envelope.correlation_id or envelope.id,
                        "causation_id": envelope.id, "stream_id": envelope.subject}
        self.container.spawn_worker(self, (envelope, uow), {}, context_data=context_data,
                                    handle_result=handle_result)
        result, exc_info = finished.wait()
        if exc_info is not None:
            raise exc_info[1].with_traceback(exc_info[2])
        return result

    def _park(self, message, envelope: Envelope | None, exc: Exception, attempts: int) -> None:
        headers = dict(message.headers or {})
        headers.update({
            "x-parked-by": self.queue_name, "x-error-type": type(exc).__name__,
            "x-error": str(exc)[:2000], "x-attempts": attempts, "x-parked-at": format_time(utc_now()),
            "x-original-routing-key": message.delivery_info.get("routing_key", ""),
        })
        parked = amqp.Message(message.body, content_type=message.content_type or "application/json",
                              content_encoding=message.content_encoding or "utf-8", delivery_mode=2,
                              message_id=(envelope.id if envelope else message.properties.get("message_id", "")),
                              application_headers=headers)
        self._park_channel.basic_publish_confirm(parked, exchange="",
                                                 routing_key=dead_letter_queue_name(self.queue_name))
        message.ack()
        log.error("event parked in dead-letter queue after failing", queue=self.queue_name,
                  dead_letter_queue=dead_letter_queue_name(self.queue_name),
                  event_id=envelope.id if envelope else None,
                  event_type=envelope.type if envelope else None,
                  stream_id=envelope.subject if envelope else None, attempts=attempts,
                  error=str(exc), error_type=type(exc).__name__, exc_info=exc)


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
