"""The key that seals TOTP secrets at rest: where it comes from, the errors that name what is
wrong with it, and the migration that seals secrets stored before encryption."""
import pytest
import yaml
from alembic import command
from sqlalchemy import insert, select

from kernel import migrate
from kernel.db import create_service_engine
from services.accounts.adapters.secrets import (SecretBox, SecretKeyError, new_secret_key, new_totp_secret,
                                                write_secret_key_file)
from services.accounts.adapters.tables import credentials
from services.accounts.rules import secret_box
from tests.accounts.support import SECRET_KEY


def test_a_sealed_secret_opens_only_under_its_key_and_on_its_own_row():
    box = SecretBox.from_settings(SECRET_KEY, None)
    secret = new_totp_secret()
    sealed = box.seal(secret, "cred-1")
    assert secret not in sealed and sealed.startswith("aesgcm1:" + box.key_id + ":")
    assert box.open(sealed, "cred-1") == secret
    with pytest.raises(SecretKeyError, match="altered, or moved from another row"):
        box.open(sealed, "cred-2")
    other = SecretBox.from_settings(new_secret_key(), None)
    with pytest.raises(SecretKeyError) as wrong:
        other.open(sealed, "cred-1")
    assert wrong.value.field == "secret_key" and box.key_id in str(wrong.value) and other.key_id in str(wrong.value)
    with pytest.raises(SecretKeyError, match="not sealed"):
        box.open(secret, "cred-1")


def test_the_service_does_not_start_without_a_usable_key(tmp_path):
    with pytest.raises(SecretKeyError) as missing:
        secret_box({"ACCOUNTS": {}})
    assert "ACCOUNTS_SECRET_KEY" in str(missing.value)
    with pytest.raises(SecretKeyError) as no_file:
        secret_box({"ACCOUNTS": {"secret_key_file": str(tmp_path / "absent.key")}})
    assert no_file.value.field == "secret_key_file" and "eldercare keys init" in str(no_file.value)
    with pytest.raises(SecretKeyError, match="not base64"):
        secret_box({"ACCOUNTS": {"secret_key": "not a key!"}})
    with pytest.raises(SecretKeyError, match="32 bytes"):
        secret_box({"ACCOUNTS": {"secret_key": "c2hvcnQ="}})


def test_keys_init_writes_a_key_file_once_and_the_environment_key_wins(tmp_path):
    path = tmp_path / "keys" / "accounts_secrets.key"
    assert write_secret_key_file(str(path)) == path
    assert path.stat().st_mode & 0o777 == 0o600
    first = secret_box({"ACCOUNTS": {"secret_key_file": str(path)}}).key_id
    assert write_secret_key_file(str(path)) is None                       # kept, never replaced
    assert secret_box({"ACCOUNTS": {"secret_key_file": str(path)}}).key_id == first
    assert secret_box({"ACCOUNTS": {"secret_key": SECRET_KEY, "secret_key_file": str(path)}}).key_id != first


def _database_at_a0001_with_a_plain_secret(tmp_path):
    url = f"sqlite:///{tmp_path / 'accounts.db'}"
    command.upgrade(migrate.alembic_config("accounts", url), "a0001")
    secret = new_totp_secret()
    engine = create_service_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(credentials).values(
            credential_id="cred-1", person_id="p-1", kind="totp", secret=secret, created_at="2026-12-01T00:00:00Z"))
    engine.dispose()
    return url, secret


def test_the_migration_seals_secrets_stored_before_encryption(tmp_path, monkeypatch):
    url, secret = _database_at_a0001_with_a_plain_secret(tmp_path)
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"ACCOUNTS": {"secret_key": SECRET_KEY}}))
    monkeypatch.setenv("ELDERCARE_CONFIG", str(config))
    migrate.upgrade("accounts", url)
    engine = create_service_engine(url)
    with engine.connect() as conn:
        row = conn.execute(select(credentials.c.secret, credentials.c.last_step)).one()
    engine.dispose()
    assert row.last_step is None and SecretBox.from_settings(SECRET_KEY, None).open(row.secret, "cred-1") == secret
    assert secret.encode() not in (tmp_path / "accounts.db").read_bytes()


def test_the_migration_stops_with_the_key_error_when_it_has_secrets_to_seal_and_no_key(tmp_path, monkeypatch):
    url, _secret = _database_at_a0001_with_a_plain_secret(tmp_path)
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"ACCOUNTS": {"secret_key_file": str(tmp_path / "absent.key")}}))
    monkeypatch.setenv("ELDERCARE_CONFIG", str(config))
    with pytest.raises(SecretKeyError, match="absent.key"):
        migrate.upgrade("accounts", url)
