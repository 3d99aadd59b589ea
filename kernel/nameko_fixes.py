"""Fixes to nameko 2.14.1 (dormant upstream) that the services need; applied on import.

**Ack on a dead connection.** nameko acks an RPC request or event after handling it. When
the broker node the service is connected to dies, ``message.ack()`` raises
``ConnectionResetError`` or ``BrokenPipeError`` (``OSError``s), but ``QueueConsumer``
only ignores amqp's ``ConnectionError``: the container dies and the process exits (seen in
tests/cluster, about one run in two). The broker redelivers an unacked message once the
connection is gone, so ignoring the failed ack keeps the documented at-least-once delivery.
"""
from __future__ import annotations

import structlog
from amqp.exceptions import ConnectionError as AmqpConnectionError
from nameko.messaging import QueueConsumer

log = structlog.get_logger(__name__)


def _settle_ignoring_a_dead_connection(settle_name: str):
    def settle(self, message):
        if not message.channel.connection:
            return                       # the broker has reclaimed the message already
        try:
            getattr(message, settle_name)()
        except (AmqpConnectionError, OSError) as exc:
            log.warning(f"could not {settle_name} a message: its connection is gone; the broker redelivers it",
                        error=str(exc), error_type=type(exc).__name__)
    settle.__name__ = f"{settle_name}_message"
    return settle


def apply() -> None:
    QueueConsumer.ack_message = _settle_ignoring_a_dead_connection("ack")
    QueueConsumer.requeue_message = _settle_ignoring_a_dead_connection("requeue")


apply()
