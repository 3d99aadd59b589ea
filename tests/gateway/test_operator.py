"""Issue 24 through the HTTP API: refusals that say what is allowed, /ready over every service
the gateway calls, a known_at still to come refused, a subsidy run already done answered 200."""
from datetime import timedelta

from tests.gateway.conftest import COUNTY
from tests.gateway.test_api import assert_documented, register, wait_for

JINCHENG_COUNTY = "140525000000"       # 泽州县: the shipped Jincheng subsidy rules apply


def test_a_403_lists_the_departments_and_roles_allowed_and_known(api, system):
    from contracts.actors import DEFAULT_DEPARTMENTS
    auditor = system.token("auditor", "civil_affairs", "auditor", COUNTY)
    refused = api("POST", "/api/subsidies/runs", token=auditor, json={"jurisdiction": "410928", "month": "2026-10"})
    assert refused.status_code == 403
    body = refused.json()
    assert body["allowed"]["departments"] == ["civil_affairs"]
    assert "county_coordinator" in body["allowed"]["roles"] and "auditor" not in body["allowed"]["roles"]
    assert body["known"]["departments"] == list(DEFAULT_DEPARTMENTS) and "auditor" in body["known"]["roles"]
    assert_documented(refused, "/api/subsidies/runs", "POST")


def test_ready_names_a_subsidies_service_that_does_not_answer(api, system, web_session):
    assert web_session.get("/ready").status_code == 200
    system.containers["subsidies"].stop()
    answer = web_session.get("/ready")
    assert answer.status_code == 503 and answer.json()["not_answering"] == ["subsidies"]


def test_a_known_at_still_to_come_is_refused_for_reports_and_as_of_reads(api, system):
    register(api, "elder-1")
    wait_for(lambda: api("GET", "/api/elders/elder-1/visit-plan").status_code == 200)
    tomorrow = (system.clock("registry").now() + timedelta(days=1)).isoformat()
    report = api("GET", "/api/reports/quarterly", params={"division_code": COUNTY, "quarter": "2026-Q3",
                                                          "known_at": tomorrow})
    assert report.status_code == 400 and report.json()["field"] == "known_at", report.text
    as_of = api("GET", "/api/elders/elder-1/as-of", params={"on": "2026-11-01", "known_at": tomorrow})
    assert as_of.status_code == 400 and as_of.json()["field"] == "known_at", as_of.text
    entitlement = api("GET", "/api/elders/elder-1/entitlement", params={"month": "2026-10", "known_at": tomorrow})
    assert entitlement.status_code == 400 and entitlement.json()["field"] == "known_at", entitlement.text
    # Up to now is fine, and leaving it out replays as recorded by the registry's now.
    now = system.clock("registry").now().isoformat()
    assert api("GET", "/api/elders/elder-1/as-of", params={"on": "2026-11-01", "known_at": now}).status_code == 200
    default = api("GET", "/api/reports/quarterly", params={"division_code": COUNTY, "quarter": "2026-Q3"})
    assert default.status_code == 200 and default.headers["X-Known-At"]


def test_a_subsidy_run_already_computed_answers_200_not_201(api, system):
    clerk = system.token("clerk", "civil_affairs", "county_coordinator", JINCHENG_COUNTY)
    run = {"jurisdiction": "140525", "month": "2026-10"}
    first = api("POST", "/api/subsidies/runs", token=clerk, json=run)
    assert first.status_code == 201 and first.json()["changed"] is True, first.text
    again = api("POST", "/api/subsidies/runs", token=clerk, json=run)
    assert again.status_code == 200 and again.json()["changed"] is False, again.text
    assert again.json()["run_id"] == first.json()["run_id"]
    assert_documented(again, "/api/subsidies/runs", "POST")
