"""The joint-meeting dashboard in a real headless Chromium (Debian's chromium and
chromedriver): the page renders, the screenshot is a real image, and the figures on the
page equal what the API says."""
import shutil

import pytest

from tests.gateway.conftest import COUNTY, VILLAGE
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


def test_dashboard_in_chromium_shows_the_apis_numbers(api, system, browser, web_config_port, tmp_path):
    for number in range(3):
        register(api, f"elder-{number}", VILLAGE, sequence=number)
    wait_for(lambda: len(system.visits.list_plans({"division_code": COUNTY})) == 3)
    left_behind = api("GET", "/api/elders", params={"division_code": COUNTY, "left_behind": "true"}).json()
    key_targets = api("GET", "/api/elders", params={"division_code": COUNTY, "key_target": "true"}).json()
    token = system.token()
    browser.get(f"http://127.0.0.1:{web_config_port}/dashboard/{COUNTY}?token={token}")
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
    browser.get(f"http://127.0.0.1:{web_config_port}/dashboard/{COUNTY}?token={token}&lang=en")
    assert "joint meeting" in browser.title


def test_dashboard_refuses_outside_jurisdiction(system, web_session):
    token = system.token(user="cadre", role="village_worker", jurisdiction=VILLAGE)
    assert web_session.get(f"/dashboard/{COUNTY}?token={token}").status_code == 403
    assert web_session.get(f"/dashboard/{COUNTY}").status_code == 401


def test_dashboard_names_kinds_and_departments_not_their_codes(api, system, web_session):
    opened = api("POST", "/api/facilities", json={
        "facility_id": "facility-1", "name": "东关村幸福院", "division_code": VILLAGE, "kind": "happiness_home",
        "operating_model": "public_built_public_run", "operator": "村委会", "capacity": 3,
        "effective_date": "2026-01-01"})
    assert opened.status_code == 201, opened.text
    page = web_session.get(f"/dashboard/{COUNTY}?token={system.token()}").text
    assert "农村互助幸福院" in page and "happiness_home" not in page
    english = web_session.get(f"/dashboard/{COUNTY}?token={system.token()}&lang=en").text
    assert "Rural mutual-aid happiness home" in english
