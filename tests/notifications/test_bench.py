"""Smoke test of the notifications benchmark: tiny N on SQLite; counts, never timings."""
import math

from bench.infra import SqliteBackend
from bench.notifications_load import bench_notifications


def test_one_sweep_escalates_every_alert_and_deliveries_reach_the_local_gateway(tmp_path):
    backend = SqliteBackend(str(tmp_path))
    try:
        result = bench_notifications(backend, 120)
    finally:
        backend.close()
    assert result.benchmark == "notifications" and result.backend == "sqlite"
    assert result.details["alerts escalated"] == 120
    assert result.events == 120 * 3           # escalated + routed + delivery requested, per alert
    assert result.details["deliveries sampled"] == 120
    for rate in (result.kernel_rate, result.baseline_rate, result.details["delivery attempts/s"],
                 result.details["raw POSTs/s"]):
        assert math.isfinite(rate) and rate > 0
