"""Sign-in and the token check, per request, against the gateway's own request time (issue 18).

The accounts service and the gateway run as nameko containers on a throw-away vhost, the
accounts database on the backend under test, argon2id at its production cost (argon2-cffi's
RFC 9106 low-memory profile: 3 passes over 64 MiB). One HTTP client, sequential requests:

- **baseline**: ``GET /api/session`` with an emergency operator token (a JWT the gateway checks
  itself): the gateway's request time with no identity look-up;
- **kernel**: the same request with a personal API token and the identity cache off, so every
  request asks the accounts service (``resolve_token``: two indexed reads);
- reported beside them: the same with the cache on (the dashboard's case: one look-up per
  token per ``identity_cache_seconds``), and ``POST /api/session`` sign-ins (argon2id verify,
  the sign-in event, the session credential).
"""
from __future__ import annotations

import socket
import statistics
import tempfile
import time
from pathlib import Path

from bench.infra import progress, throwaway_vhost
from bench.report import Result

DEFAULT_ACCOUNT_REQUESTS = 300
DEFAULT_SIGN_INS = 20
VILLAGE = "410928101201"
SYSTEM = {"department": "system", "user": "bench", "role": "system"}
PASSWORD = "lantern-orchard-47-ferry"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _timed(call, n: int) -> tuple[float, list[float]]:
    each = []
    started = time.perf_counter()
    for _ in range(n):
        one = time.perf_counter()
        call()
        each.append(time.perf_counter() - one)
    return time.perf_counter() - started, each


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1000:.1f} ms / p99 {p99 * 1000:.1f} ms"


def bench_accounts(backend, requests: int = DEFAULT_ACCOUNT_REQUESTS, sign_ins: int = DEFAULT_SIGN_INS,
                   argon2: dict | None = None) -> Result:
    import requests as http
    from nameko.containers import ServiceContainer
    from nameko.standalone.rpc import ServiceRpcProxy
    from nameko.testing.utils import get_extension

    from gateway.auth import Keyring, Principal
    from gateway.clients import Identity
    from gateway.service import GatewayService
    from kernel import migrate
    from services.accounts.adapters.secrets import new_secret_key
    from services.accounts.service import AccountsService

    keys = Path(tempfile.mkdtemp(prefix="eldercare_bench_keys_"))
    keyring = Keyring(keys / "tokens.yml")
    keyring.rotate()
    urls = {"accounts": backend.new_url("accounts"), "gateway": backend.new_url("gateway")}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    port = _free_port()
    with throwaway_vhost() as amqp_uri:
        config = {"AMQP_URI": amqp_uri, "serializer": "json", "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
                  "DATABASES": urls, "RELAY": {"poll_interval": 0.5},
                  # A throw-away key for the TOTP secrets of this run's database.
                  "ACCOUNTS": {**(argon2 or {}), "secret_key": new_secret_key()},
                  "GATEWAY": {"token_keyring": str(keyring.path), "identity_cache_seconds": 0}}
        containers = [ServiceContainer(cls, config) for cls in (AccountsService, GatewayService)]
        for container in containers:
            container.start()
        try:
            with ServiceRpcProxy("accounts", config) as accounts:
                person = accounts.create_person({
                    "login": "bench-cadre", "name": "基准", "home_jurisdiction": VILLAGE, "password": PASSWORD,
                    "grants": [{"department": "civil_affairs", "role": "village_worker", "jurisdiction": VILLAGE}]},
                    SYSTEM)
                token = accounts.issue_api_token({"person_id": person["person_id"], "label": "bench",
                                                  "grant_id": person["grants"][0]["grant_id"], "days": 1},
                                                 SYSTEM)["token"]
            base = f"http://127.0.0.1:{port}"
            client = http.Session()
            jwt = keyring.issue(Principal("bench-operator", "civil_affairs", "village_worker", VILLAGE))

            def get(bearer):
                response = client.get(f"{base}/api/session", headers={"Authorization": f"Bearer {bearer}"})
                if response.status_code != 200:
                    raise AssertionError(f"GET /api/session answered {response.status_code}: {response.text}")

            def sign_in():
                response = client.post(f"{base}/api/session", json={"login": "bench-cadre", "password": PASSWORD})
                if response.status_code != 201:
                    raise AssertionError(f"sign-in answered {response.status_code}: {response.text}")
                client.cookies.clear()

            progress(f"{backend.name}: accounts, {requests:,} requests each way, {sign_ins} sign-ins …")
            for warm in (lambda: get(jwt), lambda: get(token)):
                _timed(warm, 10)
            baseline_seconds, baseline = _timed(lambda: get(jwt), requests)
            kernel_seconds, uncached = _timed(lambda: get(token), requests)
            get_extension(containers[1], Identity).resolver.ttl = 10.0
            _cached_seconds, cached = _timed(lambda: get(token), requests)
            _sign_in_seconds, signing_in = _timed(sign_in, sign_ins)
        finally:
            for container in reversed(containers):
                container.stop()
    gateway_ms = statistics.median(baseline) * 1000
    return Result(
        "accounts", backend.name, requests, kernel_seconds, baseline_seconds,
        kernel_does=("GET /api/session with a personal API token, identity cache off: the gateway asks accounts "
                     "(resolve_token: token and credential rows, person and grants) on every request"),
        baseline_does="GET /api/session with an emergency JWT the gateway verifies itself (no identity look-up)",
        min_ratio=None,
        details={"gateway request": _ms(baseline), "uncached token check": _ms(uncached),
                 "cached token check": _ms(cached),
                 "sign-in": _ms(signing_in),
                 "argon2id cost": ", ".join(f"{k} {v}" for k, v in argon2.items()) if argon2
                 else "RFC 9106 low-memory (3 passes, 64 MiB, 4 lanes)",
                 "sign-in ÷ gateway request": f"{statistics.median(signing_in) * 1000 / gateway_ms:.0f}×"})
