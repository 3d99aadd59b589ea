"""The auditor's cross-service view, straight from the logs with no service running: one
elder's history through the registry and visits, and projections replayed against the live
ones."""
import json
from datetime import date

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from contracts import CATALOGUE
from demo.generator import generate_county
from kernel import migrate
from kernel.clock import FixedClock
from kernel.db import create_service_engine, transaction
from kernel.envelope import Actor, CommandMeta
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work
from services.registry.handlers import execute
from services.registry.rules import registry_context, registry_projections
from services.registry.schemas import COMMAND_SCHEMAS
from services.visits.handlers import observe_registry_event, record_visit
from services.visits.rules import visits_context, visits_projections

TODAY = date(2026, 11, 1)
META = CommandMeta(Actor("civil_affairs", "auditor-test", "county_coordinator"))


@pytest.fixture
def county(tmp_path, monkeypatch):
    """A small county in the registry, fed to visits as its consumer would, one visit recorded."""
    urls = {s: f"sqlite:///{tmp_path / f'{s}.db'}" for s in ("registry", "visits")}
    for service, url in urls.items():
        migrate.upgrade(service, url)
        monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", url)
    engines = {s: create_service_engine(u) for s, u in urls.items()}
    stores = {s: SqlAlchemyEventStore(engines[s], s, CATALOGUE) for s in urls}
    clock = FixedClock()
    clock.set_today(TODAY)
    config = {"DATABASES": urls}
    context, projections = registry_context(config), registry_projections(config)
    for command in generate_county(elders=30, seed=3, today=TODAY):
        with unit_of_work(engines["registry"], stores["registry"], clock, projections) as uow:
            execute(uow, context, COMMAND_SCHEMAS[command["command"]].load(command["payload"]), META, TODAY)
    visits_ctx, visits_proj = visits_context(config), visits_projections(config)
    for envelope in stores["registry"].iter_all():
        with unit_of_work(engines["visits"], stores["visits"], clock, visits_proj) as uow:
            observe_registry_event(uow, visits_ctx, envelope, TODAY)
    with engines["visits"].connect() as conn:
        elder_id = conn.execute(text("SELECT elder_id FROM plans ORDER BY elder_id LIMIT 1")).scalar()
    from services.visits.domain import RegisterVisitor
    from services.visits.handlers import run_visitor_command
    with engines["visits"].connect() as conn:
        village = conn.execute(text("SELECT division_code FROM plans WHERE elder_id = :e"), {"e": elder_id}).scalar()
    with unit_of_work(engines["visits"], stores["visits"], clock, visits_proj) as uow:
        run_visitor_command(uow, visits_ctx, RegisterVisitor("v-1", "李明", "13800000000", "village_cadre", "村委会",
                                                             (village,), TODAY), META)
    with unit_of_work(engines["visits"], stores["visits"], clock, visits_proj) as uow:
        record_visit(uow, visits_ctx, {"elder_id": elder_id, "visit_id": "visit-1", "visitor_id": "v-1",
                                       "mode": "home", "visited_on": date(2026, 10, 30), "services": ["emotional_comfort"],
                                       "findings": {}, "risks": [], "supersedes": None, "correction_reason": None},
                     TODAY, META)
    yield engines, elder_id
    for engine in engines.values():
        engine.dispose()


def test_trace_elder_merges_the_registry_and_visits_histories_in_time_order(county):
    _, elder_id = county
    from cli.audit import audit_app
    result = CliRunner().invoke(audit_app, ["trace", "elder", elder_id, "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    types = [e["type"] for e in found]
    assert types[0] == "registry.elder_registered.v1"
    assert {"visits.plan_opened.v1", "visits.obligation_changed.v1", "visits.visit_recorded.v1"} <= set(types)
    assert {e["source"] for e in found} == {"registry", "visits"}
    assert all(e["data"].get("elder_id") == elder_id for e in found)
    assert [e["time"] for e in found] == sorted(e["time"] for e in found)
    # Visits' obligation change names the registry event that caused it.
    registry_ids = {e["event_id"] for e in found if e["source"] == "registry"}
    assert any(e["causation_id"] in registry_ids for e in found if e["type"] == "visits.obligation_changed.v1")


def test_trace_of_an_unknown_elder_says_so(county):
    from cli.audit import audit_app
    result = CliRunner().invoke(audit_app, ["trace", "elder", "nobody"])
    assert result.exit_code == 1 and "no service's log mentions" in result.output


def test_replay_matches_live_projections_and_reports_drift_by_table_and_key(county):
    engines, elder_id = county
    from cli.audit import audit_app
    runner = CliRunner()
    for service in ("registry", "visits"):
        result = runner.invoke(audit_app, ["replay", service, "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["drift"] == []
    with transaction(engines["visits"]) as conn:       # a projection edited behind the log's back
        conn.execute(text("UPDATE plans SET classes = 'key_target' || classes WHERE elder_id = :e"), {"e": elder_id})
        conn.execute(text("DELETE FROM visit_records WHERE visit_id = 'visit-1'"))
    result = runner.invoke(audit_app, ["replay", "visits", "--json"])
    assert result.exit_code == 1
    drift = json.loads(result.stdout)["drift"]
    assert {"table": "visit_records", "key": ["visit-1"], "kind": "missing in live", "columns": {}} in drift
    [plan] = [d for d in drift if d["table"] == "plans"]
    assert plan["key"] == [elder_id] and plan["columns"]["classes"][0].startswith("key_target")
