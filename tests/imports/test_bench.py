"""The imports benchmark row runs end to end on a small ledger: both sides register every row
through the real broker, and the row states the registry's rate and the dry run's."""
from bench.imports_load import bench_imports
from bench.infra import SqliteBackend


def test_the_imports_row_measures_the_commit_against_register_elder(tmp_path):
    backend = SqliteBackend(str(tmp_path))
    try:
        result = bench_imports(backend, rows=60)
    finally:
        backend.close()
    assert (result.benchmark, result.backend, result.events, result.min_ratio) == ("imports", "sqlite", 60, 0.8)
    assert result.kernel_seconds > 0 and result.baseline_seconds > 0
    assert {"dry-run rows/s", "registry commands/s"} <= set(result.details)
