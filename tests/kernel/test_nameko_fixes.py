"""nameko 2.14.1 settling a message whose connection died (kernel.nameko_fixes)."""
from types import SimpleNamespace

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
    settle(None, DeadConnectionMessage(error))         # nameko's own raised, killing the container


def test_other_errors_still_surface():
    with pytest.raises(ValueError):
        QueueConsumer.ack_message(None, DeadConnectionMessage(ValueError("a bug")))
