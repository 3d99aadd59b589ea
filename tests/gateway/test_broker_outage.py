"""A 10 s broker outage under gateway load: the registry and the gateway run as their own
``nameko run`` processes and reach RabbitMQ through a proxy the test cuts and restores (the
shared broker keeps running for everyone else). No process exits; while the broker is away
the gateway answers 503 JSON with Retry-After, never a 500; within 10 s of its return every
answer is 2xx again (kernel.nameko_fixes, gateway.clients)."""
import itertools
import time
from datetime import date, timedelta
from urllib.parse import urlparse

import eventlet
import requests

from bench.cluster_load import ServiceProcesses, _free_port, service_config
from gateway.auth import Keyring, Principal
from kernel import migrate
from tests.gateway.conftest import COUNTY, TOWNSHIP, VILLAGE
from tests.registry.test_service import registration
from tests.tcp_proxy import TcpProxy

OUTAGE_SECONDS = 10
BACK_WITHIN_SECONDS = 10


def _wait_for(condition, timeout: float, what: str, services=None):
    deadline = time.monotonic() + timeout
    while True:
        if services is not None:
            services.check_alive()
        try:
            if condition():
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}"
                                 + (f"\n{services.log_tails()}" if services is not None else ""))
        eventlet.sleep(0.2)


def test_a_broker_outage_under_gateway_load_kills_nothing_and_the_gateway_recovers(rabbit_config, tmp_path):
    broker = urlparse(rabbit_config["AMQP_URI"])
    proxy = TcpProxy(broker.hostname or "127.0.0.1", broker.port or 5672).start()
    credentials = broker.netloc.rpartition("@")[0]
    proxied = broker._replace(netloc=f"{credentials}@127.0.0.1:{proxy.port}").geturl()
    config = service_config(proxied, "classic", tmp_path)
    gateway_db = f"sqlite:///{tmp_path / 'gateway.db'}"
    migrate.upgrade("gateway", gateway_db)
    keyring = Keyring(tmp_path / "tokens.yml")
    keyring.rotate()
    port = _free_port()
    config.update({"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", "DATABASES": {**config["DATABASES"], "gateway": gateway_db},
                   "GATEWAY": {"token_keyring": str(tmp_path / "tokens.yml"), "rpc_timeout_seconds": 5}})
    headers = {"Authorization": f"Bearer {keyring.issue(Principal('clerk', 'civil_affairs', 'county_coordinator', COUNTY))}"}
    base = f"http://127.0.0.1:{port}"
    answers = []            # (started, finished, status, content type, Retry-After)
    sequence = itertools.count()
    stop = []

    def ask(session, write: bool):
        started = time.monotonic()
        try:
            if write:
                n = next(sequence)
                body = registration(f"elder-{n}", sequence=n % 450, born=date(1941, 3, 9) + timedelta(days=n // 450),
                                    left_on="2025-12-01", division_code=VILLAGE)
                response = session.post(f"{base}/api/elders", json=body, timeout=30,
                                        headers={**headers, "Idempotency-Key": f"load-{n}"})
            else:
                response = session.get(f"{base}/api/elders", params={"division_code": TOWNSHIP}, timeout=30,
                                       headers=headers)
        except requests.RequestException as exc:
            answers.append((started, time.monotonic(), type(exc).__name__, "", None))
            return
        answers.append((started, time.monotonic(), response.status_code, response.headers.get("Content-Type", ""),
                        response.headers.get("Retry-After")))

    def load(write: bool):
        with requests.Session() as session:
            while not stop:
                ask(session, write)
                eventlet.sleep(0.02)

    targets = {"gateway": "gateway.service:GatewayService"}
    try:
        with ServiceProcesses(config, tmp_path, names=("registry", "gateway"), targets=targets,
                              max_restarts=0) as services:
            _wait_for(lambda: requests.get(f"{base}/api/elders", params={"division_code": TOWNSHIP}, headers=headers,
                                           timeout=5).status_code == 200, 120, "the gateway answering", services)
            loaders = [eventlet.spawn(load, write) for write in (True, False, False)]
            eventlet.sleep(3)
            cut_at = time.monotonic()
            proxy.cut()
            eventlet.sleep(OUTAGE_SECONDS)
            back_at = time.monotonic()
            proxy.restore()
            eventlet.sleep(BACK_WITHIN_SECONDS + 8)
            stop.append(True)
            for loader in loaders:
                loader.wait()
            exited = {name: process.poll() for name, process in services.processes.items()
                      if process.poll() is not None}
            assert not exited and services.failed is None, f"exited: {exited}\n{services.log_tails()}"
            tails = services.log_tails(80)
    finally:
        proxy.close()

    before = [a for a in answers if a[1] < cut_at]
    assert before and all(200 <= a[2] < 300 for a in before), before
    refusals = [a for a in answers if not (isinstance(a[2], int) and 200 <= a[2] < 300)]
    assert refusals, "the outage was felt by no request"
    # Away: a JSON 503 with a retry hint, never a 500 in text/plain or a dropped connection.
    assert all(a[2] == 503 and a[3].startswith("application/json") and a[4] for a in refusals), \
        (sorted({(a[2], a[3]) for a in refusals}, key=str), tails)
    after = [a for a in answers if a[0] > back_at + BACK_WITHIN_SECONDS]
    assert len(after) >= 20 and all(200 <= a[2] < 300 for a in after), \
        (sorted({a[2] for a in after}, key=str), len(after), tails)
