"""nameko dependency providers: the only place services touch the database, the relay,
the clock and the logging context. Service classes stay thin."""
from __future__ import annotations

import threading
import time
from datetime import date

import structlog
from nameko.extensions import DependencyProvider
from nameko.timer import Timer

import kernel.rpc  # noqa: F401 - registers our errors for nameko's RPC (both directions)
import kernel.nameko_fixes  # noqa: F401 - nameko 2.14.1 settling messages on a dead connection

from kernel import commands, personal
from kernel.authenticity import rejected_counts, relay_signer_for
from kernel.catalogue import EventCatalogue
from kernel.commands import CommandKey
from kernel.clock import ShiftedClock, SystemClock
from kernel.config import amqp_uri, database_url, setting
from kernel.db import advisory_lock, create_service_engine
from kernel.logging import configure_logging
from kernel.relay import OutboxRelay, outbox_backlog
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work

log = structlog.get_logger(__name__)
DEFAULT_SLOW_WORKER_SECONDS = 1.0


class Database:
    """What a worker sees: open a unit of work, or read.

    ``command``: the id the caller gave this command (``kernel.commands``), if any. The first
    unit of work that appends events records it in the same transaction."""

    def __init__(self, provider: "ServiceDatabase", command: CommandKey | None = None):
        self._provider = provider
        self.engine, self.store, self.clock = provider.engine, provider.store, provider.clock
        self.command = command

    def unit_of_work(self):
        if self.command is None or self.command.recorded:
            return unit_of_work(self.engine, self.store, self.clock, self._provider.projections,
                                on_commit=self._provider.notify_committed)
        return unit_of_work(self.engine, self.store, self.clock, self._provider.projections,
                            on_commit=self._committed_with_command, before_commit=self._record_command)

    def _record_command(self, uow) -> None:
        commands.record(uow.conn, self.command, uow.now())

    def _committed_with_command(self, envelopes) -> None:
        self.command.recorded = True
        self._provider.notify_committed(envelopes)

    def connect(self):
        return self.engine.connect()

    def exclusively(self, task: str):
        """``with db.exclusively("sweep") as mine:`` — ``mine`` is True in one replica of the
        service at a time (a PostgreSQL advisory lock; SQLite runs one process per file).
        Timers use it: every replica's timer fires, one does the work, and two replicas
        never deliver the same message or sweep the same alerts at once."""
        return advisory_lock(self.engine, f"{self.store.source}:{task}", wait=False)


class ServiceDatabase(DependencyProvider):
    """The service's own database: engine, event store and projections.

    The URL comes from ``DATABASES.<service>`` in config; the schema must already be
    migrated (``eldercare migrate``) — a service never creates tables on its own.
    """

    def __init__(self, catalogue: EventCatalogue, projections=()):
        """``projections``: a sequence, or a callable taking the config and returning one
        (for projections that need configured policy)."""
        self.catalogue, self._projections = catalogue, projections
        self._listeners: list = []
        self.engine = self.store = self.clock = None
        self.projections = ()

    def setup(self):
        configure_logging(self.container.service_name)
        config = self.container.config
        personal.configure(config)
        self.engine = create_service_engine(database_url(config, self.container.service_name))
        self.store = SqlAlchemyEventStore(self.engine, self.container.service_name, self.catalogue)
        self.projections = self.projections_for(config)
        self.clock = clock_from_config(config)

    def projections_for(self, config) -> tuple:
        """The service's projections under ``config`` (also used by ``eldercare rebuild``)."""
        return tuple(self._projections(config) if callable(self._projections) else self._projections)

    def stop(self):
        if self.engine is not None:
            self.engine.dispose()

    def add_commit_listener(self, listener) -> None:
        self._listeners.append(listener)

    def notify_committed(self, envelopes) -> None:
        for listener in self._listeners:
            listener(envelopes)

    def get_dependency(self, worker_ctx):
        return Database(self, commands.command_key_of(worker_ctx))


def ping_answer(service_name: str, db: Database) -> dict:
    """What every service's ``ping`` RPC answers. Answering at all shows the process consumes
    its RPC queue; the log's last position and the outbox backlog (appended, not yet
    published) are what the gateway's /metrics reports for each service, with the events its
    consumers rejected as inauthentic (``kernel.authenticity``)."""
    return {"service": service_name, "events": db.store.last_position(),
            "outbox_backlog": outbox_backlog(db.engine, db.store), "events_rejected": rejected_counts()}


def clock_from_config(config) -> SystemClock:
    """The system clock, or — for tests and reproducible demos only — a clock whose today
    is ``FIXED_TODAY`` (a local date) and that tests can move."""
    fixed = config.get("FIXED_TODAY")
    if not fixed:
        return SystemClock()
    clock = ShiftedClock()
    clock.set_today(fixed if isinstance(fixed, date) else date.fromisoformat(str(fixed)))
    log.warning("today pinned by configuration (FIXED_TODAY); never in production", today=str(fixed))
    return clock


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
        self._stopped = threading.Event()
        self._running = False
        self.relay: OutboxRelay | None = None
        self._after_batch: list = []

    def after_batch(self, callback) -> None:
        """Call ``callback(count)`` after every batch the broker confirmed (the sealer's cue)."""
        self._after_batch.append(callback)

    def start(self):
        database = find_database(self.container)
        config = self.container.config
        self.relay = OutboxRelay(database.engine, database.store, amqp_uri(config),
                                 batch_size=setting(config, "RELAY", "batch_size", 500),
                                 signer=relay_signer_for(self.container.service_name, config))
        self.poll_interval = setting(config, "RELAY", "poll_interval", self.poll_interval)
        database.add_commit_listener(lambda _envelopes: self._wake.set())
        self._running = True
        self._stopped.clear()
        self.container.spawn_managed_thread(self._loop, identifier="outbox_relay")

    def stop(self):
        """Let the loop finish its batch and release the broker connection and the lock
        before the container goes on stopping (and its database may go away)."""
        if not self._running:
            return
        self._running = False
        self._wake.set()
        self._stopped.wait(10)

    def kill(self):
        self._running = False
        self._wake.set()

    def _loop(self):
        structlog.contextvars.bind_contextvars(service=self.container.service_name, task="outbox_relay")
        backoff = 0.5
        while self._running:
            try:
                if not self.relay.acquire_leadership():
                    self._sleep(5)      # another replica publishes this log
                    continue
                published = self.relay.publish_pending()
                backoff = 0.5
                if published:
                    for callback in self._after_batch:
                        callback(published)
                else:
                    self._sleep(self.poll_interval)
            except Exception as exc:  # noqa: BLE001 - the relay must outlive broker/db outages
                log.warning("outbox relay failed; will retry", error=str(exc),
                            error_type=type(exc).__name__, retry_in_seconds=backoff)
                self.relay.publisher.close()
                self._sleep(backoff)
                backoff = min(backoff * 2, 10)
        try:
            self.relay.release()
        finally:
            self._stopped.set()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def get_dependency(self, worker_ctx):
        return self.relay


class CallContext(DependencyProvider):
    """The correlation and causation ids of the current call, for the events it appends."""

    def get_dependency(self, worker_ctx):
        data = worker_ctx.data
        return {"correlation_id": data.get("correlation_id") or worker_ctx.call_id_stack[0],
                "causation_id": data.get("causation_id") or worker_ctx.call_id}


class ConfiguredTimer(Timer):
    """nameko's ``@timer`` with its interval read from config (``section.key``) at start-up."""

    def __init__(self, config_path: str, default_interval: float, **kwargs):
        self.config_path = config_path
        super().__init__(interval=default_interval, **kwargs)

    def setup(self):
        section, key = self.config_path.split(".")
        self.interval = float(setting(self.container.config, section, key, self.interval))
        super().setup()

    def stop(self):
        # nameko 2.14's Timer.stop fails if called twice (a second SIGTERM while stopping).
        if not self.should_stop.ready():
            super().stop()


configured_timer = ConfiguredTimer.decorator


class LoggingContext(DependencyProvider):
    """Binds service, entrypoint, call id and correlation id to every log line of a worker;
    handlers add the stream/elder id with ``kernel.logging.bind``."""

    def setup(self):
        configure_logging(self.container.service_name)
        self.slow_worker_seconds = float(setting(self.container.config, "DIAGNOSTICS", "slow_worker_seconds",
                                                 DEFAULT_SLOW_WORKER_SECONDS))

    def worker_setup(self, worker_ctx):
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            service=self.container.service_name,
            entrypoint=worker_ctx.entrypoint.method_name,
            call_id=worker_ctx.call_id,
            correlation_id=worker_ctx.data.get("correlation_id") or worker_ctx.call_id_stack[0])
        if worker_ctx.data.get("stream_id"):   # set by the durable consumer for each event
            structlog.contextvars.bind_contextvars(stream_id=worker_ctx.data["stream_id"])
        worker_ctx._started_at = time.monotonic()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        elapsed_ms = round((time.monotonic() - getattr(worker_ctx, "_started_at", time.monotonic())) * 1000, 1)
        # A worker (RPC, event batch, timer, HTTP request) slower than DIAGNOSTICS.slow_worker_seconds
        # says so, so that a slow page can be traced to the call that made it slow.
        if elapsed_ms >= self.slow_worker_seconds * 1000:
            log.warning("slow worker", entrypoint=worker_ctx.entrypoint.method_name, milliseconds=elapsed_ms,
                        call_id=worker_ctx.call_id)
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


class CheckpointSealer(DependencyProvider):
    """Seals the service's log after every batch the relay published, at most once every
    ``CHECKPOINTS.after_batch_seconds`` (default 2; under load one checkpoint covers the
    batches of that window), and every ``CHECKPOINTS.interval_seconds`` (hourly) as a fallback:
    signs the Merkle root of events 1..n and appends it as ``audit.checkpoint_sealed.v1`` for
    the witnesses (``kernel.checkpoints``). So the relayed tail is sealed within seconds, and
    a seal reads only what was appended since the last (``LogSealer``). Without a signing key
    it says so once and keeps the service running: a missing key must not stop elders' care,
    but it is logged as an error."""

    def setup(self):
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._sealing = threading.Lock()
        self._sealer = None
        for extension in self.container.dependencies:
            if isinstance(extension, OutboxRelayRunner):
                extension.after_batch(lambda _count: self._wake.set())

    def start(self):
        config = self.container.config
        self.interval = float(setting(config, "CHECKPOINTS", "interval_seconds", 3600))
        self.after_batch_seconds = float(setting(config, "CHECKPOINTS", "after_batch_seconds", 2))
        self.key_dir = setting(config, "CHECKPOINTS", "key_dir", "var/keys")
        self._running = True
        self._stopping.clear()
        self.container.spawn_managed_thread(self._loop, identifier="checkpoint_sealer")

    def stop(self):
        self._running = False
        self._stopping.set()
        self._wake.set()

    kill = stop

    def seal_now(self):
        """Seal now, unless another replica of the service is sealing (then None)."""
        from kernel.checkpoints import CheckpointSigner, LogSealer
        database = find_database(self.container)
        with self._sealing:         # the loop and a caller share one compact range
            if self._sealer is None:
                signer = CheckpointSigner.from_key_dir(self.container.service_name, self.key_dir)
                self._sealer = LogSealer(database.engine, database.store, signer, database.clock)
            with advisory_lock(database.engine, f"{self.container.service_name}:seal", wait=False) as mine:
                return self._sealer.seal() if mine else None

    def _loop(self):
        from kernel.checkpoints import CheckpointKeyError
        structlog.contextvars.bind_contextvars(service=self.container.service_name, task="checkpoint_sealer")
        warned, sealed_at = False, float("-inf")
        while self._running:
            self._wake.wait(self.interval)      # a relayed batch, or the fallback interval
            self._wake.clear()
            # Under load batches follow each other closely: one seal per window covers them all.
            self._stopping.wait(max(0.0, self.after_batch_seconds - (time.monotonic() - sealed_at)))
            if not self._running:
                break
            try:
                checkpoint = self.seal_now()
                sealed_at = time.monotonic()
                if checkpoint:
                    log.info("log sealed", tree_size=checkpoint.tree_size, root_hash=checkpoint.root_hash,
                             key_id=checkpoint.key_id)
            except CheckpointKeyError as exc:
                if not warned:
                    log.error("cannot seal the log: no signing key", error=exc.message)
                    warned = True
            except Exception as exc:  # noqa: BLE001 - sealing retries at the next batch or interval
                log.warning("sealing the log failed; will retry", error=str(exc), error_type=type(exc).__name__)

    def get_dependency(self, worker_ctx):
        return self
