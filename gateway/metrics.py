"""Prometheus metrics of the gateway: request latency by route and status, and RPC errors
by service. Exposed at /metrics."""
from __future__ import annotations

from nameko.extensions import DependencyProvider
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class _Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.latency = Histogram("eldercare_gateway_request_seconds", "HTTP request latency",
                                 ["route", "status"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.rpc_errors = Counter("eldercare_gateway_rpc_errors_total",
                                  "Requests that failed because a service did not answer or failed",
                                  ["route", "kind"], registry=self.registry)

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.latency.labels(route, str(status)).observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


METRICS = _Metrics()


class Metrics(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return METRICS
