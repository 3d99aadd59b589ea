"""Prometheus metrics of the gateway, exposed at /metrics: request latency by route and
status, requests failed by an absent or failing service, and — read at each scrape — consumer
lag (messages waiting in every consumer queue, and parked in its dead-letter queue), and each
service's outbox backlog: the gateway's from its own database, every other service's from its
``ping`` over RPC (its database is its own)."""
from __future__ import annotations

from functools import lru_cache

import amqp
import kombu
import structlog
from nameko.extensions import DependencyProvider
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from contracts.services import SERVICES, all_subscriptions
from kernel.config import amqp_uri
from kernel.providers import OutboxRelayRunner
from kernel.topology import dead_letter_queue_name

log = structlog.get_logger(__name__)
BROKER_TIMEOUT_SECONDS = 2.0


@lru_cache(maxsize=1)
def consumer_subscriptions() -> tuple:
    """Every consumer queue of the service catalogue — the topology ``eldercare topology``
    creates at deploy."""
    return tuple(all_subscriptions())


def ping_services(uri: str, names, timeout: float = BROKER_TIMEOUT_SECONDS) -> dict[str, dict | None]:
    """Each named service's ``ping`` answer (``kernel.providers.ping_answer``), asked of all
    at once; None for a service that did not answer within ``timeout`` seconds."""
    from nameko.standalone.rpc import ClusterRpcProxy
    answers: dict[str, dict | None] = {name: None for name in names}
    with ClusterRpcProxy({"AMQP_URI": uri, "serializer": "json"}, timeout=timeout) as rpc:
        asked = {}
        for name in names:
            try:
                asked[name] = getattr(rpc, name).ping.call_async()
            except Exception:  # noqa: BLE001 - not running (UnknownService): it did not answer
                pass
        for name, reply in asked.items():
            try:
                answers[name] = reply.result()
            except Exception:  # noqa: BLE001 - too slow or failing: it did not answer
                pass
    return answers


def queue_depths(uri: str, names) -> dict[str, tuple[int, int]]:
    """(messages ready, consumers) of each named queue that exists, by a passive declare:
    nothing is created or changed. A queue not declared yet is left out."""
    depths = {}
    with kombu.Connection(uri, connect_timeout=BROKER_TIMEOUT_SECONDS) as connection:
        channel = connection.channel()
        for name in names:
            try:
                declared = channel.queue_declare(queue=name, passive=True)
            except amqp.exceptions.NotFound:
                channel = connection.channel()          # the broker closed the channel
                continue
            depths[name] = (declared.message_count, declared.consumer_count)
    return depths


class QueueCollector(Collector):
    """Reads the broker (and the gateway's outbox cursor) when Prometheus scrapes."""

    def __init__(self):
        self.amqp_uri: str | None = None
        self.subscriptions: tuple = ()
        self.services: tuple = ()    # asked for their ping at each scrape
        self.outbox = None           # the gateway's OutboxRelayRunner: its relay exists once started

    def describe(self):
        return []                    # not collected when registered (no broker then)

    def collect(self):
        if self.amqp_uri is None:
            return
        families = {
            "lag": GaugeMetricFamily("eldercare_consumer_lag_messages",
                                     "Events waiting in a consumer queue (ready, not yet delivered)",
                                     labels=["queue", "service", "source"]),
            "consumers": GaugeMetricFamily("eldercare_consumer_queue_consumers",
                                           "Consumers attached to a consumer queue (0: nobody is applying it)",
                                           labels=["queue", "service", "source"]),
            "parked": GaugeMetricFamily("eldercare_consumer_parked_messages",
                                        "Events parked in a consumer queue's dead-letter queue",
                                        labels=["queue", "service", "source"]),
        }
        up = GaugeMetricFamily("eldercare_consumer_lag_up", "1 if the broker answered this scrape's queue reads")
        try:
            self._add_queue_samples(families)
            up.add_metric([], 1)
        except Exception as exc:  # noqa: BLE001 - a broker that does not answer must not break /metrics
            log.warning("could not read consumer queue depths", error=str(exc), error_type=type(exc).__name__)
            up.add_metric([], 0)
        yield from families.values()
        yield up
        backlog = GaugeMetricFamily("eldercare_outbox_backlog_events",
                                    "Events appended to a service's log but not yet published",
                                    labels=["service"])
        relay = getattr(self.outbox, "relay", None)
        if relay is not None:
            backlog.add_metric([relay.store.source], relay.backlog())
        answering = GaugeMetricFamily("eldercare_service_up",
                                      "1 if the service answered this scrape's ping over RPC", labels=["service"])
        try:
            answers = ping_services(self.amqp_uri, self.services)
        except Exception as exc:  # noqa: BLE001 - a broker that does not answer must not break /metrics
            log.warning("could not ping the services", error=str(exc), error_type=type(exc).__name__)
            answers = {name: None for name in self.services}
        rejected = CounterMetricFamily("eldercare_events_rejected",
                                       "Events a consumer parked as not proved to come from their source's "
                                       "log (forged, altered, replayed), since the service started",
                                       labels=["service", "queue", "reason"])
        for name, answer in answers.items():
            answering.add_metric([name], 0 if answer is None else 1)
            for row in (answer or {}).get("events_rejected", ()):
                rejected.add_metric([name, row["queue"], row["reason"]], row["count"])
            if answer is not None and "outbox_backlog" in answer:
                backlog.add_metric([name], answer["outbox_backlog"])
        yield backlog
        yield answering
        yield rejected

    def _add_queue_samples(self, families: dict) -> None:
        names = [s.consumer for s in self.subscriptions]
        depths = queue_depths(self.amqp_uri, names + [dead_letter_queue_name(n) for n in names])
        for subscription in self.subscriptions:
            labels = [subscription.consumer, subscription.consumer.split(".")[0], subscription.source]
            if subscription.consumer in depths:
                ready, consumers = depths[subscription.consumer]
                families["lag"].add_metric(labels, ready)
                families["consumers"].add_metric(labels, consumers)
            if dead_letter_queue_name(subscription.consumer) in depths:
                families["parked"].add_metric(labels, depths[dead_letter_queue_name(subscription.consumer)][0])


class _Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.latency = Histogram("eldercare_gateway_request_seconds", "HTTP request latency",
                                 ["route", "status"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.rpc_errors = Counter("eldercare_gateway_rpc_errors_total",
                                  "Requests that failed because a service did not answer or failed",
                                  ["route", "kind"], registry=self.registry)
        self.queues = QueueCollector()
        self.registry.register(self.queues)

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.latency.labels(route, str(status)).observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


METRICS = _Metrics()


class Metrics(DependencyProvider):
    """Points the queue collector at this container's broker and outbox."""

    def setup(self):
        METRICS.queues.amqp_uri = amqp_uri(self.container.config)
        METRICS.queues.subscriptions = consumer_subscriptions()
        METRICS.queues.services = tuple(SERVICES)
        METRICS.queues.outbox = next((d for d in self.container.dependencies if isinstance(d, OutboxRelayRunner)), None)

    def get_dependency(self, worker_ctx):
        return METRICS
