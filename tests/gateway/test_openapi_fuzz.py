"""Schemathesis against the gateway: the OpenAPI document the gateway serves, every operation
in it, generated requests through the real services — no 500, every response as documented,
and every request the document calls valid accepted (``positive_data_acceptance``), unless
refused for a reason the document cannot state (``REFUSALS``).

Run as the ``schemathesis`` command in a subprocess, not through its pytest plugin: its
lazy-schema loader (``schemathesis.pytest.from_fixture``, needed because the gateway exists
only inside a test) reads ``request.node._nodeid``, which pytest 9 no longer has; and the
command keeps Hypothesis and its threads out of this eventlet-patched process. The gateway
serves from this process (the ``system`` fixture) while the command runs.

Bounded: ``FUZZ_EXAMPLES`` cases per operation, a fixed seed (``FUZZ_SEED`` to explore
others; the seed is printed with any failure), the examples, fuzzing and stateful phases.
The coverage phase (every boundary of every field: some 3,400 requests, four minutes here)
runs with ``FUZZ_PHASES=examples,coverage,fuzzing,stateful``."""
import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import service
from gateway.accounts_api import ACCOUNT_ROUTES
from gateway.routes import ROUTES
from tests.gateway.conftest import COUNTY, VILLAGE
from tests.gateway.test_api import register, seed_records

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
SEED = os.environ.get("FUZZ_SEED", "20261123")
PHASES = os.environ.get("FUZZ_PHASES", "examples,fuzzing,stateful")
NATIONWIDE = "000000000000"
PROBABILITY_KNOWN = 0.7
# ~80 s on a 2-core machine other suites load; three times that at worst.
RUN_TIMEOUT = 400

# positive_data_acceptance: a request the document calls valid gets a 2xx — or a 404 (a well
# formed id that names no elder, facility, alert, referral, visitor or run) or a 409 (refused
# by the current state: a duplicate, a closed record, a step already taken).
ACCEPTED = ["2xx", "404", "409"]
# What else a valid request may get, per operation, and the rule the document cannot state:
# the schemas check shapes and lengths, the domains then refuse (400) what makes no sense.
WORDS = "text that is more than blanks"
REFUSALS = {
    # registry
    "register_elder": {"400": f"the resident id (check character, address code, birth date) agreeing with "
                              f"birth_date and sex; phone numbers; {WORDS}",
                       "422": "a status policy covering the division"},
    "correct_details": {"400": f"the registration's checks on each changed detail; {WORDS}"},
    "record_supporter_left": {"400": f"phone numbers; the new supporter's details, {WORDS}"},
    "entrust_carer": {"400": f"the carer's phone number; {WORDS}"},
    "assess_self_care": {"400": WORDS},
    "change_support_status": {"400": WORDS},
    "record_move": {"400": f"a division in the division table; {WORDS}"},
    "record_hospitalisation": {"400": WORDS},
    "merge_records": {"400": WORDS},
    "erase_elder": {"400": WORDS, "422": "a privacy policy in force on the date"},
    "unmerge_records": {"400": WORDS},
    # facilities
    "open_facility": {"400": f"{WORDS}, services among them"},
    "change_details": {"400": WORDS},
    "change_capacity": {"400": WORDS},
    "rate_facility": {"400": WORDS},
    "suspend_facility": {"400": WORDS},
    "reinstate_facility": {"400": WORDS},
    "merge_facility": {"400": WORDS},
    "close_facility": {"400": WORDS},
    "discharge_elder": {"400": WORDS},
    "transfer_elder": {"400": WORDS},
    # visits
    "record_visit": {"400": "visited_on not after today; a reason with a correction"},
    "list_visitors": {"400": "a place, not the whole country (the fuzzer's own jurisdiction)"},
    "visit_coverage": {"422": "a visit policy covering the division at the period's end"},
    # notifications
    "report_alert": {"400": WORDS},
    "create_referral": {"400": f"another department than the caller's; due_on not before today; {WORDS}"},
    "record_referral_action": {"400": WORDS},
    "set_party_contacts": {"400": "the party of a place (e.g. township:410928101); an SMS address a mobile number, "
                                  "an e-mail address one"},
    # subsidies
    "start_run": {"400": "a month not after this one"},
    # ledger import
    "open_import": {"400": "content_base64 the bytes of an XLSX or CSV ledger with the required columns"},
    # survey campaigns
    "open_campaign": {"400": f"a deadline after today; {WORDS}"},
    "record_survey": {"400": "surveyed_on from the campaign's opening to today; corrections exactly when "
                             "the outcome is corrected, each as the registry checks it"},
    "mark_paid": {"400": "paid_on not after today"},
    # the departments' own records
    **{name: {"400": "effective_date not after today"} for name in (
        "end_family_doctor", "enrol_pension", "end_poverty_registration", "start_poverty_monitoring",
        "end_poverty_monitoring", "give_legal_aid", "close_case", "record_cultural_service", "register_poverty",
        "set_payee_account")},
    "read_bank_return": {"400": "csv with the header entry_id,result,reason, each result paid or failed, each "
                                "entry once and in that file"},
    "record_health_check": {"400": "effective_date not after today; a risk named with findings"},
    "record_chronic_followup": {"400": "effective_date not after today; next_due_on after it"},
    "sign_family_doctor": {"400": "effective_date not after today; valid_until after it"},
    "change_pension_status": {"400": "effective_date not after today; an amount exactly when receiving"},
    "open_case": {"400": f"effective_date not after today; {WORDS}"},
    # reports
    "quarterly_report": {"400": "a quarter that has ended"},
    # accounts: the fuzzer holds an operator's token, which names no person and has no session
    **{name: {"401": "the session cookie POST /api/session sets"}
       for name in ("sign_out", "select_grant", "change_password")},
    **{name: {"401": "a login and password that match"}
       for name in ("sign_in", "begin_second_factor", "confirm_second_factor")},
    "complete_password_reset": {"401": "a reset code an administrator issued"},
    "create_person": {"403": "a signed-in administrator (an operator token names no person)"},
    "issue_api_token": {"400": "person_id when the caller is an operator token"},
    **{name: {"400": "a jurisdiction in the division table"}
       for name in ("grant_role", "add_department", "retire_department", "set_joint_meeting")},
}
# Finance approves and pays runs: those two are fuzzed with a finance officer's token; each
# department's own records with an officer of the department that owns them.
FINANCE_OPERATIONS = ("approve_run", "mark_paid")
DEPARTMENT_OPERATIONS = {route.name: min(route.permission.departments) for route in ROUTES
                         if route.tag == "departments" and route.permission.writes}


def schemathesis(port: int, token: str, known: dict, *arguments: str, cwd: Path,
                 probability: float = PROBABILITY_KNOWN, config: str = "") -> subprocess.CompletedProcess:
    """``schemathesis run`` against the served document; each parameter named in ``known``
    takes one of its values in ``probability`` of the cases (the others are generated);
    ``config`` is more of schemathesis.toml."""
    if not SCHEMATHESIS.exists():
        pytest.fail(f"{SCHEMATHESIS} is missing: pip install -r requirements.lock (bin/test does)")
    config_file = cwd / "schemathesis.toml"
    config_file.write_text(known_values_config(known, probability) + config, encoding="utf-8")
    return subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(config_file), "run", f"http://127.0.0.1:{port}/openapi.json",
         "--header", f"Authorization: Bearer {token}", "--seed", SEED, "--no-color", *arguments],
        capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=cwd)


def known_values_config(known: dict, probability: float) -> str:
    """schemathesis.toml: a dictionary per parameter (``"path.elder_id": [...]``, ``"body.division_code"``)
    bound to it."""
    dictionaries = {parameter: parameter.replace(".", "_") for parameter in known}
    return "\n".join(
        ["[dictionaries]"]
        + [f"{dictionaries[p]} = {{ values = {json.dumps(values)} }}" for p, values in known.items()]
        + ["", "[parameters]"]
        + [f'"{p}" = {{ dictionary = "{dictionaries[p]}", probability = {probability} }}' for p in known]) + "\n"


def acceptance_config(finance_token: str, department_tokens: dict | None = None) -> str:
    """The expected statuses of positive_data_acceptance, for all operations and per operation;
    finance's token for finance's operations; no error feedback (it reads the dotted field names
    of our 400s, e.g. ``carer.phone``, as top-level properties and sends those)."""
    sections = [f"[checks.positive_data_acceptance]\nexpected-statuses = {json.dumps(ACCEPTED)}",
                "[phases.fuzzing.error-feedback]\nenabled = false"]
    sections += [f'[[operations]]\ninclude-operation-id = "{name}"\n'
                 f"checks.positive_data_acceptance.expected-statuses = {json.dumps(ACCEPTED + sorted(refusals))}"
                 for name, refusals in REFUSALS.items()]
    sections.append(f"[[operations]]\ninclude-operation-id = {json.dumps(list(FINANCE_OPERATIONS))}\n"
                    f'headers = {{ Authorization = "Bearer {finance_token}" }}')
    for department, token in (department_tokens or {}).items():
        operations = [name for name, owner in DEPARTMENT_OPERATIONS.items() if owner == department]
        sections.append(f"[[operations]]\ninclude-operation-id = {json.dumps(operations)}\n"
                        f'headers = {{ Authorization = "Bearer {token}" }}')
    return "\n" + "\n\n".join(sections) + "\n"


@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_schemathesis_finds_no_server_error_and_no_undocumented_response(api, system, web_config_port, tmp_path):
    ids = seed_records(api, system)
    known = {"path.elder_id": ["elder-1", "elder-2"], **{f"path.{name}": [ids[name]] for name in (
        "facility_id", "alert_id", "referral_id", "case_id", "order_id")}, "query.division_code": [VILLAGE, COUNTY],
        "body.division_code": [VILLAGE], "body.elder_id": ["elder-1", "elder-2"], "body.jurisdiction": [COUNTY[:6]]}
    token = system.token("fuzzer", "civil_affairs", "admin", NATIONWIDE)
    finance = system.token("fuzzer-cashier", "finance", "department_officer", NATIONWIDE)
    departments = {department: system.token(f"fuzzer-{department}", department, "department_officer", NATIONWIDE)
                   for department in set(DEPARTMENT_OPERATIONS.values())}
    # too_slow judges Hypothesis's own data generation, which slows when other suites load the machine.
    run = schemathesis(web_config_port, token, known, "--checks", "all", "--phases", PHASES,
                       "--max-examples", str(EXAMPLES), "--workers", "2", "--suppress-health-check", "too_slow",
                       cwd=tmp_path, config=acceptance_config(finance, departments))
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-20_000:]
    tested = re.search(r"Tested:\s+(\d+)", report)
    assert tested and int(tested.group(1)) == len(ROUTES) + len(ACCOUNT_ROUTES), report[-3_000:]
    # Finance's operations were reached; only the session-cookie ones refuse the fuzzer's bearer token.
    refused = re.search(r"Authentication failed: .*?\n\n(.*?)\n\n", report, re.S)
    refused_paths = set(re.findall(r"- (\w+ \S+)", refused.group(1))) if refused else set()
    assert refused_paths <= {"DELETE /api/session", "POST /api/password", "POST /api/session/grant"}, report[-5_000:]
    assert api("GET", "/api/elders", params={"division_code": COUNTY}).status_code == 200   # still serving


def test_every_refusal_names_a_route():
    assert set(REFUSALS) | set(FINANCE_OPERATIONS) | set(DEPARTMENT_OPERATIONS) <= {
        route.name for route in (*ROUTES, *ACCOUNT_ROUTES)}


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
