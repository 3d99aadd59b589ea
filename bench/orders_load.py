"""Home-service orders routed per second, against raw INSERTs of what an order writes, in the
same run and on the same kind of database.

The orders database is seeded as its consumers would leave it: ``elders`` elders (default
100,000) and ``facilities`` facilities (default 2,000, one per village in 20 counties, each
offering meals and some of bathing, cleaning, medical help and accompaniment with a daily
capacity). Both sides then take the same ``orders`` elders and services:

- kernel side: ``place_order`` through the orders handlers (no RabbitMQ: the handler is what
  a call costs beyond the RPC): load the order's stream, the elder, the facilities of the
  elder's county offering the service with their load that day, decide the nearest with a
  place, append the placed and offered events (validated, hash-chained), write the order row
  and take the place — one transaction per order;
- baseline: the same writes as plain INSERTs (two rows into an events-shaped table, the order
  row and the load row) in one transaction per order: no read, no routing, no hash.
"""
from __future__ import annotations

import json
import random
import time
from datetime import date

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert

from bench.infra import Backend, new_service_database
from bench.report import Result
from contracts import CATALOGUE
from kernel.clock import FixedClock
from kernel.db import insert_many
from kernel.envelope import Actor
from kernel.errors import CommandRejected
from kernel.policy_files import load_policy_file
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work
from services.orders import domain as d
from services.orders import handlers
from services.orders.adapters.tables import home_offers, order_elders, order_facilities

TODAY = date(2026, 11, 23)
DEFAULT_ORDER_FACILITIES = 2_000
DEFAULT_ORDER_ELDERS = 100_000
DEFAULT_ORDERS = 3_000
COUNTIES = 20
ACTOR = Actor("civil_affairs", "bench", "village_worker")
SEED = 22


class _Database:
    """What the handlers use of the service's database provider."""

    def __init__(self, engine, clock):
        self.engine, self.clock = engine, clock
        self.store = SqlAlchemyEventStore(engine, "orders", CATALOGUE)

    def unit_of_work(self):
        return unit_of_work(self.engine, self.store, self.clock)

    def connect(self):
        return self.engine.connect()


def villages(facilities: int) -> list[str]:
    """``facilities`` village codes spread over COUNTIES counties, ten villages a township."""
    per_county = -(-facilities // COUNTIES)
    return [f"4109{county + 10:02d}{100 + n // 10:03d}{201 + n % 10:03d}"
            for county in range(COUNTIES) for n in range(per_county)][:facilities]


def seed(engine, facilities: int, elders: int, rng: random.Random) -> list[tuple[str, str]]:
    """The read models as the consumers would have left them; answers each elder's (id, village)."""
    places = villages(facilities)
    facility_rows, offer_rows = [], []
    for n, village in enumerate(places):
        facility_id = f"f{n:05d}"
        facility_rows.append({"facility_id": facility_id, "division_code": village, "county_code": village[:6],
                              "name": f"照料中心{n}", "in_operation": True, "version": 2})
        kinds = ["meals"] + [k for k in d.SERVICE_KINDS[1:] if rng.random() < 0.5]
        offer_rows += [{"facility_id": facility_id, "service_kind": k, "county_code": village[:6],
                        "daily_capacity": 1000} for k in kinds]
    people = [(f"e{n:07d}", places[rng.randrange(len(places))]) for n in range(elders)]
    with engine.begin() as conn:
        insert_many(conn, order_facilities, facility_rows)
        insert_many(conn, home_offers, offer_rows)
        for start in range(0, elders, 5_000):
            insert_many(conn, order_elders, [{"elder_id": e, "division_code": v, "record_status": "active",
                                              "version": 1} for e, v in people[start:start + 5_000]])
    return people


def bench_orders(backend: Backend, orders: int = DEFAULT_ORDERS, facilities: int = DEFAULT_ORDER_FACILITIES,
                 elders: int = DEFAULT_ORDER_ELDERS) -> Result:
    rng = random.Random(SEED)
    url, engine = new_service_database(backend, "orders", service="orders")
    try:
        people = seed(engine, facilities, elders, rng)
        # Meals most often; every facility offers them, so every order finds a place.
        wanted = [(people[rng.randrange(len(people))], "meals" if rng.random() < 0.7 else
                   rng.choice(d.SERVICE_KINDS)) for _ in range(orders)]
        clock = FixedClock()
        clock.set_today(TODAY)
        database = _Database(engine, clock)
        policy = load_policy_file("policies/orders.yml", d.DeadlinePolicy.from_dict, "ORDERS.policy_file")
        routed, nearness = 0, {}
        started = time.perf_counter()
        for n, ((elder_id, _village), kind) in enumerate(wanted):
            try:
                state = handlers.place_order(database, policy, d.PlaceOrder(
                    f"o{n:07d}", elder_id, kind, TODAY, "family"), ACTOR)
            except CommandRejected:         # nobody in the county offers it
                continue
            routed += 1
            nearness[state.nearness] = nearness.get(state.nearness, 0) + 1
        kernel_seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    baseline_seconds = _raw_inserts(backend, wanted)
    return Result(
        "orders", backend.name, orders, kernel_seconds, baseline_seconds,
        kernel_does=(f"place_order through the orders handlers: {facilities:,} facilities, {elders:,} elders; read "
                     "the stream and the elder, the county's offering facilities with their day's load, route to "
                     "the nearest with a place, append placed + offered (validated, chained), order row, load; "
                     "one transaction per order"),
        baseline_does="the same writes as raw INSERTs (2 event rows, the order row, the load row), one "
                      "transaction per order, no reads or routing",
        details={"routed": routed, "refused (not offered in the county)": orders - routed,
                 **{f"to {k}": v for k, v in sorted(nearness.items())}})


def _raw_inserts(backend: Backend, wanted) -> float:
    from kernel.db import create_service_engine
    engine = create_service_engine(backend.new_url("orders_raw"))
    metadata = MetaData()
    raw_events = Table("raw_events", metadata, Column("position", Integer, primary_key=True, autoincrement=True),
                       Column("stream_id", String(64)), Column("type", String(64)), Column("data", Text))
    raw_orders = Table("raw_orders", metadata, Column("order_id", String(64), primary_key=True),
                       Column("elder_id", String(64)), Column("service_kind", String(16)),
                       Column("status", String(16)), Column("facility_id", String(64)))
    raw_load = Table("raw_load", metadata, Column("order_id", String(64), primary_key=True),
                     Column("facility_id", String(64)), Column("taken", Integer))
    metadata.create_all(engine)
    try:
        started = time.perf_counter()
        for n, ((elder_id, village), kind) in enumerate(wanted):
            order_id = f"o{n:07d}"
            data = json.dumps({"order_id": order_id, "elder_id": elder_id, "division_code": village,
                               "service_kind": kind})
            with engine.begin() as conn:
                conn.execute(insert(raw_events), [{"stream_id": order_id, "type": "placed", "data": data},
                                                  {"stream_id": order_id, "type": "offered", "data": data}])
                conn.execute(insert(raw_orders).values(order_id=order_id, elder_id=elder_id, service_kind=kind,
                                                       status="offered", facility_id="f"))
                conn.execute(insert(raw_load).values(order_id=order_id, facility_id="f", taken=1))
        return time.perf_counter() - started
    finally:
        engine.dispose()
