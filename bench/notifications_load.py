"""Notifications under load: N open alerts whose acknowledgement deadline has passed, and one
escalation sweep over all of them (the service's own handler: bulk stream reads, decide,
one append per page with a delivery queued for each newly routed party, projections) against
raw INSERTs of the same event rows in the same pages. Then delivery rounds to a local HTTP
SMS gateway (attempt recorded, POST, result recorded) against raw POSTs of the same messages
to the same endpoint with the same concurrency."""
from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import eventlet
from sqlalchemy import select

from bench.infra import Backend, new_service_database
from bench.report import Result
from contracts import CATALOGUE
from kernel.clock import FixedClock
from kernel.db import insert_many, transaction
from kernel.schema import events as events_table
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work
from services.notifications.adapters.channels import ChannelSet, SmsGateway, http_session
from services.notifications.adapters.event_mapping import to_pending
from services.notifications.adapters.projections import notifications_projections
from services.notifications.domain import AlertState, ChannelAddress, RaiseAlert, decide
from services.notifications.handlers import SWEEP_PAGE, SYSTEM_ACTOR, CommandMeta, deliver_due, escalate_due, set_party_contacts
from services.notifications.rules import notifications_context
from tests.notifications.support import T0

META = CommandMeta(SYSTEM_ACTOR)
TOWNSHIPS, VILLAGES_PER_TOWNSHIP = 10, 10
SEED_PAGE = 1000
DELIVERY_SAMPLE = 2000
CONCURRENCY = 20
# The issue asks about 100k open alerts; BENCH_ALERTS makes a quicker run.
DEFAULT_ALERTS = int(os.environ.get("BENCH_ALERTS", 100_000))


def _village(index: int) -> str:
    township = index % TOWNSHIPS
    return f"410928{township + 100:03d}{(index // TOWNSHIPS) % VILLAGES_PER_TOWNSHIP + 200:03d}"


def bench_notifications(backend: Backend, alerts: int = DEFAULT_ALERTS) -> Result:
    ctx = notifications_context({})
    url, engine = new_service_database(backend, "notifications", service="notifications")
    raw_url, raw_engine = new_service_database(backend, "notifications_raw", service="notifications")
    store = SqlAlchemyEventStore(engine, "notifications", CATALOGUE)
    projections = notifications_projections(CATALOGUE)
    clock = FixedClock(current=T0)
    server, endpoint = _gateway()
    try:
        _seed(engine, store, projections, clock, ctx, alerts)
        clock.current = T0 + timedelta(days=2)             # every village deadline (24 h) has passed
        before = store.last_position()
        uow = lambda: unit_of_work(engine, store, clock, projections)   # noqa: E731
        started = time.perf_counter()
        escalated = pages = 0
        while True:
            with uow() as work:
                done = escalate_due(work, ctx, clock.now(), META)
            escalated, pages = escalated + done, pages + 1
            if done < SWEEP_PAGE:
                break
        sweep_seconds = time.perf_counter() - started
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                select(events_table).where(events_table.c.position > before).order_by(events_table.c.position))]
        baseline_seconds = _raw(raw_engine, rows, pages)
        attempts_per_second, posts_per_second, delivered = _deliveries(uow, ctx, clock, endpoint)
    finally:
        server.shutdown()
        server.server_close()
        engine.dispose()
        raw_engine.dispose()
    return Result(
        "notifications", backend.name, len(rows), sweep_seconds, baseline_seconds,
        kernel_does=(f"{alerts:,} open alerts past their village deadline → one escalation sweep: pages of "
                     f"{SWEEP_PAGE} streams read in one query, decide, one append per page (escalated + routed "
                     "+ a delivery queued for the township), alert board and delivery queue projections"),
        baseline_does="the same event rows bulk-inserted (kernel.db.insert_many), one transaction per page",
        details={"alerts escalated": escalated, "sweep s": round(sweep_seconds, 2),
                 "delivery attempts/s": round(attempts_per_second), "raw POSTs/s": round(posts_per_second),
                 "deliveries sampled": delivered})


def _seed(engine, store, projections, clock, ctx, alerts: int) -> None:
    """Open alerts raised through the domain (not timed); every township has an SMS contact."""
    with unit_of_work(engine, store, clock, projections) as uow:
        for township in range(TOWNSHIPS):
            set_party_contacts(uow, ctx, f"township:410928{township + 100:03d}", (ChannelAddress("sms", "13900000000"),),
                               T0, META)
    for start in range(0, alerts, SEED_PAGE):
        pending, expected = [], {}
        for index in range(start, min(alerts, start + SEED_PAGE)):
            alert_id = f"al-bench-{index:07d}"
            village = _village(index)
            events = decide(AlertState(alert_id), RaiseAlert(
                alert_id, T0, kind="major_hardship", incident_key=f"bench:{index}", division_code=village,
                severity="high", summary="no food in the house; supporter unreachable", elder_id=f"elder-{index}"),
                ctx.book)
            pending += [to_pending(e, CATALOGUE, actor=META.actor, jurisdiction=village) for e in events]
            expected[alert_id] = 0
        with unit_of_work(engine, store, clock, projections) as uow:
            uow.append(pending, expected)


def _raw(engine, rows: list[dict], pages: int) -> float:
    page = max(1, -(-len(rows) // max(1, pages)))
    started = time.perf_counter()
    for offset in range(0, len(rows), page):
        with transaction(engine) as conn:
            insert_many(conn, events_table, rows[offset:offset + page])
    return time.perf_counter() - started


class _Gateway(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"        # keep-alive: both sides reuse their connections

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


def _gateway():
    server = _Server(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/sms"


def _deliveries(uow, ctx, clock, endpoint: str) -> tuple[float, float, int]:
    """Delivery rounds over the first deliveries the sweep queued, then raw POSTs of as many."""
    channels = ChannelSet([SmsGateway(endpoint)])
    delivered, started = 0, time.perf_counter()
    while delivered < DELIVERY_SAMPLE:
        counts = deliver_due(uow, ctx, channels, clock.now, META, limit=min(200, DELIVERY_SAMPLE - delivered),
                             concurrency=CONCURRENCY)
        if not counts["attempted"]:
            break
        delivered += counts["attempted"]
    kernel_seconds = time.perf_counter() - started
    session = http_session()
    payload = {"to": "13900000000", "text": "x" * 160, "reference": "bench"}
    started = time.perf_counter()
    list(eventlet.GreenPool(CONCURRENCY).imap(lambda _i: session.post(endpoint, json=payload, timeout=5).status_code,
                                              range(max(1, delivered))))
    raw_seconds = time.perf_counter() - started
    return delivered / kernel_seconds if kernel_seconds else 0.0, max(1, delivered) / raw_seconds, delivered
