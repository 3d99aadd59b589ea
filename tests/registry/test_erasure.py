"""Erasing an elder (registry.erase_elder): the registry destroys their key, every consuming
service acts on registry.elder_erased, and afterwards no SQLite file of any service and no
audit export bundle holds the elder's name, resident ID or phone — while every log, its
checkpoints and the bundle still verify. Bad input is refused naming the field, writing nothing."""
import json
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.counting import written_events
from contracts import CATALOGUE
from contracts.services import SERVICES as SERVICE_CONTRACTS
from demo.generator import generate_county
from kernel import migrate, personal
from kernel.checkpoints import CheckpointSigner, init_keys, seal_log
from kernel.clock import FixedClock
from kernel.db import create_service_engine
from kernel.envelope import Actor, CommandMeta
from kernel.errors import NotFoundError, NotPermittedError, ValidationError
from kernel.hashchain import verify_log
from kernel.proofs import export_bundle, verify_bundle
from kernel.schema import events as events_table
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work
from kernel.validation import load_or_refuse
from services.facilities.adapters.elders import record_registry_fact
from services.notifications import handlers as notifications
from services.registry.handlers import execute
from services.registry.rules import registry_context, registry_projections
from services.registry.schemas import COMMAND_SCHEMAS
from services.subsidies.handlers import observe_event
from services.visits.domain import RegisterVisitor
from services.visits.handlers import assign_visitor, observe_registry_event, record_visit, run_visitor_command
from services.visits.rules import visits_context, visits_projections

TODAY = date(2026, 11, 1)
SERVICES = ("registry", "visits", "notifications", "subsidies", "facilities")
COORDINATOR = CommandMeta(Actor("civil_affairs", "coordinator-1", "county_coordinator"))
VILLAGE_WORKER = CommandMeta(Actor("civil_affairs", "worker-1", "village_worker"))


def _takes(service: str, envelope) -> bool:
    return envelope.type in SERVICE_CONTRACTS[service].consumer("on_registry_event").event_types


def _feed(engines, stores, clock, visits_ctx, visits_proj, envelopes):
    """Each consumer applies the registry's events it subscribes to, as its durable handler would."""
    for envelope in envelopes:
        if _takes("visits", envelope):
            with unit_of_work(engines["visits"], stores["visits"], clock, visits_proj) as uow:
                observe_registry_event(uow, visits_ctx, envelope, TODAY)
        if _takes("notifications", envelope):
            with unit_of_work(engines["notifications"], stores["notifications"], clock) as uow:
                if envelope.type == "registry.elder_erased.v1":
                    notifications.drop_personal_copies(uow.conn, envelope)
                else:
                    notifications.apply_registry_fact(uow.conn, envelope.type, envelope.data)
        if _takes("subsidies", envelope):
            with unit_of_work(engines["subsidies"], stores["subsidies"], clock) as uow:
                observe_event(uow, envelope)
        if _takes("facilities", envelope):
            with unit_of_work(engines["facilities"], stores["facilities"], clock) as uow:
                record_registry_fact(uow.conn, envelope)


@pytest.fixture
def county(tmp_path, monkeypatch):
    """A small county in the registry, its events consumed by four services, a visitor
    assigned (the written notice names the elder and the supporters) and a visit recorded."""
    urls = {s: f"sqlite:///{tmp_path / 'db' / f'{s}.db'}" for s in SERVICES}
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
            execute(uow, context, COMMAND_SCHEMAS[command["command"]].load(command["payload"]), COORDINATOR, TODAY)
    visits_ctx, visits_proj = visits_context(config), visits_projections(config)
    _feed(engines, stores, clock, visits_ctx, visits_proj, list(stores["registry"].iter_all()))
    registered = [e for e in stores["registry"].iter_all() if e.type == "registry.elder_registered.v1"
                  and e.data["phone"] and e.data["supporters"]]
    elder = registered[0].data
    with unit_of_work(engines["visits"], stores["visits"], clock, visits_proj) as uow:
        run_visitor_command(uow, visits_ctx, RegisterVisitor("v-1", "李明", "13800000000", "village_cadre", "村委会",
                                                             (elder["division_code"],), TODAY), COORDINATOR)
    with unit_of_work(engines["visits"], stores["visits"], clock, visits_proj) as uow:
        assign_visitor(uow, visits_ctx, elder["elder_id"], "v-1", TODAY, COORDINATOR)
    with unit_of_work(engines["visits"], stores["visits"], clock, visits_proj) as uow:
        record_visit(uow, visits_ctx, {"elder_id": elder["elder_id"], "visit_id": "visit-1", "visitor_id": "v-1",
                                       "mode": "home", "visited_on": date(2026, 10, 30), "services": ["emotional_comfort"],
                                       "findings": {"health": f"{elder['name']}血压偏高"}, "risks": [],
                                       "supersedes": None, "correction_reason": None}, TODAY, COORDINATOR)
    yield engines, stores, clock, context, projections, (visits_ctx, visits_proj), elder, tmp_path
    for engine in engines.values():
        engine.dispose()


def _erase(county, meta=COORDINATOR, **payload):
    engines, stores, clock, context, projections, *_ = county
    command = load_or_refuse(COMMAND_SCHEMAS["erase_elder"], {
        "effective_date": TODAY.isoformat(), "legal_ground": "consent_withdrawn",
        "reason": "the elder withdrew consent (request 2026-117)", **payload})
    with unit_of_work(engines["registry"], stores["registry"], clock, projections) as uow:
        return execute(uow, context, command, meta, TODAY)


def _secrets(elder) -> dict[str, bytes]:
    return {"name": elder["name"].encode(), "resident_id": elder["resident_id"].encode(),
            "phone": elder["phone"].encode(), "supporter phone": elder["supporters"][0]["phone"].encode()}


def _files_holding(directory, secrets) -> list[str]:
    found = []
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            content = path.read_bytes()
            found += [f"{path.name}: {what}" for what, value in secrets.items() if value in content]
    return found


def test_an_erased_elder_is_nowhere_in_any_database_or_export_and_every_log_still_verifies(county):
    engines, stores, clock, _, _, (visits_ctx, visits_proj), elder, tmp_path = county
    secrets = _secrets(elder)
    for engine in engines.values():
        personal.purge_freed_pages(engine)
    assert _files_holding(tmp_path / "db", secrets)      # before: the read models hold copies (the test can fail)

    state = _erase(county, elder_id=elder["elder_id"])
    assert state.erased_on == TODAY
    erasure = stores["registry"].read_stream(elder["elder_id"])[-1]
    assert erasure.type == "registry.elder_erased.v1" and erasure.actor == COORDINATOR.actor
    assert erasure.data["legal_ground"] == "consent_withdrawn"
    _feed(engines, stores, clock, visits_ctx, visits_proj, [erasure])

    # Reads answer [erased]; the other elders are untouched.
    registered = stores["registry"].read_stream(elder["elder_id"])[0].data
    assert registered["name"] == registered["resident_id"] == registered["phone"] == personal.ERASED
    assert registered["division_code"] == elder["division_code"]
    other = next(e for e in stores["registry"].iter_all() if e.type == "registry.elder_registered.v1"
                 and e.subject != elder["elder_id"])
    assert personal.ERASED not in json.dumps(other.data)

    key_dir = tmp_path / "keys"
    init_keys(list(SERVICES), key_dir)
    checkpoints = {}
    for service in SERVICES:
        checkpoint = seal_log(engines[service], stores[service], CheckpointSigner.from_key_dir(service, key_dir), clock)
        checkpoints[service] = [checkpoint] if checkpoint else []
        assert verify_log(engines[service]).ok, service
    bundle = tmp_path / "bundle"
    export_bundle(bundle, {s: (engines[s], checkpoints[s]) for s in SERVICES}, key_dir / "public_keys.yml")
    assert verify_bundle(bundle).ok
    for engine in engines.values():
        personal.purge_freed_pages(engine)
        engine.dispose()
    assert _files_holding(tmp_path / "db", secrets) == []
    assert _files_holding(bundle, secrets) == []


def test_erasure_refuses_bad_input_naming_the_field_and_writes_nothing(county):
    engines, stores, *_, elder, _ = county

    def count():
        with engines["registry"].connect() as conn:
            return conn.execute(written_events()).scalar()

    before = count()
    with pytest.raises(NotFoundError) as unknown:
        _erase(county, elder_id="no-such-elder")
    assert unknown.value.field == "elder_id"
    with pytest.raises(ValidationError) as no_ground:
        _erase(county, elder_id=elder["elder_id"], legal_ground=None)
    assert "legal_ground" in no_ground.value.errors
    with pytest.raises(ValidationError) as bad_ground:
        _erase(county, elder_id=elder["elder_id"], legal_ground="no_reason")
    assert "legal_ground" in bad_ground.value.errors
    with pytest.raises(NotPermittedError) as forbidden:
        _erase(county, VILLAGE_WORKER, elder_id=elder["elder_id"])
    assert forbidden.value.field == "actor.role"
    assert count() == before
    assert stores["registry"].read_stream(elder["elder_id"])[0].data["name"] == elder["name"]
    _erase(county, elder_id=elder["elder_id"])
    with pytest.raises(Exception) as again:                  # an erased record takes no more commands
        _erase(county, elder_id=elder["elder_id"])
    assert again.value.field == "elder_id"


def test_the_retention_timer_erases_deceased_elders_kept_longer_than_the_policy(county):
    engines, stores, clock, context, projections, _visits, elder, _ = county
    from services.registry.domain import EraseElder
    from services.registry.handlers import due_for_retention
    death = load_or_refuse(COMMAND_SCHEMAS["record_death"], {"elder_id": elder["elder_id"],
                                                             "effective_date": TODAY.isoformat()})
    with unit_of_work(engines["registry"], stores["registry"], clock, projections) as uow:
        execute(uow, context, death, COORDINATOR, TODAY)
    kept_until, due_on = date(2036, 10, 31), date(2036, 11, 1)      # policies/privacy.yml: 10 years
    def due(on):        # the demo county has other deceased elders, who died earlier
        with engines["registry"].connect() as conn:
            return [item for item in due_for_retention(conn, context, on) if item[0] == elder["elder_id"]]

    assert due(kept_until) == []
    assert due(due_on) == [(elder["elder_id"], TODAY.isoformat(), 10)]
    system = CommandMeta(Actor.system("registry"))
    with pytest.raises(NotPermittedError):      # only the registry itself erases on this ground without the role
        with unit_of_work(engines["registry"], stores["registry"], clock, projections) as uow:
            execute(uow, context, EraseElder(elder["elder_id"], due_on, "retention_expired", "retention"),
                    VILLAGE_WORKER, due_on)
    with unit_of_work(engines["registry"], stores["registry"], clock, projections) as uow:
        execute(uow, context, EraseElder(elder["elder_id"], due_on, "retention_expired", "retention: 10 years"),
                system, due_on)
    erasure = stores["registry"].read_stream(elder["elder_id"])[-1]
    assert (erasure.type, erasure.data["legal_ground"], erasure.actor.role) == (
        "registry.elder_erased.v1", "retention_expired", "system")
    assert stores["registry"].read_stream(elder["elder_id"])[0].data["name"] == personal.ERASED
    assert due(due_on) == []


def test_a_consent_is_given_and_withdrawn_by_department_and_refused_when_it_changes_nothing(county):
    engines, stores, clock, context, projections, _visits, elder, _ = county
    from kernel.errors import CommandRejected

    def run(command, **payload):
        request = load_or_refuse(COMMAND_SCHEMAS[command], {"elder_id": elder["elder_id"], "effective_date":
                                                            TODAY.isoformat(),
                                                            "scope": "share_health_with_departments", **payload})
        with unit_of_work(engines["registry"], stores["registry"], clock, projections) as uow:
            return execute(uow, context, request, COORDINATOR, TODAY)

    assert run("give_consent", departments=["justice", "finance"]).consents == {
        "share_health_with_departments": ("finance", "justice")}
    with pytest.raises(CommandRejected) as nothing_new:
        run("give_consent", departments=["justice"])
    assert nothing_new.value.field == "departments"
    assert run("withdraw_consent", departments=["finance"]).consents == {"share_health_with_departments": ("justice",)}
    with pytest.raises(CommandRejected) as not_given:
        run("withdraw_consent", departments=["culture"])
    assert not_given.value.field == "departments"
    with pytest.raises(ValidationError) as bad:
        run("give_consent", departments=[], scope="everything")
    assert {"departments", "scope"} <= set(bad.value.errors)
    types = [e.type for e in stores["registry"].read_stream(elder["elder_id"])][-2:]
    assert types == ["registry.consent_given.v1", "registry.consent_withdrawn.v1"]
