"""The facilities service end to end: real nameko containers (facilities and registry on one
vhost), a real database for facilities (SQLite and PostgreSQL), real RabbitMQ. Elders are
registered in the registry; facilities learns of them only through the registry's events,
and the registry learns of admissions only through facilities' events."""
from __future__ import annotations

import time
from datetime import date

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select

from demo.residents import make_resident_id, order_code
from tests.counting import written_events
from kernel import migrate
from kernel.db import create_service_engine
from kernel.errors import CommandRejected, NotFoundError, ValidationError
from kernel.hashchain import verify_log
from kernel.schema import events as events_table
from services.facilities.adapters.tables import known_elders
from services.facilities.service import FacilitiesService
from services.registry.service import RegistryService

VILLAGE = "410928101201"                  # where the elders live (in the registry's division table)
SANMENXIA = "411202100201"                # where the facilities are (grant policy applies)
TODAY = date(2026, 11, 23)
CLERK = {"department": "civil_affairs", "user": "clerk-1", "role": "county_coordinator"}


def wait_for(predicate, timeout=20.0, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        eventlet.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


class System:
    def __init__(self, facilities, registry, facilities_url):
        self.facilities, self.registry, self.facilities_url = facilities, registry, facilities_url
        self.engine = create_service_engine(facilities_url)

    def register(self, elder_id: str, sequence: int = 0) -> None:
        born = date(1940, 5, 1)
        self.registry.register_elder({
            "elder_id": elder_id, "resident_id": make_resident_id("410928", born, order_code(sequence, "male"), "male"),
            "name": "王大山", "sex": "male", "birth_date": born.isoformat(), "division_code": VILLAGE,
            "household_id": f"H-{elder_id}", "address": "东关村", "effective_date": "2026-01-05"}, CLERK)
        wait_for(lambda: self.knows(elder_id), message=f"facilities to learn of {elder_id}")

    def knows(self, elder_id: str, status: str = "active") -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(known_elders.c.record_status)
                                .where(known_elders.c.elder_id == elder_id)).scalar() == status

    def open(self, facility_id: str, capacity: int = 2, kind: str = "happiness_home", **overrides) -> dict:
        return self.facilities.open_facility({
            "facility_id": facility_id, "name": f"{facility_id} 幸福院", "division_code": SANMENXIA, "kind": kind,
            "operating_model": "public_built_public_run", "operator": "村委会", "capacity": capacity,
            "services": ["meals", "beds"], "effective_date": "2026-01-01", **overrides}, CLERK)

    def admit(self, facility_id: str, elder_id: str, kind: str = "centralised_support", on: str = "2026-03-01"):
        return self.facilities.admit_elder({"facility_id": facility_id, "elder_id": elder_id, "admission_kind": kind,
                                            "effective_date": on}, CLERK)

    def events(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(written_events()).scalar()


@pytest.fixture
def system(rabbit_config, database_url, tmp_path, container_factory):
    urls = {"facilities": database_url, "registry": f"sqlite:///{tmp_path / 'registry.db'}"}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    config = {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(),
              "RELAY": {"poll_interval": 0.1}, "REGISTRY": {"status_review_interval_seconds": 3600}}
    # Consumers first: each declares its queue before the other side publishes.
    for service_class in (FacilitiesService, RegistryService):
        container_factory(service_class, config).start()
    with ServiceRpcProxy("facilities", config) as facilities, ServiceRpcProxy("registry", config) as registry:
        system = System(facilities, registry, database_url)
        yield system
        system.engine.dispose()


def test_admission_reaches_the_registry_and_discharge_takes_the_elder_out(system):
    system.register("elder-1")
    system.open("home-1")
    facility = system.admit("home-1", "elder-1")
    assert facility["occupancy"] == 1 and facility["residents"][0]["elder_id"] == "elder-1"
    wait_for(lambda: system.registry.get_elder("elder-1")["facility_id"] == "home-1",
             message="the registry to record the admission")
    elder = system.registry.get_elder("elder-1")
    assert elder["support_mode"] == "centralised" and elder["in_facility_since"] == "2026-03-01"
    system.facilities.discharge_elder({"facility_id": "home-1", "elder_id": "elder-1", "reason": "went home",
                                       "effective_date": "2026-06-01"}, CLERK)
    wait_for(lambda: system.registry.get_elder("elder-1")["facility_id"] is None,
             message="the registry to record the discharge")
    assert system.registry.get_elder_as_of("elder-1", "2026-04-01")["support_mode"] == "centralised"
    assert system.registry.get_elder("elder-1")["support_mode"] == "dispersed"
    assert [s["left_on"] for s in system.facilities.elder_stays("elder-1")] == ["2026-06-01"]


def test_admission_refusals_name_the_field_and_write_nothing(system):
    system.register("elder-1")
    system.open("home-1", capacity=1)
    before = system.events()
    with pytest.raises(NotFoundError) as refused:
        system.admit("home-1", "stranger")
    assert refused.value.field == "elder_id"
    with pytest.raises(NotFoundError) as refused:
        system.admit("nowhere", "elder-1")
    assert refused.value.field == "facility_id"
    with pytest.raises(ValidationError) as refused:
        system.facilities.admit_elder({"facility_id": "home-1", "elder_id": "elder-1", "admission_kind": "hotel",
                                       "effective_date": "yesterday"}, CLERK)
    assert set(refused.value.errors) == {"admission_kind", "effective_date"}
    with pytest.raises(ValidationError) as refused:
        system.facilities.admit_elder({"facility_id": "home-1", "elder_id": "elder-1", "admission_kind": "day_care",
                                       "effective_date": "2026-03-01"}, {"department": "Bakery!", "user": "x",
                                                                         "role": "admin"})
    assert "department" in refused.value.errors
    assert system.events() == before


def test_two_admissions_for_the_last_bed_one_is_refused_as_full(system):
    for n, elder_id in enumerate(("a", "b", "c")):
        system.register(elder_id, sequence=n)
    system.open("home-1", capacity=2)
    system.admit("home-1", "a")
    replies = [system.facilities.admit_elder.call_async(
        {"facility_id": "home-1", "elder_id": elder_id, "admission_kind": "centralised_support",
         "effective_date": "2026-03-02"}, CLERK) for elder_id in ("b", "c")]
    outcomes = []
    for reply in replies:
        try:
            outcomes.append(reply.result()["occupancy"])
        except CommandRejected as refused:
            outcomes.append((refused.field, "full" in refused.message))
    assert sorted(outcomes, key=str) == sorted([2, ("facility_id", True)], key=str)
    facility = system.facilities.get_facility("home-1")
    assert facility["occupancy"] == 2 and len(system.facilities.facility_residents("home-1")) == 2


def test_one_elder_admitted_to_two_facilities_at_once_lands_in_one(system):
    system.register("elder-1")
    system.open("home-1")
    system.open("home-2")
    replies = [system.facilities.admit_elder.call_async(
        {"facility_id": facility_id, "elder_id": "elder-1", "admission_kind": "centralised_support",
         "effective_date": "2026-03-02"}, CLERK) for facility_id in ("home-1", "home-2")]
    accepted, refused = [], []
    for reply in replies:
        try:
            accepted.append(reply.result()["facility_id"])
        except CommandRejected as error:
            refused.append(error.field)
    assert len(accepted) == 1 and refused == ["elder_id"]
    assert [s["facility_id"] for s in system.facilities.elder_stays("elder-1")] == accepted


def test_a_death_reported_to_the_registry_frees_the_bed_and_refuses_new_admissions(system):
    system.register("elder-1")
    system.open("home-1")
    system.admit("home-1", "elder-1")
    system.registry.record_death({"elder_id": "elder-1", "effective_date": "2026-05-01"}, CLERK)
    wait_for(lambda: system.facilities.get_facility("home-1")["occupancy"] == 0, message="the discharge on death")
    history = system.facilities.facility_history("home-1")
    assert history[-1]["type"] == "facilities.elder_discharged.v1"
    assert history[-1]["data"]["effective_date"] == "2026-05-01" and history[-1]["actor"]["department"] == "system"
    with pytest.raises(CommandRejected) as refused:
        system.admit("home-1", "elder-1", on="2026-06-01")
    assert refused.value.field == "elder_id" and "died" in refused.value.message


def test_merge_moves_residents_and_the_registry_follows(system):
    for n, elder_id in enumerate(("a", "b")):
        system.register(elder_id, sequence=n)
    system.open("home-1")
    system.open("home-2", capacity=1)
    system.admit("home-1", "a")
    system.admit("home-1", "b", kind="day_care")
    with pytest.raises(CommandRejected) as refused:
        system.facilities.merge_facility({"facility_id": "home-1", "survivor_id": "home-2", "reason": "15 → 7",
                                          "effective_date": "2026-07-01"}, CLERK)
    assert refused.value.field == "survivor_capacity"
    merged = system.facilities.merge_facility({"facility_id": "home-1", "survivor_id": "home-2", "reason": "15 → 7",
                                               "survivor_capacity": 4, "effective_date": "2026-07-01"}, CLERK)
    assert merged["status"] == "merged" and merged["residents"] == []
    survivor = system.facilities.get_facility("home-2")
    assert survivor["capacity"] == 4 and {r["elder_id"] for r in survivor["residents"]} == {"a", "b"}
    wait_for(lambda: {system.registry.get_elder(e)["facility_id"] for e in "ab"} == {"home-2"},
             message="the registry to follow the merger")
    assert system.registry.get_elder("b")["support_mode"] == "dispersed"
    with pytest.raises(CommandRejected) as refused:
        system.admit("home-1", "a", on="2026-07-02")
    assert refused.value.field == "facility_id"


def test_star_ratings_as_of_a_date_and_awards_only_for_a_level_above_any_held_before(system):
    system.open("home-1")
    for stars, on in ((3, "2026-02-01"), (2, "2026-05-01"), (3, "2026-08-01")):
        system.facilities.rate_facility({"facility_id": "home-1", "stars": stars, "assessor": "三门峡民政局",
                                         "effective_date": on}, CLERK)
    assert system.facilities.get_facility_as_of("home-1", "2026-06-30")["stars"] == 2
    assert system.facilities.get_facility_as_of("home-1", "2026-01-31")["stars"] is None
    awards = [e["data"] for e in system.facilities.facility_history("home-1")
              if e["type"] == "facilities.star_award_granted.v1"]
    assert [(a["stars"], a["amount_fen"]) for a in awards] == [(3, 3_000_000)]   # 3★ → 2★ → 3★ reaches nothing new
    with pytest.raises(NotFoundError):
        system.facilities.get_facility_as_of("home-1", "2025-12-31")


def test_statistics_search_and_operating_subsidies(system):
    system.register("elder-1")
    system.open("home-1", capacity=10)
    system.open("centre-1", capacity=30, kind="day_care_centre_with_meals")
    system.open("nursing-1", capacity=50, kind="township_nursing_home", division_code="411202101000")
    system.open("elsewhere", capacity=5, division_code="410928101000")
    system.admit("home-1", "elder-1")
    system.facilities.rate_facility({"facility_id": "home-1", "stars": 4, "assessor": "x",
                                     "effective_date": "2026-04-01"}, CLERK)
    stats = system.facilities.facility_statistics("411202000000")
    assert set(stats["by_kind"]) == {"happiness_home", "day_care_centre_with_meals", "township_nursing_home"}
    home = stats["by_kind"]["happiness_home"]
    assert (home["facilities"], home["beds"], home["residents"], home["occupancy_rate"]) == (1, 10, 1, 0.1)
    assert home["stars"] == {"4": 1}
    assert stats["total"]["beds"] == 90 and stats["total"]["stars"] == {"4": 1, "unrated": 2}
    assert [r["facility_id"] for r in system.facilities.search_facilities({"division_code": "411202",
                                                                           "min_stars": 3})] == ["home-1"]
    with pytest.raises(ValidationError) as refused:
        system.facilities.search_facilities({"division_code": "41x"})
    assert "division_code" in refused.value.errors
    year = {"year": 2026, "effective_date": "2026-11-01"}
    assert system.facilities.assess_operating_subsidies(year, CLERK) == {"eligible": 2, "not_eligible": 2}
    assert system.facilities.assess_operating_subsidies(year, CLERK) == {"eligible": 0, "not_eligible": 4}
    grant = system.facilities.facility_history("centre-1")[-1]
    assert grant["type"] == "facilities.operating_subsidy_eligible.v1" and grant["data"]["amount_fen"] == 2_000_000


def test_log_chain_verifies(system):
    system.open("home-1")
    system.facilities.suspend_facility({"facility_id": "home-1", "reason": "repairs",
                                        "effective_date": "2026-02-01"}, CLERK)
    engine = create_service_engine(system.facilities_url)
    report = verify_log(engine)
    engine.dispose()
    assert report.ok and report.checked == system.events() == 2
