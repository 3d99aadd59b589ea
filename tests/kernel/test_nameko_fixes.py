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
