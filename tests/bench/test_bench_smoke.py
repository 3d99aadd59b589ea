"""Smoke tests of the benchmarks: tiny N, SQLite (and the real broker for the relay).
They check that every row is well formed and every count is right — never timings."""
import math

import pytest

from bench import cases, report
from bench.infra import SqliteBackend, seed_log
from bench.run import BENCHMARKS, main, parse_args, run
from kernel.hashchain import verify_log

N = 200


@pytest.fixture
def backend(tmp_path):
    backend = SqliteBackend(str(tmp_path))
    yield backend
    backend.close()


def assert_well_formed(result: report.Result, benchmark: str, events: int):
    assert result.benchmark == benchmark
    assert result.backend == "sqlite"
    assert result.events == events
    assert result.kernel_seconds > 0 and result.baseline_seconds > 0
    for rate in (result.kernel_rate, result.baseline_rate, result.ratio):
        assert math.isfinite(rate) and rate > 0
    assert result.kernel_does and result.baseline_does
    assert result.verdict in ("PASS", "FAIL", "info")
    row = result.as_dict()
    assert set(row) >= {"benchmark", "backend", "events", "kernel_eps", "baseline_eps", "ratio",
                        "target", "verdict"}


def test_append_writes_n_chained_events_on_both_sides(backend):
    result, log = cases.bench_append(backend, N, keep_log=True)
    try:
        assert_well_formed(result, "append", N)
        assert result.min_ratio == 0.7 and result.passed is not None
        assert result.details["batches"] == 2
        assert log.events == N and log.store.last_position() == N
        chain = verify_log(log.engine)
        assert chain.ok and chain.checked == N
    finally:
        log.dispose()


def test_rebuild_and_verify_replay_every_event(backend):
    log = seed_log(backend, N, batch_size=50)
    try:
        rebuilt = cases.bench_rebuild(backend, log)
        assert_well_formed(rebuilt, "rebuild", N)
        assert rebuilt.max_seconds_1m == 30.0
        assert rebuilt.seconds_for_1m == pytest.approx(rebuilt.kernel_seconds * 1_000_000 / N)
        assert "1M events" in rebuilt.note and "extrapolated" in rebuilt.note
        verified = cases.bench_verify(backend, log)
        assert_well_formed(verified, "verify", N)
        assert verified.passed is None and verified.verdict == "info"
    finally:
        log.dispose()


def test_relay_delivers_every_event_through_the_real_broker(backend, rabbit_config):
    log = seed_log(backend, N, batch_size=50)
    try:
        result = cases.bench_relay(backend, log, rabbit_config["AMQP_URI"])
    finally:
        log.dispose()
    assert_well_formed(result, "relay", N)
    assert result.min_ratio == 0.5
    assert "kernel publish done at" in result.details


def test_seal_signs_a_checkpoint_after_every_relayed_batch(backend, rabbit_config):
    result = cases.bench_seal(backend, 1200, rabbit_config["AMQP_URI"])     # batches of 500, 500, 200
    assert_well_formed(result, "seal", 1200)
    assert result.min_ratio == 0.8 and result.details["checkpoints signed"] == 3


def test_authentication_row_times_the_relay_path_with_and_without_it(backend, rabbit_config):
    log = seed_log(backend, N, batch_size=50)
    try:
        result = cases.bench_authentication(backend, log, rabbit_config["AMQP_URI"], runs=1)
    finally:
        log.dispose()
    assert_well_formed(result, "authentication", N)
    assert result.min_ratio == 0.8 and result.details["runs"] == 1


def test_run_renders_a_table_row_per_benchmark(capsys):
    results, versions = run(N, ["append", "rebuild", "verify"], ["sqlite"])
    assert [r.benchmark for r in results] == ["append", "rebuild", "verify"]
    assert all(r.events == N for r in results)
    assert any(v.startswith("SQLite") for v in versions)
    markdown = report.render_markdown(results, ["header"])
    table_rows = [line for line in markdown.splitlines() if line.startswith("| ") and " sqlite " in line]
    assert len(table_rows) == 3
    assert all(line.count("|") == len(report.COLUMNS) + 1 for line in table_rows)
    assert "Targets met:" in markdown
    report.print_rich(results, ["header"])
    assert "Kernel vs raw baseline" in capsys.readouterr().out


def test_command_line(capsys, monkeypatch):
    monkeypatch.setattr("bench.run.configure_logging", lambda *a, **k: None)  # leave logging to the suite
    assert main(["--events", str(N), "--only", "verify", "--backends", "sqlite", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| verify | sqlite | 200 |" in out
    args = parse_args(["--events", "100000"])
    assert args.relay_events == 5000 and args.only == list(BENCHMARKS)
    assert args.backends == ["sqlite", "postgresql"]
    assert parse_args(["--events", "300"]).relay_events == 300
    with pytest.raises(SystemExit):
        parse_args(["--only", "nonsense"])

