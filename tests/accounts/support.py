"""Shared by the accounts tests: the demo places, a fast argon2 (the production cost is
measured in bench/, not paid by every test), a key for TOTP secrets, and helpers to make
people and sign in."""
import base64
from datetime import date

from nameko.testing.utils import get_extension

from kernel.clock import FixedClock
from services.accounts.adapters.secrets import totp_now
from services.accounts.rules import AccountsRules

TODAY = date(2026, 11, 23)
CITY = "410900000000"
COUNTY = "410928000000"
OTHER_COUNTY = "410922000000"
TOWNSHIP = "410928101000"
VILLAGE = "410928101201"
JINCHENG_COUNTY = "140522000000"
SYSTEM = {"department": "system", "user": "bootstrap", "role": "system"}
STRONG = "lantern-orchard-47-ferry"
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8192, "argon2_parallelism": 1}
SECRET_KEY = base64.b64encode(bytes(range(32))).decode()      # ACCOUNTS.secret_key of the tests


def paired_authenticator(*containers) -> FixedClock:
    """The clock the accounts service checks one-time codes against, shared with the test's
    "authenticator app": each code is read a step (30 s) after the last, as a person waits
    for a new one, since the service accepts each step once."""
    clock = FixedClock()
    for container in containers:
        get_extension(container, AccountsRules).context.authenticator_clock = clock
    return clock


def next_code(clock: FixedClock, secret: str) -> str:
    clock.advance(seconds=30)
    return totp_now(secret, clock.now())


def actor_of(person: dict, grant_index: int = 0) -> dict:
    grant = person["grants"][grant_index]
    return {"department": grant["department"], "user": person["login"], "role": grant["role"],
            "person_id": person["person_id"]}


def make_person(accounts, login, role, jurisdiction, by=SYSTEM, department="civil_affairs", password=STRONG,
                home=None):
    return accounts.create_person({"login": login, "name": f"测试{login}", "home_jurisdiction": home or jurisdiction,
                                   "password": password,
                                   "grants": [{"department": department, "role": role,
                                               "jurisdiction": jurisdiction}]}, by)


def enrol(accounts, login, password=STRONG, address="10.0.0.1") -> str:
    """Enrol a TOTP second factor; returns its secret (as the person's authenticator app holds
    it). ``accounts`` carries the ``authenticator`` clock paired with the service."""
    started = accounts.begin_second_factor({"login": login, "password": password, "client_address": address})
    accounts.confirm_second_factor({"login": login, "password": password, "client_address": address,
                                    "credential_id": started["credential_id"],
                                    "one_time_password": next_code(accounts.authenticator, started["secret"])})
    return started["secret"]


def sign_in(accounts, login, password=STRONG, secret=None, address="10.0.0.1", **extra):
    payload = {"login": login, "password": password, "client_address": address, **extra}
    if secret:
        payload["one_time_password"] = next_code(accounts.authenticator, secret)
    return accounts.sign_in(payload)
