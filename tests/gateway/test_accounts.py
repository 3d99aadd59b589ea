"""Sign-in and accounts through the gateway: real registry, accounts and gateway containers on
one vhost. The identity cache's clock is the test's, so "within the cache time" is shown by
moving it, not by waiting."""
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import get_extension

from gateway.auth import SESSION_COOKIE
from gateway.clients import Identity
from gateway.service import GatewayService
from kernel import migrate
from services.accounts.service import AccountsService
from services.registry.service import RegistryService
from tests.accounts.support import (CITY, COUNTY, FAST_ARGON2, OTHER_COUNTY, SECRET_KEY, STRONG, SYSTEM, TODAY, VILLAGE,
                                    enrol, make_person, next_code, paired_authenticator)

CACHE_SECONDS = 5.0
SERVICES = (RegistryService, AccountsService, GatewayService)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def front(rabbit_config, web_config, tmp_path, container_factory, web_session):
    urls = {cls.name: f"sqlite:///{tmp_path / (cls.name + '.db')}" for cls in SERVICES}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    config = {**rabbit_config, **web_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(),
              "RELAY": {"poll_interval": 0.1}, "REGISTRY": {"status_review_interval_seconds": 3600},
              "ACCOUNTS": {**FAST_ARGON2, "address_failures": 50, "secret_key": SECRET_KEY},
              "GATEWAY": {"token_keyring": str(tmp_path / "tokens.yml"), "rpc_timeout_seconds": 5,
                          "identity_cache_seconds": CACHE_SECONDS}}
    containers = {cls.name: container_factory(cls, config) for cls in SERVICES}
    for container in containers.values():
        container.start()
    clock = FakeClock()
    get_extension(containers["gateway"], Identity).resolver.clock = clock

    class Front:
        pass

    front = Front()
    front.http, front.clock = web_session, clock
    with ServiceRpcProxy("accounts", config) as accounts:
        front.accounts = accounts
        accounts.authenticator = paired_authenticator(containers["accounts"])
        yield front


def sign_in(front, login, password=STRONG, secret=None, **extra):
    body = {"login": login, "password": password, **extra}
    if secret:
        body["one_time_password"] = next_code(front.accounts.authenticator, secret)
    front.http.cookies.clear()
    front.http.headers.pop("X-CSRF-Token", None)
    answer = front.http.post("/api/session", json=body)
    if answer.status_code == 201:         # a cookie-signed write echoes the session's CSRF token
        front.http.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return answer


def test_a_cookie_signed_write_without_the_csrf_token_is_refused(front):
    make_person(front.accounts, "cadre-1", "village_worker", VILLAGE)
    sign_in(front, "cadre-1")
    csrf = front.http.headers.pop("X-CSRF-Token")
    refused = front.http.post("/api/tokens", json={"label": "tablet", "days": 1})
    assert refused.status_code == 403 and refused.json()["field"] == "csrf_token"
    wrong = front.http.post("/api/tokens", json={"label": "tablet", "days": 1}, headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    assert front.http.get("/api/elders").status_code == 200          # reads need no token
    front.http.headers["X-CSRF-Token"] = csrf
    assert front.http.delete("/api/session").status_code == 200


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_a_person_signs_in_and_the_session_cookie_opens_the_api(front):
    make_person(front.accounts, "cadre-1", "village_worker", VILLAGE)
    response = sign_in(front, "cadre-1")
    assert response.status_code == 201, response.text
    assert SESSION_COOKIE in response.cookies and "HttpOnly" in response.headers["Set-Cookie"]
    assert front.http.get("/api/elders").status_code == 200
    me = front.http.get("/api/session").json()
    assert me["login"] == "cadre-1" and me["active_grant"]["jurisdiction"] == VILLAGE
    assert front.http.delete("/api/session").status_code == 200
    front.http.cookies.set(SESSION_COOKIE, response.json()["session_token"])
    refused = front.http.get("/api/elders")
    assert refused.status_code == 401 and refused.json()["field"] == "session_token"


def test_a_wrong_password_is_401_and_a_locked_account_is_423_with_its_reason(front):
    make_person(front.accounts, "cadre-1", "village_worker", VILLAGE)
    for _ in range(4):
        assert sign_in(front, "cadre-1", password="not-the-password-9").status_code == 401
    locked = sign_in(front, "cadre-1", password="not-the-password-9")
    assert locked.status_code == 423
    assert "locked" in locked.json()["message"] and locked.json()["locked_until"]
    assert sign_in(front, "cadre-1").status_code == 423          # the right password waits too


def test_a_revoked_api_token_is_refused_within_the_cache_time(front):
    cadre = make_person(front.accounts, "cadre-1", "village_worker", VILLAGE)
    sign_in(front, "cadre-1")
    issued = front.http.post("/api/tokens", json={"grant_id": cadre["grants"][0]["grant_id"], "label": "tablet",
                                                  "days": 1})
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    front.http.cookies.clear()
    assert front.http.get("/api/elders", headers=bearer(token)).status_code == 200
    front.accounts.revoke_api_token({"token_id": issued.json()["token_id"], "person_id": cadre["person_id"]}, SYSTEM)
    # Cached: still served until the cache time has passed, then refused.
    assert front.http.get("/api/elders", headers=bearer(token)).status_code == 200
    front.clock.advance(CACHE_SECONDS)
    refused = front.http.get("/api/elders", headers=bearer(token))
    assert refused.status_code == 401 and "revoked" in refused.json()["message"]


def test_a_suspended_persons_session_ends_and_a_removed_role_removes_access(front):
    cadre = make_person(front.accounts, "cadre-1", "village_worker", VILLAGE)
    sign_in(front, "cadre-1")
    assert front.http.get("/api/elders").status_code == 200
    front.accounts.suspend_person({"person_id": cadre["person_id"], "reason": "investigation"}, SYSTEM)
    front.clock.advance(CACHE_SECONDS)
    ended = front.http.get("/api/elders")
    assert ended.status_code == 401 and "ended (suspended)" in ended.json()["message"]
    front.accounts.reinstate_person({"person_id": cadre["person_id"], "reason": "cleared"}, SYSTEM)
    sign_in(front, "cadre-1")
    assert front.http.get("/api/elders").status_code == 200
    front.accounts.revoke_role({"person_id": cadre["person_id"], "grant_id": cadre["grants"][0]["grant_id"],
                                "reason": "moved away"}, SYSTEM)
    front.clock.advance(CACHE_SECONDS)
    assert front.http.get("/api/elders").status_code == 401


def test_an_administrator_cannot_grant_outside_their_county(front):
    city = make_person(front.accounts, "city-admin", "admin", CITY)
    city_secret = enrol(front.accounts, "city-admin")
    assert sign_in(front, "city-admin", secret=city_secret).status_code == 201
    created = front.http.post("/api/people", json={
        "login": "county-admin", "name": "县管理员", "home_jurisdiction": COUNTY, "password": STRONG,
        "grants": [{"department": "civil_affairs", "role": "admin", "jurisdiction": COUNTY}]})
    assert created.status_code == 201, created.text
    assert created.json()["grants"][0]["granted_by"] == city["person_id"]
    secret = enrol(front.accounts, "county-admin")
    assert sign_in(front, "county-admin").status_code == 401       # an administrator needs the second factor
    assert sign_in(front, "county-admin", secret=secret).status_code == 201
    cadre = front.http.post("/api/people", json={
        "login": "cadre-1", "name": "村干部", "home_jurisdiction": VILLAGE, "password": STRONG,
        "grants": [{"department": "civil_affairs", "role": "village_worker", "jurisdiction": VILLAGE}]})
    assert cadre.status_code == 201, cadre.text
    outside = front.http.post(f"/api/people/{cadre.json()['person_id']}/grants", json={
        "department": "health", "role": "county_coordinator", "jurisdiction": OTHER_COUNTY})
    assert outside.status_code == 403 and outside.json()["field"] == "jurisdiction"
    unknown = front.http.post(f"/api/people/{cadre.json()['person_id']}/grants", json={
        "department": "ministry_of_magic", "role": "village_worker", "jurisdiction": VILLAGE})
    assert unknown.status_code == 400 and unknown.json()["field"] == "department"
    assert front.accounts.find_person("cadre-1")["grants"][0]["department"] == "civil_affairs"
    # A village worker administers nobody.
    sign_in(front, "cadre-1")
    assert front.http.get("/api/people").status_code == 403
    # The reset an administrator issues comes with the link to send, its code after the '#'.
    assert sign_in(front, "county-admin", secret=secret).status_code == 201
    issued = front.http.post(f"/api/people/{cadre.json()['person_id']}/password-reset", json={})
    assert issued.status_code == 201, issued.text
    link, code = issued.json()["reset_link"], issued.json()["reset_token"]
    assert link.startswith("http://127.0.0.1:") and link.endswith(f"/app/password-reset#{code}")


def test_the_access_table_names_departments_the_department_data_declares():
    """Routes refer to departments by code; every code is one the default department policy
    (policies/departments.yml, national) declares."""
    import yaml

    from gateway.routes import ROUTES
    from kernel.config import REPOSITORY_ROOT
    policy = yaml.safe_load((REPOSITORY_ROOT / "policies" / "departments.yml").read_text(encoding="utf-8"))
    national = next(p for p in policy["department_policies"] if p["jurisdiction"] == "")
    named = {d for route in ROUTES for d in (route.permission.departments or ())}
    assert named and named <= set(national["add"])


def test_the_identity_cache_remembers_answers_and_refusals_for_its_time_only():
    from gateway.auth import AuthenticationError, IdentityResolver
    from kernel.errors import AuthenticationError as KernelAuthenticationError
    asked = []
    person = {"person_id": "p-1", "login": "cadre", "name": "李", "grants": []}
    grant = {"grant_id": "g-1", "department": "civil_affairs", "role": "village_worker", "jurisdiction": VILLAGE}

    def call(method, payload):
        asked.append((method, payload))
        if payload.get("session_token") == "bad":
            raise KernelAuthenticationError("unknown session", field="session_token")
        return {"person": person, "active_grant": grant, "session_id": "s-1"}

    clock = FakeClock()
    resolver = IdentityResolver(call, ttl=600, clock=clock)
    assert resolver.ttl == 60                         # capped: a revocation works within 60 s
    first = resolver.session("good")
    assert first.person_id == "p-1" and first.actor()["person_id"] == "p-1" and first.grant_id == "g-1"
    assert resolver.session("good") == first and len(asked) == 1
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            resolver.session("bad")
    assert len(asked) == 2
    clock.advance(60)
    resolver.session("good")
    assert len(asked) == 3
    resolver.forget("good")
    resolver.session("good")
    assert len(asked) == 4
    with pytest.raises(AuthenticationError):
        resolver.session("")
