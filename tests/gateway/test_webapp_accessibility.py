"""Every page of the web app passes axe-core (run in the test's Chromium, on a phone-sized
screen) with no serious or critical violation, in Chinese and in English."""
import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from tests.gateway.conftest import COUNTY, VILLAGE
from tests.gateway.test_api import wait_for
from tests.gateway.test_orders_api import open_facility
from tests.gateway.test_webapp_browser import (COORDINATOR, OFFICER, WORKER, accounts, assigned_elder,  # noqa: F401
                                               cadre, phone, sign_in)

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]}).then(
  (result) => done(result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                                  nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" "))}))),
  (error) => done([{id: "axe-failed", impact: "critical", help: String(error), nodes: []}]));
"""


def violations(driver, path: str) -> list[dict]:
    driver.get(driver.base + path)
    source = AXE.read_text(encoding="utf-8")
    driver.execute_script(source)           # WebDriver's script runs outside the page's CSP
    found = driver.execute_async_script(RUN_AXE)
    return [dict(v, page=path) for v in found if v["impact"] in ("serious", "critical")]


def test_the_vendored_axe_is_the_one_recorded():
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_has_no_serious_or_critical_accessibility_violation(api, system, phone, lang):
    assigned_elder(api, system)
    cadre(api)
    assert api("POST", "/api/elders/elder-1/visitor", json={"visitor_id": "cadre-1"}).status_code == 201
    raised = api("POST", "/api/alerts", json={"kind": "critical_illness", "division_code": VILLAGE,
                                              "severity": "high", "summary": "持续发热", "elder_id": "elder-1"})
    assert raised.status_code == 201
    open_facility(api, "canteen-1", VILLAGE)      # with an order offered to it, its page shows the forms
    wait_for(lambda: api("POST", "/api/orders", json={"elder_id": "elder-1", "service_kind": "meals",
                                                      "caller": "family"}).status_code == 201)
    referred = api("POST", "/api/referrals", json={"to_department": "health", "division_code": VILLAGE,
                                                   "request": "请安排家庭医生上门", "elder_id": "elder-1"})
    assert referred.status_code == 201, referred.text
    system.clock("notifications").offset += timedelta(hours=25)
    with ServiceRpcProxy("notifications", system.config) as notifications:
        notifications.sweep()
    found = violations(phone, f"/app/sign-in?lang={lang}") + violations(phone, f"/app/password-reset?lang={lang}")
    sign_in(phone, system, WORKER)
    phone.get(f"{phone.base}/app/language/{lang}?next=/app/")
    for path in ("/app/", "/app/elders", "/app/elders/elder-1", "/app/elders/elder-1/visits/new",
                 "/app/elders/new", "/app/elders/elder-1/notice", "/app/alerts", "/app/facilities/canteen-1/orders",
                 "/app/no-such-page"):
        found += violations(phone, path)
    phone.delete_all_cookies()
    sign_in(phone, system, OFFICER)
    phone.get(f"{phone.base}/app/language/{lang}?next=/app/")
    found += violations(phone, "/app/") + violations(phone, "/app/alerts")
    found += violations(phone, "/app/referrals") + violations(phone, "/app/inbox")
    phone.delete_all_cookies()
    sign_in(phone, system, COORDINATOR)
    phone.get(f"{phone.base}/app/language/{lang}?next=/app/")
    assert api("POST", "/api/surveys", json={"campaign_id": "winter", "name": "冬季摸底排查", "jurisdiction": COUNTY,
                                             "deadline": "2026-12-20", "fields_to_confirm": ["name"]}).status_code == 201
    for path in ("/app/", "/app/dashboard", "/app/dashboard/410928101000", "/app/subsidies",
                 "/app/elders?name=王", "/app/imports", "/app/surveys", "/app/surveys/winter",
                 "/app/contacts", "/app/contacts?township=410928101000",
                 "/app/elders/elder-1", "/app/elders/elder-1/access-log", "/app/elders/elder-1/timeline",
                 "/app/audit", "/app/finance"):
        found += violations(phone, path)
    assert found == []
