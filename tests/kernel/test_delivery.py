"""The kernel end to end through the real RabbitMQ: relay → broker → durable consumer."""
import time

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select

from kernel import migrate
from kernel.authenticity import relay_signer_for
from kernel.db import create_service_engine
from kernel.inbox import consumed_count
from kernel.parked import list_parked, replay_parked
from kernel.relay import OutboxRelay
from kernel.schema import relay_cursor, unroutable_events
from kernel.store import SqlAlchemyEventStore
from tests.kernel.services import FAILURES, NoteProducer, NoteSink, notes_seen, sink_metadata
from tests.kernel.support import test_catalogue

SINK_QUEUE = "kernelsink.on_note_taken"


def wait_for(predicate, timeout=20.0, interval=0.05, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        eventlet.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


@pytest.fixture
def system(rabbit_config, tmp_path, container_factory):
    """Producer and sink containers with their own SQLite databases on a throw-away vhost."""
    urls = {"kerneltest": f"sqlite:///{tmp_path / 'producer.db'}",
            "kernelsink": f"sqlite:///{tmp_path / 'sink.db'}"}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    sink_engine = create_service_engine(urls["kernelsink"])
    sink_metadata.create_all(sink_engine)
    config = {**rabbit_config, "DATABASES": urls, "RELAY": {"poll_interval": 0.1},
              "CONSUMER": {"prefetch": 50, "retry_delays": [0.01, 0.01]}}
    FAILURES.update(poison_texts={"poison"}, flaky_remaining=0)

    class System:
        producer = container_factory(NoteProducer, config)
        sink = container_factory(NoteSink, config)
        sink_db = sink_engine
        producer_url = urls["kerneltest"]

        def start(self):
            self.sink.start()      # declares its queue first: nothing published is unroutable
            self.producer.start()

        def take(self, stream, numbers, **kwargs):
            with ServiceRpcProxy("kerneltest", config) as producer:
                return producer.take_notes(stream, numbers, **kwargs)

        def seen(self):
            with sink_engine.connect() as conn:
                return conn.execute(select(notes_seen.c.stream_id, notes_seen.c.sequence,
                                           notes_seen.c.number).order_by(notes_seen.c.id)).all()

        def inbox_count(self):
            with sink_engine.connect() as conn:
                return consumed_count(conn, SINK_QUEUE)

    yield System()
    sink_engine.dispose()


def test_events_reach_the_consumer_in_stream_order(system):
    system.start()
    for round_ in range(10):
        for stream in ("a", "b", "c"):
            system.take(stream, [round_ * 10 + i for i in range(5)])
    wait_for(lambda: len(system.seen()) == 150, message="150 notes consumed")
    for stream in ("a", "b", "c"):
        sequences = [row.sequence for row in system.seen() if row.stream_id == stream]
        assert sequences == list(range(1, 51))


def test_duplicate_delivery_is_applied_once(system):
    system.start()
    system.take("a", list(range(20)))
    wait_for(lambda: len(system.seen()) == 20)
    # Rewind the relay: every event is published a second time.
    engine = create_service_engine(system.producer_url)
    relay = OutboxRelay(engine, SqlAlchemyEventStore(engine, "kerneltest", test_catalogue()),
                        system.producer.config["AMQP_URI"], signer=relay_signer_for("kerneltest", {}))
    with engine.begin() as conn:
        conn.execute(relay_cursor.update().values(position=0))
    assert relay.run_until_caught_up() == 20
    system.take("a", [99])
    wait_for(lambda: len(system.seen()) == 21)
    eventlet.sleep(0.3)
    assert len(system.seen()) == 21 and system.inbox_count() == 21
    relay.release()
    engine.dispose()


def test_relay_crash_between_publish_and_mark_loses_nothing(system, monkeypatch):
    system.sink.start()
    engine = create_service_engine(system.producer_url)
    store = SqlAlchemyEventStore(engine, "kerneltest", test_catalogue())
    relay = OutboxRelay(engine, store, system.producer.config["AMQP_URI"], batch_size=10,
                        signer=relay_signer_for("kerneltest", {}))
    system.producer.start()
    system.producer.stop()   # its relay must not race ours; we drive the relay by hand
    from kernel.db import transaction
    from tests.kernel.support import note
    with transaction(engine) as conn:
        store.append(conn, [note("a", n) for n in range(25)], {"a": 0})

    def crash(*_args, **_kwargs):
        raise SystemExit("relay process killed after publishing, before marking")

    monkeypatch.setattr(OutboxRelay, "_move_cursor", crash)
    with pytest.raises(SystemExit):
        relay.publish_pending()           # 10 events published, cursor not moved
    monkeypatch.undo()
    relay.publisher.close()
    assert relay.cursor_position() == 0
    restarted = OutboxRelay(engine, store, system.producer.config["AMQP_URI"], batch_size=10,
                            signer=relay_signer_for("kerneltest", {}))
    assert restarted.run_until_caught_up() == 25
    wait_for(lambda: len(system.seen()) == 25)
    eventlet.sleep(0.3)
    assert [row.number for row in system.seen()] == list(range(25))
    assert system.inbox_count() == 25
    restarted.release()
    engine.dispose()


def test_transient_failure_is_retried_then_applied(system):
    FAILURES["flaky_remaining"] = 2
    system.start()
    system.take("a", [1])
    wait_for(lambda: len(system.seen()) == 1)
    assert FAILURES["flaky_remaining"] == 0


def test_poison_message_is_parked_and_can_be_replayed(system):
    system.start()
    system.take("a", [1])
    system.take("a", [2], text="poison")
    system.take("a", [3])
    wait_for(lambda: len(system.seen()) == 2, message="the two good notes")
    uri = system.sink.config["AMQP_URI"]
    wait_for(lambda: len(list_parked(uri, SINK_QUEUE)) == 1, message="one parked event")
    parked = list_parked(uri, SINK_QUEUE)[0]
    assert parked.error_type == "RuntimeError" and "poison" in parked.error and parked.attempts == 3
    assert len(list_parked(uri, SINK_QUEUE)) == 1   # listing does not consume
    FAILURES["poison_texts"] = set()                 # the bug is fixed
    assert replay_parked(uri, SINK_QUEUE) == [parked.event_id]
    wait_for(lambda: len(system.seen()) == 3, message="the replayed note")
    assert list_parked(uri, SINK_QUEUE) == []


def test_unroutable_event_is_recorded_and_reported_not_dropped(system):
    from structlog.testing import capture_logs
    system.start()
    engine = create_service_engine(system.producer_url)

    def recorded():
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(unroutable_events)).scalar()

    with capture_logs() as logs:
        system.take("x", [1], event_type="kerneltest.note_dropped.v1", text="nobody listens")
        wait_for(lambda: recorded() == 1, message="the unroutable event recorded")
    errors = [line for line in logs if line["log_level"] == "error" and "unroutable" in line["event"]]
    assert errors and errors[0]["event_type"] == "kerneltest.note_dropped.v1"
    engine.dispose()


def test_an_event_nobody_consumes_is_archived_quietly_not_returned_as_unroutable(system, rabbit_config):
    """With the archive ``eldercare topology`` declares, an event no consumer is bound for
    yet goes to ``<service>.events.archive``: no error line, nothing in unroutable_events."""
    import kombu
    from structlog.testing import capture_logs

    from kernel.topology import archive_queue_name, declare_archive
    system.start()
    with kombu.Connection(rabbit_config["AMQP_URI"]) as connection:
        declare_archive(connection.default_channel, "kerneltest")

        def archived():
            return connection.channel().queue_declare(queue=archive_queue_name("kerneltest"),
                                                      passive=True).message_count

        with capture_logs() as logs:
            system.take("x", [1], event_type="kerneltest.note_dropped.v1", text="nobody listens yet")
            system.take("x", [2])       # a routed event after it: the relay has published both
            wait_for(lambda: len(system.seen()) == 1 and archived() == 1, message="one consumed, one archived")
    engine = create_service_engine(system.producer_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(unroutable_events)).scalar() == 0
    engine.dispose()
    assert not [line for line in logs if line["log_level"] == "error"]


def test_delivery_resumes_after_broker_connections_drop(system, rabbit_manager, rabbit_config):
    system.start()
    system.take("a", [1])
    wait_for(lambda: len(system.seen()) == 1)
    vhost = rabbit_config["vhost"]

    def vhost_connections():
        return [c for c in rabbit_manager.get_connections() if c["vhost"] == vhost]

    # The management API lists connections only after its next statistics tick.
    wait_for(lambda: len(vhost_connections()) >= 2, timeout=30, message="relay and consumer connections")
    connections = vhost_connections()
    for connection in connections:
        rabbit_manager.delete_connection(connection["name"])
    system.take("a", [2, 3])
    wait_for(lambda: len(system.seen()) == 3, timeout=30, message="delivery after reconnect")
    assert [row.number for row in system.seen()] == [1, 2, 3]


def test_two_consumer_replicas_still_apply_each_stream_in_order(system, container_factory):
    """A second replica of the sink shares the queue; single-active-consumer keeps order."""
    second_sink = container_factory(NoteSink, system.sink.config)
    second_sink.start()
    system.start()
    for round_ in range(5):
        for stream in ("a", "b"):
            system.take(stream, [round_ * 10 + i for i in range(10)])
    wait_for(lambda: len(system.seen()) == 100, message="100 notes consumed by the replicas")
    for stream in ("a", "b"):
        assert [row.sequence for row in system.seen() if row.stream_id == stream] == list(range(1, 51))
    assert system.inbox_count() == 100


def queued_messages(uri, queue):
    import kombu
    with kombu.Connection(uri) as connection:
        return connection.default_channel.queue_declare(queue, passive=True).message_count


def test_poison_in_the_middle_of_a_batch_is_parked_and_the_rest_applied_in_order(
        system, container_factory, monkeypatch):
    """Seven events wait in the queue; the consumer takes them as one batch. The batch fails
    on the fourth, is rolled back and re-applied one at a time: 1-3 and 5-7 are applied
    exactly once and in order, 4 is retried then parked."""
    import structlog

    import kernel.consumer
    monkeypatch.setattr(kernel.consumer, "DRAIN_POLL_SECONDS", 0.2)  # take all 7 in one batch
    uri = system.sink.config["AMQP_URI"]
    system.start()
    system.sink.stop()                 # its durable queue stays bound and keeps what arrives
    system.take("a", [1, 2, 3])
    system.take("a", [4], text="poison")
    system.take("a", [5, 6, 7])
    wait_for(lambda: queued_messages(uri, SINK_QUEUE) == 7, message="7 events waiting")
    with structlog.testing.capture_logs() as logs:
        container_factory(NoteSink, system.sink.config).start()
        wait_for(lambda: len(system.seen()) == 6, message="the six good notes")
        wait_for(lambda: len(list_parked(uri, SINK_QUEUE)) == 1, message="the poison note parked")
    batch_failures = [e for e in logs if e["event"].startswith("event batch failed")]
    assert len(batch_failures) == 1 and batch_failures[0]["events"] == 7
    eventlet.sleep(0.3)
    assert [row.number for row in system.seen()] == [1, 2, 3, 5, 6, 7]
    assert [row.sequence for row in system.seen()] == [1, 2, 3, 5, 6, 7]
    assert system.inbox_count() == 6
    parked = list_parked(uri, SINK_QUEUE)[0]
    assert parked.error_type == "RuntimeError" and parked.attempts == 3
    assert queued_messages(uri, SINK_QUEUE) == 0
    FAILURES["poison_texts"] = set()
    assert replay_parked(uri, SINK_QUEUE) == [parked.event_id]
    wait_for(lambda: len(system.seen()) == 7, message="the replayed note")
    assert system.inbox_count() == 7


def test_a_batch_with_repeated_events_applies_each_once(system, container_factory, monkeypatch):
    """The relay publishes the same events twice while the consumer is down: the repeats
    land in the same batch as the originals and are skipped."""
    import kernel.consumer
    from kernel.db import transaction
    from tests.kernel.support import note
    monkeypatch.setattr(kernel.consumer, "DRAIN_POLL_SECONDS", 0.2)
    uri = system.sink.config["AMQP_URI"]
    system.sink.start()
    system.sink.stop()
    engine = create_service_engine(system.producer_url)
    store = SqlAlchemyEventStore(engine, "kerneltest", test_catalogue())
    with transaction(engine) as conn:
        store.append(conn, [note("a", n) for n in range(8)], {"a": 0})
    relay = OutboxRelay(engine, store, uri, signer=relay_signer_for("kerneltest", {}))
    assert relay.run_until_caught_up() == 8
    with engine.begin() as conn:
        conn.execute(relay_cursor.update().values(position=0))
    assert relay.run_until_caught_up() == 8
    wait_for(lambda: queued_messages(uri, SINK_QUEUE) == 16, message="16 deliveries waiting")
    container_factory(NoteSink, system.sink.config).start()
    wait_for(lambda: len(system.seen()) == 8 and queued_messages(uri, SINK_QUEUE) == 0)
    eventlet.sleep(0.3)
    assert [row.number for row in system.seen()] == list(range(8))
    assert system.inbox_count() == 8
    relay.release()
    engine.dispose()


def test_unroutable_events_are_republished_once_a_queue_exists(system):
    import kombu

    from kernel.topology import Subscription, declare
    system.start()
    system.take("x", [1], event_type="kerneltest.note_dropped.v1", text="nobody listens yet")
    engine = create_service_engine(system.producer_url)

    def pending_rows():
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(unroutable_events)
                                .where(unroutable_events.c.republished_at.is_(None))).scalar()

    wait_for(lambda: pending_rows() == 1, message="the unroutable event recorded")
    uri = system.producer.config["AMQP_URI"]
    late = Subscription("latecomer.on_note_dropped", "kerneltest", ("kerneltest.note_dropped.v1",))
    with kombu.Connection(uri) as connection:
        declare(connection.default_channel, late)
    relay = OutboxRelay(engine, SqlAlchemyEventStore(engine, "kerneltest", test_catalogue()), uri,
                        signer=relay_signer_for("kerneltest", {}))
    assert relay.republish_unroutable() == 1
    relay.release()
    assert pending_rows() == 0
    with kombu.Connection(uri) as connection:
        message = connection.default_channel.basic_get("latecomer.on_note_dropped", no_ack=True)
    assert message is not None
    body = message.body if isinstance(message.body, str) else message.body.decode("utf-8")
    assert "nobody listens yet" in body
    engine.dispose()
