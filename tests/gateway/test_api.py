"""The HTTP API end to end: every call through the gateway to the real services, every error
status from the one table, access control, the access log and the cross-agency timeline."""
import base64
import eventlet

from tests.gateway.conftest import COUNTY, METRICS_HEADERS, OTHER_TOWNSHIP_VILLAGE, OTHER_VILLAGE, TOWNSHIP, VILLAGE
from tests.imports.ledger_files import demo_rows, to_csv
from tests.registry.test_service import registration

VILLAGE_WORKER = dict(user="cadre", department="civil_affairs", role="village_worker", jurisdiction=VILLAGE)


def wait_for(predicate, timeout=20.0):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        eventlet.sleep(0.05)
    raise AssertionError("timed out")


def assert_documented(response, path: str, method: str = "GET") -> None:
    """The response is one the served OpenAPI document allows (schemathesis's validator)."""
    import schemathesis

    from gateway.openapi import openapi_document
    schemathesis.openapi.from_dict(openapi_document())[path][method].validate_response(response)


def register(api, elder_id="elder-1", village=VILLAGE, sequence=0, token=None):
    response = api("POST", "/api/elders", token=token,
                   json=registration(elder_id, left_on="2025-12-01", sequence=sequence, division_code=village))
    assert response.status_code == 201, response.text
    return response.json()


def seed_records(api, system) -> dict:
    """One of each thing a path names (two elders), so calls on an elder, facility, alert,
    referral or case reach the services instead of stopping at 404. Returns the ids by path
    parameter."""
    register(api, "elder-1", VILLAGE)
    register(api, "elder-2", VILLAGE, sequence=1)
    wait_for(lambda: api("GET", "/api/elders/elder-1/visit-plan").status_code == 200)
    created = [
        api("POST", "/api/visitors", json={"name": "李明", "phone": "13800000001", "role": "village_cadre",
                                           "organisation": "村委会", "village_codes": [VILLAGE]}),
        api("POST", "/api/facilities", json={
            "facility_id": "facility-1", "name": "东关村幸福院", "division_code": VILLAGE, "kind": "happiness_home",
            "operating_model": "public_built_public_run", "operator": "村委会", "capacity": 3,
            "effective_date": "2026-01-01"}),
        api("POST", "/api/alerts", json={"kind": "infringement", "division_code": VILLAGE, "severity": "high",
                                         "summary": "邻居反映老人被家属锁在屋内", "elder_id": "elder-1"}),
        api("POST", "/api/referrals", json={"to_department": "health", "division_code": VILLAGE,
                                            "request": "assess the elder's heart condition"}),
        api("POST", "/api/imports", json={"filename": "台账.csv", "jurisdiction": COUNTY, "content_base64":
                                          base64.b64encode(to_csv(demo_rows(2))).decode()}),
        api("POST", "/api/surveys", json={"campaign_id": "survey-1", "name": "摸底排查", "jurisdiction": COUNTY,
                                          "deadline": "2026-12-31", "fields_to_confirm": ["phone"]}),
        api("POST", "/api/cases", token=system.token("police", "public_security", "department_officer"),
            json={"case_id": "case-1", "elder_id": "elder-1", "effective_date": "2026-11-20", "kind": "fraud",
                  "summary": "保健品推销诈骗"}),
    ]
    for response in created:
        assert response.status_code == 201, response.text
    _visitor, facility, alert, referral, ledger, campaign, _case = (response.json() for response in created)
    offer = api("POST", "/api/facilities/facility-1/home-services", json={
        "effective_date": "2026-01-02", "offers": [{"service_kind": "meals", "daily_capacity": 50}]})
    assert offer.status_code == 201, offer.text
    order = {}

    def placed():        # once orders has heard of the elder and the facility's offer
        response = api("POST", "/api/orders", json={"elder_id": "elder-1", "service_kind": "meals",
                                                    "caller": "family"})
        order.update(response.json())
        return response.status_code == 201
    wait_for(placed)
    return {"elder_id": "elder-1", "facility_id": facility["facility_id"], "alert_id": alert["alert_id"],
            "referral_id": referral["referral_id"], "import_id": ledger["import_id"],
            "campaign_id": campaign["campaign_id"], "case_id": "case-1", "order_id": order["order_id"]}


def test_register_read_and_search_through_the_gateway(api):
    elder = register(api)
    assert elder["left_behind"] is True
    assert api("GET", "/api/elders/elder-1", params={"purpose": "case review"}).json()["name"] == "王秀英"
    found = api("GET", "/api/elders", params={"division_code": TOWNSHIP, "left_behind": "true"}).json()
    assert [e["elder_id"] for e in found] == ["elder-1"]
    # A list shows identity numbers masked; the whole number is a read of the (logged) record.
    full = elder["resident_id"]
    assert found[0]["resident_id"] == full[:6] + "********" + full[-4:] and "*" not in full


def test_errors_map_to_statuses_with_the_bad_fields_named(api, system):
    bad = registration("elder-x", division_code="410928999999")
    response = api("POST", "/api/elders", json=bad)
    assert response.status_code == 400 and "division_code" in response.json()["errors"]
    assert api("GET", "/api/elders/nobody").status_code == 404
    register(api)
    duplicate = api("POST", "/api/elders", json=registration("elder-2", left_on="2025-12-01"))
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "resident_id"
    assert api("GET", "/api/elders/elder-1", token=False).status_code == 401
    assert api("GET", "/api/elders/elder-1", token="not.a.token").status_code == 401
    assert api("GET", "/api/nowhere").status_code == 404
    assert api("POST", "/api/elders", data="{not json").status_code == 400
    for response in (duplicate, bad and api("POST", "/api/elders", json=bad)):
        assert "Traceback" not in response.text


def test_who_may_do_what_where(api, system):
    register(api)
    register(api, "elder-far", OTHER_TOWNSHIP_VILLAGE, sequence=1)
    worker = system.token(**VILLAGE_WORKER)
    neighbour = system.token(**{**VILLAGE_WORKER, "jurisdiction": OTHER_VILLAGE})
    finance = system.token("cashier", "finance", "department_officer", COUNTY)
    auditor = system.token("auditor", "civil_affairs", "auditor", COUNTY)
    health_doctor = system.token("doctor", "health", "village_worker", VILLAGE)
    cases = [
        ("GET", "/api/elders/elder-1", worker, {}, 200),                 # in their village
        ("GET", "/api/elders/elder-1", neighbour, {}, 404),              # another village: as if unknown
        ("GET", "/api/elders/elder-far", worker, {}, 404),
        ("POST", "/api/elders", finance, registration("elder-9", sequence=9), 403),   # finance does not register
        ("POST", "/api/elders", auditor, registration("elder-9", sequence=9), 403),   # auditors never write
        ("GET", "/api/elders/elder-far", auditor, {}, 200),              # auditors read the county
        ("POST", "/api/elders/elder-1/death", health_doctor, {"effective_date": "2026-11-20"}, 403),
    ]
    for method, path, token, body, expected in cases:
        response = api(method, path, token=token, json=body if method == "POST" else None)
        assert response.status_code == expected, (method, path, response.text)
        if expected == 403:
            assert response.json()["error"] == "forbidden"
        if expected == 404:
            assert response.json()["error"] == "not_found" and response.json()["field"] == "elder_id"


def test_every_personal_read_is_in_the_access_log_and_break_the_glass_is_marked(api, system):
    register(api)
    neighbour = system.token(**{**VILLAGE_WORKER, "jurisdiction": OTHER_VILLAGE})
    api("GET", "/api/elders/elder-1", params={"purpose": "monthly review"})
    refused = api("GET", "/api/elders/elder-1", token=neighbour, params={"break_glass": "short"})
    assert refused.status_code == 404           # outside the jurisdiction without a reason: as if unknown
    emergency = api("GET", "/api/elders/elder-1", token=neighbour,
                    params={"break_glass": "elder found wandering at our village gate"})
    assert emergency.status_code == 200
    log = api("GET", "/api/elders/elder-1/access-log").json()
    # The refused attempt (outside the village, too short a reason) is in the log too.
    assert [(r["user"], r["outcome"], r["break_glass"]) for r in log] == [
        ("clerk", "read", False), ("cadre", "refused", False), ("cadre", "read", True)]
    assert log[0]["purpose"] == "monthly review" and "wandering" in log[2]["purpose"]
    assert "outside your jurisdiction" in log[1]["reason"]
    assert api("GET", "/api/elders/elder-1/access-log", token=system.token(**VILLAGE_WORKER)).status_code == 403


def test_the_timeline_merges_registry_and_visits_in_time_order(api, system):
    register(api)
    wait_for(lambda: api("GET", "/api/elders/elder-1/visit-plan").status_code == 200)
    visitor = api("POST", "/api/visitors", json={"name": "李明", "phone": "13800000001", "role": "village_cadre",
                                                 "organisation": "村委会", "village_codes": [VILLAGE]}).json()
    assert api("POST", "/api/elders/elder-1/visits", json={
        "visitor_id": visitor["visitor_id"], "mode": "home", "visited_on": "2026-11-20",
        "services": ["emotional_comfort"]}).status_code == 201
    response = api("GET", "/api/elders/elder-1/timeline")
    assert_documented(response, "/api/elders/{elder_id}/timeline")    # each item's fields are documented
    timeline = response.json()
    types = [item["type"] for item in timeline["items"]]
    assert types[0] == "registry.elder_registered.v1" and "visits.visit_recorded.v1" in types
    assert {item["source"] for item in timeline["items"]} >= {"registry", "visits"}
    times = [item["time"] for item in timeline["items"]]
    assert times == sorted(times)
    assert all(item["event_id"] and item["actor"] for item in timeline["items"])


def test_a_service_that_is_down_gives_503_with_a_retry_hint(api, system):
    register(api)
    system.containers["facilities"].stop()
    response = api("GET", "/api/facilities/statistics")
    assert response.status_code == 503
    assert response.headers["Retry-After"] and response.json()["retry_after_seconds"] > 0
    metrics = api("GET", "/metrics", token=False, headers=dict(METRICS_HEADERS)).text
    assert 'eldercare_gateway_rpc_errors_total{kind="UnknownService",route="facility_statistics"}' in metrics \
        or 'eldercare_gateway_rpc_errors_total{kind="RpcTimeout",route="facility_statistics"}' in metrics


def test_every_answer_under_api_is_json_and_a_method_a_route_does_not_take_is_405(api):
    for method, path, allowed in (("PUT", "/api/elders", "GET, HEAD, POST"),
                                  ("POST", "/api/facilities/statistics", "GET, HEAD"),
                                  ("OPTIONS", "/api/elders/elder-1", "GET, HEAD"),
                                  ("DELETE", "/api/alerts/alert-1/closure", "POST")):
        response = api(method, path)
        assert response.status_code == 405, (method, path, response.text)
        assert response.headers["Allow"] == allowed and response.json()["error"] == "method_not_allowed"
    # A newline in a path segment once fell through to werkzeug's HTML 404 page.
    for path in ("/api/alerts/a%0Ab", "/api/elders/%0A/timeline", "/api/nowhere%0A"):
        response = api("GET", path)
        assert response.status_code == 404, (path, response.text)
        assert response.headers["Content-Type"] == "application/json" and response.json()["error"] == "not_found"


def test_openapi_document_and_docs_page(api, web_session):
    document = web_session.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/api/elders/{elder_id}/timeline" in document["paths"]
    assert document["paths"]["/api/elders"]["post"]["responses"]["400"]
    assert "eldercare gateway API" in web_session.get("/docs").text
    assert web_session.get("/health").json()["status"] == "ok"
    assert web_session.get("/metrics").status_code == 401          # only the scraper's token reads them
    assert "eldercare_gateway_request_seconds" in web_session.get("/metrics", headers=METRICS_HEADERS).text


def test_subsidy_runs_belong_to_civil_affairs_and_approval_to_finance(api, system):
    finance = system.token("cashier", "finance", "department_officer", COUNTY)
    worker = system.token(**VILLAGE_WORKER)
    run = {"jurisdiction": "410928", "month": "2026-10"}
    assert api("POST", "/api/subsidies/runs", token=finance, json=run).status_code == 403
    assert api("POST", "/api/subsidies/runs", token=worker, json=run).status_code == 403
    no_policy = api("POST", "/api/subsidies/runs", json=run)       # Puyang county has no subsidy rules
    assert no_policy.status_code in (400, 409, 422) and no_policy.json()["field"]
    assert api("POST", "/api/subsidies/runs/approval", json=run).status_code == 403   # civil affairs may not approve
    outside = api("POST", "/api/subsidies/runs", json={"jurisdiction": "1405", "month": "2026-10"})
    assert outside.status_code == 403 and outside.json()["field"] == "jurisdiction"
    assert api("GET", "/api/subsidies/runs").json() == []


def test_the_quarterly_report_is_reproducible_byte_for_byte_and_ignores_later_records(api, system):
    register(api, "elder-1", VILLAGE, sequence=0)
    register(api, "elder-2", OTHER_VILLAGE, sequence=1)
    params = {"division_code": COUNTY, "quarter": "2026-Q3"}
    # Each test container pins "today" with its own clock offset: take the registry's now.
    known_at = system.clock("registry").now().isoformat()
    first = api("GET", "/api/reports/quarterly", params={**params, "known_at": known_at})
    assert first.status_code == 200, first.text
    lines = first.content.decode().splitlines()
    assert lines[1].startswith("division_code,name,left_behind")
    assert lines[-1].startswith("total,合计,2,")
    xlsx = api("GET", "/api/reports/quarterly", params={**params, "known_at": known_at, "format": "xlsx"})
    assert xlsx.content[:2] == b"PK"
    eventlet.sleep(1.1)
    register(api, "elder-3", VILLAGE, sequence=2)        # recorded after known_at: not in that report
    again = api("GET", "/api/reports/quarterly", params={**params, "known_at": known_at})
    assert again.content == first.content
    assert api("GET", "/api/reports/quarterly", params={**params, "known_at": known_at,
                                                        "format": "xlsx"}).content == xlsx.content
    later = api("GET", "/api/reports/quarterly",
                params={**params, "known_at": system.clock("registry").now().isoformat()})
    assert later.content.decode().splitlines()[-1].startswith("total,合计,3,")
    assert api("GET", "/api/reports/quarterly", params={**params, "quarter": "2026-Q4"}).status_code == 400
    assert api("GET", "/api/reports/quarterly", params={**params, "quarter": "Q9"}).status_code == 400


def test_access_table_role_department_jurisdiction_action(api, system, caplog):
    """One row per (who, what, where) → allowed or not; refusals are 403 and logged (a record
    outside the caller's jurisdiction: 404, as an unknown id, and logged). Every
    write route × department and auditor: test_access.py, generated from the route table."""
    register(api)
    who = {
        "county clerk": system.token(),
        "village worker": system.token(**VILLAGE_WORKER),
        "neighbour village": system.token(**{**VILLAGE_WORKER, "jurisdiction": OTHER_VILLAGE}),
        "township officer": system.token("officer", "civil_affairs", "township_officer", TOWNSHIP),
        "other township": system.token("officer", "civil_affairs", "township_officer", "410928102000"),
        "health doctor": system.token("doctor", "health", "village_worker", VILLAGE),
        "police": system.token("police", "public_security", "department_officer", COUNTY),
        "finance": system.token("cashier", "finance", "department_officer", COUNTY),
        "auditor": system.token("auditor", "civil_affairs", "auditor", COUNTY),
    }
    visitor = api("POST", "/api/visitors", json={"name": "李明", "phone": "13800000001", "role": "village_cadre",
                                                 "organisation": "村委会", "village_codes": [VILLAGE]}).json()
    visit = {"visitor_id": visitor["visitor_id"], "mode": "home", "visited_on": "2026-11-20",
             "services": ["emotional_comfort"]}
    table = [
        # who, method, path, body, allowed
        ("village worker", "GET", "/api/elders/elder-1", None, True),
        ("neighbour village", "GET", "/api/elders/elder-1", None, False),
        ("township officer", "GET", "/api/elders/elder-1", None, True),
        ("other township", "GET", "/api/elders/elder-1", None, False),
        ("police", "GET", "/api/elders/elder-1", None, True),
        ("auditor", "GET", "/api/elders/elder-1/timeline", None, True),
        ("village worker", "POST", "/api/elders/elder-1/visits", visit, True),
        ("health doctor", "POST", "/api/elders/elder-1/visits", {**visit, "visited_on": "2026-11-21"}, True),
        ("police", "POST", "/api/elders/elder-1/visits", {**visit, "visited_on": "2026-11-22"}, False),
        ("auditor", "POST", "/api/elders/elder-1/visits", visit, False),
        ("neighbour village", "POST", "/api/elders/elder-1/visits", visit, False),
        ("health doctor", "POST", "/api/elders/elder-1/hospitalisations",
         {"hospital": "县医院", "effective_date": "2026-11-20"}, False),
        ("village worker", "POST", "/api/elders/elder-1/hospitalisations",
         {"hospital": "县医院", "effective_date": "2026-11-20"}, True),
        ("village worker", "POST", "/api/facilities", {"division_code": VILLAGE}, False),
        ("finance", "POST", "/api/subsidies/runs", {"jurisdiction": "410928", "month": "2026-10"}, False),
        ("auditor", "GET", "/api/elders/elder-1/access-log", None, True),
        ("village worker", "GET", "/api/elders/elder-1/access-log", None, False),
        ("auditor", "GET", "/api/reports/quarterly", None, False),   # no quarter given: refused as bad input, not forbidden
    ]
    for name, method, path, body, allowed in table:
        response = api(method, path, token=who[name], json=body)
        refused = response.status_code in (403, 404)
        if path == "/api/reports/quarterly":
            assert response.status_code == 400, response.text
            continue
        assert refused != allowed, (name, method, path, response.status_code, response.text)
        if response.status_code == 403:
            assert response.json()["error"] == "forbidden" and response.json()["field"] in (
                "authorization", "jurisdiction")
        elif refused:
            assert response.json()["error"] == "not_found" and response.json()["field"] == "elder_id"


def test_a_write_sent_again_with_its_idempotency_key_is_applied_once(api, system):
    register(api)
    path, key = "/api/elders/elder-1/self-care-assessments", {"Idempotency-Key": "assessment-2026-09-zhao"}
    assessment = {"effective_date": "2026-09-01", "level": "semi_disabled", "assessor": "Dr Zhao"}
    first = api("POST", path, json=assessment, headers=dict(key))
    again = api("POST", path, json=assessment, headers=dict(key))      # the client never saw the first answer
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert api("GET", "/api/elders/elder-1", params={"purpose": "check"}).json()["version"] == first.json()["version"]
    changed = api("POST", path, json={**assessment, "level": "fully_disabled"}, headers=dict(key))
    assert changed.status_code == 422 and changed.json()["field"] == "Idempotency-Key", changed.text
    assert changed.json()["error"] == "command_id_reused"
    # The key is the caller's own: another officer's same key is another command.
    colleague = system.token(user="clerk-2")
    theirs = api("POST", path, json=assessment, token=colleague, headers=dict(key))
    assert theirs.status_code == 201 and theirs.json()["version"] == first.json()["version"] + 1
    malformed = api("POST", path, json=assessment, headers={"Idempotency-Key": "two words"})
    assert malformed.status_code == 400 and "Idempotency-Key" in malformed.json()["errors"]
    assert api("GET", "/api/elders/elder-1", params={"purpose": "check"}).json()["version"] == theirs.json()["version"]
    assert_documented(changed, "/api/elders/{elder_id}/self-care-assessments", "POST")
