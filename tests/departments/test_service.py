"""The departments' records end to end: the departments, registry and notifications services
in real nameko containers over real RabbitMQ, the departments' database on SQLite and on
PostgreSQL. A poverty registration changes the registry's support status through its
command; a health risk and a case raise alerts; a case opened from a referral accepts it
and its closure settles it; bad input is refused by field with nothing written."""
import time
from datetime import date

import eventlet
import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import create_engine, func, select

from demo.residents import make_resident_id, order_code
from tests.counting import written_events
from contracts import CATALOGUE
from kernel import migrate
from kernel.db import create_service_engine
from kernel.replay import replay_and_compare
from services.departments.adapters.projections import DepartmentsProjection, FinanceProjection
from kernel.errors import CommandRejected, NotFoundError, ValidationError
from kernel.schema import events
from services.departments.service import DepartmentsService
from services.notifications.service import NotificationsService
from services.registry.service import RegistryService

TODAY = date(2026, 11, 23)
VILLAGE, OTHER_VILLAGE = "410928101201", "410928102201"
CLERK = {"department": "civil_affairs", "user": "clerk-1", "role": "county_coordinator"}
DOCTOR = {"department": "health", "user": "doctor-1", "role": "village_worker"}
HR = {"department": "human_resources_social_security", "user": "hr-1", "role": "department_officer"}
POVERTY = {"department": "poverty_alleviation", "user": "fp-1", "role": "department_officer"}
POLICE = {"department": "public_security", "user": "police-1", "role": "department_officer"}
JUSTICE = {"department": "justice", "user": "lawyer-1", "role": "department_officer"}
CULTURE = {"department": "culture", "user": "culture-1", "role": "department_officer"}


def registration(elder_id: str, born: date, village: str = VILLAGE) -> dict:
    return {"elder_id": elder_id, "resident_id": make_resident_id("410928", born, order_code(0, "female"), "female"),
            "name": "王秀英", "sex": "female", "birth_date": born.isoformat(), "division_code": village,
            "household_id": f"h-{elder_id}", "address": "一组", "effective_date": "2026-01-05",
            "supporters": [{"supporter_id": "s1", "name": "王强", "relationship": "son", "phone": "13800000000"}]}


@pytest.fixture
def system(rabbit_config, database_url, tmp_path, container_factory):
    classes = (RegistryService, NotificationsService, DepartmentsService)
    urls = {cls.name: f"sqlite:///{tmp_path / (cls.name + '.db')}" for cls in classes}
    urls["departments"] = database_url
    for service, url in urls.items():
        migrate.upgrade(service, url)
    config = {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(), "RELAY": {"poll_interval": 0.1},
              "REGISTRY": {"status_review_interval_seconds": 3600},
              "NOTIFICATIONS": {"sweep_interval_seconds": 3600, "delivery_interval_seconds": 3600},
              "CHECKPOINTS": {"interval_seconds": 3600}}
    for cls in classes:
        container_factory(cls, config).start()
    with ClusterRpcProxy(config, timeout=60) as rpc:
        rpc.registry.register_elder(registration("e1", date(1950, 3, 1)), CLERK)
        rpc.registry.register_elder(registration("e2", date(1970, 3, 1), OTHER_VILLAGE), CLERK)
        rpc.registry.register_elder(registration("e3", date(1945, 3, 1)), CLERK)
        rpc.registry.record_death({"elder_id": "e3", "effective_date": "2026-10-01"}, CLERK)
        rpc.url, rpc.amqp_uri = database_url, rabbit_config["AMQP_URI"]
        yield rpc


def eventually(read, timeout=15.0):
    """The first non-empty answer of ``read`` (events reach notifications through the broker)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value or time.monotonic() > deadline:
            return value
        eventlet.sleep(0.1)


def logged(url: str) -> int:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return conn.execute(written_events()).scalar_one()
    finally:
        engine.dispose()


def test_poverty_registration_changes_the_registrys_support_status(system):
    rpc = system
    record = rpc.departments.register_poverty({"elder_id": "e1", "effective_date": "2026-11-01",
                                               "reason": "因病致贫"}, POVERTY)
    assert (record["record_id"], record["status"], record["department"]) == ("poverty:e1", "registered",
                                                                             "poverty_alleviation")
    elder = rpc.registry.get_elder("e1")
    assert elder["support_status"]["poverty_registered"] is True
    change = [e for e in rpc.registry.elder_events("e1") if e["type"] == "registry.support_status_changed.v1"]
    assert len(change) == 1 and change[0]["actor"] == "poverty_alleviation/fp-1" and "建档立卡" in change[0]["data"]["reason"]
    ours = [e for e in rpc.departments.elder_events("e1") if e["type"] == "departments.poverty_registered.v1"]
    assert ours[0]["data"]["registry_command_id"] == "departments/poverty:e1/0"
    rpc.departments.end_poverty_registration({"elder_id": "e1", "effective_date": "2026-11-20",
                                              "reason": "lifted_out"}, POVERTY)
    assert rpc.registry.get_elder("e1")["support_status"]["poverty_registered"] is False
    summary = rpc.departments.division_summary({"division_code": "410928000000"})
    assert summary["poverty_registered"] == 0
    # Registered, then the elder dies: the registration ends here; the registry's record is closed.
    rpc.departments.register_poverty({"elder_id": "e1", "effective_date": "2026-11-21", "reason": "因病返贫"}, POVERTY)
    rpc.registry.record_death({"elder_id": "e1", "effective_date": "2026-11-22"}, CLERK)
    ended = rpc.departments.end_poverty_registration({"elder_id": "e1", "effective_date": "2026-11-23",
                                                      "reason": "deceased"}, POVERTY)
    assert ended["status"] == "ended"


def test_a_health_risk_and_a_case_raise_alerts_and_a_case_settles_its_referral(system):
    rpc = system
    rpc.departments.record_health_check({
        "elder_id": "e1", "effective_date": "2026-06-01", "examiner": "村医李",
        "findings": [{"code": "hypertension", "note": "180/110"}], "risk_severity": "high"}, DOCTOR)
    alerts = eventually(lambda: rpc.notifications.list_alerts({"kind": "health_risk_found"}))
    assert [(a["elder_id"], a["severity"]) for a in alerts] == [("e1", "high")]
    assert "180/110" not in alerts[0]["summary"]                      # personal details stay in the record

    referral = rpc.notifications.create_referral({"to_department": "justice", "division_code": VILLAGE,
                                                  "request": "子女不履行赡养义务，请依法处理", "elder_id": "e1"}, CLERK)
    with pytest.raises(CommandRejected) as wrong_department:         # sent to justice, not the police
        rpc.departments.open_case({"elder_id": "e1", "effective_date": "2026-11-20", "kind": "supporter_neglect",
                                   "summary": "儿子外出不寄赡养费", "referral_id": referral["referral_id"]}, POLICE)
    assert wrong_department.value.field == "referral_id"
    case = rpc.departments.open_case({"elder_id": "e1", "effective_date": "2026-11-20", "kind": "supporter_neglect",
                                      "summary": "儿子外出不寄赡养费", "referral_id": referral["referral_id"],
                                      "case_id": "c-1"}, JUSTICE)
    assert (case["record_id"], case["status"]) == ("case:c-1", "open")
    assert eventually(lambda: rpc.notifications.list_alerts({"kind": "case_opened"}))
    accepted = eventually(lambda: [r for r in rpc.notifications.list_referrals({"status": "open"})
                                   if r["status"] == "action_taken"])
    assert accepted[0]["referral_id"] == referral["referral_id"]
    rpc.departments.give_legal_aid({"case_id": "c-1", "effective_date": "2026-11-21", "aid": "mediation"}, JUSTICE)
    rpc.departments.close_case({"case_id": "c-1", "effective_date": "2026-11-22", "outcome": "supporter_ordered"},
                               JUSTICE)
    closed = eventually(lambda: rpc.notifications.list_referrals({"status": "closed"}))
    assert [(r["referral_id"], r["outcome"]) for r in closed] == [(referral["referral_id"], "resolved")]
    assert rpc.departments.get_case("c-1")["legal_aid"] == 1
    summary = rpc.departments.division_summary({"division_code": "410928101000"})
    assert (summary["health_checked_this_year"], summary["health_risks_this_year"], summary["open_cases"],
            summary["cases_closed_this_year"], summary["legal_aid_this_year"]) == (1, 1, 0, 1, 1)


def test_every_department_writes_its_own_and_the_dashboard_counts_it(system, tmp_path):
    rpc = system
    rpc.departments.enrol_pension({"elder_id": "e1", "effective_date": "2026-01-02",
                                   "scheme": "urban_rural_residents"}, HR)
    rpc.departments.change_pension_status({"elder_id": "e1", "effective_date": "2026-02-01", "status": "receiving",
                                           "monthly_amount_fen": 18800, "reason": "达到领取年龄"}, HR)
    rpc.departments.sign_family_doctor({"elder_id": "e1", "effective_date": "2026-03-01", "doctor": "李医生",
                                        "team": "一村卫生室", "valid_until": "2027-02-28"}, DOCTOR)
    rpc.departments.record_cultural_service({"elder_id": "e1", "effective_date": "2026-10-01",
                                             "service": "performance", "provider": "乡文化站"}, CULTURE)
    rpc.departments.open_case({"elder_id": "e1", "effective_date": "2026-11-01", "kind": "fraud",
                               "summary": "保健品诈骗"}, POLICE)
    rpc.departments.start_poverty_monitoring({"elder_id": "e1", "effective_date": "2026-11-01", "risk": "illness"},
                                             POVERTY)
    summary = rpc.departments.division_summary({"division_code": "410928000000", "year": 2026})
    assert {k: summary[k] for k in ("pension_receiving", "family_doctor_contracts", "cultural_services_this_year",
                                     "open_cases", "poverty_monitored")} == {
        "pension_receiving": 1, "family_doctor_contracts": 1, "cultural_services_this_year": 1, "open_cases": 1,
        "poverty_monitored": 1}
    assert rpc.departments.division_summary({"division_code": OTHER_VILLAGE})["open_cases"] == 0
    areas = {r["area"]: r["status"] for r in rpc.departments.elder_records("e1")}
    assert areas == {"pension": "receiving", "doctor": "signed", "culture": "active", "case": "open",
                     "monitoring": "monitored"}
    assert [c["kind"] for c in rpc.departments.list_cases({"division_code": "410928000000"})] == ["fraud"]
    engine = create_service_engine(rpc.url)
    replayed, drift = replay_and_compare("departments", engine, (DepartmentsProjection(), FinanceProjection()),
                                         CATALOGUE, str(tmp_path))
    with engine.connect() as conn:
        written = conn.execute(written_events()).scalar_one()
    engine.dispose()
    assert (written, drift) == (6, []) and replayed >= written   # the read models are the log's


def test_bad_input_is_refused_by_field_and_nothing_is_written(system):
    rpc = system
    before = logged(rpc.url)
    refusals = [
        (lambda: rpc.departments.open_case({"elder_id": "e1", "effective_date": "2026-11-01", "kind": "theft",
                                            "summary": "x"}, POLICE), ValidationError, "kind"),
        (lambda: rpc.departments.enrol_pension({"elder_id": "e3", "effective_date": "2026-11-01",
                                                "scheme": "urban_rural_residents"}, HR), CommandRejected, "elder_id"),
        (lambda: rpc.departments.enrol_pension({"elder_id": "nobody", "effective_date": "2026-11-01",
                                                "scheme": "urban_rural_residents"}, HR), NotFoundError, "elder_id"),
        (lambda: rpc.departments.record_health_check({"elder_id": "e1", "effective_date": "2026-11-01",
                                                      "examiner": "x"}, POVERTY), CommandRejected, "department"),
        (lambda: rpc.departments.record_health_check({"elder_id": "e2", "effective_date": "2026-11-01",
                                                      "examiner": "x"}, DOCTOR), CommandRejected, "elder_id"),
        (lambda: rpc.departments.change_pension_status({"elder_id": "e1", "effective_date": "2026-11-01",
                                                        "status": "receiving", "monthly_amount_fen": 188.5,
                                                        "reason": "x"}, HR), ValidationError, "monthly_amount_fen"),
        (lambda: rpc.departments.register_poverty({"elder_id": "e1", "effective_date": "2026-12-01",
                                                   "reason": "x"}, POVERTY), ValidationError, "effective_date"),
    ]
    for attempt, error, field in refusals:
        with pytest.raises(error) as refused:
            attempt()
        assert refused.value.field == field, refused.value.message
    assert logged(rpc.url) == before == 0
    assert rpc.registry.get_elder("e1")["support_status"]["poverty_registered"] is False


def test_the_command_line_shows_the_figures_and_cases(system, tmp_path):
    import yaml
    from typer.testing import CliRunner

    from cli.app import app
    rpc = system
    rpc.departments.open_case({"elder_id": "e1", "effective_date": "2026-11-01", "kind": "fraud",
                               "summary": "保健品诈骗", "case_id": "c-cli"}, POLICE)
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"AMQP_URI": rpc.amqp_uri}))
    run = lambda *args: CliRunner().invoke(app, ["--config", str(config), "departments", *args])  # noqa: E731
    shown = run("summary", "410928000000")
    assert shown.exit_code == 0 and "open_cases" in shown.output and "│ 1 " in shown.output, shown.output
    assert "c-cli" in run("cases", "--division", "410928000000").output
    refused = run("summary", "4109")
    assert refused.exit_code == 1 and "division_code" in refused.output
