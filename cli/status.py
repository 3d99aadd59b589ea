"""Liveness over RPC and the "where to look" summary printed by bin/run."""
from __future__ import annotations

import time

from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy
from rich.table import Table

from cli.services import catalogue_of
from contracts.services import SERVICES, subscriptions
from kernel.config import amqp_uri, broker_management_url, database_url, gateway_base_url


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
    table = Table("service", "database", "events", "relay backlog", "archived (no consumer yet)", "answers RPC",
                  title="eldercare")
    alive = set(SERVICES) - set(wait_for_services(config, list(SERVICES), 2))
    archived = archived_counts(config, SERVICES)
    for name in SERVICES:
        engine = create_service_engine(database_url(config, name))
        store = SqlAlchemyEventStore(engine, name, catalogue_of(name))
        table.add_row(name, engine.url.render_as_string(hide_password=True), str(store.last_position()),
                      str(outbox_backlog(engine, store)), archived.get(name, "no archive (eldercare topology)"),
                      "yes" if name in alive else "NO")
        engine.dispose()
    console.print(table)
    if "notifications" in alive:
        for line in delivery_lines(config):
            console.print(line)
    console.print(
        "\n[bold]Where to look[/]\n"
        "  logs           this terminal (one prefixed stream per service; LOG_FORMAT=json for JSON lines)\n"
        "  elders         .venv/bin/nameko shell --config config.yml  →  n.rpc.registry.search_elders({'key_target': True})\n"
        "  one elder      n.rpc.registry.get_elder('<elder_id>'), n.rpc.registry.elder_history('<elder_id>')\n"
        "  event log      .venv/bin/eldercare verify registry   (hash chain; names the first bad position)\n"
        "  status         .venv/bin/eldercare status\n"
        f"  gateway        {gateway_base_url(config)}/docs   (.venv/bin/eldercare where)\n"
        f"  broker         {broker_management_url(config)} once rabbitmq_management is enabled\n"
        "  parked events  .venv/bin/eldercare parked list <queue>\n"
        "  configuration  .venv/bin/eldercare config   (effective settings, secrets masked)\n")


def archived_counts(config, services) -> dict[str, str]:
    """Events each service's archive queue holds (published, no consumer bound for them)."""
    import kombu
    from amqp.exceptions import NotFound

    from kernel.topology import archive_queue_name
    counts: dict[str, str] = {}
    with kombu.Connection(amqp_uri(config), connect_timeout=5) as connection:
        for name in services:
            try:
                counts[name] = str(connection.channel().queue_declare(
                    queue=archive_queue_name(name), passive=True).message_count)
            except NotFound:
                pass        # that channel is closed by the broker; the next name opens another
    return counts


def delivery_lines(config) -> list[str]:
    """What the notifications service cannot deliver (said once at its start, and here)."""
    from nameko.exceptions import RemoteError
    try:
        with _proxy(config, timeout=5) as cluster:
            readiness = cluster.notifications.delivery_readiness()
    except (RemoteError, RpcTimeout, UnknownService) as error:    # status must still print the rest
        return [f"[yellow]![/] notifications did not say what it cannot deliver: {type(error).__name__}"]
    lines = [f"[yellow]![/] {channel} channel not configured (set {setting}): those deliveries fail over "
             "to each party's next channel" for channel, setting in sorted(readiness["unconfigured_channels"].items())]
    if readiness["unreachable_parties"]:
        lines.append(f"[yellow]![/] {readiness['unreachable_parties']} parties have no working contact "
                     f"(open contact_unreachable alerts), e.g. {', '.join(readiness['examples'])}: "
                     "record one with notifications.set_party_contacts")
    return lines


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
