"""`bin/run` as an operator starts it (issue 24): every service, the gateway and a small demo
county, on a throw-away vhost and databases in the test's directory. A healthy demo prints
no error-level line, its alerts are not contact_unreachable noise, a missing SMS gateway is
said (at start and by `eldercare status`), and the printed address is the configured one."""
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy

from contracts.services import PROCESSES
from kernel.config import REPOSITORY_ROOT

# Long enough for every timer of a fresh demo to have fired a few times (delivery rounds every
# 2 s, status review and escalation sweeps every minute once the demo set them faster).
OBSERVE_SECONDS = 40


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _level(line: str) -> str | None:
    """The level of a JSON log line, honcho's ``HH:MM:SS name.1 | `` prefix taken off."""
    _, _, rest = line.partition("| ")
    try:
        return json.loads(rest or line).get("level")
    except (ValueError, AttributeError):
        return None


@pytest.mark.timeout(600)
def test_a_healthy_demo_prints_no_error_line_and_its_alerts_are_real(rabbit_config, tmp_path):
    port = _free_port()
    env = {**os.environ, "AMQP_URI": rabbit_config["AMQP_URI"], "LOG_FORMAT": "json", "DEMO_ELDERS": "120",
           "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", "CHECKPOINT_KEY_DIR": str(tmp_path / "keys"),
           "GATEWAY_TOKEN_KEYRING": str(tmp_path / "keys" / "tokens.yml"), "PYTHONUNBUFFERED": "1",
           "ACCOUNTS_SECRET_KEY_FILE": str(tmp_path / "keys" / "accounts_secrets.key"),
           "STATUS_REVIEW_INTERVAL": "10", "NOTIFICATIONS_SWEEP_INTERVAL": "10", "CHECKPOINT_INTERVAL": "20",
           **{f"{name.upper()}_DATABASE_URL": f"sqlite:///{tmp_path / (name + '.db')}" for name in PROCESSES}}
    env.pop("ELDERCARE_CONFIG", None)
    lines: list[str] = []
    process = subprocess.Popen([str(REPOSITORY_ROOT / "bin" / "run")], cwd=REPOSITORY_ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                               start_new_session=True)
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 420
        while not any("/dashboard/" in line for line in lines):
            assert process.poll() is None, "bin/run stopped:\n" + "".join(lines[-60:])
            assert time.monotonic() < deadline, "bin/run printed no dashboard link:\n" + "".join(lines[-60:])
            time.sleep(0.5)
        link = next(word for word in next(line for line in lines if "/dashboard/" in line).split()
                    if "/dashboard/" in word)
        assert link == f"http://127.0.0.1:{port}/dashboard/410928000000"
        time.sleep(OBSERVE_SECONDS)
        assert process.poll() is None, "bin/run stopped while observed:\n" + "".join(lines[-60:])
        # No address or line carries a token; the link opens once signed in with a printed demo account.
        assert not [line for line in lines if "token=" in line or "eyJ" in line], \
            [line for line in lines if "token=" in line or "eyJ" in line][:3]
        assert requests.get(link, timeout=30, allow_redirects=False).status_code == 303      # sign in first
        assert f"http://127.0.0.1:{port}/app/" in "".join(lines)
        password = next(match.group(0) for line in lines if "demo-county" in line
                        for match in [re.search(r"demo-[0-9a-f]{6}-[0-9a-f]{6}-[0-9a-f]{6}", line)] if match)
        code = subprocess.run([str(REPOSITORY_ROOT / ".venv" / "bin" / "eldercare"), "accounts", "code", "demo-county"],
                              cwd=REPOSITORY_ROOT, env=env, capture_output=True, text=True, timeout=60).stdout.strip()
        browser = requests.Session()
        signed_in = browser.post(f"http://127.0.0.1:{port}/api/session", timeout=30, json={
            "login": "demo-county", "password": password, "one_time_password": code})
        assert signed_in.status_code == 201, signed_in.text
        assert browser.get(link, timeout=30).status_code == 200         # the printed address is real
        with ClusterRpcProxy({"AMQP_URI": rabbit_config["AMQP_URI"], "serializer": "json"}, timeout=30) as rpc:
            alerts = rpc.notifications.list_alerts({"division_code": "410928000000", "limit": 1000})
        seen = list(lines)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    errors = [line for line in seen if _level(line) in ("error", "critical")]
    assert not errors, f"{len(errors)} error-level lines in a healthy demo, e.g.:\n" + "".join(errors[:5])
    assert [line for line in seen if _level(line) == "info"], "no JSON log lines were read at all"
    said = [line for line in seen if "sms channel not configured" in line]
    assert [line for line in said if _level(line) is None], "eldercare status does not say it"
    assert sum("sms channel not configured" in line and _level(line) == "warning" for line in seen) == 1
    assert alerts and not [a for a in alerts if a["kind"] == "contact_unreachable"], \
        sorted({a["kind"] for a in alerts})
