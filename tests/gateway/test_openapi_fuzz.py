"""Schemathesis against the gateway: the OpenAPI document the gateway serves, every operation
in it, generated requests through the real services — no 500, every response as documented.

Run as the ``schemathesis`` command in a subprocess, not through its pytest plugin: its
lazy-schema loader (``schemathesis.pytest.from_fixture``, needed because the gateway exists
only inside a test) reads ``request.node._nodeid``, which pytest 9 no longer has; and the
command keeps Hypothesis and its threads out of this eventlet-patched process. The gateway
serves from this process (the ``system`` fixture) while the command runs.

Bounded: ``FUZZ_EXAMPLES`` cases per operation, a fixed seed (``FUZZ_SEED`` to
explore others; the seed is printed with any failure)."""
import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import service
from gateway.routes import ROUTES
from tests.gateway.conftest import COUNTY, VILLAGE
from tests.gateway.test_api import register, seed_records

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
SEED = os.environ.get("FUZZ_SEED", "20261123")
# The document describes request bodies as open objects ("the fields are the service
# command's") and query values as plain strings: a schema-valid request is not a valid
# command, so a 400 naming the bad field is right. Every other check runs.
EXCLUDED_CHECKS = "positive_data_acceptance"
NATIONWIDE = "000000000000"
PROBABILITY_KNOWN = 0.7
# ~50 s on a quiet 2-core machine; three times that while other suites load it.
RUN_TIMEOUT = 400


def schemathesis(port: int, token: str, known: dict, *arguments: str, cwd: Path,
                 probability: float = PROBABILITY_KNOWN) -> subprocess.CompletedProcess:
    """``schemathesis run`` against the served document; each parameter named in ``known``
    takes one of its values in ``probability`` of the cases (the others are generated)."""
    if not SCHEMATHESIS.exists():
        pytest.fail(f"{SCHEMATHESIS} is missing: pip install -r requirements.lock (bin/test does)")
    config = cwd / "schemathesis.toml"
    config.write_text(known_values_config(known, probability), encoding="utf-8")
    return subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(config), "run", f"http://127.0.0.1:{port}/openapi.json",
         "--header", f"Authorization: Bearer {token}", "--seed", SEED, "--no-color", *arguments],
        capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=cwd)


def known_values_config(known: dict, probability: float) -> str:
    """schemathesis.toml: a dictionary per parameter (``"path.elder_id": [...]``) bound to it."""
    dictionaries = {parameter: parameter.replace(".", "_") for parameter in known}
    return "\n".join(
        ["[dictionaries]"]
        + [f"{dictionaries[p]} = {{ values = {json.dumps(values)} }}" for p, values in known.items()]
        + ["", "[parameters]"]
        + [f'"{p}" = {{ dictionary = "{dictionaries[p]}", probability = {probability} }}' for p in known]) + "\n"


@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_schemathesis_finds_no_server_error_and_no_undocumented_response(api, system, web_config_port, tmp_path):
    ids = seed_records(api)
    known = {"path.elder_id": ["elder-1", "elder-2"], **{f"path.{name}": [ids[name]] for name in (
        "facility_id", "alert_id", "referral_id")}, "query.division_code": [VILLAGE, COUNTY]}
    token = system.token("fuzzer", "civil_affairs", "admin", NATIONWIDE)
    # too_slow judges Hypothesis's own data generation, which slows when other suites load the machine.
    run = schemathesis(web_config_port, token, known, "--checks", "all", "--exclude-checks", EXCLUDED_CHECKS,
                       "--max-examples", str(EXAMPLES), "--workers", "2", "--suppress-health-check", "too_slow",
                       cwd=tmp_path)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-20_000:]
    tested = re.search(r"Tested:\s+(\d+)", report)
    assert tested and int(tested.group(1)) == len(ROUTES), report[-3_000:]
    assert api("GET", "/api/elders", params={"division_code": COUNTY}).status_code == 200   # still serving


def test_schemathesis_fails_on_a_response_the_document_does_not_allow(api, system, web_config_port, tmp_path,
                                                                      monkeypatch):
    """The run above can fail: serve a document whose timeline item lacks two fields the
    services send (what the gateway's own document did before this test existed), and the
    same command reports the violation and exits non-zero."""
    document = copy.deepcopy(service.openapi_document())
    for field in ("stream_id", "hash"):
        del document["components"]["schemas"]["TimelineItem"]["properties"][field]
    monkeypatch.setattr(service, "openapi_document", lambda: document)
    register(api, "elder-1", VILLAGE)
    run = schemathesis(web_config_port, system.token(), {"path.elder_id": ["elder-1"]},
                       "--checks", "response_schema_conformance",
                       "--include-operation-id", "elder_timeline", "--max-examples", "3", "--phases", "fuzzing",
                       cwd=tmp_path, probability=1.0)
    report = run.stdout + run.stderr
    assert run.returncode == 1, report[-5_000:]
    assert "Response violates schema" in report and "'stream_id', 'hash' were unexpected" in report, report[-5_000:]
