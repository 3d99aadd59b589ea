"""Faults that go away by themselves are waited out, not parked (kernel.consumer, kernel.faults):
a 10 s PostgreSQL outage under a stream of events, through a proxy the test cuts (the shared
PostgreSQL keeps running); and the consumer replays what it parked once the cause has gone."""
import sqlite3
import time

import eventlet
import pytest
import sqlalchemy
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import select
from sqlalchemy.engine import make_url

from kernel import migrate
from kernel.db import create_service_engine
from kernel.faults import is_transient
from kernel.parked import list_parked
from tests.kernel.services import FAILURES, NoteProducer, NoteSink, notes_seen, sink_metadata
from tests.kernel.test_delivery import SINK_QUEUE, wait_for
from tests.tcp_proxy import TcpProxy

OUTAGE_SECONDS = 10


@pytest.fixture
def proxied_postgres(postgres_url):
    """The test's PostgreSQL database, reached through a proxy the test can cut."""
    url = make_url(postgres_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    yield postgres_url, url.set(port=proxy.port).render_as_string(hide_password=False), proxy
    proxy.close()


def test_a_ten_second_postgresql_outage_under_a_stream_parks_nothing(rabbit_config, tmp_path, container_factory,
                                                                      proxied_postgres):
    direct_url, sink_url, proxy = proxied_postgres
    producer_url = f"sqlite:///{tmp_path / 'producer.db'}"
    migrate.upgrade("kerneltest", producer_url)
    migrate.upgrade("kernelsink", direct_url)
    direct = create_service_engine(direct_url)
    sink_metadata.create_all(direct)
    # The production retry budget (0.2 + 1 + 3 s) is shorter than the outage on purpose.
    config = {**rabbit_config, "DATABASES": {"kerneltest": producer_url, "kernelsink": sink_url},
              "RELAY": {"poll_interval": 0.1}, "CONSUMER": {"max_fault_delay_seconds": 1.0}}
    FAILURES.update(poison_texts={"poison"}, flaky_remaining=0)
    sink = container_factory(NoteSink, config)
    sink.start()
    container_factory(NoteProducer, config).start()
    sent = []

    def stream(seconds: float):
        with ServiceRpcProxy("kerneltest", config) as producer:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                stream_id = f"s{len(sent) % 3}"
                producer.take_notes(stream_id, [len(sent)])
                sent.append(stream_id)
                eventlet.sleep(0.05)

    def seen():
        with direct.connect() as conn:
            return conn.execute(select(notes_seen.c.stream_id, notes_seen.c.sequence)
                                .order_by(notes_seen.c.id)).all()

    streaming = eventlet.spawn(stream, OUTAGE_SECONDS + 5)
    wait_for(lambda: len(seen()) >= 5, message="the first events applied")
    proxy.cut()
    eventlet.sleep(OUTAGE_SECONDS)
    during = len(seen())
    proxy.restore()
    streaming.wait()
    wait_for(lambda: len(seen()) == len(sent), timeout=30, message=f"all {len(sent)} events applied")
    assert len(sent) > during + 20                       # events did arrive during the outage
    assert list_parked(config["AMQP_URI"], SINK_QUEUE) == []
    for stream_id in {"s0", "s1", "s2"}:
        assert [row.sequence for row in seen() if row.stream_id == stream_id] == \
            list(range(1, sent.count(stream_id) + 1))
    sink.stop()
    direct.dispose()


@pytest.mark.parametrize("fault, transient", [
    (sqlalchemy.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")), True),
    (sqlalchemy.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: notes")), False),
    (sqlalchemy.exc.DisconnectionError("server closed the connection"), True),
    (ConnectionRefusedError(111, "Connection refused"), True),
    (RuntimeError("This consumer has been disconnected, and can no longer be used"), True),
    (sqlalchemy.exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")), False),
    (KeyError("elder_id"), False),
])
def test_only_faults_of_the_infrastructure_count_as_transient(fault, transient):
    assert is_transient(fault) is transient


def test_psycopg_connection_refused_is_transient(proxied_postgres):
    import psycopg
    _, url, proxy = proxied_postgres
    proxy.cut()
    engine = create_service_engine(url)
    with pytest.raises(sqlalchemy.exc.OperationalError) as refused:
        engine.connect()
    assert isinstance(refused.value.orig, psycopg.OperationalError) and is_transient(refused.value)
    engine.dispose()


def test_a_handler_error_that_goes_away_is_replayed_by_the_consumer_and_one_that_stays_is_given_up(
        rabbit_config, tmp_path, container_factory):
    urls = {"kerneltest": f"sqlite:///{tmp_path / 'producer.db'}", "kernelsink": f"sqlite:///{tmp_path / 'sink.db'}"}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    sink_engine = create_service_engine(urls["kernelsink"])
    sink_metadata.create_all(sink_engine)
    config = {**rabbit_config, "DATABASES": urls, "RELAY": {"poll_interval": 0.1},
              "CONSUMER": {"retry_delays": [0.01], "parked_retry_seconds": 1.0, "parked_retries": 3}}
    FAILURES.update(poison_texts={"later", "never"}, flaky_remaining=0)
    container_factory(NoteSink, config).start()
    container_factory(NoteProducer, config).start()

    def parked():
        """What is parked; the consumer's replayer holds the queue's messages for a moment
        while it looks at them, so an empty listing is asked again."""
        for _ in range(20):
            rows = {row.stream_id: row for row in list_parked(config["AMQP_URI"], SINK_QUEUE)}
            if rows:
                return rows
            eventlet.sleep(0.05)
        return rows

    with ServiceRpcProxy("kerneltest", config) as producer:
        producer.take_notes("a", [1], text="later")
        wait_for(lambda: "a" in parked(), message="the first event parked")
        FAILURES["poison_texts"] = {"never"}                  # the cause of the first one has gone
        producer.take_notes("b", [2], text="never")

    def applied():
        with sink_engine.connect() as conn:
            return conn.execute(select(notes_seen.c.number)).scalars().all()
    wait_for(lambda: applied() == [1], timeout=20, message="the first event replayed by the consumer and applied")
    wait_for(lambda: parked().get("b") is not None and parked()["b"].given_up, timeout=40,
             message="the second given up")
    assert set(parked()) == {"b"} and parked()["b"].auto_replays == 3 and parked()["b"].retryable
    eventlet.sleep(2.5)
    assert parked()["b"].auto_replays == 3                # given up: no more replays
    sink_engine.dispose()


def test_postgresql_refusals_that_repeat_are_not_transient():
    import psycopg
    timeout, shutdown = psycopg.errors.QueryCanceled("statement timeout"), psycopg.errors.AdminShutdown("bye")
    limit = psycopg.errors.ProgramLimitExceeded("index row size exceeds maximum")
    deadlock = psycopg.errors.DeadlockDetected("deadlock detected")
    assert [is_transient(e) for e in (timeout, limit, shutdown, deadlock)] == [False, False, True, True]
