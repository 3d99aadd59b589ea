"""Names and declarations of the broker topology, in one place.

Every service publishes to its own durable topic exchange ``<service>.events`` (nameko's
convention). Routing key = ``<event type>.<6-digit county code>`` so a province can later
bind one queue per county partition. Each consumer has one durable queue
``<consumer service>.<handler>`` (single active consumer: per-stream order survives
several replicas) and a dead-letter queue ``<queue>.dead`` for parked events.

Events no consumer subscribes to yet (``visits.visitor_registered`` before any service reads
it) are not errors: each events exchange names an alternate exchange
``<service>.events.unrouted`` (fanout) that the broker hands every unmatched event to, and
``eldercare topology`` binds the archive queue ``<service>.events.archive`` to it. The
service's own log keeps every event for good; the archive queue holds the latest
``ARCHIVE.max_events`` copies (oldest dropped) so an operator can see what nobody reads.
Only when even the archive is missing does the broker return an event to the relay, which
keeps it in ``unroutable_events``.
"""
from __future__ import annotations

from dataclasses import dataclass

from kombu import Exchange, Queue


def exchange_name(source: str) -> str:
    return f"{source}.events"


def routing_key(event_type: str, county_code: str) -> str:
    return f"{event_type}.{county_code}"


def binding_key(event_type: str, county_code: str | None = None) -> str:
    return f"{event_type}.{county_code or '*'}"


def dead_letter_queue_name(queue_name: str) -> str:
    return f"{queue_name}.dead"


def parked_exchange_name(queue_name: str) -> str:
    """The consuming service's own exchange its consumers park through: a broker user may
    publish only to its own exchanges, never to the default one (that would reach any queue)."""
    return f"{queue_name.split('.')[0]}.parked"


def alternate_exchange_name(source: str) -> str:
    return f"{exchange_name(source)}.unrouted"


def archive_queue_name(source: str) -> str:
    return f"{exchange_name(source)}.archive"


def events_exchange_arguments(source: str) -> dict:
    """Every declaration of an events exchange (topology, consumers, relay) must carry the
    same arguments, or the broker refuses it (406 PRECONDITION_FAILED)."""
    return {"alternate-exchange": alternate_exchange_name(source)}


def events_exchange(source: str, passive: bool = False) -> Exchange:
    return Exchange(exchange_name(source), type="topic", durable=True, auto_delete=False,
                    arguments=events_exchange_arguments(source), passive=passive)


def alternate_exchange(source: str) -> Exchange:
    return Exchange(alternate_exchange_name(source), type="fanout", durable=True, auto_delete=False)


DEFAULT_ARCHIVE_MAX_EVENTS = 100_000


def archive_queue(source: str, queue_type: str = "classic", max_events: int = DEFAULT_ARCHIVE_MAX_EVENTS) -> Queue:
    # drop-head: the log is the record; the archive only shows the newest unread events.
    arguments = {"x-max-length": int(max_events), "x-overflow": "drop-head"}
    if queue_type == "quorum":
        arguments["x-queue-type"] = "quorum"
    return Queue(archive_queue_name(source), exchange=alternate_exchange(source), durable=True,
                 auto_delete=False, queue_arguments=arguments)


def declare_archive(channel, source: str, queue_type: str = "classic",
                    max_events: int = DEFAULT_ARCHIVE_MAX_EVENTS) -> None:
    """The alternate exchange of ``source``'s events and the archive queue bound to it."""
    alternate_exchange(source)(channel).declare()
    archive_queue(source, queue_type, max_events)(channel).declare()


@dataclass(frozen=True)
class Subscription:
    """One consumer queue: which service's events, which types, which county partition."""

    consumer: str        # queue name, e.g. "visits.on_registry_event"
    source: str          # producing service
    event_types: tuple[str, ...]
    county_code: str | None = None

    def queue_arguments(self, queue_type: str = "classic") -> dict:
        arguments = {"x-single-active-consumer": True}
        if queue_type == "quorum":
            arguments["x-queue-type"] = "quorum"
        return arguments

    def queue(self, queue_type: str = "classic", exchange_exists: bool = False) -> Queue:
        """``exchange_exists``: only check the source's exchange (a consumer's broker user
        may not configure another service's exchange, only bind to it)."""
        exchange = events_exchange(self.source, passive=exchange_exists)
        from kombu import binding
        # Bound to its service's parking exchange by name as well: replays of parked events
        # (kernel.parked) come back that way, not through the default exchange.
        return Queue(self.consumer, exchange=exchange, durable=True, auto_delete=False,
                     bindings=[binding(exchange, routing_key=binding_key(t, self.county_code))
                               for t in self.event_types]
                     + [binding(parked_exchange(self.consumer), routing_key=self.consumer)],
                     queue_arguments=self.queue_arguments(queue_type))

    def dead_letter_queue(self, queue_type: str = "classic") -> Queue:
        arguments = {"x-queue-type": "quorum"} if queue_type == "quorum" else {}
        dead = dead_letter_queue_name(self.consumer)
        return Queue(dead, exchange=parked_exchange(self.consumer), routing_key=dead, durable=True,
                     auto_delete=False, queue_arguments=arguments)


def parked_exchange(queue_name: str) -> Exchange:
    return Exchange(parked_exchange_name(queue_name), type="direct", durable=True, auto_delete=False)


def exchange_exists(channel, name: str) -> bool:
    """A passive declare on a channel of its own: the broker closes a channel that asks
    for a missing exchange."""
    import amqp
    probe = channel.connection.channel()
    try:
        probe.exchange_declare(name, "topic", passive=True)
        return True
    except amqp.exceptions.NotFound:
        return False
    finally:
        try:
            probe.close()
        except Exception:  # noqa: BLE001 - already closed by the broker
            pass


def declare(channel, subscription: Subscription, queue_type: str = "classic") -> None:
    """Declare the exchange (unless it exists: then it is only checked), the consumer queue
    with its bindings, and its dead-letter queue bound to the service's parking exchange."""
    exists = exchange_exists(channel, exchange_name(subscription.source))
    if not exists:
        events_exchange(subscription.source)(channel).declare()
    subscription.queue(queue_type, exchange_exists=True)(channel).declare()
    subscription.dead_letter_queue(queue_type)(channel).declare()
