"""Facilities handlers on a real database without the broker: the demo seed figures, the
projections rebuilt from the log equal the live ones, the database's one-current-stay
rule behind a stale read, the view of elders kept from registry events, and the CLI."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from contracts import CATALOGUE
from demo.facilities import generate_facilities, seed_totals
from kernel import migrate
from kernel.clock import FixedClock
from kernel.db import create_service_engine
from kernel.envelope import Actor, Envelope
from kernel.errors import CommandRejected, ConcurrencyError, NotFoundError
from kernel.projection import rebuild
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work
from services.facilities.adapters import elders, queries
from services.facilities.adapters.tables import facilities, known_elders, residences
from kernel.envelope import CommandMeta
from services.facilities.handlers import apply_registry_fact, execute
from services.facilities.rules import facilities_context, facilities_projections
from services.facilities.schemas import COMMAND_SCHEMAS

TODAY = date(2026, 11, 1)
META = CommandMeta(Actor("civil_affairs", "tester", "county_coordinator"))
VILLAGE = "411202100201"


class Harness:
    def __init__(self, url: str):
        migrate.upgrade("facilities", url)
        self.url, self.engine = url, create_service_engine(url)
        self.store = SqlAlchemyEventStore(self.engine, "facilities", CATALOGUE)
        self.clock = FixedClock()
        self.clock.set_today(TODAY)
        self.context, self.projections = facilities_context({}), facilities_projections()
        self.registry_sequence: Counter = Counter()

    def run(self, name: str, payload: dict):
        with unit_of_work(self.engine, self.store, self.clock, self.projections) as uow:
            return execute(uow, self.context, COMMAND_SCHEMAS[name].load(payload), META, TODAY)

    def registry_fact(self, type_: str, elder_id: str, **data):
        self.registry_sequence[elder_id] += 1
        sequence = self.registry_sequence[elder_id]
        now = datetime(2026, 1, 1, tzinfo=timezone.utc)
        event = Envelope(id=f"{elder_id}-{sequence}", source="registry", type=type_, subject=elder_id, time=now,
                         recorded_time=now, sequence=sequence, position=sequence,
                         actor=Actor("civil_affairs", "t", "county_coordinator"), jurisdiction="410928101201",
                         data={"elder_id": elder_id, "effective_date": "2026-01-05", **data})
        with unit_of_work(self.engine, self.store, self.clock, self.projections) as uow:
            apply_registry_fact(uow, self.context, event, META, TODAY)
        return event

    def register(self, elder_id: str):
        return self.registry_fact("registry.elder_registered.v1", elder_id, division_code="410928101201")

    def rows(self, table, order):
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(table).order_by(*order))]


@pytest.fixture
def harness(database_url):
    harness = Harness(database_url)
    yield harness
    harness.engine.dispose()


def opening(facility_id: str, capacity: int = 3, kind: str = "happiness_home") -> dict:
    return {"facility_id": facility_id, "name": facility_id, "division_code": VILLAGE, "kind": kind,
            "operating_model": "public_built_public_run", "operator": "村委会", "capacity": capacity,
            "effective_date": "2026-01-01"}


def admission(facility_id: str, elder_id: str, on: str = "2026-02-01", kind: str = "centralised_support") -> dict:
    return {"facility_id": facility_id, "elder_id": elder_id, "admission_kind": kind, "effective_date": on}


# --- demo dataset ---------------------------------------------------------------------------

def test_demo_dataset_has_the_seed_figures_and_is_deterministic():
    commands = list(generate_facilities())
    opened = Counter((c["payload"]["facility_id"].split("-")[1], c["payload"]["kind"])
                     for c in commands if c["command"] == "open_facility")
    assert opened == seed_totals()
    assert opened[("4109", "happiness_home")] == 2016 and opened[("4109", "county_support_centre")] == 9
    assert opened[("1405", "township_nursing_home")] == 34 and opened[("4112", "day_care_centre_with_meals")] == 167
    assert commands == list(generate_facilities()) and commands != list(generate_facilities(seed=7))
    offering = {c["payload"]["facility_id"] for c in commands if c["command"] == "declare_home_services"}
    assert {f for f in offering if "-4109-" in f} and {f for f in offering if "-1405-day_care" in f}
    assert not {f for f in offering if "-4112-" in f}
    for command in commands:   # every payload passes the service's own edge schema
        COMMAND_SCHEMAS[command["command"]].load(command["payload"])


def test_demo_dataset_loads_into_the_statistics(sqlite_url):
    harness = Harness(sqlite_url)
    for command in generate_facilities():
        harness.run(command["command"], command["payload"])
    with harness.engine.connect() as conn:
        puyang = queries.statistics(conn, "410900000000")
        sanmenxia = queries.statistics(conn, "411200000000")
    assert {kind: figures["facilities"] for kind, figures in puyang["by_kind"].items()} == {
        "county_support_centre": 9, "township_nursing_home": 75, "happiness_home": 2016}
    assert puyang["total"]["residents"] == 0 and puyang["total"]["beds"] > 2016 * 8
    assert sanmenxia["total"]["facilities"] == 167 + 69
    rated = sum(n for level, n in sanmenxia["total"]["stars"].items() if level != "unrated")
    awards = [e for e in harness.store.iter_all() if e.type == "facilities.star_award_granted.v1"]
    assert rated > 0 and len(awards) == rated and {e.data["division_code"][:4] for e in awards} == {"4112"}
    harness.engine.dispose()


# --- rebuild --------------------------------------------------------------------------------

def test_rebuilt_projections_equal_the_live_ones(harness):
    for elder_id in "abcdef":
        harness.register(elder_id)
    harness.run("open_facility", opening("home-1", capacity=4))
    harness.run("open_facility", opening("home-2", capacity=2))
    harness.run("open_facility", opening("centre-1", capacity=5, kind="day_care_centre_with_meals"))
    for elder_id in "abc":
        harness.run("admit_elder", admission("home-1", elder_id))
    harness.run("admit_elder", admission("centre-1", "d", kind="day_care"))
    harness.run("admit_elder", admission("home-2", "e"))
    harness.run("transfer_elder", {"facility_id": "home-1", "elder_id": "a", "to_facility_id": "home-2",
                                   "reason": "nursing", "effective_date": "2026-03-01"})
    harness.run("discharge_elder", {"facility_id": "home-1", "elder_id": "b", "reason": "home",
                                    "effective_date": "2026-04-01"})
    harness.run("admit_elder", admission("home-1", "b", on="2026-05-01"))
    harness.run("rate_facility", {"facility_id": "home-1", "stars": 3, "assessor": "x", "effective_date": "2026-05-02"})
    harness.run("change_details", {"facility_id": "home-1", "changes": {"name": "一号院", "services": ["meals"]},
                                   "reason": "renamed", "effective_date": "2026-05-03"})
    harness.run("merge_facility", {"facility_id": "home-1", "survivor_id": "home-2", "survivor_capacity": 6,
                                   "reason": "consolidation", "effective_date": "2026-06-01"})
    harness.run("suspend_facility", {"facility_id": "centre-1", "reason": "repairs", "effective_date": "2026-07-01"})
    live = (harness.rows(facilities, [facilities.c.facility_id]),
            harness.rows(residences, [residences.c.elder_id, residences.c.admitted_on]))
    assert [(r["facility_id"], r["status"], r["occupancy"], r["capacity"]) for r in live[0]] == [
        ("centre-1", "suspended", 1, 5), ("home-1", "merged", 0, 4), ("home-2", "open", 4, 6)]
    assert live[0][1]["name"] == "一号院" and live[0][1]["stars"] == 3
    assert sorted((r["elder_id"], r["facility_id"]) for r in live[1] if r["left_on"] is None) == [
        ("a", "home-2"), ("b", "home-2"), ("c", "home-2"), ("d", "centre-1"), ("e", "home-2")]
    assert len(live[1]) == 9   # a: 2 stays, b: 3 (discharged, re-admitted, merged), c: 2, d, e
    for projection in harness.projections:
        replayed = rebuild(harness.engine, harness.store, projection, batch_size=7)   # pages split streams
        assert replayed == harness.store.last_position()
    assert (harness.rows(facilities, [facilities.c.facility_id]),
            harness.rows(residences, [residences.c.elder_id, residences.c.admitted_on])) == live


# --- the database keeps one current stay per elder ------------------------------------------

def test_an_admission_decided_on_a_stale_residence_is_a_concurrency_conflict(harness, monkeypatch):
    harness.register("a")
    harness.run("open_facility", opening("home-1"))
    harness.run("open_facility", opening("home-2"))
    harness.run("admit_elder", admission("home-1", "a"))
    before = harness.store.last_position()
    # As if another admission of the same elder committed after this one looked.
    monkeypatch.setattr(elders, "current_residence", lambda conn, elder_id: None)
    with pytest.raises(ConcurrencyError):
        harness.run("admit_elder", admission("home-2", "a"))
    monkeypatch.undo()
    assert harness.store.last_position() == before
    with pytest.raises(CommandRejected) as refused:       # deciding again refuses it clearly
        harness.run("admit_elder", admission("home-2", "a"))
    assert refused.value.field == "elder_id" and "home-1" in refused.value.message


# --- the view of elders from registry events -------------------------------------------------

def test_registry_events_keep_the_view_of_elders_and_replays_change_nothing(harness):
    harness.run("open_facility", opening("home-1"))
    with pytest.raises(NotFoundError):           # not registered as far as facilities heard
        harness.run("admit_elder", admission("home-1", "a"))
    registered = harness.register("a")
    harness.registry_fact("registry.elder_moved.v1", "a", from_division_code="410928101201",
                          division_code="410928102201", address="x", household_id="h")
    view = harness.rows(known_elders, [known_elders.c.elder_id])
    assert [(r["elder_id"], r["division_code"], r["record_status"], r["version"]) for r in view] == [
        ("a", "410928102201", "active", 2)]
    with harness.engine.begin() as conn:
        assert elders.record_registry_fact(conn, registered) is False     # an old event changes nothing
    assert harness.rows(known_elders, [known_elders.c.elder_id]) == view
    harness.registry_fact("registry.record_merged_into.v1", "a", survivor_id="z", reason="duplicate")
    with pytest.raises(CommandRejected) as refused:
        harness.run("admit_elder", admission("home-1", "a"))
    assert refused.value.field == "elder_id" and "z" in refused.value.message


def test_cli_rebuilds_the_facilities_projections(sqlite_url, tmp_path):
    harness = Harness(sqlite_url)
    harness.run("open_facility", opening("home-1"))
    live = harness.rows(facilities, [facilities.c.facility_id])
    config = tmp_path / "config.yml"
    config.write_text(f"AMQP_URI: amqp://guest:guest@127.0.0.1:5672/\nDATABASES:\n  facilities: {sqlite_url}\n")
    from cli.app import app
    result = CliRunner().invoke(app, ["--config", str(config), "rebuild", "facilities"])
    assert result.exit_code == 0, result.output
    assert "facility_read_model" in result.output
    assert harness.rows(facilities, [facilities.c.facility_id]) == live
    harness.engine.dispose()
