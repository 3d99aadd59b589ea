"""Smoke test of the accounts benchmark row at a tiny size (real accounts service and gateway,
real RabbitMQ, SQLite): the row is well formed and reports each cost — never timings."""
from bench.accounts_load import bench_accounts
from bench.infra import SqliteBackend
from tests.accounts.support import FAST_ARGON2
from tests.bench.test_bench_smoke import assert_well_formed


def test_the_row_reports_sign_in_and_token_check_against_the_gateway_request(tmp_path):
    backend = SqliteBackend(str(tmp_path))
    try:
        result = bench_accounts(backend, requests=5, sign_ins=2, argon2=FAST_ARGON2)
    finally:
        backend.close()
    assert_well_formed(result, "accounts", 5)
    assert set(result.details) == {"gateway request", "uncached token check", "cached token check",
                                   "sign-in", "argon2id cost", "sign-in ÷ gateway request"}
    assert all("p50" in result.details[key] for key in ("gateway request", "uncached token check"))
