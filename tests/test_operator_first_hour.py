"""Issue 24, an operator's first hour, the parts that need no running system: settings,
printed addresses, the token command's help, the shipped policies' villages, /ready's list.
(The running parts: tests/gateway/test_operator.py and tests/demo/test_bin_run.py.)"""
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from kernel.config import REPOSITORY_ROOT

CODE_DIRS = ("kernel", "services", "gateway", "cli", "demo")
CONFIG = REPOSITORY_ROOT / "config.yml"


def _python_sources():
    for directory in CODE_DIRS:
        for path in (REPOSITORY_ROOT / directory).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path, path.read_text(encoding="utf-8")


def _settings_read_by_the_code() -> set[str]:
    """Dotted setting paths the code reads from the configuration dict."""
    read: set[str] = set()
    section_reads = {"NOTIFICATIONS": re.compile(r"(?:settings\([^)]*\)|settings|config)\.get\(\"([a-z_]+)\""),
                     "FACILITIES": re.compile(r"\(config\.get\(\"FACILITIES\"\) or \{\}\)\.get\(\"([a-z_]+)\"")}
    for path, text in _python_sources():
        read |= {f"{s}.{k}" for s, k in re.findall(r"setting\([\w.]+, \"([A-Z_]+)\", \"([a-z_]+)\"", text)}
        read |= set(re.findall(r"configured_timer\(\"([A-Z_]+\.[a-z_]+)\"", text))
        read |= set(re.findall(r"config(?:uration)?\.get\(\"([A-Z_]+)\"", text))
        read |= set(re.findall(r"config\[\"([A-Z_]+)\"\]", text))
        if "services/notifications" in str(path):
            read |= {f"NOTIFICATIONS.{k}" for k in section_reads["NOTIFICATIONS"].findall(text)
                     if not k.isupper() and k not in ("get",)}
        read |= {f"FACILITIES.{k}" for k in section_reads["FACILITIES"].findall(text)}
    return read


def test_every_setting_the_code_reads_is_in_config_yml_with_its_variable_and_a_comment():
    from kernel.config import setting_variables
    known = setting_variables(CONFIG)
    sections = {key.split(".")[0] for key in known}
    read = _settings_read_by_the_code()
    assert "FIXED_TODAY" in read and "NOTIFICATIONS.smtp_timeout_seconds" in read   # the scan sees them
    missing = sorted(key for key in read if key not in known and key not in sections)
    assert not missing, f"read by the code but not in config.yml: {missing}"
    without_variable = sorted(key for key, names in known.items() if not names and key != "serializer")
    assert not without_variable, f"no environment variable sets: {without_variable}"
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if "${" not in line:
            continue
        paragraph = []
        for above in reversed(lines[:number + 1]):
            if not above.strip():
                break
            paragraph.append(above)
        assert any(item.lstrip().startswith("#") or " # " in item for item in paragraph), \
            f"config.yml line {number + 1} has no comment saying what it is: {line.strip()}"
    # Settings read from the environment alone are documented there too.
    environment_only = set()
    for _path, text in _python_sources():
        environment_only |= set(re.findall(r"os\.environ\.get\(\"([A-Z_]+)\"", text))
    text = CONFIG.read_text(encoding="utf-8")
    assert not [name for name in environment_only - {"PSYCOPG_WAIT_FUNC"} if name not in text]


def test_eldercare_config_prints_the_effective_configuration_with_secrets_masked(monkeypatch):
    monkeypatch.setenv("AMQP_URI", "amqp://eldercare:s3cret-pass@rabbit.example:5672/county")
    monkeypatch.setenv("FIXED_TODAY", "2026-11-23")
    monkeypatch.setenv("SMS_GATEWAY_URL", "https://sms.example/send?token=abc123&sender=eldercare")
    result = CliRunner().invoke(app, ["config", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["key"]: row for row in yaml.safe_load(result.stdout)}
    assert "s3cret-pass" not in result.stdout and "abc123" not in result.stdout
    assert rows["AMQP_URI"]["value"] == "amqp://eldercare:***@rabbit.example:5672/county"
    assert rows["AMQP_URI"]["from_environment"] is True
    assert rows["FIXED_TODAY"]["variables"] == ["FIXED_TODAY"] and "2026-11-23" in str(rows["FIXED_TODAY"]["value"])
    assert rows["NOTIFICATIONS.sms_gateway_url"]["value"].startswith("https://sms.example/send?token=***")
    assert rows["DATABASES.registry"]["variables"] == ["REGISTRY_DATABASE_URL"]


def test_the_printed_addresses_come_from_the_configuration(monkeypatch):
    monkeypatch.setenv("WEB_SERVER_ADDRESS", "0.0.0.0:9137")
    result = CliRunner().invoke(app, ["where"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:9137/dashboard/410928000000 " in result.stdout
    assert "http://127.0.0.1:9137/app/" in result.stdout and "token=" not in result.stdout
    assert "http://127.0.0.1:9137/docs" in result.stdout and ":8000" not in result.stdout
    monkeypatch.setenv("GATEWAY_PUBLIC_URL", "https://eldercare.example.gov.cn/")
    assert "https://eldercare.example.gov.cn/docs" in CliRunner().invoke(app, ["where"]).stdout
    run = (REPOSITORY_ROOT / "bin" / "run").read_text()
    assert "127.0.0.1:8000" not in run and "/eldercare\" where" in run


def test_token_issue_help_lists_the_departments_and_roles():
    from contracts.actors import DEFAULT_DEPARTMENTS, ROLES
    result = CliRunner().invoke(app, ["token", "issue", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for name in DEFAULT_DEPARTMENTS + tuple(r for r in ROLES if r != "system"):
        assert f" {name}," in text or f" {name}." in text, name
    assert "--department civil_affairs --role auditor" in text


def _policy_jurisdictions() -> set[str]:
    found = set()
    for path in (REPOSITORY_ROOT / "policies").glob("*.yml"):
        found |= set(re.findall(r"jurisdiction: \"(\d+)\"", path.read_text(encoding="utf-8")))
    return found


@pytest.mark.parametrize("jurisdiction", sorted(_policy_jurisdictions()))
def test_every_jurisdiction_a_shipped_policy_names_has_villages_an_elder_can_be_registered_in(jurisdiction):
    from demo.generator import generate_county
    from kernel.divisions import SYNTHETIC_NAME_MARK, configured_division_table
    from kernel.config import load_config
    from kernel.resident_id import validate as validate_resident_id
    table = configured_division_table(load_config())
    villages = table.villages_within(jurisdiction)
    assert villages, f"no village in the division tables under {jurisdiction}"
    county = villages[0][:6]
    if county != "410928":       # the demo county's names predate the mark; its files say synthetic
        assert all(table.get(v).name.endswith(SYNTHETIC_NAME_MARK) for v in villages if v.startswith(county))
    commands = list(generate_county(county_code=county, elders=20, seed=1,
                                    divisions=list(table._by_code.values())))
    registrations = [c["payload"] for c in commands if c["command"] == "register_elder"]
    assert registrations
    for payload in registrations:
        assert table.problems(payload["division_code"]) == []
        validate_resident_id(payload["resident_id"])


def test_demo_load_refuses_a_county_without_villages_and_names_those_with():
    result = CliRunner().invoke(app, ["demo", "load", "--county", "140522", "--elders", "1"])
    assert result.exit_code == 2
    assert "140525" in result.output and "410928" in result.output


def test_ready_pings_every_service_the_gateway_calls():
    """/ready's list (gateway.service.CALLED_SERVICES, from the route table) includes
    subsidies, which main left out; tests/gateway/test_operator.py stops it and asks."""
    from gateway.service import CALLED_SERVICES
    assert set(CALLED_SERVICES) == {"registry", "visits", "facilities", "notifications", "subsidies", "accounts",
                                    "imports", "surveys", "departments", "orders"}
