"""Consumers apply only events that prove they came from their source's log (issue 25):
forged and replayed messages published straight onto a consumer's queue are parked with the
reason and counted; the real stream is applied, and a redelivery stays a quiet no-op."""
import dataclasses
import uuid

import eventlet
import kombu
import pytest

from kernel import authenticity
from kernel.authenticity import RelaySigner, key_dir_of, rejected_counts, relay_signer_for
from kernel.db import create_service_engine
from kernel.envelope import GENESIS_HASH, Actor
from kernel.parked import list_parked
from kernel.relay import to_message
from kernel.store import SqlAlchemyEventStore
from tests.kernel.support import test_catalogue
from tests.kernel.test_delivery import SINK_QUEUE, system, wait_for  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("system")


def logged_events(system):
    engine = create_service_engine(system.producer_url)
    try:
        return list(SqlAlchemyEventStore(engine, "kerneltest", test_catalogue()).iter_all())
    finally:
        engine.dispose()


def publish_to_queue(uri, *messages):
    """What the attacker of issue 25 did: publish straight onto the consumer's queue."""
    with kombu.Connection(uri) as connection:
        channel = connection.channel()
        for message in messages:
            channel.basic_publish(message, exchange="", routing_key=SINK_QUEUE)


def sealed(envelopes, source="kerneltest"):
    """Messages exactly as ``source``'s relay publishes ``envelopes`` as one batch."""
    messages = [to_message(e) for e in envelopes]
    RelaySigner.from_key_dir(source, key_dir_of({})).seal(messages)
    return messages


def rejections():
    return {reason: count for (queue, reason), count in authenticity.REJECTED.items() if queue == SINK_QUEUE}


@pytest.fixture
def running(system):
    authenticity.REJECTED.clear()
    system.start()
    system.take("a", [1, 2, 3])
    wait_for(lambda: len(system.seen()) == 3, message="the real stream applied")
    return system


def parked_reasons(uri, count):
    wait_for(lambda: len(list_parked(uri, SINK_QUEUE)) == count, message=f"{count} parked")
    return sorted(p.error.split(":")[0] for p in list_parked(uri, SINK_QUEUE))


def test_a_forged_event_published_onto_the_queue_is_parked_with_its_reason_not_applied(running):
    uri = running.sink.config["AMQP_URI"]
    real = logged_events(running)[0]
    forged = dataclasses.replace(real, id=str(uuid.uuid4()), position=999999, hash="ab" * 32,
                                 actor=Actor("attacker", "attacker", "attacker"),
                                 data={"text": "forged", "number": 666})
    # The same forgery with a hash that does recompute: it still carries no relay seal.
    recomputed = forged.sealed()
    publish_to_queue(uri, to_message(forged), to_message(recomputed))
    assert parked_reasons(uri, 2) == ["hash", "unsigned"]
    parked = list_parked(uri, SINK_QUEUE)
    assert {p.error_type for p in parked} == {"InauthenticEventError"}
    assert not any(p.retryable for p in parked)          # refused: the consumer never replays them itself
    assert {p.event_id for p in parked} == {forged.id, recomputed.id}
    assert 666 not in [row.number for row in running.seen()] and len(running.seen()) == 3
    assert rejections() == {"hash": 1, "unsigned": 1}
    # What the service's ping answers, and the gateway's /metrics exports as a counter.
    assert {"queue": SINK_QUEUE, "reason": "hash", "count": 1} in rejected_counts()
    assert running.inbox_count() == 3


def test_a_replayed_copy_with_a_new_id_is_parked_whatever_seal_it_carries(running):
    uri = running.sink.config["AMQP_URI"]
    real = logged_events(running)[1]
    real_message = sealed([real])[0]
    zero_hash_copy = dataclasses.replace(real, id=str(uuid.uuid4()), hash=GENESIS_HASH)
    # A copy whose hash was recomputed, wearing the real event's seal: not in the signed batch.
    rehashed = dataclasses.replace(real, id=str(uuid.uuid4())).sealed()
    wearing_the_seal = to_message(rehashed)
    wearing_the_seal.properties["application_headers"]["seal"] = real_message.headers["seal"]
    publish_to_queue(uri, to_message(zero_hash_copy), wearing_the_seal)
    assert parked_reasons(uri, 2) == ["hash", "proof"]
    assert len(running.seen()) == 3 and running.inbox_count() == 3


def test_a_batch_signed_by_another_services_key_is_parked(running):
    uri = running.sink.config["AMQP_URI"]
    real = logged_events(running)[2]
    other = dataclasses.replace(real, id=str(uuid.uuid4()), sequence=4, position=4,
                                data={"text": "from the sink's key", "number": 7}).sealed()
    publish_to_queue(uri, *sealed([other], source="kernelsink"))
    assert parked_reasons(uri, 1) == ["key"]
    assert len(running.seen()) == 3


def test_a_second_signed_event_at_an_applied_place_in_the_stream_is_parked(running):
    """A rewritten (forked) source log, signed with the source's own key: sequence 2 of
    stream a was applied already as another event."""
    uri = running.sink.config["AMQP_URI"]
    real = logged_events(running)[1]
    fork = dataclasses.replace(real, id=str(uuid.uuid4()), data={"text": "rewritten", "number": 20}).sealed()
    publish_to_queue(uri, *sealed([fork]))
    assert parked_reasons(uri, 1) == ["sequence"]
    assert [row.number for row in running.seen()] == [1, 2, 3]


def test_the_real_stream_still_applies_and_a_redelivery_is_a_quiet_no_op(running):
    uri = running.sink.config["AMQP_URI"]
    publish_to_queue(uri, *sealed(logged_events(running)))       # every real event again
    running.take("a", [4, 5])
    running.take("b", [6])
    wait_for(lambda: len(running.seen()) == 6, message="the later events applied")
    eventlet.sleep(0.3)
    assert [row.number for row in running.seen()] == [1, 2, 3, 4, 5, 6]
    assert running.inbox_count() == 6
    assert list_parked(uri, SINK_QUEUE) == [] and rejections() == {}


def test_a_relay_without_a_key_says_so_and_its_events_are_parked(running, tmp_path):
    signer = relay_signer_for("kerneltest", {"CHECKPOINTS": {"key_dir": str(tmp_path / "no-keys")}})
    assert signer is None
    uri = running.sink.config["AMQP_URI"]
    real = logged_events(running)[0]
    copy = dataclasses.replace(real, id=str(uuid.uuid4()), sequence=9, position=9).sealed()
    with kombu.Connection(uri) as connection:       # onto the producer's own exchange this time
        connection.default_channel.basic_publish(to_message(copy), exchange="kerneltest.events",
                                                 routing_key="kerneltest.note_taken.v1.410928")
    assert parked_reasons(uri, 1) == ["unsigned"]

