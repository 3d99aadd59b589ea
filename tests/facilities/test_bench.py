"""Smoke test of the facilities benchmark row: tiny N on SQLite. Checks the row is well
formed and both sides rebuilt the same rows from every event — never timings."""
import math

from bench.facilities_load import bench_facilities
from bench.infra import SqliteBackend
from bench.run import BENCHMARKS


def test_facilities_row_replays_every_event_on_both_sides(tmp_path):
    backend = SqliteBackend(str(tmp_path))
    try:
        result = bench_facilities(backend, facilities=50, movements=400)
    finally:
        backend.close()
    assert "facilities" in BENCHMARKS
    assert result.benchmark == "facilities" and result.backend == "sqlite"
    assert result.events == 50 + result.details["admissions/discharges"]
    assert 300 < result.details["admissions/discharges"] <= 400        # a full facility skips an admission
    facility_rows, stay_rows = result.details["rows"]
    assert facility_rows == 50 and stay_rows > 150
    assert all(math.isfinite(rate) and rate > 0 for rate in (result.kernel_rate, result.baseline_rate))
    assert result.verdict == "info" and "1M events" in result.note
