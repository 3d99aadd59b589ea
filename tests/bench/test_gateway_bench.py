"""Smoke test of the gateway benchmark row at a tiny size (real services, real RabbitMQ,
SQLite): the row is well formed, and the loaded databases are what the services would have
written — every hash chain verifies, every projection equals a replay of its log, the
per-village counts equal a count of the rows they stand for, every elder is registered once
with a valid resident ID and the relay has nothing left to publish."""
import math

import pytest
from sqlalchemy import func, select

from bench.gateway_load import TEMPLATE_SERVICES, bench_gateway
from bench.infra import SqliteBackend
from cli.services import catalogue_of, projections_of
from kernel.db import create_service_engine
from kernel.hashchain import verify_log
from kernel.replay import replay_and_compare
from kernel.resident_id import validate as valid_resident_id
from kernel.schema import events, relay_cursor
from services.registry.adapters.tables import elders

ELDERS, TEMPLATE = 45, 15


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    backend = SqliteBackend(str(tmp_path_factory.mktemp("gateway-bench")))
    urls = {}
    original = backend.new_url

    def remember(label):
        urls[label] = original(label)
        return urls[label]
    backend.new_url = remember
    result = bench_gateway(backend, elders=ELDERS, requests=4, template=TEMPLATE)
    yield result, urls
    backend.close()


@pytest.mark.timeout(1500)
def test_the_row_reports_latencies_of_every_page_and_the_baseline(loaded):
    result, _urls = loaded
    assert result.benchmark == "gateway" and result.backend == "sqlite"
    assert set(result.latencies) == {"dashboard county", "dashboard township", "dashboard village", "timeline",
                                     "rpc ping", "sql count"}
    for figures in result.latencies.values():
        assert 0 < figures["p50"] <= figures["p99"] and math.isfinite(figures["mean"])
    assert result.requests == 4 and result.kernel_rate > 0 and result.baseline_rate > 0
    assert result.verdict in ("PASS", "FAIL") and "dashboard county p50/p99" in result.note
    assert "sections unavailable" not in result.details
    row = result.as_dict()
    assert row["target"] == "dashboard p99 < 50 ms" and row["events"] == result.events > ELDERS


@pytest.mark.timeout(1500)
def test_the_loaded_databases_are_what_the_services_would_have_written(loaded):
    _result, urls = loaded
    for service in TEMPLATE_SERVICES:
        engine = create_service_engine(urls[service])
        try:
            assert verify_log(engine).ok, service
            replayed, drifts = replay_and_compare(service, engine, projections_of(service, {}), catalogue_of(service))
            assert replayed > 0 and drifts == [], (service, drifts[:3])
            with engine.connect() as conn:
                head = conn.execute(select(func.max(events.c.position))).scalar()
                assert conn.execute(select(relay_cursor.c.position)).scalar() == head
                if service == "registry":
                    registered = conn.execute(select(elders.c.elder_id, elders.c.resident_id)).all()
                    assert len(registered) == ELDERS
                    assert len({r.resident_id for r in registered}) == ELDERS
                    assert all(valid_resident_id(r.resident_id) for r in registered)
        finally:
            engine.dispose()


def test_thousands_of_clones_of_one_elder_get_distinct_valid_resident_ids(tmp_path):
    """One birth date and sex have 499 order codes per address code: clones beyond take other
    real address codes of the province."""
    import sqlite3

    from bench.gateway_load import Cloner
    elder = "a0e39d06-3d48-4c23-a65e-2d873029dd93"
    with sqlite3.connect(tmp_path / "registry.db") as conn:
        conn.execute("CREATE TABLE elders (elder_id, division_code, resident_id, birth_date, sex)")
        conn.execute("INSERT INTO elders VALUES (?, '410928100201', '410928193911090023', '1939-11-09', 'female')",
                     (elder,))
    cloner = Cloner({"registry": f"sqlite:///{tmp_path / 'registry.db'}"}, 2000)
    ids = {cloner._resident_id(elder, j) for j in range(1, 2000)} | {"410928193911090023"}
    assert len(ids) == 2000 and all(valid_resident_id(i) for i in ids)
    assert all(i[6:14] == "19391109" and int(i[16]) % 2 == 0 for i in ids)      # the same birth date, a woman


def test_clones_never_take_a_template_id_that_already_reads_as_a_clone_number():
    """A random delivery id ``dl-e0054b…`` is clone 0x54b's id under the letter ``e``; with
    2,000 copies the loader then wrote that stream twice (seen at 1M elders, once in three)."""
    from bench.gateway_load import clone_letter
    delivery = "dl-e0054b56f306435ea2aec70e"
    alert = "al-e00002bb-e29f-7661-b494-f09befa82e97"[3:]          # a uuid
    assert clone_letter(["elder-1", "019a0000-e29f-7661-b494-f09befa82e97"], 2000) == "e"
    assert clone_letter([delivery], 2000) == "d"
    assert clone_letter([delivery], 0x54b) == "e"                  # 0x54b is not below 0x54b copies
    assert clone_letter([delivery, alert, "dl-d000001111111111111111aa"], 2000) == "c"
