"""The departments' own records over HTTP: each department writes only its own records
(the access table, contracts.departments_rpc.OWNERS), only inside its jurisdiction; a
poverty registration changes the registry's support status; bad input names the field and
writes nothing; the elder's timeline and the dashboard show the records."""
from tests.gateway.conftest import COUNTY, OTHER_TOWNSHIP_VILLAGE, VILLAGE, bearer
from tests.gateway.test_api import register, wait_for

CHECK = {"effective_date": "2026-06-01", "examiner": "村医李", "risk_severity": "high",
         "findings": [{"code": "hypertension", "note": "血压 180/110"}]}


def test_each_department_writes_its_own_records_inside_its_jurisdiction(system, api):
    register(api, "elder-1", VILLAGE)
    register(api, "elder-2", OTHER_TOWNSHIP_VILLAGE, sequence=1)
    doctor = system.token("doctor", "health", "village_worker", VILLAGE)
    clerk = system.token("clerk", "civil_affairs", "county_coordinator", COUNTY)
    auditor = system.token("auditor", "health", "auditor", COUNTY)
    assert api("POST", "/api/elders/elder-1/health-checks", token=doctor, json=CHECK).status_code == 201
    not_owner = api("POST", "/api/elders/elder-1/chronic-followups", token=clerk,
                    json={"effective_date": "2026-06-02", "condition": "hypertension", "examiner": "x"})
    assert not_owner.status_code == 403 and not_owner.json()["field"] == "authorization"
    assert "health" in not_owner.json()["allowed"]["departments"]
    elsewhere = api("POST", "/api/elders/elder-2/health-checks", token=doctor, json=CHECK)
    # Outside the jurisdiction the elder answers as an unknown one would (the id's existence does not leak).
    assert elsewhere.status_code == 404 and elsewhere.json()["field"] == "elder_id"
    assert api("POST", "/api/elders/elder-1/family-doctor", token=auditor, json={}).status_code == 403

    police = system.token("police", "public_security", "department_officer", COUNTY)
    justice = system.token("lawyer", "justice", "department_officer", COUNTY)
    opened = api("POST", "/api/cases", token=police, json={"case_id": "case-9", "elder_id": "elder-1",
                                                          "effective_date": "2026-11-20", "kind": "fraud",
                                                          "summary": "保健品推销诈骗"})
    assert opened.status_code == 201 and opened.json()["status"] == "open", opened.text
    theirs = api("POST", "/api/cases/case-9/closure", token=justice,
                 json={"effective_date": "2026-11-21", "outcome": "resolved"})
    assert theirs.status_code == 409 and theirs.json()["field"] == "department"      # police's case
    assert api("POST", "/api/cases/case-9/legal-aid", token=justice,
               json={"effective_date": "2026-11-21", "aid": "legal_advice"}).status_code == 201
    case = api("GET", "/api/cases/case-9").json()
    assert (case["status"], case["legal_aid"], case["department"]) == ("open", 1, "public_security")
    assert "summary" not in case                                     # details only in the elder's (logged) records


def test_poverty_registration_reaches_the_registry_and_bad_input_writes_nothing(system, api):
    register(api, "elder-1", VILLAGE)
    office = system.token("fupin", "poverty_alleviation", "department_officer", COUNTY)
    hr = system.token("hr", "human_resources_social_security", "department_officer", COUNTY)
    registered = api("POST", "/api/elders/elder-1/poverty-registration", token=office,
                     json={"effective_date": "2026-11-01", "reason": "因病致贫"})
    assert registered.status_code == 201, registered.text
    elder = api("GET", "/api/elders/elder-1", params={"purpose": "check"}).json()
    assert elder["support_status"]["poverty_registered"] is True

    assert api("POST", "/api/elders/elder-1/pension", token=hr,
               json={"effective_date": "2026-01-02", "scheme": "urban_rural_residents"}).status_code == 201
    as_float = api("POST", "/api/elders/elder-1/pension/status", token=hr, json={
        "effective_date": "2026-02-01", "status": "receiving", "monthly_amount_fen": 188.5, "reason": "达龄"})
    assert as_float.status_code == 400 and "monthly_amount_fen" in as_float.json()["errors"]
    unknown_kind = api("POST", "/api/elders/elder-1/cultural-services",
                       token=system.token("culture", "culture", "department_officer", COUNTY),
                       json={"effective_date": "2026-10-01", "service": "karaoke", "provider": "乡文化站"})
    assert unknown_kind.status_code == 400 and "service" in unknown_kind.json()["errors"]
    unknown_elder = api("POST", "/api/elders/nobody/pension", token=hr,
                        json={"effective_date": "2026-01-02", "scheme": "urban_rural_residents"})
    assert unknown_elder.status_code == 404
    records = api("GET", "/api/elders/elder-1/department-records", params={"purpose": "review"}).json()
    assert {r["area"]: r["status"] for r in records} == {"poverty": "registered", "pension": "enrolled"}


def test_the_timeline_and_the_dashboard_show_the_departments_records(system, api, web_session):
    register(api, "elder-1", VILLAGE)
    doctor = system.token("doctor", "health", "village_worker", VILLAGE)
    police = system.token("police", "public_security", "department_officer", COUNTY)
    assert api("POST", "/api/elders/elder-1/health-checks", token=doctor, json=CHECK).status_code == 201
    assert api("POST", "/api/cases", token=police, json={"elder_id": "elder-1", "effective_date": "2026-11-20",
                                                         "kind": "infringement", "summary": "邻居侵占宅基地"}
               ).status_code == 201
    timeline = api("GET", "/api/elders/elder-1/timeline", params={"purpose": "review"}).json()
    mine = [i["type"] for i in timeline["items"] if i["source"] == "departments"]
    assert mine == ["departments.health_check_recorded.v1", "departments.case_opened.v1"]
    wait_for(lambda: {a["kind"] for a in api("GET", "/api/alerts", params={"division_code": COUNTY}).json()}
             >= {"health_risk_found", "case_opened"})
    summary = api("GET", "/api/departments/summary", params={"division_code": COUNTY}).json()
    assert (summary["health_checked_this_year"], summary["open_cases"]) == (1, 1)
    page = web_session.get(f"/dashboard/{COUNTY}", headers=bearer(system)).text
    assert "今年已健康体检（65岁以上）" in page and "未结案件" in page and "公安" in page
    assert 'data-figure="departments-health-checked-this-year">1<' in page
    assert 'data-figure="departments-open-cases">1<' in page
    english = web_session.get(f"/dashboard/{COUNTY}?lang=en", headers=bearer(system)).text
    assert "65+ checked this year" in english and "open cases" in english


def test_finance_owns_payee_accounts_and_payment_files(system, api):
    register(api, "elder-1", VILLAGE)
    finance = system.token("cashier", "finance", "department_officer", COUNTY)
    body = {"effective_date": "2026-11-01", "payee_name": "王秀英", "bank": "濮阳农商银行",
            "account_number": "6221000000000001"}
    assert api("POST", "/api/elders/elder-1/payee-account", json=body).status_code == 403   # civil affairs
    assert api("POST", "/api/elders/elder-1/payee-account", token=finance, json=body).status_code == 201
    short = api("POST", "/api/elders/elder-1/payee-account", token=finance, json={**body, "account_number": "12"})
    assert short.status_code == 400 and "account_number" in short.json()["errors"]
    no_run = api("POST", "/api/finance/payment-files", token=finance, json={"jurisdiction": "410928", "month": "2026-11"})
    assert no_run.status_code == 404
    unknown = api("POST", "/api/finance/bank-returns", token=finance,
                  json={"file_id": "subsidy-run:410928:2026-11.file-1", "csv": "entry_id,result,reason\n"})
    assert unknown.status_code == 404 and unknown.json()["field"] == "file_id"
