"""nameko 2.14.1 settling a message whose connection died (kernel.nameko_fixes)."""
from types import SimpleNamespace

import kombu
import pytest
from nameko.messaging import QueueConsumer

import kernel.providers  # noqa: F401 - applies the fixes, as every service does


class DeadConnectionMessage:
    def __init__(self, error):
        self.channel = SimpleNamespace(connection=object())
        self.error = error

    def ack(self):
        raise self.error

    requeue = ack


@pytest.mark.parametrize("error", [ConnectionResetError(104, "Connection reset by peer"),
                                   BrokenPipeError(32, "Broken pipe")])
@pytest.mark.parametrize("settle", [QueueConsumer.ack_message, QueueConsumer.requeue_message])
def test_a_message_on_a_dead_connection_is_left_to_the_broker_to_redeliver(settle, error):
    settle(QueueConsumer(), DeadConnectionMessage(error))     # nameko's own raised, killing the container


def test_other_errors_still_surface():
    with pytest.raises(ValueError):
        QueueConsumer().ack_message(DeadConnectionMessage(ValueError("a bug")))


def test_after_a_failed_ack_the_consumer_reconnects_at_its_next_iteration():
    """Without this the consumer went on draining a connection that delivered nothing (the
    service deaf until restarted: tests/cluster, CI stop 14)."""
    consumer = QueueConsumer()
    consumer.on_iteration()                                # nothing failed: nameko's own iteration
    consumer.ack_message(DeadConnectionMessage(ConnectionResetError(104, "Connection reset by peer")))
    with pytest.raises(ConnectionResetError, match="could not be settled"):
        consumer.on_iteration()                            # kombu's ConsumerMixin reconnects on this
    assert issubclass(ConnectionResetError, kombu.Connection("amqp://").connection_errors)   # what run() catches
    consumer.on_iteration()                                # once only: the new connection is not suspect


class BrokerAway:
    """nameko's reply publisher while the broker is down."""

    def __init__(self, *args, **kwargs):
        pass

    def publish(self, *args, **kwargs):
        raise ConnectionRefusedError(111, "ECONNREFUSED")


def test_a_reply_that_cannot_be_sent_is_logged_not_fatal_to_the_service():
    """nameko let this escape the worker and the container killed itself (the registry exited
    in every broker outage); the command id answers the caller's retry instead."""
    from nameko.rpc import Responder
    from structlog.testing import capture_logs

    message = SimpleNamespace(properties={"content_type": "application/json", "reply_to": "reply-1",
                                          "correlation_id": "call-1"},
                              delivery_info={"routing_key": "registry.register_elder"})
    responder = Responder("amqp://", None, "json", message)
    responder.publisher_cls = BrokerAway
    with capture_logs() as logs:
        assert responder.send_response({"elder_id": "e-1"}, None) == ({"elder_id": "e-1"}, None)
    assert [entry["correlation_id"] for entry in logs if "could not send an RPC reply" in entry["event"]] == ["call-1"]


def test_a_reply_that_fails_for_another_reason_still_fails():
    from nameko.rpc import Responder

    class Broken(BrokerAway):
        def publish(self, *args, **kwargs):
            raise ValueError("a bug")

    message = SimpleNamespace(properties={"content_type": "application/json", "reply_to": "r"}, delivery_info={})
    responder = Responder("amqp://", None, "json", message)
    responder.publisher_cls = Broken
    with pytest.raises(ValueError):
        responder.send_response(1, None)
