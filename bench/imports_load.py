"""The ledger import against the registry's own command rate, in the same run.

Both sides run the registry service in this process (a nameko container on a throw-away
vhost, its own fresh database each) and reach it over RabbitMQ RPC with command ids and the
same number of calls in flight:

- baseline: ``register_elder`` for each of the ledger's people, sent straight to the
  registry — the rate of the command path itself;
- kernel side: the imports service's commit of the same people from an XLSX ledger (its
  pages, row status updates and command ids per row), after its dry run, which is timed on
  its own (``dry-run rows/s``: parsing, village lookup, ``check_registrations``, duplicates).
"""
from __future__ import annotations

import base64
import time
from collections import deque
from datetime import date

from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ClusterRpcProxy

from bench.infra import Backend, new_service_database, throwaway_vhost
from bench.report import Result
from kernel.commands import CONTEXT_KEY
from services.imports.handlers import IN_FLIGHT
from services.imports.ledger import VillageFinder, column_positions, read_sheet, row_payload

TODAY = date(2026, 11, 23)
DEFAULT_IMPORT_ROWS = 5_000
ACTOR = {"department": "civil_affairs", "user": "bench", "role": "county_coordinator"}
COUNTY = "410928000000"


def bench_imports(backend: Backend, rows: int = DEFAULT_IMPORT_ROWS) -> Result:
    from kernel.divisions import configured_division_table
    from services.imports.service import ImportsService
    from services.registry.service import RegistryService
    from demo.ledger import demo_rows, to_xlsx
    content = to_xlsx(demo_rows(rows))
    sheet = read_sheet(content, "ledger.xlsx")
    positions, finder = column_positions(sheet.headers, None), VillageFinder(configured_division_table({}), COUNTY)
    payloads = [row_payload(cells, positions, finder, TODAY)[0] for _, cells in sheet.rows]
    with throwaway_vhost() as amqp_uri:
        base_url, base_engine = new_service_database(backend, "registry_direct", service="registry")
        base_engine.dispose()
        config = _config(amqp_uri, {"registry": base_url})
        context: dict = {}           # the proxy sends it (by reference) as each call's context data
        with _running(config, RegistryService), ClusterRpcProxy(config, context_data=context, timeout=600) as rpc:
            baseline_seconds = _direct(rpc, context, payloads)
        registry_url, engine = new_service_database(backend, "registry_import", service="registry")
        imports_url, imports_engine = new_service_database(backend, "imports", service="imports")
        engine.dispose()
        imports_engine.dispose()
        config = _config(amqp_uri, {"registry": registry_url, "imports": imports_url})
        with _running(config, RegistryService), _running(config, ImportsService), \
                ClusterRpcProxy(config, timeout=600) as rpc:
            started = time.perf_counter()
            opened = rpc.imports.open_import({"filename": "ledger.xlsx", "jurisdiction": COUNTY,
                                              "content_base64": base64.b64encode(content).decode()}, ACTOR)
            checked = _until(rpc, opened["import_id"], "checked")
            dry_run_seconds = time.perf_counter() - started
            started = time.perf_counter()
            rpc.imports.commit({"import_id": opened["import_id"]}, ACTOR)
            done = _until(rpc, opened["import_id"], "committed")
            commit_seconds = time.perf_counter() - started
    assert checked["summary"]["accepted"] == done["summary"]["registered"] == rows, done["summary"]
    return Result(
        "imports", backend.name, rows, commit_seconds, baseline_seconds, min_ratio=0.8,
        kernel_does=(f"commit of an XLSX ledger of {rows:,} rows through the imports service: pages of accepted "
                     f"rows, register_elder over RPC with a command id per row (a window of {IN_FLIGHT} in flight), row "
                     "status recorded"),
        baseline_does=f"register_elder over RPC straight to the registry, same rows, {IN_FLIGHT} in flight",
        details={"dry-run rows/s": round(rows / dry_run_seconds), "dry run s": round(dry_run_seconds, 1),
                 "registry commands/s": round(rows / baseline_seconds)})


def _config(amqp_uri: str, databases: dict) -> dict:
    return {"AMQP_URI": amqp_uri, "serializer": "json", "DATABASES": databases, "FIXED_TODAY": TODAY.isoformat(),
            "max_workers": 10, "RELAY": {"poll_interval": 0.5}, "REGISTRY": {"status_review_interval_seconds": 3600},
            "IMPORTS": {"work_interval_seconds": 0.05}, "CHECKPOINTS": {"interval_seconds": 86400}}


class _running:
    def __init__(self, config, cls):
        self.container = ServiceContainer(cls, config)

    def __enter__(self):
        self.container.start()
        return self.container

    def __exit__(self, *exc):
        self.container.stop()


def _direct(rpc, context: dict, payloads) -> float:
    """The same sliding window as the import's commit: the next command as each answer returns."""
    def send(n):
        context[CONTEXT_KEY] = f"bench/direct/{n}"
        return rpc.registry.register_elder.call_async(payloads[n], ACTOR)

    started = time.perf_counter()
    waiting = deque(send(n) for n in range(min(IN_FLIGHT, len(payloads))))
    for n in range(IN_FLIGHT, len(payloads) + IN_FLIGHT):
        waiting.popleft().result()
        if n < len(payloads):
            waiting.append(send(n))
    return time.perf_counter() - started


def _until(rpc, import_id: str, status: str, timeout: float = 3600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = rpc.imports.get_import(import_id)
        if record["status"] == status:
            return record
        time.sleep(0.05)
    raise TimeoutError(f"import {import_id} not {status} after {timeout} s")
