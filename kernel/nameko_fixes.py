"""Fixes to nameko 2.14.1 (dormant upstream) that the services need; applied on import.

**Ack on a dead connection.** nameko acks an RPC request or event after handling it. When
the broker node the service is connected to dies, ``message.ack()`` raises
``ConnectionResetError`` or ``BrokenPipeError`` (``OSError``s), but ``QueueConsumer``
only ignores amqp's ``ConnectionError``: the container dies and the process exits (seen in
tests/cluster, about one run in two). The broker redelivers an unacked message once the
connection is gone, so ignoring the failed ack keeps the documented at-least-once delivery.

**Reconnect after that.** Ignoring the failed ack is not enough: the consumer's own
greenthread then never notices the connection is gone. It goes on draining a connection that
delivers nothing, logs nothing, and the service answers no RPC again until it is restarted
(tests/cluster: 2 runs of 3, each right after such a failed ack; the liveness probe's stack
dump showed the consumer waiting in ``drain_events``; CI stop 14 hung on it). So a settle that
finds the connection dead marks it, and the consumer's next iteration (at most a second
later, ``drain_events``' safety interval) raises a connection error: kombu's ConsumerMixin
then reconnects, through the failover list, and nameko sets up its consumers again.

**A reply that cannot be sent.** A worker that finishes while the broker is away publishes
its RPC reply on a connection that is gone; nameko lets the ``ECONNREFUSED`` escape the
worker's thread and the container kills itself ("killing <ServiceContainer [registry]> due
to ECONNREFUSED": the process exited in 3 of 3 broker outages). The work is committed; the
caller, who hears nothing, retries (or the broker redelivers the request if its ack fails
too), and the command id (``kernel.commands``) answers the repeat with the first answer. So
the reply is logged as not sent, and the service lives on.
"""
from __future__ import annotations

import structlog
from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.messaging import QueueConsumer
from nameko.rpc import Responder

log = structlog.get_logger(__name__)


_nameko_on_iteration = QueueConsumer.on_iteration


def _settle_ignoring_a_dead_connection(settle_name: str):
    def settle(self, message):
        if not message.channel.connection:
            return                       # the broker has reclaimed the message already
        try:
            getattr(message, settle_name)()
        except (AmqpConnectionError, OSError) as exc:
            log.warning(f"could not {settle_name} a message: its connection is gone; the broker redelivers it, "
                        f"and the consumer reconnects", error=str(exc), error_type=type(exc).__name__)
            self.settle_found_connection_dead = exc
    settle.__name__ = f"{settle_name}_message"
    return settle


def _reconnect_if_a_settle_found_the_connection_dead(self):
    """Before each ``drain_events``: a connection error here makes ConsumerMixin reconnect."""
    dead = getattr(self, "settle_found_connection_dead", None)
    if dead is not None:
        self.settle_found_connection_dead = None
        log.warning("reconnecting the RPC and event consumer: a message could not be settled on its connection",
                    error=str(dead), error_type=type(dead).__name__)
        raise ConnectionResetError(f"a message could not be settled on this connection: {dead}")
    return _nameko_on_iteration(self)


_nameko_send_response = Responder.send_response


def _send_response_or_log(self, result, exc_info):
    try:
        return _nameko_send_response(self, result, exc_info)
    except (AmqpConnectionError, KombuOperationalError, OSError) as exc:
        properties = self.message.properties or {}
        log.warning("could not send an RPC reply: the broker connection is gone; the caller's retry "
                    "with the same command id gets the first answer", error=str(exc), error_type=type(exc).__name__,
                    correlation_id=properties.get("correlation_id"),
                    routing_key=(self.message.delivery_info or {}).get("routing_key"))
        return result, exc_info


def apply() -> None:
    QueueConsumer.ack_message = _settle_ignoring_a_dead_connection("ack")
    QueueConsumer.requeue_message = _settle_ignoring_a_dead_connection("requeue")
    QueueConsumer.on_iteration = _reconnect_if_a_settle_found_the_connection_dead
    Responder.send_response = _send_response_or_log


apply()
