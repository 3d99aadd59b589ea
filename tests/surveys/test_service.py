"""Survey campaigns end to end: the surveys, registry and notifications services in real
nameko containers over real RabbitMQ. Two villages fall behind: each is reported once, and
notifications escalates each alert once per level while nobody acknowledges it."""
from datetime import date, timedelta

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from demo.residents import make_resident_id, order_code
from kernel import migrate
from kernel.errors import CommandRejected, ConflictError, NotFoundError, ValidationError
from kernel.providers import find_database
from services.notifications.service import NotificationsService
from services.registry.service import RegistryService
from services.surveys.service import SurveysService

TODAY = date(2026, 11, 23)
CLERK = {"department": "civil_affairs", "user": "clerk-1", "role": "county_coordinator"}
CADRE = {"department": "civil_affairs", "user": "cadre-1", "role": "village_worker"}
VILLAGES = ("410928101201", "410928101202", "410928102201")


def registration(n: int, village: str) -> dict:
    born = date(1940, 1, 1) + timedelta(days=n)
    return {"elder_id": f"e{n}", "resident_id": make_resident_id("410928", born, order_code(0, "female"), "female"),
            "name": f"王秀{n}", "sex": "female", "birth_date": born.isoformat(), "division_code": village,
            "household_id": f"h{n}", "address": "一组", "effective_date": "2026-01-05"}


@pytest.fixture
def system(rabbit_config, tmp_path, container_factory):
    classes = (RegistryService, NotificationsService, SurveysService)
    urls = {cls.name: f"sqlite:///{tmp_path / (cls.name + '.db')}" for cls in classes}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    config = {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(), "RELAY": {"poll_interval": 0.1},
              "REGISTRY": {"status_review_interval_seconds": 3600},
              "NOTIFICATIONS": {"sweep_interval_seconds": 3600, "delivery_interval_seconds": 3600},
              "SURVEYS": {"late_check_interval_seconds": 3600},
              "CHECKPOINTS": {"interval_seconds": 3600}}
    containers = {cls.name: container_factory(cls, config) for cls in classes}
    for container in containers.values():
        container.start()
    with ClusterRpcProxy(config, timeout=60) as rpc:
        for n, village in enumerate(VILLAGES[0:1] * 4 + VILLAGES[1:2] * 2 + VILLAGES[2:3]):
            rpc.registry.register_elder(registration(n, village), CLERK)
        rpc.clocks = {name: find_database(c).clock for name, c in containers.items()}
        yield rpc


def move_to(rpc, day: date) -> None:
    for clock in rpc.clocks.values():
        clock.set_today(day)


def open_campaign(rpc, **overrides):
    return rpc.surveys.open_campaign({"campaign_id": "c1", "name": "2026年冬季摸底排查", "jurisdiction": "410928000000",
                                      "deadline": "2026-12-03", "fields_to_confirm": ["name", "phone"], **overrides},
                                     CLERK)


def survey(rpc, elder, outcome="confirmed", **overrides):
    return rpc.surveys.record_survey({"campaign_id": "c1", "elder_id": elder, "outcome": outcome,
                                      "surveyed_on": TODAY.isoformat(), "visitor": "cadre-1", **overrides}, CADRE)


def test_a_campaign_from_opening_to_its_report(system):
    rpc = system
    campaign = open_campaign(rpc)
    assert (campaign["status"], campaign["elders"]) == ("open", 7)
    tasks = rpc.surveys.list_tasks({"campaign_id": "c1", "village_code": VILLAGES[0]})
    assert [t["elder_id"] for t in tasks] == ["e0", "e1", "e2", "e3"]
    survey(rpc, "e0")
    survey(rpc, "e1", "corrected", corrections={"name": "王秀英"})
    assert rpc.registry.get_elder("e1")["name"] == "王秀英"           # the correction is the registry's event
    survey(rpc, "e2", "not_found")
    with pytest.raises(ConflictError):
        survey(rpc, "e0")
    with pytest.raises(ValidationError) as bad_phone:                  # refused by the registry, by field
        survey(rpc, "e3", "corrected", corrections={"phone": "not a phone"})
    assert bad_phone.value.errors == {"phone": ["is not a phone number"]}
    assert rpc.surveys.list_tasks({"campaign_id": "c1", "village_code": VILLAGES[0], "pending_only": True})[0][
        "elder_id"] == "e3"
    townships = rpc.surveys.progress({"campaign_id": "c1"})
    assert [(t["division_code"], t["surveyed"], t["total"]) for t in townships] == [
        ("410928101000", 3, 6), ("410928102000", 0, 1)]
    villages = rpc.surveys.progress({"campaign_id": "c1", "division_code": "410928101000"})
    assert [(v["division_code"], v["surveyed"]) for v in villages] == [(VILLAGES[0], 3), (VILLAGES[1], 0)]

    # Listed for the county, for a village inside it and for the province; not for another county.
    for division in ("410928000000", VILLAGES[0], "410000000000"):
        assert [c["campaign_id"] for c in rpc.surveys.list_campaigns({"division_code": division})] == ["c1"], division
    assert rpc.surveys.list_campaigns({"division_code": "410927000000"}) == []
    assert rpc.surveys.list_campaigns({"division_code": "410928000000", "status": "closed"}) == []
    with pytest.raises(ValidationError) as bad_status:
        rpc.surveys.list_campaigns({"division_code": "410928000000", "status": "paused"})
    assert "status" in bad_status.value.errors

    rpc.registry.register_elder(registration(9, VILLAGES[2]), CLERK)   # found after the campaign opened
    report = rpc.surveys.close_campaign({"campaign_id": "c1"}, CLERK)
    assert report["status"] == "closed" and report["outcomes"] == {"confirmed": 1, "corrected": 1, "not_found": 1}
    with pytest.raises(CommandRejected):
        survey(rpc, "e3")


def test_bad_campaigns_are_refused_naming_the_field(system):
    rpc = system
    with pytest.raises(ValidationError) as past:
        open_campaign(rpc, deadline="2026-11-01")
    assert "deadline" in past.value.errors
    with pytest.raises(ValidationError) as unknown:
        open_campaign(rpc, fields_to_confirm=["supporters"])
    assert "fields_to_confirm.0" in unknown.value.errors
    open_campaign(rpc)
    with pytest.raises(ConflictError) as overlap:
        open_campaign(rpc, campaign_id="c2", jurisdiction="410928101000")
    assert overlap.value.field == "jurisdiction"
    with pytest.raises(NotFoundError):
        rpc.surveys.get_campaign("nope")


def test_two_late_villages_are_reported_once_and_escalated_once_per_level(system):
    rpc = system
    open_campaign(rpc)                                            # 10 days
    for elder in ("e0", "e1", "e2", "e3"):                       # 101201 done; 101202 and 102201 not started
        survey(rpc, elder)
    assert rpc.surveys.report_late_villages() == 0                # nothing before half the time
    move_to(rpc, date(2026, 11, 28))
    assert rpc.surveys.report_late_villages() == 2                # 101202 (0/2) and 102201 (0/1)
    assert rpc.surveys.report_late_villages() == 0                # once per campaign
    assert rpc.surveys.get_campaign("c1")["villages_reported_late"] == [VILLAGES[1], VILLAGES[2]]
    alerts = rpc.notifications.list_alerts({"kind": "survey_behind_schedule", "division_code": "410928000000"})
    assert sorted(a["division_code"] for a in alerts) == [VILLAGES[1], VILLAGES[2]]
    assert {a["level"] for a in alerts} == {"village_committee"}
    levels = []
    for days in (2, 5, 9, 16):                                    # past each level's deadline, unacknowledged
        move_to(rpc, date(2026, 11, 28) + timedelta(days=days))
        rpc.notifications.sweep()
        late = rpc.notifications.list_alerts({"kind": "survey_behind_schedule", "division_code": "410928000000"})
        levels.append((len(late), sorted({a["level"] for a in late})))
        assert rpc.surveys.report_late_villages() == 0            # never reported again
    assert levels == [(2, ["township"]), (2, ["county_civil_affairs"]), (2, ["county_civil_affairs"]),
                      (2, ["county_civil_affairs"])]


def test_the_command_line_opens_follows_and_closes_a_campaign(system, tmp_path, rabbit_config):
    import yaml
    from typer.testing import CliRunner

    from cli.app import app
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"AMQP_URI": rabbit_config["AMQP_URI"]}))

    def eldercare(*args):
        return CliRunner().invoke(app, ["--config", str(config), "survey", *args])

    opened = eldercare("open", "c1", "--jurisdiction", "410928000000", "--deadline", "2026-12-03")
    assert opened.exit_code == 0 and "0/7 surveyed" in opened.output, opened.output
    recorded = eldercare("record", "c1", "e0", "corrected", "--surveyed-on", TODAY.isoformat(), "--visitor", "cadre-1",
                         "--corrections", '{"phone": "13900000001"}')
    assert recorded.exit_code == 0 and "1/7 surveyed" in recorded.output, recorded.output
    assert system.registry.get_elder("e0")["phone"] == "13900000001"
    follow = eldercare("progress", "c1")
    assert "410928101000" in follow.output and "17%" in follow.output
    refused = eldercare("open", "c2", "--jurisdiction", "410928000000", "--deadline", "2026-01-01")
    assert refused.exit_code == 1 and "deadline" in refused.output
    assert eldercare("close", "c1").exit_code == 0
