"""Names and declarations of the broker topology, in one place.

Every service publishes to its own durable topic exchange ``<service>.events`` (nameko's
convention). Routing key = ``<event type>.<6-digit county code>`` so a province can later
bind one queue per county partition. Each consumer has one durable queue
``<consumer service>.<handler>`` (single active consumer: per-stream order survives
several replicas) and a dead-letter queue ``<queue>.dead`` for parked events.
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


def events_exchange(source: str) -> Exchange:
    return Exchange(exchange_name(source), type="topic", durable=True, auto_delete=False)


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

    def queue(self, queue_type: str = "classic") -> Queue:
        exchange = events_exchange(self.source)
        from kombu import binding
        return Queue(self.consumer, exchange=exchange, durable=True, auto_delete=False,
                     bindings=[binding(exchange, routing_key=binding_key(t, self.county_code))
                               for t in self.event_types],
                     queue_arguments=self.queue_arguments(queue_type))

    def dead_letter_queue(self, queue_type: str = "classic") -> Queue:
        arguments = {"x-queue-type": "quorum"} if queue_type == "quorum" else {}
        return Queue(dead_letter_queue_name(self.consumer), durable=True, auto_delete=False,
                     queue_arguments=arguments)


def declare(channel, subscription: Subscription, queue_type: str = "classic") -> None:
    """Declare the exchange, the consumer queue with its bindings, and its dead-letter queue."""
    events_exchange(subscription.source)(channel).declare()
    queue = subscription.queue(queue_type)(channel)
    queue.declare()
    subscription.dead_letter_queue(queue_type)(channel).declare()
