"""The gateway's edges, probed from outside as issue 25 did: tokens in addresses and logs,
floods of bad credentials, oversized and deeply nested bodies, a bare CR in a header, ids
outside the caller's jurisdiction, faults nothing else caught, /metrics, and the CLI's
emergency tokens. Real registry, accounts and gateway containers on one vhost; raw sockets
where a client library would tidy the request up."""
import json
import logging
import socket
import time

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from typer.testing import CliRunner

from cli.app import app as eldercare
from gateway import service as gateway_service
from gateway.auth import Keyring, Principal
from gateway.edges import json_depth, load_json, mask_secrets
from gateway.service import GatewayService
from gateway.throttle import FailureThrottle
from gateway.webapp.app import safe_next
from kernel import migrate
from kernel.errors import TooManyAttemptsError, ValidationError
from services.accounts.service import AccountsService
from services.registry.service import RegistryService
from tests.accounts.support import FAST_ARGON2, SECRET_KEY, STRONG, make_person
from tests.gateway.conftest import COUNTY, OTHER_TOWNSHIP_VILLAGE, TODAY, TOWNSHIP, VILLAGE
from tests.registry.test_service import registration

SERVICES = (RegistryService, AccountsService, GatewayService)
METRICS_TOKEN = "scrape-secret-0123456789"
CLIENT_FAILURES, ACCOUNT_FAILURES = 6, 3


@pytest.fixture
def edge(rabbit_config, web_config, web_config_port, tmp_path, container_factory, web_session):
    urls = {cls.name: f"sqlite:///{tmp_path / (cls.name + '.db')}" for cls in SERVICES}
    for name, url in urls.items():
        migrate.upgrade(name, url)
    keyring = Keyring(tmp_path / "tokens.yml")
    keyring.rotate()
    config = {**rabbit_config, **web_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(),
              "RELAY": {"poll_interval": 0.1}, "REGISTRY": {"status_review_interval_seconds": 3600},
              "ACCOUNTS": {**FAST_ARGON2, "address_failures": 1000, "lock_after_failures": 1000, "secret_key": SECRET_KEY},
              "CHECKPOINTS": {"interval_seconds": 3600},          # keys: the session's (tests/conftest.py)
              "GATEWAY": {"token_keyring": str(tmp_path / "tokens.yml"), "rpc_timeout_seconds": 5,
                          "trust_forwarded_for": True, "metrics_token": METRICS_TOKEN,
                          "auth_failures_per_client": CLIENT_FAILURES,
                          "auth_failures_per_account": ACCOUNT_FAILURES, "max_body_bytes": 64 * 1024,
                          "max_upload_bytes": 256 * 1024}}
    for cls in SERVICES:
        container_factory(cls, config).start()

    class Edge:
        pass

    edge = Edge()
    edge.http, edge.port, edge.config = web_session, web_config_port, config
    edge.token = lambda user="clerk", role="county_coordinator", jurisdiction=COUNTY: \
        keyring.issue(Principal(user, "civil_affairs", role, jurisdiction))
    edge.bearer = lambda **who: {"Authorization": f"Bearer {edge.token(**who)}"}
    with ServiceRpcProxy("accounts", config) as accounts:
        edge.accounts = accounts
        yield edge


def raw(port: int, request: bytes, *, then: bytes = b"", timeout: float = 10.0) -> tuple[int, dict, bytes]:
    """Send ``request`` (and ``then``) on a fresh socket; the status, headers and body answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(request)
        if then:
            try:
                conn.sendall(then)
            except OSError:
                pass                    # the server stopped reading: what the test wants
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(lines[0].split()[1]), headers, body


# -- 1. no token in any address or log line -------------------------------------------------------
def test_the_dashboard_takes_no_token_from_the_address_and_the_access_log_masks_one(edge, caplog):
    token = edge.token()
    with caplog.at_level(logging.INFO, logger="nameko.web.server"):
        refused = edge.http.get(f"/dashboard/{COUNTY}?token={token}", allow_redirects=False)
        deadline = time.monotonic() + 5
        while not [r for r in caplog.records if "/dashboard/" in r.getMessage()] and time.monotonic() < deadline:
            eventlet.sleep(0.05)
    # Not signed in: the browser goes to the web app's sign-in and back, the token is ignored.
    assert refused.status_code == 303, refused.text
    assert refused.headers["Location"] == f"/app/sign-in?next=%2Fdashboard%2F{COUNTY}%3Ftoken%3D{token}" \
        or refused.headers["Location"].startswith("/app/sign-in?next=%2Fdashboard%2F")
    lines = [r.getMessage() for r in caplog.records if "/dashboard/" in r.getMessage()]
    assert lines and not [line for line in lines if token in line], lines
    assert "token=***" in lines[0], lines
    # The ways in: a bearer header, or the web app's session cookie after signing in.
    assert edge.http.get(f"/dashboard/{COUNTY}", headers=edge.bearer()).status_code == 200
    make_person(edge.accounts, "township-1", "township_officer", TOWNSHIP)
    browser = type(edge.http)()
    signed_in = web_sign_in(browser, edge.port, "township-1", STRONG, next_page=f"/dashboard/{TOWNSHIP}")
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == f"/dashboard/{TOWNSHIP}", signed_in.text
    assert browser.get(f"http://127.0.0.1:{edge.port}/dashboard/{TOWNSHIP}").status_code == 200


def web_sign_in(browser, port: int, login: str, password: str, next_page: str = "/app/", lang: str = "zh",
                headers: dict | None = None):
    """The web app's sign-in form, as a browser sends it (the CSRF token from the page)."""
    base = f"http://127.0.0.1:{port}"
    page = browser.get(f"{base}/app/sign-in?lang={lang}").text
    form_token = page.split('name="csrf_token" value="')[1].split('"')[0]
    return browser.post(f"{base}/app/sign-in?lang={lang}", allow_redirects=False, headers=headers or {},
                        data={"login": login, "password": password, "csrf_token": form_token, "next": next_page})


def test_secret_query_parameters_are_masked_and_sign_in_returns_only_to_the_app_or_a_dashboard():
    line = '127.0.0.1 - - [x] "GET /dashboard/410928000000?lang=en&token=eyJ.abc.def&access_token=ect_1_2 HTTP/1.1"'
    masked = mask_secrets(line)
    assert "eyJ" not in masked and "ect_1_2" not in masked
    assert "lang=en&token=***&access_token=***" in masked
    assert safe_next(f"/dashboard/{COUNTY}?lang=en") == f"/dashboard/{COUNTY}?lang=en"
    assert safe_next("https://evil.example/dashboard/1") == "/app/"
    assert safe_next("//evil.example/app/") == "/app/"


# -- 2. failed authentication is throttled per client and per account ------------------------------
def test_bad_bearer_tokens_from_one_client_are_throttled_and_then_even_a_good_one_waits(edge):
    client = {"X-Forwarded-For": "10.9.8.7"}
    for _ in range(CLIENT_FAILURES):
        bad = edge.http.get("/api/elders", headers={**client, "Authorization": "Bearer not.a.token"})
        assert bad.status_code == 401
    throttled = edge.http.get("/api/elders", headers={**client, "Authorization": "Bearer not.a.token"})
    assert throttled.status_code == 429, throttled.text
    assert throttled.json()["error"] == "too_many_attempts" and throttled.json()["field"] == "client_address"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 300
    assert throttled.json()["retry_after_seconds"] == int(throttled.headers["Retry-After"])
    # Guessing must not go on: a right token from the same client waits too; another client does not.
    assert edge.http.get("/api/elders", headers={**client, **edge.bearer()}).status_code == 429
    assert edge.http.get("/api/elders", headers={"X-Forwarded-For": "10.1.1.1", **edge.bearer()}).status_code == 200


def test_forged_tokens_for_one_account_are_throttled_from_any_client(edge):
    forged = Keyring(edge.config["GATEWAY"]["token_keyring"] + ".other")
    forged.rotate()
    token = forged.issue(Principal("wang", "civil_affairs", "county_coordinator", COUNTY))
    for n in range(ACCOUNT_FAILURES):
        assert edge.http.get("/api/elders", headers={"X-Forwarded-For": f"10.0.0.{n}",
                                                     "Authorization": f"Bearer {token}"}).status_code == 401
    throttled = edge.http.get("/api/elders", headers={"X-Forwarded-For": "10.0.0.99", "Authorization": f"Bearer {token}"})
    assert throttled.status_code == 429 and throttled.json()["field"] == "login", throttled.text
    assert edge.http.get("/api/elders", headers={"X-Forwarded-For": "10.0.0.99", **edge.bearer()}).status_code == 200


def test_bad_passwords_are_throttled_at_api_and_web_sign_in_with_the_page_in_either_language(edge):
    make_person(edge.accounts, "cadre-1", "village_worker", VILLAGE)
    for n in range(ACCOUNT_FAILURES):
        wrong = edge.http.post("/api/session", json={"login": "cadre-1", "password": "wrong-password-1"},
                               headers={"X-Forwarded-For": f"10.2.0.{n}"})
        assert wrong.status_code == 401, wrong.text
    throttled = edge.http.post("/api/session", json={"login": "Cadre-1", "password": STRONG},
                               headers={"X-Forwarded-For": "10.2.0.50"})
    assert throttled.status_code == 429 and throttled.json()["field"] == "login", throttled.text
    assert "Retry-After" in throttled.headers
    # The web app's sign-in counts in the same throttle and says so in the person's language.
    for lang, words in (("zh", "登录失败次数过多"), ("en", "Too many failed sign-ins")):
        answer = web_sign_in(type(edge.http)(), edge.port, "cadre-1", STRONG, lang=lang,
                             headers={"X-Forwarded-For": "10.2.0.51"})
        assert answer.status_code == 429 and words in answer.text, answer.text[-2000:]
        assert int(answer.headers["Retry-After"]) >= 1


def test_the_throttle_forgets_failures_once_they_leave_the_window():
    now = [0.0]
    throttle = FailureThrottle(client_failures=2, account_failures=5, window_seconds=60, clock=lambda: now[0])
    keys = {"client": "10.0.0.1", "account": None}
    throttle.failed(keys)
    now[0] = 30.0
    throttle.failed(keys)
    with pytest.raises(TooManyAttemptsError) as refused:
        throttle.check(keys)
    assert refused.value.retry_after_seconds == 30 and refused.value.field == "client_address"
    now[0] = 60.5
    throttle.check(keys)            # the first failure left the window: one more try
    throttle.failed(keys)
    with pytest.raises(TooManyAttemptsError):
        throttle.check({"client": "10.0.0.1", "account": "someone"})
    throttle.check({"client": "10.0.0.2", "account": "someone"})


# -- 3. body and nesting limits --------------------------------------------------------------------
def test_a_body_over_the_limit_is_refused_from_its_length_before_it_is_read(edge):
    token = edge.token()
    head = (f"POST /api/elders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {50 * 1024 * 1024}\r\n\r\n").encode()
    started = time.monotonic()
    status, headers, body = raw(edge.port, head)         # not one byte of the 50 MB is sent
    assert status == 413 and headers["content-type"].startswith("application/json")
    assert json.loads(body) == {"error": "payload_too_large", "field": "body", "limit_bytes": 64 * 1024,
                                "message": json.loads(body)["message"]}
    assert time.monotonic() - started < 5
    assert headers.get("connection") == "close"


def test_a_chunked_body_is_refused_once_it_passes_the_limit(edge):
    head = (f"POST /api/elders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {edge.token()}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"%x\r\n%s\r\n" % (16 * 1024, b" " * 16 * 1024)
    # Five chunks pass the 64 KiB limit; the body never ends (no last chunk), yet the answer comes.
    status, _headers, body = raw(edge.port, head + chunk * 5)
    assert status == 413 and json.loads(body)["error"] == "payload_too_large"
    # Within the limit a chunked body is read as a whole (werkzeug alone reads none without a length).
    payload = json.dumps({"x": [1] * 10}).encode()
    small = head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload)
    status, _headers, body = raw(edge.port, small)
    assert status == 400 and json.loads(body)["error"] == "validation_failed"
    assert "JSON" not in json.loads(body)["message"]


def test_an_upload_route_takes_a_larger_body(edge):
    big = {"filename": "台账.csv", "jurisdiction": COUNTY, "content_base64": "QQ==" * (100 * 1024 // 4)}
    other = edge.http.post("/api/elders", json=big, headers=edge.bearer())
    assert other.status_code == 413
    upload = edge.http.post("/api/imports", json=big, headers=edge.bearer())
    assert upload.status_code != 413, upload.text          # the imports service is not running: 503
    assert upload.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("depth", [33, 30_000])  # 30,000 deep: 60 kB, under the body limit
def test_json_nested_too_deeply_is_a_400_naming_the_body(edge, depth):
    body = "[" * depth + "]" * depth
    answer = edge.http.post("/api/elders", data=body, headers={**edge.bearer(), "Content-Type": "application/json"})
    assert answer.status_code == 400 and answer.headers["Content-Type"].startswith("application/json"), answer.text
    assert answer.json()["error"] == "validation_failed" and "nested more than 32 levels" in answer.json()["errors"]["body"][0]


def test_json_within_the_nesting_limit_reaches_the_route():
    assert json_depth(load_json("[" * 32 + "]" * 32)) == 32
    assert json_depth(load_json('{"a": [{"b": 1}], "c": 2}')) == 3
    with pytest.raises(ValidationError) as refused:
        load_json('{"a": ' * 33 + "1" + "}" * 33)
    assert refused.value.field == "body"


# -- 4. CR or LF inside a header value -------------------------------------------------------------
@pytest.mark.parametrize("line", [b"X-Note: a\rInjected: yes\r\n", b"X-Note: a\nInjected: yes\r\n",
                                  b"X-Note: a\r\n folded\r\n"])
def test_a_header_line_with_a_cr_or_lf_of_its_own_is_refused(edge, line):
    status, headers, body = raw(edge.port, b"GET /health HTTP/1.1\r\nHost: x\r\n" + line + b"\r\n")
    assert status == 400 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == "bad_request" and json.loads(body)["field"] == "headers"
    # The same request without it is served.
    assert raw(edge.port, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n\r\n")[0] == 200


# -- 5. outside the jurisdiction answers as unknown ------------------------------------------------
def test_a_record_outside_the_jurisdiction_answers_exactly_like_an_unknown_id(edge, caplog):
    created = edge.http.post("/api/elders", headers=edge.bearer(),
                             json=registration("elder-1", left_on="2025-12-01", division_code=VILLAGE))
    assert created.status_code == 201, created.text
    neighbour = edge.bearer(user="other", role="village_worker", jurisdiction=OTHER_TOWNSHIP_VILLAGE)
    with caplog.at_level(logging.WARNING):
        outside = edge.http.get("/api/elders/elder-1", headers=neighbour)
    unknown = edge.http.get("/api/elders/elder-9", headers=neighbour)
    assert outside.status_code == unknown.status_code == 404
    assert outside.json() == {**unknown.json(), "message": unknown.json()["message"].replace("elder-9", "elder-1")}
    assert outside.json()["field"] == "elder_id"
    assert any("refused outside jurisdiction" in r.getMessage() for r in caplog.records)   # still logged
    # A write on it too, and a write naming it in the body.
    move = {"effective_date": "2026-11-01", "division_code": OTHER_TOWNSHIP_VILLAGE}
    assert edge.http.post("/api/elders/elder-1/moves", json=move, headers=neighbour).status_code == \
        edge.http.post("/api/elders/elder-9/moves", json=move, headers=neighbour).status_code == 404
    assert edge.http.get("/api/elders/elder-1", headers=edge.bearer()).status_code == 200


# -- 6. the CLI issues no past or internal tokens --------------------------------------------------
@pytest.mark.parametrize("arguments, named", [
    (["--role", "system", "--hours", "1"], "--role"),
    (["--role", "county_coordinator", "--hours=-1"], "--hours"),
    (["--role", "county_coordinator", "--hours", "0"], "--hours"),
    (["--role", "county_coordinator", "--hours", "inf"], "--hours"),
])
def test_token_issue_refuses_past_expiries_and_internal_roles(tmp_path, monkeypatch, arguments, named):
    monkeypatch.setenv("GATEWAY_TOKEN_KEYRING", str(tmp_path / "tokens.yml"))
    monkeypatch.setenv("ACCOUNTS_DATABASE_URL", f"sqlite:///{tmp_path / 'accounts.db'}")
    result = CliRunner().invoke(eldercare, ["token", "issue", "someone", "--department", "civil_affairs",
                                            "--jurisdiction", COUNTY, *arguments])
    assert result.exit_code == 2, result.output
    assert named in result.output
    assert not (tmp_path / "accounts.db").exists()          # nothing recorded, nothing issued


# -- 7. /metrics behind a token; every fault answers JSON ------------------------------------------
def test_metrics_need_the_scrape_token(edge):
    assert edge.http.get("/metrics").status_code == 401
    assert edge.http.get("/metrics", headers=edge.bearer()).status_code == 401      # a person's token is not it
    wrong = edge.http.get("/metrics", headers={"Authorization": "Bearer scrape-secret-wrong"})
    assert wrong.status_code == 401 and wrong.json()["field"] == "authorization"
    scraped = edge.http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200 and "eldercare_gateway_request_seconds" in scraped.text


def test_a_fault_and_an_unknown_address_answer_json_from_the_table(edge, monkeypatch):
    def broken():
        raise RuntimeError("boom")
    monkeypatch.setattr(gateway_service, "openapi_document", broken)
    fault = edge.http.get("/openapi.json")
    assert fault.status_code == 500 and fault.headers["Content-Type"].startswith("application/json")
    assert fault.json()["error"] == "internal_error" and "boom" not in fault.text
    nowhere = edge.http.get("/nowhere")
    assert nowhere.status_code == 404 and nowhere.json()["error"] == "not_found"
    wrong_method = edge.http.post("/health")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "method_not_allowed"
