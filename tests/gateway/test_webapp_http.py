"""The web app over plain HTTP against the real services: what every answer carries (CSP,
no trace, the person's language), sign-in redirects, CSRF, and a refused form."""
import pytest

from gateway.webapp.security import CSRF_COOKIE, CSRF_FIELD
from gateway.webapp.sessions import SESSION_COOKIE
from nameko.standalone.rpc import ServiceRpcProxy

from tests.gateway.conftest import COUNTY, VILLAGE
from tests.gateway.test_api import register, wait_for
from tests.gateway.test_orders_api import open_facility
from tests.gateway.webapp_support import (PASSWORD, move_accounts_clocks, one_time_code, reset_link_code,
                                          start_accounts)

QINSHUI = "140521000000"
VILLAGE_WORKER = dict(user="cadre", department="civil_affairs", role="village_worker", jurisdiction=VILLAGE)


COORDINATOR = dict(user="coordinator", department="civil_affairs", role="county_coordinator", jurisdiction=COUNTY)
# A county under Jincheng's subsidy policy (Puyang has none).
QINSHUI_COORDINATOR = dict(user="qinshui", department="civil_affairs", role="county_coordinator",
                           jurisdiction=QINSHUI)
SECRETS: dict = {}


@pytest.fixture(autouse=True)
def accounts(system, container_factory, tmp_path):
    SECRETS.clear()
    SECRETS.update(start_accounts(system, container_factory, tmp_path,
                                  (VILLAGE_WORKER, COORDINATOR, QINSHUI_COORDINATOR)))


def signed_in(web_session, system, password=PASSWORD, login="cadre"):
    web_session.get("/app/sign-in")
    response = web_session.post("/app/sign-in", allow_redirects=False, data={
        CSRF_FIELD: web_session.cookies.get(CSRF_COOKIE), "login": login, "password": password,
        "one_time_password": one_time_code(SECRETS.get(login)), "next": "/app/"})
    return response


def test_county_starts_a_subsidy_run_and_a_bad_month_is_refused_at_its_field(system, web_session):
    signed_in(web_session, system, login="coordinator")
    token = web_session.cookies.get(CSRF_COOKIE)
    refused = web_session.post("/app/subsidies/runs", data={CSRF_FIELD: token, "month": "2026-13"})
    assert refused.status_code == 400 and 'id="month-error"' in refused.text and 'value="2026-13"' in refused.text
    # Puyang has no subsidy policy: the service's reason is shown at the top of the form.
    uncovered = web_session.post("/app/subsidies/runs", data={CSRF_FIELD: token, "month": "2026-10"})
    assert uncovered.status_code == 400 and "no subsidy policy covers" in uncovered.text
    web_session.cookies.clear()
    signed_in(web_session, system, login="qinshui")
    token = web_session.cookies.get(CSRF_COOKIE)
    started = web_session.post("/app/subsidies/runs", data={CSRF_FIELD: token, "month": "2026-10"})
    assert started.status_code == 200 and started.url.endswith("/app/subsidies?month=2026-10")
    assert "沁水县" in started.text and "待审核" in started.text
    with ServiceRpcProxy("subsidies", system.config) as subsidies:
        [run] = subsidies.list_runs({"month": "2026-10"})
    assert (run["jurisdiction"], run["status"]) == ("140521", "completed")


def test_a_service_that_does_not_answer_is_a_page_in_the_persons_language(system, web_session):
    signed_in(web_session, system, login="coordinator")
    system.containers["subsidies"].stop()
    page = web_session.get("/app/subsidies")
    assert page.status_code == 503 and "服务暂时无响应" in page.text and "Traceback" not in page.text
    assert page.headers["Retry-After"]


def test_sign_in_sets_an_httponly_samesite_session_and_a_wrong_password_is_refused(system, web_session):
    refused = signed_in(web_session, system, password="wrong")
    assert refused.status_code == 401 and "账号或密码不正确" in refused.text
    assert SESSION_COOKIE not in web_session.cookies
    response = signed_in(web_session, system)
    assert response.status_code == 303 and response.headers["Location"] == "/app/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(SESSION_COOKIE + "=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert web_session.get("/app/").status_code == 200
    signed_out = web_session.post("/app/sign-out", data={CSRF_FIELD: web_session.cookies.get(CSRF_COOKIE)},
                                  allow_redirects=False)
    assert signed_out.status_code == 303
    assert web_session.get("/app/", allow_redirects=False).status_code == 303     # back to sign-in


def test_the_next_page_after_sign_in_stays_on_this_site(system, web_session):
    web_session.get("/app/sign-in")
    response = web_session.post("/app/sign-in", allow_redirects=False, data={
        CSRF_FIELD: web_session.cookies.get(CSRF_COOKIE), "login": "cadre", "password": PASSWORD,
        "next": "https://evil.example/app/"})
    assert response.headers["Location"] == "/app/"


def test_pages_need_a_session_and_come_back_after_sign_in(system, web_session):
    response = web_session.get("/app/elders?x=1", allow_redirects=False)
    assert response.status_code == 303
    assert response.headers["Location"] == "/app/sign-in?next=%2Fapp%2Felders%3Fx%3D1"
    page = web_session.get(response.headers["Location"])
    assert page.status_code == 200 and "登录" in page.text
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert 'name="next" value="/app/elders?x=1"' in page.text


def test_unknown_pages_and_english(system, web_session):
    missing = web_session.get("/app/no/such/page")
    assert missing.status_code == 404 and "页面不存在" in missing.text and "Traceback" not in missing.text
    english = web_session.get("/app/no/such/page?lang=en")
    assert "Page not found" in english.text and '<html lang="en">' in english.text


def test_home_lists_my_elders_in_chinese(system, web_session):
    signed_in(web_session, system)
    page = web_session.get("/app/")
    assert page.status_code == 200, page.text
    assert "今日工作" in page.text and "我的巡访对象" in page.text


def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(system, web_session):
    signed_in(web_session, system)
    web_session.get("/app/elders/new")
    assert web_session.cookies.get(CSRF_COOKIE)
    refused = web_session.post("/app/elders/new", data={"name": "王秀英"})
    assert refused.status_code == 403 and "表单已失效" in refused.text


def test_a_refused_registration_names_the_field_and_keeps_what_was_typed(system, web_session):
    signed_in(web_session, system)
    web_session.get("/app/elders/new")
    token = web_session.cookies.get(CSRF_COOKIE)
    response = web_session.post("/app/elders/new", data={
        CSRF_FIELD: token, "elder_id": "elder-form", "name": "王秀英", "resident_id": "410928194912310021",
        "sex": "female", "birth_date": "1949-12-31", "division_code": VILLAGE, "household_id": "h-1",
        "address": "东关村1号", "effective_date": "2026-11-01"})
    assert response.status_code == 400, response.text
    assert 'id="resident_id-error"' in response.text
    assert 'value="王秀英"' in response.text and 'value="东关村1号"' in response.text
    with ServiceRpcProxy("registry", system.config) as registry:
        assert registry.search_elders({"division_code": VILLAGE}) == []


def test_a_supporter_coming_back_is_recorded_from_the_card_and_a_bad_date_is_refused(system, web_session, api):
    from tests.gateway.test_api import register
    register(api)                           # a supporter away since 2025-12-01: left-behind
    signed_in(web_session, system)
    card = web_session.get("/app/elders/elder-1")
    assert 'id="supporter-s1"' in card.text and "已返乡" in card.text
    token = web_session.cookies.get(CSRF_COOKIE)
    refused = web_session.post("/app/elders/elder-1/supporters/s1",
                               data={CSRF_FIELD: token, "change": "returned", "effective_date": "not a day"})
    assert refused.status_code == 400 and 'id="supporter-s1-error"' in refused.text
    done = web_session.post("/app/elders/elder-1/supporters/s1",
                            data={CSRF_FIELD: token, "change": "returned", "effective_date": "2026-11-20"})
    assert done.status_code == 200 and "已记录赡养人去向" in done.text
    with ServiceRpcProxy("registry", system.config) as registry:
        elder = registry.get_elder("elder-1")
    assert elder["supporters"][0]["returned_on"] == "2026-11-20" and elder["left_behind"] is False


def test_a_home_service_is_ordered_from_the_card_and_the_facility_accepts_and_completes_it(system, web_session,
                                                                                           api):
    register(api)
    open_facility(api, "canteen-1", VILLAGE)
    wait_for(lambda: api("GET", "/api/facilities/canteen-1/orders").status_code == 200)
    signed_in(web_session, system)
    card = web_session.get("/app/elders/elder-1")
    assert 'id="order-form"' in card.text and "居家服务" in card.text and "助餐" in card.text
    token = web_session.cookies.get(CSRF_COOKIE)
    refused = web_session.post("/app/elders/elder-1/orders", data={
        CSRF_FIELD: token, "service_kind": "bathing", "caller": "family", "service_date": "2026-11-23"})
    assert refused.status_code == 409 and 'id="service_kind-error"' in refused.text      # nobody offers baths
    placed = None

    def place():
        nonlocal placed
        placed = web_session.post("/app/elders/elder-1/orders", data={
            CSRF_FIELD: token, "service_kind": "meals", "caller": "family", "service_date": "2026-11-23",
            "note": "少盐", "idempotency_key": "order-1"})
        return placed.status_code == 200        # once orders has heard of the elder and the canteen
    wait_for(place)
    assert "已下单" in placed.text and "待机构接单" in placed.text
    listed = web_session.get("/app/facilities/canteen-1/orders")
    assert listed.status_code == 200 and "南彭屯村照料中心" in listed.text
    order_id = "ord-" + listed.text.split('id="order-ord-')[1].split('"')[0]
    early = web_session.post(f"/app/facilities/canteen-1/orders/{order_id}/completion",
                             data={CSRF_FIELD: token, "delivered_on": "2026-11-23"})
    assert early.status_code == 409 and f'id="order-{order_id}-error"' in early.text
    accepted = web_session.post(f"/app/facilities/canteen-1/orders/{order_id}/acceptance", data={CSRF_FIELD: token})
    assert accepted.status_code == 200 and "已接单" in accepted.text
    done = web_session.post(f"/app/facilities/canteen-1/orders/{order_id}/completion",
                            data={CSRF_FIELD: token, "delivered_on": "2026-11-23"})
    assert done.status_code == 200 and "2026-11-23 已完成" in done.text
    with ServiceRpcProxy("orders", system.config) as orders:
        assert [o["status"] for o in orders.elder_orders({"elder_id": "elder-1"})] == ["completed"]


NEW_PASSWORD = "quarry-heron-52-lattice"


def reset(web_session, code, new_password=NEW_PASSWORD, again=None):
    web_session.get("/app/password-reset")
    return web_session.post("/app/password-reset", allow_redirects=False, data={
        CSRF_FIELD: web_session.cookies.get(CSRF_COOKIE), "reset_token": code, "new_password": new_password,
        "new_password_again": new_password if again is None else again})


def test_a_reset_link_sets_a_new_password_once_and_sends_the_person_to_sign_in(system, web_session):
    code = reset_link_code(system, "cadre")
    page = web_session.get("/app/password-reset")
    assert page.status_code == 200 and 'name="reset_token"' in page.text and code not in page.text
    assert page.headers["Cache-Control"] == "no-store" and "Content-Security-Policy" in page.headers
    weak = reset(web_session, code, "password1")
    assert weak.status_code == 400 and 'id="new_password-error"' in weak.text and "至少要 10 个字符" in weak.text
    assert f'value="{code}"' in weak.text                       # kept, so the person only retypes the password
    differ = reset(web_session, code, again="quarry-heron-52-latticf")
    assert differ.status_code == 400 and 'id="new_password_again-error"' in differ.text and "两次" in differ.text
    done = reset(web_session, code)
    assert done.status_code == 303 and done.headers["Location"] == "/app/sign-in?reset=done"
    assert "新密码已设置" in web_session.get(done.headers["Location"]).text
    assert signed_in(web_session, system).status_code == 401                  # the old password is gone
    assert signed_in(web_session, system, password=NEW_PASSWORD).headers["Location"] == "/app/"
    web_session.cookies.clear()
    again = reset(web_session, code, "another-sturdy-91-phrase")
    assert again.status_code == 400 and 'id="reset_token-error"' in again.text and "already used" in again.text
    assert signed_in(web_session, system, password=NEW_PASSWORD).headers["Location"] == "/app/"


def test_an_expired_or_unknown_reset_link_is_refused_at_its_field(system, web_session):
    code = reset_link_code(system, "cadre")
    move_accounts_clocks(hours=25)          # links live ACCOUNTS.reset_link_hours (24)
    expired = reset(web_session, code)
    assert expired.status_code == 400 and "expired" in expired.text and 'id="reset_token-error"' in expired.text
    forged = reset(web_session, code.split(".")[0] + ".not-the-secret")
    assert forged.status_code == 400 and "not valid" in forged.text
    web_session.cookies.clear()
    assert signed_in(web_session, system, password=NEW_PASSWORD).status_code == 401
