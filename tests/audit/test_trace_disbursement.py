"""``eldercare audit trace disbursement``: one amount justified from the logs alone — its rule
and hash, the facts and the registry events behind them (and not those recorded later), the
run's approval and payment, and the adjustment that corrected it."""
import json
from datetime import date

from typer.testing import CliRunner

from contracts import CATALOGUE
from kernel import migrate
from kernel.clock import start_of_local_day
from kernel.db import create_service_engine, transaction
from kernel.envelope import Actor, PendingEvent
from kernel.store import SqlAlchemyEventStore
from tests.subsidies.support import JINCHENG_VILLAGE, Subsidies, assessed, registered


def test_a_disbursement_is_traced_to_its_rule_facts_run_and_correction(tmp_path, monkeypatch):
    urls = {s: f"sqlite:///{tmp_path / (s + '.db')}" for s in ("registry", "subsidies", "facilities")}
    for service, url in urls.items():
        migrate.upgrade(service, url)
        monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", url)
    registry = create_service_engine(urls["registry"])
    registry_store = SqlAlchemyEventStore(registry, "registry", CATALOGUE)
    subsidies = Subsidies.create(urls["subsidies"], today=date(2026, 6, 3))

    def happen(*facts):
        """The registry records the facts; subsidies learns them (recorded a moment later)."""
        for type_, subject, data in facts:
            subsidies.clock.advance(seconds=1)
            with transaction(registry) as conn:
                version = registry_store.stream_version(subject, conn)
                registry_store.append(conn, [PendingEvent(subject, type_, data, start_of_local_day(
                    date.fromisoformat(data["effective_date"])), Actor("civil_affairs", "clerk", "county_coordinator"),
                    JINCHENG_VILLAGE)], {subject: version}, subsidies.clock.now())
            subsidies.learn((type_, subject, data))

    happen(registered("elder-1", "2026-01-05"))
    subsidies.run("2026-06")
    [june] = [e for e in subsidies.entries("elder-1") if e["programme"] == "care_subsidy"]
    happen(assessed("elder-1", "2026-05-20", "fully_disabled"))    # backdated: June was underpaid
    subsidies.run("2026-07", today=date(2026, 7, 2))
    subsidies.engine.dispose()

    from cli.audit import audit_app
    result = CliRunner().invoke(audit_app, ["trace", "disbursement", june["entry_id"], "--json"])
    assert result.exit_code == 0, result.output
    trace = json.loads(result.stdout)
    assert trace["entry"]["data"]["amount_fen"] == june["amount_fen"]
    assert len(trace["rule"]["hash"]) == 64 and trace["facts"]["self_care_level"] == "semi_disabled"
    assert [e["type"] for e in trace["fact_events"]] == ["registry.elder_registered.v1"]   # not the later assessment
    assert "subsidies.run_started.v1" in [e["type"] for e in trace["run"]]
    [correction] = trace["corrected_by"]
    assert correction["data"]["amount_fen"] > 0 and june["entry_id"] in correction["data"]["corrects"]
    missing = CliRunner().invoke(audit_app, ["trace", "disbursement", "nope"])
    assert missing.exit_code == 1
    registry.dispose()
