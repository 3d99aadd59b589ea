"""The four benchmarks. Each returns a ``Result``: the kernel path and its raw baseline,
timed in the same process on the same data, one after the other."""
from __future__ import annotations

import json
import shutil
import time
import uuid

import eventlet
import kombu
from sqlalchemy import func, select

from kernel.db import insert_many, transaction
from kernel.envelope import format_time
from kernel.clock import utc_now
from kernel.hashchain import verify_log
from kernel.projection import rebuild
from kernel.relay import OutboxRelay
from kernel.schema import events as events_table, inbox, relay_cursor
from kernel.store import SqlAlchemyEventStore

from bench import workload
from bench.infra import Backend, EventLog, new_service_database
from bench.report import Result

APPEND_BATCH = 100          # events per transaction
APPEND_STREAMS_PER_BATCH = 4
APPEND_STREAM_COUNT = 200
RELAY_BATCH = 500           # the relay's default batch; the raw publisher confirms per batch of the same size
PREFETCH = 100              # the durable consumer's default prefetch; the raw consumer uses the same
REBUILD_BATCH = 10_000      # kernel.projection.rebuild's default page size; the baseline pages the same


# -- 1. append -----------------------------------------------------------------------
def bench_append(backend: Backend, n: int, *, batch_size: int = APPEND_BATCH,
                 streams_per_batch: int = APPEND_STREAMS_PER_BATCH,
                 stream_count: int = APPEND_STREAM_COUNT, keep_log: bool = False):
    """Returns ``(result, log)``; ``log`` is the kernel's database (n chained events) when
    ``keep_log`` so the later benchmarks can reuse it, else ``None``."""
    batches = workload.plan_batches(n, batch_size, streams_per_batch, stream_count)

    kernel_url, kernel_engine = new_service_database(backend, "append_kernel")
    store = SqlAlchemyEventStore(kernel_engine, workload.SOURCE, workload.bench_catalogue())
    raw_url, raw_engine = new_service_database(backend, "append_raw")
    try:
        kernel_seconds = _append_kernel(kernel_engine, store, batches)
        baseline_seconds = _append_raw(raw_engine, batches)
        with kernel_engine.connect() as conn:
            kernel_rows = conn.execute(select(func.count()).select_from(events_table)).scalar()
        with raw_engine.connect() as conn:
            raw_rows = conn.execute(select(func.count()).select_from(events_table)).scalar()
        if kernel_rows != n or raw_rows != n:
            raise AssertionError(f"append wrote {kernel_rows} (kernel) / {raw_rows} (raw) rows, expected {n}")
    finally:
        raw_engine.dispose()
    result = Result(
        "append", backend.name, n, kernel_seconds, baseline_seconds,
        kernel_does=(f"SqlAlchemyEventStore.append in kernel.db.transaction, {batch_size} events/tx over "
                     f"{streams_per_batch} streams: marshmallow validation, log lock, per-stream version "
                     "check, head read, UUIDv7 ids, SHA-256 chain, bulk INSERT (kernel.db.insert_many)"),
        baseline_does=(f"same rows (uuid4 ids, json.dumps data, placeholder hashes) via SQLAlchemy Core "
                       f"bulk INSERT (kernel.db.insert_many) into an identical events table, {batch_size} rows/tx, no checks"),
        min_ratio=0.7, details={"batches": len(batches)})
    log = None
    if keep_log:
        log = EventLog(kernel_url, kernel_engine, store, n)
    else:
        kernel_engine.dispose()
    return result, log


def _append_kernel(engine, store, batches) -> float:
    versions: dict[str, int] = {}
    started = time.perf_counter()
    for batch in batches:
        pending = [workload.pending(stream, data) for stream, data in batch]
        expected = {stream: versions.get(stream, 0) for stream, _ in batch}
        with transaction(engine) as conn:
            store.append(conn, pending, expected)
        for stream, _ in batch:
            versions[stream] = versions.get(stream, 0) + 1
    return time.perf_counter() - started


def _append_raw(engine, batches) -> float:
    versions: dict[str, int] = {}
    position, placeholder = 0, "0" * 64
    started = time.perf_counter()
    for batch in batches:
        recorded = format_time(utc_now())
        rows = []
        for stream, data in batch:
            position += 1
            versions[stream] = versions.get(stream, 0) + 1
            rows.append({"position": position, "event_id": str(uuid.uuid4()), "stream_id": stream,
                         "sequence": versions[stream], "type": workload.NOTE_TAKEN, "source": workload.SOURCE,
                         "time": workload.T0_TEXT, "recorded_time": recorded, "actor": workload.ACTOR_JSON,
                         "jurisdiction": workload.JURISDICTION, "correlation_id": None, "causation_id": None,
                         "data": json.dumps(data), "previous_hash": placeholder, "hash": placeholder})
        with engine.begin() as conn:
            insert_many(conn, events_table, rows)
    return time.perf_counter() - started


# -- 2. publish → consume ---------------------------------------------------------------
def _wait_until(predicate, *, what: str, stall_timeout: float = 60.0, interval: float = 0.02,
                progress=lambda: None) -> None:
    """Poll until ``predicate()``; give up only when ``progress()`` has not changed for
    ``stall_timeout`` seconds (long runs are fine, a stuck one is not)."""
    last, last_change = progress(), time.monotonic()
    while not predicate():
        eventlet.sleep(interval)
        now_progress = progress()
        if now_progress != last:
            last, last_change = now_progress, time.monotonic()
        elif time.monotonic() - last_change > stall_timeout:
            raise TimeoutError(f"no progress for {stall_timeout}s waiting for {what} (at {now_progress})")


def bench_relay(backend: Backend, log: EventLog, amqp_uri: str) -> Result:
    n = log.events
    kernel_seconds, publish_seconds = _relay_kernel(backend, log, amqp_uri)
    baseline_seconds, raw_publish_seconds = _relay_raw(log, amqp_uri)
    return Result(
        "relay", backend.name, n, kernel_seconds, baseline_seconds,
        kernel_does=(f"OutboxRelay.run_until_caught_up (read log, {RELAY_BATCH}/batch, signed, confirms per batch, "
                     "cursor tx) → RabbitMQ → nameko ServiceContainer with @durable_event_handler "
                     f"(prefetch {PREFETCH}; per event: envelope + schema check + authenticity; per delivered batch: one tx "
                     "with bulk inbox check + insert, the sink's projection (bulk INSERT), the handler per "
                     "event; one multiple-ack); first publish → all N in the inbox"),
        baseline_does=(f"kombu/py-amqp: publish the same N bodies persistent+mandatory, confirms awaited per "
                       f"{RELAY_BATCH}; plain kombu Consumer prefetch {PREFETCH}: json.loads + ack; "
                       "first publish → N acked"),
        min_ratio=0.5,
        details={"kernel publish done at": f"{publish_seconds:.2f} s",
                 "raw publish done at": f"{raw_publish_seconds:.2f} s"})


def bench_authentication(backend: Backend, log: EventLog, amqp_uri: str, runs: int = 2) -> Result:
    """The relay → consumer path with events authenticated end to end (the relay seals each
    batch, the consumer checks every event) against the same path with both steps off, in
    the same run, alternating, each side keeping its best time."""
    n = log.events
    timings = {True: [], False: []}
    for _ in range(runs):
        for authenticate in (False, True):
            timings[authenticate].append(_relay_kernel(backend, log, amqp_uri, authenticate=authenticate)[0])
    return Result(
        "authentication", backend.name, n, min(timings[True]), min(timings[False]),
        kernel_does=(f"the relay row's kernel path with kernel.authenticity on: the relay signs each batch's "
                     f"Merkle root over the message bodies (Ed25519, one signature per {RELAY_BATCH}) and gives each "
                     "message its inclusion proof; the consumer recomputes each event's chain hash, checks its proof "
                     "and each root's signature once, and reads the inbox once per batch for its (stream, sequence)"),
        baseline_does="the same path with the relay signing nothing and CONSUMER.authenticate off",
        min_ratio=0.8, details={"runs": runs})


def _relay_kernel(backend: Backend, log: EventLog, amqp_uri: str,
                  authenticate: bool = True) -> tuple[float, float]:
    import tempfile

    from nameko.containers import ServiceContainer

    from kernel.authenticity import RelaySigner
    from kernel.checkpoints import init_keys

    n = log.events
    sink_url, sink_engine = new_service_database(backend, "relay_sink", workload.SINK)
    workload.sink_metadata.create_all(sink_engine)
    with transaction(log.engine) as conn:        # a log may be relayed more than once (tests)
        conn.execute(relay_cursor.delete())
    key_dir = tempfile.mkdtemp(prefix="bench-keys-")
    init_keys([workload.SOURCE], key_dir)
    config = {"AMQP_URI": amqp_uri, "DATABASES": {workload.SINK: sink_url},
              "CONSUMER": {"prefetch": PREFETCH, "authenticate": authenticate},
              "CHECKPOINTS": {"key_dir": key_dir}, "max_workers": 10}
    container = ServiceContainer(workload.BenchSink, config)
    workload.HANDLED["count"] = 0
    relay = OutboxRelay(log.engine, log.store, amqp_uri, batch_size=RELAY_BATCH,
                        signer=RelaySigner.from_key_dir(workload.SOURCE, key_dir) if authenticate else None)

    def applied() -> int:
        with sink_engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(inbox)
                                .where(inbox.c.consumer == workload.SINK_QUEUE)).scalar()

    try:
        container.start()                       # declares the durable queue before anything is published
        _wait_for_consumer(amqp_uri, workload.SINK_QUEUE)
        relay.publisher.connect()               # connection set-up is not part of the rate
        published = {"at": None, "count": 0}
        started = time.perf_counter()

        def run_relay():
            published["count"] = relay.run_until_caught_up()
            published["at"] = time.perf_counter() - started

        relay_thread = eventlet.spawn(run_relay)
        # Watch the handler's counter (a COUNT(*) every few ms would compete with the consumer),
        # then the inbox itself: "applied" means committed with its inbox record.
        _wait_until(lambda: workload.HANDLED["count"] >= n and applied() >= n,
                    what=f"{n} events applied by the durable consumer",
                    progress=lambda: workload.HANDLED["count"])
        elapsed = time.perf_counter() - started
        relay_thread.wait()
        if published["count"] != n:
            raise AssertionError(f"relay published {published['count']} events, expected {n}")
        with sink_engine.connect() as conn:
            seen = conn.execute(select(func.count()).select_from(workload.notes_seen)).scalar()
        if seen != n or applied() != n:
            raise AssertionError(f"sink applied {seen} notes / {applied()} inbox rows, expected {n}")
        return elapsed, published["at"]
    finally:
        relay.release()
        container.stop()
        sink_engine.dispose()
        shutil.rmtree(key_dir, ignore_errors=True)


def _wait_for_consumer(amqp_uri: str, queue: str, timeout: float = 15.0) -> None:
    """Block until the queue has a consumer (the durable handler subscribes in a greenthread)."""
    deadline = time.monotonic() + timeout
    with kombu.Connection(amqp_uri) as connection:
        channel = connection.channel()
        while time.monotonic() < deadline:
            _, _, consumers = channel.queue_declare(queue, passive=True)
            if consumers:
                return
            eventlet.sleep(0.02)
    raise TimeoutError(f"no consumer on {queue} after {timeout}s")


def _relay_raw(log: EventLog, amqp_uri: str) -> tuple[float, float]:
    from kernel.relay import to_message
    n = log.events
    # The same message bodies and properties the relay sends, built before timing.
    messages = [to_message(e) for e in log.store.iter_all()]
    exchange, queue_name, key = "benchraw.events", "benchraw.notes", "bench.note_taken.v1.410928"

    publisher = kombu.Connection(amqp_uri, heartbeat=0)
    consumer_connection = kombu.Connection(amqp_uri, heartbeat=0)
    try:
        publisher.connect()
        channel = publisher.channel()
        channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
        channel.queue_declare(queue_name, durable=True, auto_delete=False)
        channel.queue_bind(queue_name, exchange, routing_key="bench.note_taken.v1.*")
        channel.confirm_select()
        acked = {"up_to": 0, "nacked": False}

        def on_ack(delivery_tag, multiple):
            acked["up_to"] = max(acked["up_to"], delivery_tag)

        def on_nack(delivery_tag, multiple):
            acked["nacked"] = True
            acked["up_to"] = max(acked["up_to"], delivery_tag)

        channel.events["basic_ack"].add(on_ack)
        channel.events["basic_nack"].add(on_nack)

        consumer_connection.connect()
        consumer_channel = consumer_connection.channel()
        consumer_channel.basic_qos(0, PREFETCH, False)
        consumed = {"count": 0, "target": 0}

        def on_message(message):
            json.loads(message.body)
            message.ack()
            consumed["count"] += 1

        queue = kombu.Queue(queue_name, channel=consumer_channel, durable=True, auto_delete=False)
        kombu_consumer = kombu.Consumer(consumer_channel, queues=[queue], on_message=on_message, no_ack=False)
        kombu_consumer.consume()
        tags = {"published": 0}

        def consume():
            while consumed["count"] < consumed["target"]:
                try:
                    consumer_connection.drain_events(timeout=1)
                except TimeoutError:
                    continue

        def publish(batch_of_messages, started, published):
            for offset in range(0, len(batch_of_messages), RELAY_BATCH):
                for message in batch_of_messages[offset:offset + RELAY_BATCH]:
                    channel.basic_publish(message, exchange=exchange, routing_key=key, mandatory=True)
                    tags["published"] += 1
                while acked["up_to"] < tags["published"]:
                    try:
                        publisher.drain_events(timeout=1)
                    except TimeoutError:
                        continue
                if acked["nacked"]:
                    raise RuntimeError("broker nacked a raw publish")
            published["at"] = time.perf_counter() - started

        def one_round(batch_of_messages) -> tuple[float, float]:
            consumed["count"], consumed["target"] = 0, len(batch_of_messages)
            published = {"at": None}
            started = time.perf_counter()
            publisher_thread = eventlet.spawn(publish, batch_of_messages, started, published)
            consumer_thread = eventlet.spawn(consume)
            _wait_until(lambda: consumed["count"] >= consumed["target"], what="raw messages consumed",
                        progress=lambda: consumed["count"])
            elapsed = time.perf_counter() - started
            publisher_thread.wait()
            consumer_thread.wait()
            return elapsed, published["at"]

        one_round(messages[:min(n, 500)])        # warm-up, untimed: fresh connections and queue
        elapsed, published_at = one_round(messages)
        kombu_consumer.cancel()
        if consumed["count"] != n:
            raise AssertionError(f"raw consumer got {consumed['count']} messages, expected {n}")
        return elapsed, published_at
    finally:
        for connection in (publisher, consumer_connection):
            try:
                connection.release()
            except Exception:  # noqa: BLE001
                pass


# -- 3. rebuild ---------------------------------------------------------------------------
def bench_rebuild(backend: Backend, log: EventLog) -> Result:
    n = log.events
    workload.projection_metadata.create_all(log.engine)
    projection = workload.NotesProjection()

    started = time.perf_counter()
    replayed = rebuild(log.engine, log.store, projection)
    kernel_seconds = time.perf_counter() - started
    kernel_rows = _count(log.engine, workload.bench_notes)
    if replayed != n or kernel_rows != n:
        raise AssertionError(f"rebuild replayed {replayed} events into {kernel_rows} rows, expected {n}")

    started = time.perf_counter()
    raw_count = _rebuild_raw(log.engine)
    baseline_seconds = time.perf_counter() - started
    raw_rows = _count(log.engine, workload.bench_notes)
    if raw_count != n or raw_rows != n:
        raise AssertionError(f"raw rebuild scanned {raw_count} events into {raw_rows} rows, expected {n}")

    return Result(
        "rebuild", backend.name, n, kernel_seconds, baseline_seconds,
        kernel_does=(f"kernel.projection.rebuild: one tx; delete projection rows; store.read_all pages of "
                     f"{REBUILD_BATCH} → Envelope (json.loads data, cached actor, 2× fromisoformat); "
                     "projection.apply_many = one bulk INSERT per page (kernel.db.insert_many)"),
        baseline_does=(f"one tx; delete projection rows; raw keyset SELECT pages of {REBUILD_BATCH} "
                       "(exec_driver_sql, tuples); json.loads(data); the same projection rows via one "
                       "bulk INSERT per page (kernel.db.insert_many)"),
        max_seconds_1m=30.0)


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def _rebuild_raw(engine) -> int:
    count, after = 0, 0
    query = ("SELECT position, stream_id, sequence, type, data FROM events "
             "WHERE position > {} ORDER BY position LIMIT {}")
    with transaction(engine) as conn:
        conn.execute(workload.bench_notes.delete())
        while True:
            # Literal ints: the paramstyle differs between sqlite3 (?) and psycopg (%s).
            rows = conn.exec_driver_sql(query.format(int(after), REBUILD_BATCH)).fetchall()
            if not rows:
                return count
            out = []
            for position, stream_id, sequence, type_, data in rows:
                if type_ == workload.NOTE_TAKEN:
                    decoded = json.loads(data)
                    out.append({"position": position, "stream_id": stream_id, "sequence": sequence,
                                "number": decoded["number"], "text": decoded["text"]})
            insert_many(conn, workload.bench_notes, out)
            count += len(rows)
            after = rows[-1][0]


# -- 4. verify ------------------------------------------------------------------------------
def bench_verify(backend: Backend, log: EventLog) -> Result:
    n = log.events
    started = time.perf_counter()
    report = verify_log(log.engine)
    kernel_seconds = time.perf_counter() - started
    if not report.ok or report.checked != n:
        raise AssertionError(f"verify_log: {report} (expected {n} intact events)")

    started = time.perf_counter()
    with log.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=20000).execute(
            select(events_table).order_by(events_table.c.position))
        scanned = sum(1 for _ in result)
    baseline_seconds = time.perf_counter() - started
    if scanned != n:
        raise AssertionError(f"raw scan read {scanned} rows, expected {n}")
    return Result(
        "verify", backend.name, n, kernel_seconds, baseline_seconds,
        kernel_does=("kernel.hashchain.verify_log: streamed SELECT in position order; per row the "
                     "canonical envelope JSON assembled from the stored columns, SHA-256, position and "
                     "link checks"),
        baseline_does="the same streamed SELECT (yield_per 20000), rows only: no decoding, no hashing")


# -- relay with a checkpoint after every batch --------------------------------------------
def bench_seal(backend: Backend, n: int, amqp_uri: str) -> Result:
    """What sealing the tail costs the relay: events are appended a relay batch at a time (not
    timed) and published; the kernel side signs a checkpoint after every published batch (the
    sealer's worst case, ``CHECKPOINTS.after_batch_seconds: 0``, inline in the relay's loop;
    it publishes the checkpoint events too), the baseline is the same relay without them.
    Each side has a log of its own; only publishing (and sealing) is timed."""
    import shutil
    import tempfile

    from kernel.checkpoints import CheckpointSigner, LogSealer, init_keys
    from kernel.clock import SystemClock

    key_dir = tempfile.mkdtemp(prefix="bench-keys-")
    try:
        init_keys([workload.SOURCE], key_dir)
        signer = CheckpointSigner.from_key_dir(workload.SOURCE, key_dir)
        baseline_seconds, _ = _relay_batch_by_batch(backend, n, amqp_uri, lambda log: None)
        kernel_seconds, checkpoints = _relay_batch_by_batch(
            backend, n, amqp_uri, lambda log: LogSealer(log.engine, log.store, signer, SystemClock()))
    finally:
        shutil.rmtree(key_dir, ignore_errors=True)
    return Result(
        "seal", backend.name, n, kernel_seconds, baseline_seconds,
        kernel_does=(f"OutboxRelay.publish_pending ({RELAY_BATCH}/batch, confirms per batch, cursor tx), then "
                     "LogSealer.seal after every batch: read the batch's hashes, extend the compact Merkle "
                     "range, Ed25519 signature, append audit.checkpoint_sealed.v1 (relayed with the next batch)"),
        baseline_does=f"the same OutboxRelay.publish_pending per appended batch of {RELAY_BATCH}, no checkpoint",
        min_ratio=0.8, details={"checkpoints signed": checkpoints})


def _relay_batch_by_batch(backend: Backend, n: int, amqp_uri: str, make_sealer) -> tuple[float, int]:
    """Append RELAY_BATCH events, publish them (and seal), repeat; returns the publish+seal
    seconds and the number of checkpoints. A queue bound to the exchange takes the messages
    (an unbound exchange would return them, and the relay would record them as unroutable)."""
    from kernel.checkpoints import CHECKPOINT_EVENT

    url, engine = new_service_database(backend, "seal")
    log = EventLog(url, engine, SqlAlchemyEventStore(engine, workload.SOURCE, workload.bench_catalogue()), n)
    log.store.catalogue.merge(_audit_catalogue())
    relay = OutboxRelay(engine, log.store, amqp_uri, batch_size=RELAY_BATCH)
    sealer, seconds, checkpoints, versions = make_sealer(log), 0.0, 0, {}
    queue = f"benchseal.{uuid.uuid4().hex[:8]}"
    try:
        relay.publisher.connect()
        relay.publisher.declare_exchange(relay.exchange)
        with kombu.Connection(amqp_uri) as connection:
            channel = connection.channel()
            channel.queue_declare(queue, durable=False, auto_delete=False)
            channel.queue_bind(queue, relay.exchange, routing_key="#")
            for batch in workload.plan_batches(n, RELAY_BATCH, 10, 1000):
                streams = {stream for stream, _ in batch}
                with transaction(engine) as conn:
                    log.store.append(conn, [workload.pending(s, d) for s, d in batch],
                                     {s: versions.get(s, 0) for s in streams})
                for stream, _ in batch:
                    versions[stream] = versions.get(stream, 0) + 1
                started = time.perf_counter()
                relay.run_until_caught_up()
                if sealer is not None and sealer.seal() is not None:
                    checkpoints += 1
                seconds += time.perf_counter() - started
            started = time.perf_counter()
            relay.run_until_caught_up()             # the last checkpoint event
            seconds += time.perf_counter() - started
            channel.queue_delete(queue)
        with engine.connect() as conn:
            sealed = conn.execute(select(func.count()).select_from(events_table)
                                  .where(events_table.c.type == CHECKPOINT_EVENT)).scalar()
        if sealed != checkpoints or relay.cursor_position() != n + checkpoints:
            raise AssertionError(f"{checkpoints} checkpoints signed, {sealed} in the log; relay at "
                                 f"{relay.cursor_position()}, log at {n + checkpoints}")
        return seconds, checkpoints
    finally:
        relay.release()
        log.dispose()


def _audit_catalogue():
    from contracts import audit
    return audit.catalogue()
