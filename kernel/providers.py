"""nameko dependency providers: the only place services touch the database, the relay,
the clock and the logging context. Service classes stay thin."""
from __future__ import annotations

import threading
import time

import structlog
from nameko.extensions import DependencyProvider

from kernel.catalogue import EventCatalogue
from kernel.clock import SystemClock
from kernel.config import amqp_uri, database_url, setting
from kernel.db import create_service_engine
from kernel.logging import configure_logging
from kernel.relay import OutboxRelay
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work

log = structlog.get_logger(__name__)


class Database:
    """What a worker sees: open a unit of work, or read."""

    def __init__(self, provider: "ServiceDatabase"):
        self._provider = provider
        self.engine, self.store, self.clock = provider.engine, provider.store, provider.clock

    def unit_of_work(self):
        return unit_of_work(self.engine, self.store, self.clock, self._provider.projections,
                            on_commit=self._provider.notify_committed)

    def connect(self):
        return self.engine.connect()


class ServiceDatabase(DependencyProvider):
    """The service's own database: engine, event store and projections.

    The URL comes from ``DATABASES.<service>`` in config; the schema must already be
    migrated (``eldercare migrate``) — a service never creates tables on its own.
    """

    def __init__(self, catalogue: EventCatalogue, projections=(), clock: SystemClock | None = None):
        self.catalogue, self.projections = catalogue, tuple(projections)
        self.clock = clock or SystemClock()
        self._listeners: list = []
        self.engine = self.store = None

    def setup(self):
        configure_logging(self.container.service_name)
        url = database_url(self.container.config, self.container.service_name)
        self.engine = create_service_engine(url)
        self.store = SqlAlchemyEventStore(self.engine, self.container.service_name, self.catalogue)

    def stop(self):
        if self.engine is not None:
            self.engine.dispose()

    def add_commit_listener(self, listener) -> None:
        self._listeners.append(listener)

    def notify_committed(self, envelopes) -> None:
        for listener in self._listeners:
            listener(envelopes)

    def get_dependency(self, worker_ctx):
        return Database(self)


def find_database(container) -> ServiceDatabase:
    for extension in container.dependencies:
        if isinstance(extension, ServiceDatabase):
            return extension
    raise LookupError(f"service {container.service_name!r} has no ServiceDatabase dependency")


class OutboxRelayRunner(DependencyProvider):
    """Runs the outbox relay inside the service process: woken at once by a commit, and
    polling as a fallback (events appended by another process, or after a broker outage)."""

    def __init__(self, poll_interval: float = 0.5):
        self.poll_interval = poll_interval
        self._wake = threading.Event()
        self._running = False
        self.relay: OutboxRelay | None = None

    def start(self):
        database = find_database(self.container)
        config = self.container.config
        self.relay = OutboxRelay(database.engine, database.store, amqp_uri(config),
                                 batch_size=setting(config, "RELAY", "batch_size", 500))
        self.poll_interval = setting(config, "RELAY", "poll_interval", self.poll_interval)
        database.add_commit_listener(lambda _envelopes: self._wake.set())
        self._running = True
        self.container.spawn_managed_thread(self._loop, identifier="outbox_relay")

    def stop(self):
        self._running = False
        self._wake.set()

    def kill(self):
        self.stop()

    def _loop(self):
        structlog.contextvars.bind_contextvars(service=self.container.service_name, task="outbox_relay")
        backoff, leader = 0.5, False
        while self._running:
            try:
                if not leader:
                    leader = self.relay.acquire_leadership()
                    if not leader:
                        self._sleep(5)
                        continue
                published = self.relay.publish_pending()
                backoff = 0.5
                if not published:
                    self._sleep(self.poll_interval)
            except Exception as exc:  # noqa: BLE001 - the relay must outlive broker/db outages
                log.warning("outbox relay failed; will retry", error=str(exc),
                            error_type=type(exc).__name__, retry_in_seconds=backoff)
                self.relay.publisher.close()
                self._sleep(backoff)
                backoff = min(backoff * 2, 10)
        self.relay.release()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def get_dependency(self, worker_ctx):
        return self.relay


class LoggingContext(DependencyProvider):
    """Binds service, entrypoint, call id and correlation id to every log line of a worker;
    handlers add the stream/elder id with ``kernel.logging.bind``."""

    def setup(self):
        configure_logging(self.container.service_name)

    def worker_setup(self, worker_ctx):
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            service=self.container.service_name,
            entrypoint=worker_ctx.entrypoint.method_name,
            call_id=worker_ctx.call_id,
            correlation_id=worker_ctx.data.get("correlation_id") or worker_ctx.call_id_stack[0])
        worker_ctx._started_at = time.monotonic()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        elapsed_ms = round((time.monotonic() - getattr(worker_ctx, "_started_at", time.monotonic())) * 1000, 1)
        if exc_info is None:
            log.debug("entrypoint finished", elapsed_ms=elapsed_ms)
            return
        error = exc_info[1]
        expected = getattr(error, "code", None) is not None
        (log.info if expected else log.error)(
            "entrypoint raised", elapsed_ms=elapsed_ms, error_type=type(error).__name__,
            error=str(error), exc_info=None if expected else exc_info)

    def worker_teardown(self, worker_ctx):
        structlog.contextvars.clear_contextvars()

    def get_dependency(self, worker_ctx):
        return structlog.get_logger(self.container.service_name)
