"""The web app over plain HTTP against the real services: what every answer carries (CSP,
no trace, the person's language), sign-in redirects, CSRF, and a refused form."""
from gateway.webapp.security import CSRF_COOKIE, CSRF_FIELD
from gateway.webapp.sessions import SESSION_COOKIE
from tests.gateway.conftest import VILLAGE

VILLAGE_WORKER = dict(user="cadre", department="civil_affairs", role="village_worker", jurisdiction=VILLAGE)


def signed_in(web_session, system, **who):
    web_session.cookies.set(SESSION_COOKIE, system.token(**(who or VILLAGE_WORKER)), path="/app")
    return web_session


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
    from nameko.standalone.rpc import ServiceRpcProxy
    with ServiceRpcProxy("registry", system.config) as registry:
        assert registry.search_elders({"division_code": VILLAGE}) == []
