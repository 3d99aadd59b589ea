"""``eldercare accounts`` and ``eldercare token issue`` against a real accounts database: the
first administrator, the demo accounts, and the emergency token recorded in the log."""
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from cli.app import app
from kernel import migrate
from kernel.db import create_service_engine
from kernel.schema import events
from services.accounts import cli as accounts_cli
from tests.accounts.support import COUNTY, SECRET_KEY, STRONG


def configured(tmp_path):
    url = f"sqlite:///{tmp_path / 'accounts.db'}"
    migrate.upgrade("accounts", url)
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"DATABASES": {"accounts": url}, "GATEWAY": {
        "token_keyring": str(tmp_path / "tokens.yml")}, "ACCOUNTS": {"argon2_time_cost": 1,
                                                                     "argon2_memory_kib": 8192,
                                                                     "secret_key": SECRET_KEY}}))
    return url, str(config)


def types_in(url):
    engine = create_service_engine(url)
    with engine.connect() as conn:
        found = [row.type for row in conn.execute(select(events.c.type).order_by(events.c.position))]
    engine.dispose()
    return found


def test_create_admin_enrols_a_second_factor_and_refuses_a_weak_password(tmp_path):
    url, config = configured(tmp_path)
    runner = CliRunner()
    weak = runner.invoke(app, ["--config", config, "accounts", "create-admin", "root-admin", "--name", "管理员",
                               "--jurisdiction", COUNTY], input="password1\npassword1\n")
    assert weak.exit_code != 0 and "password" in str(weak.exception or weak.output)
    assert types_in(url) == []
    made = runner.invoke(app, ["--config", config, "accounts", "create-admin", "root-admin", "--name", "管理员",
                               "--jurisdiction", COUNTY], input=f"{STRONG}\n{STRONG}\n")
    assert made.exit_code == 0, made.output
    assert "otpauth://totp/" in made.output
    assert types_in(url)[-1] == "accounts.second_factor_enrolled.v1"


def test_demo_accounts_once_per_role_and_their_codes(tmp_path, monkeypatch):
    url, config = configured(tmp_path)
    monkeypatch.setattr(accounts_cli, "DEMO_FILE", str(tmp_path / "demo-accounts.yml"))
    runner = CliRunner()
    first = runner.invoke(app, ["--config", config, "accounts", "demo"])
    assert first.exit_code == 0, first.output
    created = types_in(url).count("accounts.person_created.v1")
    assert created == 7 and "demo-admin" in first.output
    assert runner.invoke(app, ["--config", config, "accounts", "demo"]).exit_code == 0
    assert types_in(url).count("accounts.person_created.v1") == created
    code = runner.invoke(app, ["accounts", "code", "demo-admin"])
    assert code.exit_code == 0 and code.output.strip().isdigit()


def test_an_emergency_token_is_recorded_in_the_accounts_log(tmp_path):
    url, config = configured(tmp_path)
    issued = CliRunner().invoke(app, ["--config", config, "token", "issue", "operator-1", "--department",
                                      "civil_affairs", "--role", "admin", "--jurisdiction", COUNTY, "--hours", "1"])
    assert issued.exit_code == 0, issued.output
    assert issued.output.count(".") >= 2                  # a JWT
    assert types_in(url) == ["accounts.emergency_token_issued.v1"]


def test_keys_init_makes_the_accounts_secret_key_once(tmp_path):
    key_file = tmp_path / "keys" / "accounts_secrets.key"
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"CHECKPOINTS": {"key_dir": str(tmp_path / "keys")},
                                      "ACCOUNTS": {"secret_key": "", "secret_key_file": str(key_file)}}))
    runner = CliRunner()
    first = runner.invoke(app, ["--config", str(config), "keys", "init"])
    assert first.exit_code == 0, first.output
    assert key_file.exists() and "TOTP secret key" in first.output and "(new)" in first.output
    kept = key_file.read_text()
    second = runner.invoke(app, ["--config", str(config), "keys", "init"])
    assert second.exit_code == 0 and "(new)" not in second.output and key_file.read_text() == kept
