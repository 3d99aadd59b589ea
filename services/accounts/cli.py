"""The ``eldercare accounts`` commands, run in the command's own process against the accounts
database (the service's outbox relay publishes what they append, as for ``eldercare
subsidies run``): the first administrator of a real installation, the demo accounts that
``bin/run`` prints, and the record of an operator's emergency token."""
from __future__ import annotations

import os
import secrets as random
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from sqlalchemy import select

from contracts import CATALOGUE
from kernel.config import database_url, repository_path
from kernel.db import create_service_engine
from kernel.divisions import configured_division_table
from kernel.envelope import format_time
from kernel.errors import ConflictError
from kernel.providers import clock_from_config
from kernel.store import SqlAlchemyEventStore
from kernel.uow import unit_of_work
from services.accounts import handlers
from services.accounts.adapters.secrets import totp_now
from services.accounts.adapters.tables import people
from services.accounts.rules import accounts_context, accounts_projections
from contracts.accounts_rpc import CreatePersonSchema
from kernel.validation import load_or_refuse

SYSTEM = {"department": "system", "user": "eldercare-cli", "role": "system"}
DEMO_FILE = "var/demo-accounts.yml"
DEMO_COUNTY = "410928000000"
DEMO_CITY = "410900000000"


class LocalDatabase:
    """What the handlers need of a database, opened by the command line."""

    def __init__(self, config: dict):
        self.engine = create_service_engine(database_url(config, "accounts"))
        self.store = SqlAlchemyEventStore(self.engine, "accounts", CATALOGUE)
        self.clock = clock_from_config(config)
        self.projections = tuple(accounts_projections(config))

    def unit_of_work(self):
        return unit_of_work(self.engine, self.store, self.clock, self.projections)

    def connect(self):
        return self.engine.connect()


@contextmanager
def opened(config: dict):
    db = LocalDatabase(config)
    try:
        yield db
    finally:
        db.engine.dispose()


def create_account(db, ctx, login: str, name: str, jurisdiction: str, role: str, department: str,
                   password: str) -> dict:
    """A person with one grant and a password; a second factor enrolled when the role needs one
    (its secret is returned for the person's authenticator app)."""
    payload = load_or_refuse(CreatePersonSchema(), {
        "login": login, "name": name, "home_jurisdiction": jurisdiction, "password": password,
        "grants": [{"department": department, "role": role, "jurisdiction": jurisdiction}]})
    person = handlers.create_person(db, ctx, payload, SYSTEM, {})
    state = handlers.load_person(db.store, person["person_id"], ctx.catalogue)
    if handlers.second_factor_required(state):
        address = {"login": login, "password": password, "client_address": "cli"}
        started = handlers.begin_second_factor(db, ctx, address, {})
        handlers.confirm_second_factor(db, ctx, {**address, "credential_id": started["credential_id"],
                                                 "one_time_password": totp_now(started["secret"])}, {})
        person["totp_secret"], person["otpauth_uri"] = started["secret"], started["otpauth_uri"]
    return person


def create_admin(config: dict, login: str, name: str, jurisdiction: str, department: str, password: str) -> dict:
    with opened(config) as db:
        return create_account(db, accounts_context(config), login, name, jurisdiction, "admin", department, password)


def demo_accounts(config: dict) -> list[dict]:
    """One account per role for the demo county (and its city), created once; the logins,
    the shared demo password and each TOTP secret are kept in var/demo-accounts.yml (0600)."""
    path = repository_path(DEMO_FILE)
    saved = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    saved = saved or {"password": "demo-" + "-".join(random.token_hex(3) for _ in range(3)), "accounts": {}}
    table = configured_division_table(config)
    village = next(iter(table.villages_within(DEMO_COUNTY[:6])), None)
    if village is None:
        raise ConflictError(f"the division table has no village in the demo county {DEMO_COUNTY}", field="DIVISION_FILES")
    township = village[:9] + "000"
    wanted = [("demo-admin", "演示管理员", "admin", "civil_affairs", DEMO_COUNTY),
              ("demo-village", "演示村干部", "village_worker", "civil_affairs", village),
              ("demo-township", "演示乡镇干部", "township_officer", "civil_affairs", township),
              ("demo-county", "演示县协调员", "county_coordinator", "civil_affairs", DEMO_COUNTY),
              ("demo-city", "演示市协调员", "city_coordinator", "civil_affairs", DEMO_CITY),
              ("demo-health", "演示卫健干部", "department_officer", "health", DEMO_COUNTY),
              ("demo-auditor", "演示审计员", "auditor", "finance", DEMO_COUNTY)]
    ctx = accounts_context(config)
    with opened(config) as db:
        with db.connect() as conn:
            existing = set(conn.execute(select(people.c.login)).scalars())
        for login, name, role, department, place in wanted:
            if login in existing:
                continue
            person = create_account(db, ctx, login, name, place, role, department, saved["password"])
            saved["accounts"][login] = {"role": role, "department": department, "jurisdiction": place,
                                        "totp_secret": person.get("totp_secret")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    os.chmod(path, 0o600)
    path.write_text("# Demo accounts (bin/run). Not for production: anyone with this file signs in.\n"
                    + yaml.safe_dump(saved, allow_unicode=True, sort_keys=True), encoding="utf-8")
    return [{"login": login, "password": saved["password"], **details}
            for login, details in sorted(saved["accounts"].items())]


def demo_code(login: str) -> str:
    """The current one-time code of a demo account (what its authenticator app would show)."""
    path = repository_path(DEMO_FILE)
    saved = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    secret = ((saved or {}).get("accounts", {}).get(login) or {}).get("totp_secret")
    if not secret:
        raise ConflictError(f"{login} is not a demo account with a second factor ({Path(DEMO_FILE)})", field="login")
    return totp_now(secret)


def _operator() -> str:
    """Who ran the command: the account logged in to the server (the user behind sudo)."""
    import getpass
    return os.getenv("SUDO_USER") or getpass.getuser() or "unknown"


def record_emergency_token(config: dict, user: str, department: str, role: str, jurisdiction: str,
                           hours: float) -> str:
    """In the accounts log before the token is printed; returns when it expires."""
    expires_at = format_time(datetime.now(timezone.utc) + timedelta(hours=hours))
    operator = _operator()
    with opened(config) as db:
        handlers.record_emergency_token(db, user, department, role, jurisdiction, expires_at, operator)
    return expires_at
