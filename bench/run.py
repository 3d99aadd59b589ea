"""Command line and orchestration (imported by ``bench/__main__`` after eventlet patching)."""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from datetime import datetime, timezone

from kernel.logging import configure_logging

from bench import cases
from bench import report
from bench.registry_load import bench_registry
from bench.visits_load import bench_visits
from bench.audit_load import bench_audit
from bench.facilities_load import bench_facilities
from bench.notifications_load import DEFAULT_ALERTS, bench_notifications
from bench.subsidies_load import DEFAULT_SUBSIDY_ELDERS, bench_subsidies
from bench.cluster_load import DEFAULT_CLUSTER_COMMANDS, bench_cluster
from bench.gateway_load import DEFAULT_GATEWAY_ELDERS, bench_gateway
from bench.accounts_load import bench_accounts
from bench.personal_load import bench_personal
from bench.imports_load import DEFAULT_IMPORT_ROWS, bench_imports
from bench.orders_load import DEFAULT_ORDER_ELDERS, DEFAULT_ORDER_FACILITIES, DEFAULT_ORDERS, bench_orders
from bench.infra import EventLog, open_backend, progress, rabbit_version, seed_log, throwaway_vhost

BENCHMARKS = ("append", "relay", "authentication", "seal", "rebuild", "verify", "audit", "registry", "visits", "facilities",
              "notifications", "subsidies", "cluster", "gateway", "accounts", "imports", "personal", "orders")
BACKENDS = ("sqlite", "postgresql")
DEFAULT_EVENTS = 20_000
# The durable consumer applies one event per transaction (~200/s on PostgreSQL here), so the
# relay benchmark alone would take minutes at 20k events; it runs on fewer unless told.
DEFAULT_RELAY_CAP = 5_000
DEFAULT_REPEAT = 3
DEFAULT_ELDERS = 1_000
# Elders whose monthly period the visits benchmark closes (the issue asks about 1M: --visit-elders 1000000).
DEFAULT_VISIT_ELDERS = 20_000


def _csv(allowed):
    def parse(value: str) -> list[str]:
        items = [v.strip() for v in value.split(",") if v.strip()]
        unknown = [v for v in items if v not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {', '.join(allowed)}")
        return items
    return parse


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS,
                        help=f"events per benchmark (default {DEFAULT_EVENTS:,})")
    parser.add_argument("--only", type=_csv(BENCHMARKS), default=list(BENCHMARKS),
                        help="comma-separated subset of " + ",".join(BENCHMARKS))
    parser.add_argument("--backends", type=_csv(BACKENDS), default=list(BACKENDS),
                        help="comma-separated subset of " + ",".join(BACKENDS))
    parser.add_argument("--relay-events", type=int, default=None,
                        help=f"events for the relay benchmark (default: --events, capped at {DEFAULT_RELAY_CAP:,})")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT,
                        help=f"runs of append/rebuild/verify; each side keeps its best time (default {DEFAULT_REPEAT})")
    parser.add_argument("--elders", type=int, default=DEFAULT_ELDERS,
                        help=f"demo county size for the registry benchmark (default {DEFAULT_ELDERS:,})")
    parser.add_argument("--visit-elders", type=int, default=DEFAULT_VISIT_ELDERS,
                        help=f"elders with a visit obligation in the visits benchmark (default {DEFAULT_VISIT_ELDERS:,})")
    parser.add_argument("--subsidy-elders", type=int, default=DEFAULT_SUBSIDY_ELDERS,
                        help=f"elders in the subsidies monthly run (default {DEFAULT_SUBSIDY_ELDERS:,}; target 1M < 60 s)")
    parser.add_argument("--gateway-elders", type=int, default=DEFAULT_GATEWAY_ELDERS,
                        help=f"elders loaded for the gateway's dashboard/timeline latency (default "
                             f"{DEFAULT_GATEWAY_ELDERS:,}, about 16 events each; the issue asks about 1,000,000)")
    parser.add_argument("--import-rows", type=int, default=DEFAULT_IMPORT_ROWS,
                        help=f"rows of the ledger the imports benchmark imports (default {DEFAULT_IMPORT_ROWS:,})")
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS,
                        help=f"home-service orders the orders benchmark routes (default {DEFAULT_ORDERS:,}, over "
                             f"{DEFAULT_ORDER_FACILITIES:,} facilities and {DEFAULT_ORDER_ELDERS:,} elders)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table (for the README)")
    args = parser.parse_args(argv)
    if args.events < 1:
        parser.error("--events must be positive")
    if args.relay_events is None:
        args.relay_events = min(args.events, DEFAULT_RELAY_CAP)
    if args.relay_events < 1:
        parser.error("--relay-events must be positive")
    return args


def best_of(results: list[report.Result]) -> report.Result:
    """Each side's fastest run: on a shared 2-core machine the slower runs measure the
    neighbours as much as the code."""
    best = results[0]
    best.kernel_seconds = min(r.kernel_seconds for r in results)
    best.baseline_seconds = min(r.baseline_seconds for r in results)
    best.details["runs"] = len(results)
    return best


def run(events: int, only, backends, amqp_uri: str | None = None,
        relay_events: int | None = None, repeat: int = 1,
        elders: int = DEFAULT_ELDERS, visit_elders: int = DEFAULT_VISIT_ELDERS,
        subsidy_elders: int = DEFAULT_SUBSIDY_ELDERS,
        gateway_elders: int = DEFAULT_GATEWAY_ELDERS,
        import_rows: int = DEFAULT_IMPORT_ROWS, orders: int = DEFAULT_ORDERS,
        order_facilities: int = DEFAULT_ORDER_FACILITIES,
        order_elders: int = DEFAULT_ORDER_ELDERS) -> tuple[list[report.Result], list[str]]:
    """Run the selected benchmarks; returns the result rows and environment lines. The relay
    uses the shared log when ``relay_events`` equals ``events``, else a log of its own."""
    relay_events = relay_events or events
    results: list[report.Result] = []
    versions: list[str] = []
    for backend_name in backends:
        backend = open_backend(backend_name)
        versions.append(backend.server_version())
        log: EventLog | None = None
        try:
            if "append" in only:
                progress(f"{backend_name}: append, {events:,} events …")
                earlier = [cases.bench_append(backend, events)[0] for _ in range(repeat - 1)]
                result, log = cases.bench_append(backend, events, keep_log=True)
                results.append(best_of(earlier + [result]))
            if log is None and (any(b in only for b in ("rebuild", "verify", "audit"))
                                or (("relay" in only or "authentication" in only) and relay_events == events)):
                progress(f"{backend_name}: seeding a log of {events:,} events through the kernel …")
                started = time.perf_counter()
                log = seed_log(backend, events)
                progress(f"{backend_name}: seeded in {time.perf_counter() - started:.1f} s")
            relay_cases = [(name, case) for name, case in (("relay", cases.bench_relay),
                                                           ("authentication", cases.bench_authentication))
                           if name in only]
            if relay_cases:
                relay_log = log if relay_events == events else seed_log(backend, relay_events)
                try:
                    for name, case in relay_cases:
                        progress(f"{backend_name}: {name}, relay → consumer, {relay_events:,} events …")
                        if amqp_uri is not None:
                            results.append(case(backend, relay_log, amqp_uri))
                        else:
                            with throwaway_vhost() as vhost_uri:
                                results.append(case(backend, relay_log, vhost_uri))
                finally:
                    if relay_log is not log:
                        relay_log.dispose()
            if "seal" in only:
                progress(f"{backend_name}: relay with a checkpoint after every batch, {relay_events:,} events …")
                if amqp_uri is not None:
                    results.append(best_of([cases.bench_seal(backend, relay_events, amqp_uri) for _ in range(repeat)]))
                else:
                    with throwaway_vhost() as vhost_uri:
                        results.append(best_of([cases.bench_seal(backend, relay_events, vhost_uri)
                                                for _ in range(repeat)]))
            if "rebuild" in only:
                progress(f"{backend_name}: rebuild, {events:,} events …")
                results.append(best_of([cases.bench_rebuild(backend, log) for _ in range(repeat)]))
            if "verify" in only:
                progress(f"{backend_name}: verify, {events:,} events …")
                results.append(best_of([cases.bench_verify(backend, log) for _ in range(repeat)]))
            if "audit" in only:
                progress(f"{backend_name}: audit verify and bundle, {events:,} events …")
                results.append(bench_audit(backend_name, log))
            if "registry" in only:
                progress(f"{backend_name}: registry, demo county of {elders:,} elders …")
                results.append(bench_registry(backend, elders))
            if "visits" in only:
                progress(f"{backend_name}: visits, closing a month for {visit_elders:,} elders …")
                results.append(bench_visits(backend, visit_elders))
            if "facilities" in only:
                progress(f"{backend_name}: facilities, 20,000 facilities and 200,000 admissions/discharges replayed …")
                results.append(bench_facilities(backend))
            if "notifications" in only:
                progress(f"{backend_name}: notifications, one escalation sweep over {DEFAULT_ALERTS:,} open alerts …")
                results.append(bench_notifications(backend))
            if "subsidies" in only:
                progress(f"{backend_name}: subsidies, a monthly run for {subsidy_elders:,} elders, its re-run and the next month …")
                results.append(bench_subsidies(backend, subsidy_elders))
            if "imports" in only:
                progress(f"{backend_name}: imports, a ledger of {import_rows:,} rows: dry run, commit, and the "
                         "registry's own command rate …")
                results.append(bench_imports(backend, import_rows))
            if "orders" in only:
                progress(f"{backend_name}: orders, {orders:,} home-service orders routed over {order_facilities:,} "
                         f"facilities and {order_elders:,} elders …")
                results.append(bench_orders(backend, orders, order_facilities, order_elders))
            if "gateway" in only:
                progress(f"{backend_name}: gateway, dashboard and timeline latency over {gateway_elders:,} elders …")
                results.append(bench_gateway(backend, gateway_elders))
            if "accounts" in only:
                results.append(bench_accounts(backend))
            if "personal" in only:
                progress(f"{backend_name}: personal data sealed per person, append and read of {events:,} events …")
                results.extend(bench_personal(backend, events))
        finally:
            if log is not None:
                log.dispose()
            backend.close()
    if "cluster" in only and "sqlite" in backends:
        # Starts its own RabbitMQ nodes (3-node quorum cluster, then a single classic node); the
        # services' databases are SQLite files, so the row runs once, under sqlite.
        progress(f"cluster: {DEFAULT_CLUSTER_COMMANDS:,} registry commands through a 3-node quorum cluster and one node …")
        results.append(bench_cluster("sqlite", DEFAULT_CLUSTER_COMMANDS))
    if "relay" in only or "seal" in only or "authentication" in only:
        versions.append(rabbit_version())
    order = {name: i for i, name in enumerate(BENCHMARKS)}
    order.update({"personal_append": order["personal"], "personal_read": order["personal"]})
    results.sort(key=lambda r: (order[r.benchmark], backends.index(r.backend)))
    return results, versions


def main(argv=None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    # Quiet by default: the table is the output (BENCH_LOG_LEVEL=INFO to see the services' logs).
    configure_logging("bench", json_output=False, level=os.environ.get("BENCH_LOG_LEVEL", "WARNING"))
    started = time.perf_counter()
    results, versions = run(args.events, args.only, args.backends, relay_events=args.relay_events,
                            repeat=args.repeat, elders=args.elders,
                                 visit_elders=args.visit_elders, subsidy_elders=args.subsidy_elders,
                                 gateway_elders=args.gateway_elders, import_rows=args.import_rows,
                                 orders=args.orders)
    elapsed = time.perf_counter() - started
    header = [f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · Python {platform.python_version()} · "
              f"{os.cpu_count()} CPUs · " + " · ".join(versions),
              f"--events {args.events} "
              + (f"--relay-events {args.relay_events} " if {"relay", "authentication"} & set(args.only) else "")
              + f"--only {','.join(args.only)} --backends {','.join(args.backends)} --repeat {args.repeat} · "
              + ("PostgreSQL via psycopg 3 with PSYCOPG_WAIT_FUNC=wait_select under eventlet (as the "
                 "services run) · " if "postgresql" in args.backends else "")
              + f"whole run {elapsed:.1f} s"]
    if args.markdown:
        print(report.render_markdown(results, header))
    else:
        report.print_rich(results, header)
    sys.stdout.flush()
    return 0
