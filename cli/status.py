"""Liveness over RPC and the "where to look" summary printed by bin/run."""
from __future__ import annotations

import time

from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy
from rich.table import Table

from cli.services import catalogue_of
from contracts.services import SERVICES, subscriptions
from kernel.config import amqp_uri, database_url


def _proxy(config, timeout: float = 10):
    return ClusterRpcProxy({"AMQP_URI": amqp_uri(config), "serializer": "json"}, timeout=timeout)


def wait_for_services(config, services, timeout: float) -> list[str]:
    """The services that did not answer a ping within ``timeout`` seconds (each call is
    bounded by it too, so a probe never outlives its own timeout)."""
    deadline, waiting = time.monotonic() + timeout, list(services)
    with _proxy(config, timeout=max(1.0, min(timeout, 10.0))) as cluster:
        while waiting and time.monotonic() < deadline:
            for name in list(waiting):
                try:
                    getattr(cluster, name).ping()
                    waiting.remove(name)
                except (UnknownService, RpcTimeout):
                    pass
            if waiting:
                time.sleep(0.5)
    return waiting


def registry_has_elders(config) -> bool:
    with _proxy(config) as cluster:
        return bool(cluster.registry.search_elders({"limit": 1, "record_status": "any"}))


def print_status(config, console) -> None:
    from kernel.db import create_service_engine
    from kernel.relay import outbox_backlog
    from kernel.store import SqlAlchemyEventStore
    table = Table("service", "database", "events", "relay backlog", "answers RPC", title="eldercare")
    alive = set(SERVICES) - set(wait_for_services(config, list(SERVICES), 2))
    for name in SERVICES:
        engine = create_service_engine(database_url(config, name))
        store = SqlAlchemyEventStore(engine, name, catalogue_of(name))
        table.add_row(name, engine.url.render_as_string(hide_password=True), str(store.last_position()),
                      str(outbox_backlog(engine, store)), "yes" if name in alive else "NO")
        engine.dispose()
    console.print(table)
    console.print(
        "\n[bold]Where to look[/]\n"
        "  logs           this terminal (one prefixed stream per service; LOG_FORMAT=json for JSON lines)\n"
        "  elders         .venv/bin/nameko shell --config config.yml  →  n.rpc.registry.search_elders({'key_target': True})\n"
        "  one elder      n.rpc.registry.get_elder('<elder_id>'), n.rpc.registry.elder_history('<elder_id>')\n"
        "  event log      .venv/bin/eldercare verify registry   (hash chain; names the first bad position)\n"
        "  status         .venv/bin/eldercare status\n"
        "  broker         http://127.0.0.1:15672 (guest/guest) once rabbitmq_management is enabled\n"
        "  parked events  .venv/bin/eldercare parked list <queue>\n")


def wait_until_caught_up(config, service: str, timeout: float) -> bool:
    """Wait until every upstream relay has published its log and ``service``'s queues are
    empty twice in a row (events are applied asynchronously after the commands return)."""
    import kombu

    from kernel.db import create_service_engine
    from kernel.relay import outbox_backlog
    from kernel.store import SqlAlchemyEventStore

    queues = [s.consumer for s in subscriptions(service)]
    sources = {s.source for s in subscriptions(service)}
    deadline, quiet = time.monotonic() + timeout, 0
    with kombu.Connection(amqp_uri(config)) as connection:
        channel = connection.channel()
        while time.monotonic() < deadline:
            backlog = 0
            for source in sources:
                engine = create_service_engine(database_url(config, source))
                backlog += outbox_backlog(engine, SqlAlchemyEventStore(engine, source, catalogue_of(source)))
                engine.dispose()
            waiting = sum(channel.queue_declare(queue=q, passive=True).message_count for q in queues)
            quiet = quiet + 1 if backlog == 0 and waiting == 0 else 0
            if quiet >= 2:
                return True
            time.sleep(0.5)
    return False
