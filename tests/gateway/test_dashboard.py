"""The joint-meeting dashboard in a real headless Chromium (Debian's chromium and
chromedriver): the page renders, the screenshot is a real image, and the figures on the
page equal what the API says."""
import shutil

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from gateway.auth import SESSION_COOKIE
from tests.accounts.support import STRONG, enrol, make_person, next_code, paired_authenticator
from tests.gateway.conftest import COUNTY, VILLAGE, bearer
from tests.gateway.test_api import register, wait_for

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    if not shutil.which("chromium") and not shutil.which("chromium-browser"):
        pytest.fail("Chromium is needed for page tests: apt-get install chromium chromium-driver (bin/test does)")
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                     "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def figure(driver, key):
    return driver.find_element("id", key).text


def session_of(system, web_session, login="coordinator") -> str:
    """A signed-in county coordinator's session token (the web app's cookie), as signing in
    with a password and a one-time code gives it."""
    clock = paired_authenticator(system.containers["accounts"])
    with ServiceRpcProxy("accounts", system.config) as accounts:
        accounts.authenticator = clock
        make_person(accounts, login, "county_coordinator", COUNTY)
        secret = enrol(accounts, login)
    answer = web_session.post("/api/session", json={"login": login, "password": STRONG,
                                                    "one_time_password": next_code(clock, secret)})
    assert answer.status_code == 201, answer.text
    return answer.json()["session_token"]


def test_dashboard_in_chromium_shows_the_apis_numbers(api, system, browser, web_session, web_config_port, tmp_path):
    for number in range(3):
        register(api, f"elder-{number}", VILLAGE, sequence=number)
    wait_for(lambda: len(system.visits.list_plans({"division_code": COUNTY})) == 3)
    left_behind = api("GET", "/api/elders", params={"division_code": COUNTY, "left_behind": "true"}).json()
    key_targets = api("GET", "/api/elders", params={"division_code": COUNTY, "key_target": "true"}).json()
    # Signed in to the web app: its session cookie opens the dashboard (no token in the address).
    base = f"http://127.0.0.1:{web_config_port}"
    browser.get(f"{base}/health")
    browser.add_cookie({"name": SESSION_COOKIE, "value": session_of(system, web_session), "path": "/"})
    browser.get(f"{base}/dashboard/{COUNTY}")
    assert "濮阳县" in browser.title
    assert figure(browser, "elders-left_behind") == str(len(left_behind))
    assert figure(browser, "elders-key_target") == str(len(key_targets))
    assert figure(browser, "visits-under-obligation") == "3"
    assert figure(browser, "alerts-open") == str(len(api("GET", "/api/alerts",
                                                        params={"division_code": COUNTY}).json()))
    assert figure(browser, "disbursed-yuan") == "0.00"      # no subsidy run this month yet
    screenshot = tmp_path / "dashboard.png"
    browser.save_screenshot(str(screenshot))
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 10_000
    # Drill down: the county page links to its townships; English on request.
    browser.find_element("css selector", "a[href^='/dashboard/410928101']").click()
    assert "410928101" in browser.current_url
    browser.get(f"{base}/dashboard/{COUNTY}?lang=en")
    assert "joint meeting" in browser.title


def test_dashboard_refuses_outside_jurisdiction_and_sends_a_stranger_to_sign_in(system, web_session):
    assert web_session.get(f"/dashboard/{COUNTY}", headers=bearer(
        system, user="cadre", role="village_worker", jurisdiction=VILLAGE)).status_code == 403
    stranger = web_session.get(f"/dashboard/{COUNTY}?lang=en", allow_redirects=False)
    assert stranger.status_code == 303
    assert stranger.headers["Location"] == f"/app/sign-in?next=%2Fdashboard%2F{COUNTY}%3Flang%3Den"
    # A token in the address is not a way in (addresses end up in logs and browser history).
    assert web_session.get(f"/dashboard/{COUNTY}", params={"token": system.token()},
                           allow_redirects=False).status_code == 303
    assert web_session.get(f"/dashboard/{COUNTY}", headers={"Authorization": "Bearer not.a.token"}).status_code == 401


def test_dashboard_names_kinds_and_departments_not_their_codes(api, system, web_session):
    opened = api("POST", "/api/facilities", json={
        "facility_id": "facility-1", "name": "东关村幸福院", "division_code": VILLAGE, "kind": "happiness_home",
        "operating_model": "public_built_public_run", "operator": "村委会", "capacity": 3,
        "effective_date": "2026-01-01"})
    assert opened.status_code == 201, opened.text
    page = web_session.get(f"/dashboard/{COUNTY}", headers=bearer(system)).text
    assert "农村互助幸福院" in page and "happiness_home" not in page
    english = web_session.get(f"/dashboard/{COUNTY}?lang=en", headers=bearer(system)).text
    assert "Rural mutual-aid happiness home" in english
