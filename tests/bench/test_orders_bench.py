"""The orders benchmark row, tiny (SQLite, a few facilities and elders): well formed, every
order routed, and routed to the nearest facility. Never timings."""
import math

from bench.infra import SqliteBackend
from bench.orders_load import bench_orders, villages
from bench.run import BENCHMARKS, parse_args


def test_the_orders_row_routes_every_order_and_compares_with_raw_inserts(tmp_path):
    backend = SqliteBackend(str(tmp_path))
    try:
        result = bench_orders(backend, orders=40, facilities=40, elders=200)
    finally:
        backend.close()
    assert (result.benchmark, result.backend, result.events) == ("orders", "sqlite", 40)
    assert result.kernel_seconds > 0 and result.baseline_seconds > 0 and math.isfinite(result.ratio)
    details = result.details                                # every facility offers meals, the rest vary
    assert details["routed"] + details["refused (not offered in the county)"] == 40 and details["routed"] > 30
    # one facility per village: an elder's order goes to their own village unless it lacks the service
    assert details["to village"] >= 20
    assert sum(v for k, v in details.items() if k.startswith("to ")) == details["routed"]


def test_the_villages_spread_over_counties_ten_to_a_township():
    codes = villages(2_000)
    assert len(set(codes)) == 2_000 and all(len(c) == 12 and c.isdigit() for c in codes)
    assert len({c[:6] for c in codes}) == 20 and len({c[:9] for c in codes}) == 200
    assert "orders" in BENCHMARKS and parse_args(["--orders", "10"]).orders == 10
