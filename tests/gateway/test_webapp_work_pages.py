"""The work pages over plain HTTP against the real services: a referral from the township to
the health bureau accepted, acted on and closed from the pages; the office's in-app inbox;
and the county setting who gets alerts, a bad number refused at its field."""
import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from gateway.webapp.security import CSRF_COOKIE, CSRF_FIELD
from tests.gateway.conftest import COUNTY, TOWNSHIP, VILLAGE
from tests.gateway.test_api import wait_for
from tests.gateway.webapp_support import PASSWORD, one_time_code, start_accounts

OFFICER = dict(user="officer", department="civil_affairs", role="township_officer", jurisdiction=TOWNSHIP)
HEALTH = dict(user="doctor", department="health", role="department_officer", jurisdiction=TOWNSHIP)
WORKER = dict(user="cadre", department="civil_affairs", role="village_worker", jurisdiction=VILLAGE)
COORDINATOR = dict(user="coordinator", department="civil_affairs", role="county_coordinator", jurisdiction=COUNTY)
# A county under Jincheng's subsidy policy (Puyang has none), its coordinator and its finance bureau.
QINSHUI = "140521000000"
QINSHUI_COORDINATOR = dict(user="qinshui", department="civil_affairs", role="county_coordinator", jurisdiction=QINSHUI)
FINANCE = dict(user="treasurer", department="finance", role="department_officer", jurisdiction=QINSHUI)
SECRETS: dict = {}


@pytest.fixture(autouse=True)
def accounts(system, container_factory, tmp_path):
    SECRETS.clear()
    SECRETS.update(start_accounts(system, container_factory, tmp_path, (OFFICER, HEALTH, WORKER, COORDINATOR,
                                                                         QINSHUI_COORDINATOR, FINANCE)))


def as_person(web_session, login: str) -> str:
    """Signed in afresh as ``login``; returns this browser's CSRF token."""
    web_session.cookies.clear()
    web_session.get("/app/sign-in")
    response = web_session.post("/app/sign-in", allow_redirects=False, data={
        CSRF_FIELD: web_session.cookies.get(CSRF_COOKIE), "login": login, "password": PASSWORD,
        "one_time_password": one_time_code(SECRETS.get(login)), "next": "/app/"})
    assert response.status_code == 303, response.text
    return web_session.cookies.get(CSRF_COOKIE)


def count(page, element_id: str) -> int:
    return int(page.text.split(f'id="{element_id}">')[1].split("<")[0])


def referrals_rpc(system, **filters):
    with ServiceRpcProxy("notifications", system.config) as notifications:
        return notifications.list_referrals({"status": "any", **filters})


def test_a_referral_goes_from_the_township_to_the_health_bureau_and_back_closed(system, web_session):
    token = as_person(web_session, "officer")
    page = web_session.get("/app/referrals")
    assert page.status_code == 200 and "转办给部门" in page.text and 'href="/app/referrals"' in page.text
    # A referral that says nothing is refused at its field, keeping the choice made; nothing written.
    refused = web_session.post("/app/referrals", data={CSRF_FIELD: token, "to_department": "health",
                                                        "division_code": VILLAGE, "request": " "})
    assert refused.status_code == 400 and 'id="request-error"' in refused.text
    assert '<option value="health" selected>' in refused.text and referrals_rpc(system) == []
    sent = web_session.post("/app/referrals", data={CSRF_FIELD: token, "to_department": "health",
                                                     "division_code": VILLAGE, "request": "请为<b>王秀英</b>上门体检",
                                                     "idempotency_key": "ref-key-1"})
    assert sent.status_code == 200 and "已发出转办" in sent.text and "卫生健康" in sent.text
    assert "请为&lt;b&gt;王秀英&lt;/b&gt;上门体检" in sent.text          # escaped, not markup
    [referral] = referrals_rpc(system)
    referral_id = referral["referral_id"]
    assert (referral["from_department"], referral["to_department"], referral["status"]) == \
        ("civil_affairs", "health", "created")

    token = as_person(web_session, "doctor")
    home = web_session.get("/app/")
    assert count(home, "referrals-owing-count") == 1
    listed = web_session.get("/app/referrals")
    assert f'action="/app/referrals/{referral_id}/acceptance"' in listed.text and "待接收" in listed.text
    assert f'/app/referrals/{referral_id}/closure"' not in listed.text      # the asking side closes it
    accepted = web_session.post(f"/app/referrals/{referral_id}/acceptance", data={CSRF_FIELD: token, "note": "收到"})
    assert accepted.status_code == 200 and f'action="/app/referrals/{referral_id}/actions"' in accepted.text
    empty = web_session.post(f"/app/referrals/{referral_id}/actions", data={CSRF_FIELD: token, "action": ""})
    assert empty.status_code == 400 and f'id="referral-{referral_id}-error"' in empty.text
    # Only the department that asked may close it: the route refuses, at the referral.
    early = web_session.post(f"/app/referrals/{referral_id}/closure", data={CSRF_FIELD: token, "outcome": "resolved"})
    assert early.status_code == 409 and f'id="referral-{referral_id}-error"' in early.text
    acted = web_session.post(f"/app/referrals/{referral_id}/actions", data={CSRF_FIELD: token,
                                                                             "action": "已上门体检，血压偏高"})
    assert acted.status_code == 200 and "已办理" in acted.text
    assert referrals_rpc(system)[0]["status"] == "action_taken"

    token = as_person(web_session, "officer")
    assert count(web_session.get("/app/"), "referrals-to-close-count") == 1
    closed = web_session.post(f"/app/referrals/{referral_id}/closure", data={CSRF_FIELD: token,
                                                                              "outcome": "resolved", "note": "已复查"})
    assert closed.status_code == 200 and "暂无" in closed.text       # closed: gone from the open list
    assert "已解决" in web_session.get("/app/referrals?closed=1").text
    [done] = referrals_rpc(system)
    assert (done["status"], done["outcome"]) == ("closed", "resolved")


def test_the_village_committees_inbox_shows_what_was_delivered_there(system, web_session, api):
    party = f"village_committee:{VILLAGE}"
    with ServiceRpcProxy("notifications", system.config) as notifications:
        notifications.set_party_contacts({"party": party, "channels": [{"channel": "inbox", "address": party}]},
                                         {"department": "civil_affairs", "user": "t", "role": "county_coordinator"})
        raised = api("POST", "/api/alerts", json={"kind": "critical_illness", "division_code": VILLAGE,
                                                  "severity": "high", "summary": "持续发热"})
        assert raised.status_code == 201, raised.text

        def delivered():
            notifications.deliver_due()
            return notifications.inbox(party)
        wait_for(delivered)
        kept = notifications.inbox(party)
    as_person(web_session, "cadre")
    assert count(web_session.get("/app/"), "inbox-count") == len(kept)
    page = web_session.get("/app/inbox")
    assert page.status_code == 200 and "持续发热" in page.text
    assert f'href="/app/alerts#alert-{raised.json()["alert_id"]}"' in page.text
    # Over the API the same person's office, and only theirs: the township's inbox is empty.
    mine = api("GET", "/api/inbox", token=system.token("cadre", "civil_affairs", "village_worker", VILLAGE))
    assert mine.status_code == 200 and mine.json() == kept
    # the alert, and the one saying the health bureau (routed to as well) has no contact yet
    assert raised.json()["alert_id"] in {m["alert_id"] for m in kept}
    theirs = api("GET", "/api/inbox", token=system.token("officer", "civil_affairs", "township_officer", TOWNSHIP))
    assert theirs.status_code == 200 and theirs.json() == []


def test_the_county_sets_who_gets_alerts_and_a_bad_number_is_refused_at_its_field(system, web_session, api):
    token = as_person(web_session, "coordinator")
    page = web_session.get("/app/contacts")
    assert page.status_code == 200 and 'id="party-township-410928101"' in page.text and "未设联系方式" in page.text
    refused = web_session.post("/app/contacts", data={CSRF_FIELD: token, "party": "township:410928101",
                                                       "sms": "12345", "email": "town@example.org", "inbox": "yes"})
    assert refused.status_code == 400 and 'id="sms-township-410928101-error"' in refused.text
    assert 'value="12345"' in refused.text and 'value="town@example.org"' in refused.text
    contacts = api("GET", "/api/parties/contacts")
    assert contacts.status_code == 200 and contacts.json() == []            # nothing written
    saved = web_session.post("/app/contacts", data={CSRF_FIELD: token, "party": "township:410928101",
                                                     "sms": "13900000001", "email": "town@example.org",
                                                     "inbox": "yes"})
    assert saved.status_code == 200 and "联系方式已保存" in saved.text and "短信 13900000001" in saved.text
    [row] = api("GET", "/api/parties/contacts").json()
    assert row["party"] == "township:410928101" and [c["channel"] for c in row["channels"]] == ["sms", "email", "inbox"]
    villages = web_session.get("/app/contacts?township=410928101000")
    assert f'id="party-village_committee-{VILLAGE}"' in villages.text
    # The access table decides: a township officer reads, only the county sets; a party must be a place's.
    officer = system.token("officer", "civil_affairs", "township_officer", TOWNSHIP)
    body = {"party": "township:410928101", "channels": [{"channel": "inbox", "address": "township:410928101"}]}
    assert api("POST", "/api/parties/contacts", token=officer, json=body).status_code == 403
    assert api("GET", "/api/parties/contacts", token=officer).status_code == 200
    outside = api("POST", "/api/parties/contacts", json={**body, "party": "township:140521100"})
    assert outside.status_code == 403
    family = api("POST", "/api/parties/contacts", json={**body, "party": "family:elder-1"})
    assert family.status_code == 400 and "party" in family.json()["errors"]


def test_details_are_corrected_from_the_card_and_a_bad_identity_number_is_refused_at_its_field(system, web_session,
                                                                                               api):
    from tests.gateway.test_api import register
    register(api)
    token = as_person(web_session, "cadre")
    card = web_session.get("/app/elders/elder-1")
    assert 'id="correction-form"' in card.text and "更正信息" in card.text
    with ServiceRpcProxy("registry", system.config) as registry:
        before = registry.get_elder("elder-1")
    refused = web_session.post("/app/elders/elder-1/corrections", data={
        CSRF_FIELD: token, "name": before["name"], "resident_id": "410928194912310029", "reason": "身份证号录错",
        "effective_date": "2026-11-01", "sex": before["sex"], "address": "东关村9号"})
    assert refused.status_code == 400 and 'id="resident_id-error"' in refused.text      # its birth date is not hers
    assert 'value="410928194912310029"' in refused.text and 'value="东关村9号"' in refused.text
    no_reason = web_session.post("/app/elders/elder-1/corrections", data={
        CSRF_FIELD: token, "name": "王秀兰", "effective_date": "2026-11-01", "sex": before["sex"]})
    assert no_reason.status_code == 400 and 'id="reason-error"' in no_reason.text and 'value="王秀兰"' in no_reason.text
    with ServiceRpcProxy("registry", system.config) as registry:
        assert registry.get_elder("elder-1")["address"] == before["address"]      # nothing written
    done = web_session.post("/app/elders/elder-1/corrections", data={
        CSRF_FIELD: token, "name": "王秀兰", "reason": "户口簿为准", "effective_date": "2026-11-01",
        "sex": before["sex"], "resident_id": "", "address": before["address"], "idempotency_key": "fix-1"})
    assert done.status_code == 200 and "信息已更正" in done.text and "王秀兰" in done.text
    with ServiceRpcProxy("registry", system.config) as registry:
        after = registry.get_elder("elder-1")
    assert after["name"] == "王秀兰" and after["resident_id"] == before["resident_id"]
    # The card's timeline names each event: the registration, then this correction (newest first).
    history = web_session.get("/app/elders/elder-1/timeline")
    assert history.status_code == 200 and 'id="timeline"' in history.text
    assert history.text.index("信息更正") < history.text.index("登记入台账") and "台账" in history.text
    # Who read it: the card's access log, for the county and auditors only (the access table).
    assert 'id="access-log-link"' not in done.text
    assert web_session.get("/app/elders/elder-1/access-log").status_code == 403
    as_person(web_session, "coordinator")
    assert 'id="access-log-link"' in web_session.get("/app/elders/elder-1").text
    log = web_session.get("/app/elders/elder-1/access-log")
    assert log.status_code == 200 and "老年人档案" in log.text and "cadre" in log.text and "村级工作人员" in log.text


def test_the_county_sees_each_services_latest_checkpoint_and_its_signature(system, web_session, api, tmp_path,
                                                                          container_factory):
    from kernel import migrate
    from services.audit.service import AuditWitnessService
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    migrate.upgrade("audit", url)
    container_factory(AuditWitnessService, {**system.config, "DATABASES": {**system.config["DATABASES"],
                                                                           "audit": url}}).start()
    as_person(web_session, "cadre")
    assert web_session.get("/app/audit").status_code == 403        # the access table: auditors and the county
    from tests.gateway.test_api import register
    register(api)                                                   # registry events: a batch relayed, sealed
    with ServiceRpcProxy("audit", system.config) as audit:
        wait_for(lambda: audit.held("registry"))
        latest = audit.held("registry")[-1]
    as_person(web_session, "coordinator")
    page = web_session.get("/app/audit")
    assert page.status_code == 200
    card = page.text.split('id="checkpoint-registry"')[1].split("</li>")[0]
    assert "台账" in card and "签名有效" in card and f"已封存至第 {latest['tree_size']} 条事件" in card
    rows = api("GET", "/api/audit/checkpoints").json()
    registry_row = next(r for r in rows if r["service"] == "registry")
    assert registry_row["signature"] == "valid" and registry_row["events"] >= registry_row["tree_size"] > 0


def test_finance_approves_a_computed_run_downloads_its_payment_file_and_marks_it_paid(system, web_session):
    token = as_person(web_session, "qinshui")
    assert web_session.post("/app/subsidies/runs", data={CSRF_FIELD: token, "month": "2026-10"}).status_code == 200
    assert 'href="/app/finance"' not in web_session.get("/app/").text        # civil affairs computes, not approves
    token = as_person(web_session, "treasurer")
    page = web_session.get("/app/finance?month=2026-10")
    assert page.status_code == 200 and "待审核" in page.text and 'action="/app/finance/approval"' in page.text
    run = {CSRF_FIELD: token, "jurisdiction": "140521", "month": "2026-10"}
    approved = web_session.post("/app/finance/approval", data={**run, "note": "已核对"})
    assert approved.status_code == 200 and "已审核" in approved.text, approved.text
    unnamed = web_session.post("/app/finance/payment", data={**run, "paid_on": "2026-11-20"})
    assert unnamed.status_code == 400 and 'id="run-140521-2026-10-error"' in unnamed.text
    assert 'value="2026-11-20"' in unnamed.text
    with ServiceRpcProxy("subsidies", system.config) as subsidies:
        assert subsidies.list_runs({"month": "2026-10"})[0]["status"] == "approved"        # nothing written
    # Nobody in the run has a payee account yet: no file, and the page says why at the run.
    nothing = web_session.post("/app/finance/payment-file", data=run)
    assert nothing.status_code == 409 and 'id="run-140521-2026-10-error"' in nothing.text and "无可发放" in nothing.text
    # The bank's return file: an unknown payment file is refused at its field, the number kept.
    header = ("return.csv", b"entry_id,result,reason\n", "text/csv")
    unknown = web_session.post("/app/finance/bank-return", data={CSRF_FIELD: token, "file_id": "pf-none"},
                               files={"return_file": header})
    assert unknown.status_code == 404 and 'id="file_id-error"' in unknown.text and 'value="pf-none"' in unknown.text
    paid = web_session.post("/app/finance/payment", data={**run, "paid_on": "2026-11-20",
                                                          "payment_reference": "BANK-2026-10"})
    assert paid.status_code == 200 and "已发放" in paid.text
    with ServiceRpcProxy("subsidies", system.config) as subsidies:
        assert subsidies.list_runs({"month": "2026-10"})[0]["status"] == "paid"
