"""The web app in a real headless Chromium on a phone-sized screen (390×844), against the
real services: each role's main task from its home page, the result seen on the page and in
the service. Each page's screenshot is written under ``var/test-output/screenshots`` (or
``$TEST_OUTPUT_DIR``)."""
import hashlib
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from gateway.webapp.security import CSRF_COOKIE
from gateway.webapp.sessions import SESSION_COOKIE
from kernel.config import REPOSITORY_ROOT
from tests.gateway.conftest import COUNTY, TOWNSHIP, VILLAGE
from tests.gateway.test_api import register, wait_for
from tests.gateway.webapp_support import PASSWORD, one_time_code, reset_link_code, start_accounts
from demo.residents import make_resident_id, order_code

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
WORKER = dict(user="cadre-li", department="civil_affairs", role="village_worker", jurisdiction=VILLAGE)
OFFICER = dict(user="officer-zhao", department="civil_affairs", role="township_officer", jurisdiction=TOWNSHIP)
COORDINATOR = dict(user="coordinator-wang", department="civil_affairs", role="county_coordinator",
                   jurisdiction=COUNTY)
SCRIPT_NAME = "<script>alert(1)</script>"
PEOPLE = (WORKER, OFFICER, COORDINATOR)


@pytest.fixture(autouse=True)
def accounts(system, container_factory, tmp_path):
    SECRETS.clear()
    SECRETS.update(start_accounts(system, container_factory, tmp_path, PEOPLE))
    return SECRETS


SECRETS: dict = {}


def output_dir() -> Path:
    directory = Path(os.environ.get("TEST_OUTPUT_DIR") or REPOSITORY_ROOT / "var" / "test-output") / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def phone(web_config_port, request):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    if not shutil.which("chromium") and not shutil.which("chromium-browser"):
        pytest.fail("Chromium is needed for page tests: apt-get install chromium chromium-driver (bin/test does)")
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=390,844",
                     "--disable-dev-shm-usage", "--lang=zh-CN"):
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    driver.base = f"http://127.0.0.1:{web_config_port}"
    driver.shots = []

    def shot(name):
        path = output_dir() / f"{request.node.name}-{len(driver.shots):02d}-{name}.png"
        driver.save_screenshot(str(path))
        assert path.read_bytes().startswith(b"\x89PNG")
        driver.shots.append(path)
    driver.shot = shot
    yield driver
    driver.quit()


def sign_in(driver, system, who, then="/app/", secrets=None) -> None:
    """Through the sign-in page, as a person does: the accounts service's session lands in
    an HttpOnly cookie and the page comes back to where it was asked for."""
    driver.get(driver.base + then)
    assert "/app/sign-in" in driver.current_url
    driver.find_element(By.NAME, "login").send_keys(who["user"])
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    code = one_time_code((secrets or SECRETS).get(who["user"]))
    if code:
        driver.find_element(By.NAME, "one_time_password").send_keys(code)
    navigate(driver, driver.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    WebDriverWait(driver, 20).until(lambda d: d.current_url == d.base + then)
    assert driver.execute_script("return document.cookie") == ""        # HttpOnly: no script reads it


def navigate(driver, element) -> None:
    """Click something that loads a new page, and wait until the new page is there (a click
    does not wait for the navigation it starts)."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()

    def replaced(d):
        try:
            page.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException:      # asked mid-navigation ("node ... does not belong to the document")
            return False
    WebDriverWait(driver, 20).until(replaced)
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")


def text_of(driver, element_id) -> str:
    return driver.find_element(By.ID, element_id).text


def no_horizontal_scroll(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")


def assigned_elder(api, system, elder_id="elder-1", sequence=0, name=None):
    body = register(api, elder_id, VILLAGE, sequence=sequence)
    if name:
        response = api("POST", f"/api/elders/{elder_id}/corrections",
                       json={"changes": {"name": name}, "reason": "test", "effective_date": "2026-11-01"})
        assert response.status_code == 201, response.text
    wait_for(lambda: api("GET", f"/api/elders/{elder_id}/visit-plan").status_code == 200)
    return body


def cadre(api):
    response = api("POST", "/api/visitors", json={"visitor_id": "cadre-1", "name": "李明", "phone": "13800000001",
                                                  "role": "village_cadre", "organisation": "东关村民委员会",
                                                  "village_codes": [VILLAGE]})
    assert response.status_code == 201, response.text
    return response.json()


def test_village_worker_records_a_routine_visit_in_a_few_taps_and_prints_the_notice(api, system, phone,
                                                                                    web_session):
    assigned_elder(api, system)
    cadre(api)
    assert api("POST", "/api/elders/elder-1/visitor", json={"visitor_id": "cadre-1"}).status_code == 201
    sign_in(phone, system, WORKER)
    phone.get(phone.base + "/app/")
    assert text_of(phone, "my-elders") == "1" and text_of(phone, "visits-due") == "1"
    card = phone.find_element(By.CSS_SELECTOR, "[data-elder-id='elder-1']")
    assert "王秀英" in card.text and "本月待访" in card.text and "留守" in card.text
    assert no_horizontal_scroll(phone)
    phone.shot("home")
    navigate(phone, card.find_element(By.CSS_SELECTOR, "a.card-link"))
    assert text_of(phone, "elder-name") == "王秀英"
    assert "东关村" in text_of(phone, "elder-village") or text_of(phone, "elder-village")
    phone.shot("elder-card")
    navigate(phone, phone.find_element(By.ID, "record-visit"))
    phone.shot("visit-form")
    navigate(phone, phone.find_element(By.ID, "record-routine"))                     # the one tap
    assert text_of(phone, "flash") == "巡访已记录。", (phone.current_url, phone.get_cookies(), phone.page_source[:600])
    assert "上门巡访" in text_of(phone, "visit-history")
    phone.shot("visit-recorded")
    with ServiceRpcProxy("visits", system.config) as visits:
        [visit] = visits.list_visits("elder-1")
    assert (visit["mode"], visit["visitor_id"], visit["visited_on"]) == ("home", "cadre-1", "2026-11-23")
    # Back home, the elder is no longer due; the written notice prints with its Chinese.
    phone.get(phone.base + "/app/")
    assert text_of(phone, "visits-due") == "0"
    pdf_link = phone.find_element(By.CSS_SELECTOR, "a.card-link")
    navigate(phone, pdf_link)
    href = phone.find_element(By.ID, "notice-pdf").get_attribute("href")
    web_session.cookies.set(SESSION_COOKIE, phone.get_cookie(SESSION_COOKIE)["value"], path="/")
    pdf = web_session.get(href)
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == pdf.headers["X-Notice-SHA256"]
    import io

    from pypdf import PdfReader
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "王秀英老人及其赡养人" in text and "李明" in text


def test_village_worker_registers_an_elder_and_a_refusal_shows_at_the_field(api, system, phone):
    sign_in(phone, system, WORKER, then="/app/elders/new")
    values = {"name": "张桂英", "resident_id": "410928194103090020", "birth_date": "1941-03-09",
              "household_id": "h-7", "address": "东关村二组5号", "supporter_name": "张强",
              "supporter_relationship": "儿子", "supporter_left_on": "2025-12-01"}
    for name, value in values.items():
        field = phone.find_element(By.NAME, name)
        if field.get_attribute("type") == "date":
            phone.execute_script("arguments[0].value = arguments[1]", field, value)
        else:
            field.send_keys(value)
    phone.find_element(By.CSS_SELECTOR, "input[name=sex][value=female]").click()
    navigate(phone, phone.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    # The service's check of the resident ID, next to the field, with what was typed kept.
    error = text_of(phone, "resident_id-error")
    assert error
    assert phone.find_element(By.NAME, "name").get_attribute("value") == "张桂英"
    assert phone.find_element(By.NAME, "address").get_attribute("value") == "东关村二组5号"
    phone.shot("refused")
    good = make_resident_id("410928", __import__("datetime").date(1941, 3, 9), order_code(3, "female"), "female")
    field = phone.find_element(By.NAME, "resident_id")
    field.clear()
    field.send_keys(good)
    navigate(phone, phone.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    assert text_of(phone, "elder-name") == "张桂英"
    assert text_of(phone, "flash") == "已登记。"
    phone.shot("registered")
    found = api("GET", "/api/elders", params={"division_code": VILLAGE}).json()
    assert [e["name"] for e in found] == ["张桂英"]


def test_an_elder_named_like_a_script_renders_inert(api, system, phone):
    assigned_elder(api, system, name=SCRIPT_NAME)
    sign_in(phone, system, WORKER, then="/app/elders")
    assert SCRIPT_NAME in phone.find_element(By.ID, "elder-list").text
    navigate(phone, phone.find_element(By.CSS_SELECTOR, "a.card-link"))
    assert text_of(phone, "elder-name") == SCRIPT_NAME
    with pytest.raises(NoAlertPresentException):
        phone.switch_to.alert.text
    assert phone.execute_script("return document.querySelectorAll('main script').length") == 0


def test_township_officer_acknowledges_and_closes_an_escalated_alert(api, system, phone):
    assigned_elder(api, system)
    raised = api("POST", "/api/alerts", json={"kind": "infringement", "division_code": VILLAGE, "severity": "high",
                                              "summary": "邻居反映老人被锁在屋内", "elder_id": "elder-1"})
    assert raised.status_code == 201, raised.text
    alert_id = raised.json()["alert_id"]
    system.clock("notifications").offset += timedelta(hours=25)         # the village did not acknowledge
    with ServiceRpcProxy("notifications", system.config) as notifications:
        assert notifications.sweep()["escalated"] >= 1
        assert notifications.get_alert(alert_id)["level"] == "township"
        at_township = [a for a in notifications.list_alerts({"division_code": TOWNSHIP})
                       if a["level"] == "township" and a["status"] == "open"]
        sign_in(phone, system, OFFICER)
        phone.get(phone.base + "/app/")
        assert text_of(phone, "alerts-waiting") == str(len(at_township))
        phone.shot("home")
        phone.get(phone.base + "/app/alerts")
        alert = phone.find_element(By.ID, f"alert-{alert_id}")
        assert "遭受不法侵害" in alert.text and "乡镇人民政府" in alert.text and "签收期限" in alert.text
        phone.shot("alerts")
        navigate(phone, alert.find_element(By.NAME, "acknowledge"))
        wait_for(lambda: notifications.get_alert(alert_id)["status"] == "acknowledged")
        alert = phone.find_element(By.ID, f"alert-{alert_id}")
        assert "已签收" in alert.text
        alert.find_element(By.CSS_SELECTOR, f"#outcome-{alert_id} option[value=family_took_over]").click()
        alert.find_element(By.ID, f"note-{alert_id}").send_keys("儿子已回家")
        navigate(phone, alert.find_element(By.NAME, "close"))
        assert not phone.find_elements(By.ID, f"alert-{alert_id}")
        closed = notifications.get_alert(alert_id)
    assert (closed["status"], closed["outcome"]) == ("closed", "family_took_over")
    phone.shot("closed")


def test_county_dashboard_draws_charts_with_the_apis_numbers_and_drills_down(api, system, phone):
    for number in range(3):
        register(api, f"elder-{number}", VILLAGE, sequence=number)
    wait_for(lambda: len(system.visits.list_plans({"division_code": COUNTY})) == 3)
    sign_in(phone, system, COORDINATOR, then="/app/dashboard")
    left_behind = api("GET", "/api/elders", params={"division_code": COUNTY, "left_behind": "true"}).json()
    assert text_of(phone, "division-name") == "濮阳县"
    assert text_of(phone, "elders-left_behind") == str(len(left_behind))
    assert text_of(phone, "visits-under-obligation") == "3"
    assert text_of(phone, "alerts-open") == str(len(api("GET", "/api/alerts", params={"division_code": COUNTY}).json()))
    charts = phone.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) >= 3
    assert "各月巡访覆盖率" in phone.page_source
    assert no_horizontal_scroll(phone)
    phone.shot("dashboard")
    navigate(phone, phone.find_element(By.CSS_SELECTOR, "svg.chart a[href^='/app/dashboard/410928101']"))
    assert phone.current_url.endswith("/app/dashboard/410928101000")
    phone.shot("township")
    phone.get(phone.base + "/app/language/en?next=/app/dashboard")
    assert text_of(phone, "division-name") == "濮阳县" and "Joint meeting" in phone.page_source
    phone.shot("dashboard-en")


def network(driver, online: bool) -> None:
    """Cut or restore the browser's network (DevTools), as a phone losing its signal."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": not online, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


def queued(driver) -> str | None:
    return driver.find_element(By.TAG_NAME, "body").get_attribute("data-offline-queue")


QUEUE_CONTENTS = """
const done = arguments[arguments.length - 1];
const open = indexedDB.open("eldercare-offline", 1);
open.onsuccess = () => {
  const request = open.result.transaction("visits").objectStore("visits").getAll();
  request.onsuccess = () => done(request.result);
};
"""


def test_visits_recorded_offline_wait_on_the_phone_and_land_once_when_the_network_returns(api, system, phone,
                                                                                        web_session):
    assigned_elder(api, system, "elder-1", 0)
    assigned_elder(api, system, "elder-2", 1)
    cadre(api)
    sign_in(phone, system, WORKER)
    WebDriverWait(phone, 30).until(lambda d: d.find_element(By.TAG_NAME, "body")
                                   .get_attribute("data-offline-ready") == "yes")
    WebDriverWait(phone, 30).until(lambda d: d.execute_script("return !!navigator.serviceWorker.controller"))
    network(phone, online=False)
    # Two visits, and one the service will refuse (dated after the service's today).
    for count, (elder_id, day) in enumerate((("elder-1", "2026-11-20"), ("elder-2", "2026-11-21"),
                                             ("elder-2", "2026-12-20")), start=1):
        phone.get(f"{phone.base}/app/elders/{elder_id}/visits/new")
        assert phone.execute_script("return navigator.onLine") is False
        field = phone.find_element(By.NAME, "visited_on")
        phone.execute_script("arguments[0].value = arguments[1]", field, day)
        phone.find_element(By.ID, "record-routine").click()
        WebDriverWait(phone, 20).until(lambda d: queued(d) == str(count))
    assert text_of(phone, "offline-waiting") == "3"
    phone.shot("three-waiting")
    kept = phone.execute_async_script(QUEUE_CONTENTS)
    assert len({item["visit_id"] for item in kept}) == 3            # each its own Idempotency-Key
    with ServiceRpcProxy("visits", system.config) as visits:
        assert visits.list_visits("elder-1") == [] and visits.list_visits("elder-2") == []
        network(phone, online=True)
        WebDriverWait(phone, 30).until(lambda d: queued(d) == "0")
        [refused] = phone.find_elements(By.CSS_SELECTOR, ".offline-refused")
        assert "visited_on" in refused.text and "2026-12-20" in refused.text
        phone.shot("sent-one-refused")
        landed = {elder: visits.list_visits(elder) for elder in ("elder-1", "elder-2")}
        assert [v["visited_on"] for v in landed["elder-1"]] == ["2026-11-20"]
        assert [v["visited_on"] for v in landed["elder-2"]] == ["2026-11-21"]
        # Sent again with the same keys (a phone that never heard the first answer): nothing twice.
        web_session.cookies.set(SESSION_COOKIE, phone.get_cookie(SESSION_COOKIE)["value"], path="/")
        csrf = phone.get_cookie(CSRF_COOKIE)["value"]
        web_session.cookies.set(CSRF_COOKIE, csrf, path="/")
        for item in (i for i in kept if i["body"]["visited_on"] != "2026-12-20"):
            again = web_session.post(f"/api/elders/{item['elder_id']}/visits", json=item["body"],
                                     headers={"Idempotency-Key": item["visit_id"], "X-CSRF-Token": csrf})
            assert again.status_code == 201, again.text
        assert {elder: visits.list_visits(elder) for elder in ("elder-1", "elder-2")} == landed


def test_a_person_opens_a_reset_link_chooses_a_new_password_and_signs_in_with_it(system, phone):
    code = reset_link_code(system, WORKER["user"])
    phone.get(f"{phone.base}/app/password-reset#{code}")
    WebDriverWait(phone, 20).until(lambda d: d.find_element(By.NAME, "reset_token").get_attribute("value") == code)
    assert "#" not in phone.current_url                 # the code left the address bar and the history
    phone.shot("reset-link-opened")

    def choose(password):
        for name in ("new_password", "new_password_again"):
            phone.find_element(By.NAME, name).clear()
            phone.find_element(By.NAME, name).send_keys(password)
        navigate(phone, phone.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    choose("password1")
    assert "至少要 10 个字符" in phone.find_element(By.ID, "new_password-error").text
    assert phone.find_element(By.NAME, "new_password").get_attribute("aria-invalid") == "true"
    assert phone.find_element(By.NAME, "reset_token").get_attribute("value") == code
    phone.shot("reset-weak-password")
    choose("quarry-heron-52-lattice")
    assert phone.current_url == phone.base + "/app/sign-in?reset=done"
    assert "新密码已设置" in phone.find_element(By.ID, "flash").text
    phone.shot("reset-done")
    phone.find_element(By.NAME, "login").send_keys(WORKER["user"])
    phone.find_element(By.NAME, "password").send_keys("quarry-heron-52-lattice")
    navigate(phone, phone.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    assert phone.current_url == phone.base + "/app/"
