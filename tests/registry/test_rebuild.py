"""The elder directory dropped and rebuilt from the log equals the live one; the CLI does it."""
from datetime import date

from sqlalchemy import select
from typer.testing import CliRunner

from contracts import CATALOGUE
from demo.generator import generate_county
from kernel import migrate
from kernel.clock import FixedClock
from kernel.db import create_service_engine
from kernel.envelope import Actor
from kernel.projection import rebuild
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work
from services.registry.adapters.tables import elders
from services.registry.handlers import CommandMeta, execute
from services.registry.rules import registry_context, registry_projections
from services.registry.schemas import COMMAND_SCHEMAS

TODAY = date(2026, 11, 1)


def load_demo(url, count=60):
    config = {"DATABASES": {"registry": url}}
    context, projections = registry_context(config), registry_projections(config)
    engine = create_service_engine(url)
    store = SqlAlchemyEventStore(engine, "registry", CATALOGUE)
    clock = FixedClock()
    clock.set_today(TODAY)
    meta = CommandMeta(Actor("civil_affairs", "loader", "county_coordinator"))
    for command in generate_county(elders=count, seed=3, today=TODAY):
        with unit_of_work(engine, store, clock, projections) as uow:
            execute(uow, context, COMMAND_SCHEMAS[command["command"]].load(command["payload"]), meta, TODAY)
    return engine, store, projections


def directory(engine):
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(elders).order_by(elders.c.elder_id))]


def test_rebuilt_directory_equals_live_directory(database_url):
    migrate.upgrade("registry", database_url)
    engine, store, projections = load_demo(database_url)
    live = directory(engine)
    assert len(live) == 60 and any(row["left_behind"] for row in live)
    with engine.begin() as conn:
        conn.execute(elders.delete())
    assert directory(engine) == []
    replayed = rebuild(engine, store, projections[0])
    assert replayed == store.last_position()
    assert directory(engine) == live
    engine.dispose()


def test_cli_rebuild_and_verify(sqlite_url, tmp_path, monkeypatch):
    migrate.upgrade("registry", sqlite_url)
    engine, _store, _projections = load_demo(sqlite_url, count=10)
    live = directory(engine)
    config = tmp_path / "config.yml"
    config.write_text(f"AMQP_URI: amqp://guest:guest@127.0.0.1:5672/\nDATABASES:\n  registry: {sqlite_url}\n")
    from cli.app import app
    runner = CliRunner()
    result = runner.invoke(app, ["--config", str(config), "rebuild", "registry"])
    assert result.exit_code == 0, result.output
    assert directory(engine) == live
    result = runner.invoke(app, ["--config", str(config), "verify", "registry", "--json"])
    assert result.exit_code == 0 and '"ok": true' in result.output
    result = runner.invoke(app, ["--config", str(config), "rebuild", "registry", "no_such_projection"])
    assert result.exit_code == 2
    engine.dispose()
