"""The registry records where an elder lives from facilities' admission events: the domain
rules (given/when/then) and the handler the durable consumer calls, on a real database."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from structlog.testing import capture_logs

from contracts import CATALOGUE
from kernel import migrate
from kernel.clock import FixedClock
from kernel.db import create_service_engine
from kernel.envelope import Actor, Envelope
from kernel.errors import CommandRejected, NotFoundError
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work
from services.registry.domain import (ElderDied, EnteredFacility, LeftFacility, RecordFacilityEntry,
                                      RecordFacilityExit, fold, fold_as_of)
from services.registry.handlers import CommandMeta, execute, load_elder, record_residence
from services.registry.rules import registry_context, registry_projections
from services.registry.schemas import COMMAND_SCHEMAS
from tests.registry.test_domain import ELDER, REGISTERED_ON, given, registered, resident_id

HOME = "home-1"
HOME_DIVISION = "410928100000"
ADMITTED_ON = date(2024, 3, 1)
TODAY = date(2024, 12, 1)


def entry(on: date = ADMITTED_ON, facility_id: str = HOME, kind: str = "centralised_support",
          from_facility_id: str | None = None) -> RecordFacilityEntry:
    return RecordFacilityEntry(ELDER, on, facility_id, HOME_DIVISION, kind, from_facility_id)


def entered(on: date = ADMITTED_ON, facility_id: str = HOME, kind: str = "centralised_support",
            from_facility_id: str | None = None) -> EnteredFacility:
    return EnteredFacility(elder_id=ELDER, effective_date=on, facility_id=facility_id,
                           facility_division_code=HOME_DIVISION, admission_kind=kind,
                           from_facility_id=from_facility_id)


# --- domain ---------------------------------------------------------------------------------

def test_admission_puts_the_elder_in_the_facility_under_centralised_support():
    scenario = given(registered()).when(entry(), TODAY).then(entered())
    state = fold(ELDER, scenario.history + scenario.events)
    assert (state.facility_id, state.support_mode, state.in_facility_since) == (HOME, "centralised", ADMITTED_ON)


def test_day_care_keeps_the_elder_in_dispersed_support():
    scenario = given(registered()).when(entry(kind="day_care"), TODAY).then(entered(kind="day_care"))
    assert fold(ELDER, scenario.history + scenario.events).support_mode == "dispersed"
    assert fold(ELDER, [registered()]).support_mode == "dispersed"


def test_a_transfer_replaces_the_facility():
    later = date(2024, 6, 1)
    scenario = given(registered(), entered()).when(entry(later, "home-2", from_facility_id=HOME), TODAY)
    scenario.then(entered(later, "home-2", from_facility_id=HOME))
    assert fold(ELDER, scenario.history + scenario.events).facility_id == "home-2"


def test_discharge_takes_the_elder_out_and_as_of_dates_still_show_the_stay():
    left_on = date(2024, 9, 1)
    scenario = given(registered(), entered()).when(RecordFacilityExit(ELDER, left_on, HOME, "went home"), TODAY)
    scenario.then(LeftFacility(elder_id=ELDER, effective_date=left_on, facility_id=HOME, reason="went home"))
    history = scenario.history + scenario.events
    assert fold(ELDER, history).facility_id is None and fold(ELDER, history).support_mode == "dispersed"
    assert fold_as_of(ELDER, history, date(2024, 8, 31)).facility_id == HOME
    assert fold_as_of(ELDER, history, date(2024, 2, 29)).facility_id is None


def test_refusals_name_the_field():
    given(registered()).when(RecordFacilityExit(ELDER, TODAY, HOME, "x"), TODAY).then_refused(
        CommandRejected, "facility_id")
    given(registered(), entered()).when(entry(), TODAY).then_refused(CommandRejected, "facility_id")
    given(registered(), entered()).when(entry(date(2024, 2, 1), "home-2"), TODAY).then_refused(
        CommandRejected, "effective_date")
    given(registered(), ElderDied(elder_id=ELDER, effective_date=date(2024, 2, 1))).when(entry(), TODAY).then_refused(
        CommandRejected, "elder_id")
    given().when(entry(), TODAY).then_refused(NotFoundError, "elder_id")


# --- the handler the consumer calls -----------------------------------------------------------

def facility_event(type_: str, *, on: date = ADMITTED_ON, facility_id: str = HOME, sequence: int = 1,
                   **data) -> Envelope:
    payload = {"facility_id": facility_id, "effective_date": on.isoformat(), "elder_id": ELDER,
               "division_code": HOME_DIVISION, "facility_kind": "township_nursing_home",
               "admission_kind": "centralised_support", **data}
    CATALOGUE.validate(type_, payload)
    now = datetime(2024, 12, 1, tzinfo=timezone.utc)
    return Envelope(id=f"{type_}-{sequence}", source="facilities", type=type_, subject=facility_id, time=now,
                    recorded_time=now, sequence=sequence, position=sequence,
                    actor=Actor("system", "facilities", "system"), jurisdiction=HOME_DIVISION, data=payload)


@pytest.fixture
def registry_db(database_url):
    migrate.upgrade("registry", database_url)
    config = {"DATABASES": {"registry": database_url}}
    engine = create_service_engine(database_url)
    store = SqlAlchemyEventStore(engine, "registry", CATALOGUE)
    clock = FixedClock()
    clock.set_today(TODAY)
    context, projections = registry_context(config), registry_projections(config)
    meta = CommandMeta(Actor("system", "facilities", "system"))

    def apply(event):
        with unit_of_work(engine, store, clock, projections) as uow:
            return record_residence(uow, context, event, meta, TODAY)

    def command(name, payload):
        with unit_of_work(engine, store, clock, projections) as uow:
            execute(uow, context, COMMAND_SCHEMAS[name].load(payload), meta, TODAY)

    command("register_elder", {
        "elder_id": ELDER, "resident_id": resident_id(), "name": "王大山", "sex": "male",
        "birth_date": "1950-03-15", "division_code": "410928101201", "household_id": "H-1", "address": "某村",
        "effective_date": REGISTERED_ON.isoformat()})
    yield apply, command, (lambda: load_elder(store, ELDER, CATALOGUE)), store
    engine.dispose()


def test_admission_transfer_and_discharge_events_update_the_record(registry_db):
    apply, _command, elder, store = registry_db
    apply(facility_event("facilities.elder_admitted.v1"))
    assert (elder().facility_id, elder().support_mode) == (HOME, "centralised")
    apply(facility_event("facilities.elder_transferred.v1", on=date(2024, 5, 1), facility_id="home-2", sequence=2,
                         from_facility_id=HOME, from_division_code=HOME_DIVISION, reason="nursing"))
    assert elder().facility_id == "home-2"
    apply(facility_event("facilities.elder_discharged.v1", on=date(2024, 6, 1), facility_id="home-2", sequence=3,
                         reason="went home"))
    assert elder().facility_id is None
    types = [e.type for e in store.read_stream(ELDER)]
    assert types[-3:] == ["registry.entered_facility.v1", "registry.entered_facility.v1", "registry.left_facility.v1"]


def test_an_event_the_rules_refuse_is_skipped_with_a_warning(registry_db):
    apply, command, elder, store = registry_db
    command("record_death", {"elder_id": ELDER, "effective_date": "2024-02-01"})
    before = len(store.read_stream(ELDER))
    with capture_logs() as logs:
        assert apply(facility_event("facilities.elder_admitted.v1")) is None
    assert len(store.read_stream(ELDER)) == before and elder().facility_id is None
    warning = next(line for line in logs if line["event"] == "facility event not applied to the elder's record")
    assert warning["field"] == "elder_id" and warning["log_level"] == "warning"
