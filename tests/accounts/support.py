"""Shared by the accounts tests: the demo places, a fast argon2 (the production cost is
measured in bench/, not paid by every test), and helpers to make people and sign in."""
from datetime import date

from services.accounts.adapters.secrets import totp_now

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
    """Enrol a TOTP second factor; returns its secret (as the person's authenticator app holds it)."""
    started = accounts.begin_second_factor({"login": login, "password": password, "client_address": address})
    accounts.confirm_second_factor({"login": login, "password": password, "client_address": address,
                                    "credential_id": started["credential_id"],
                                    "one_time_password": totp_now(started["secret"])})
    return started["secret"]


def sign_in(accounts, login, password=STRONG, secret=None, address="10.0.0.1", **extra):
    payload = {"login": login, "password": password, "client_address": address, **extra}
    if secret:
        payload["one_time_password"] = totp_now(secret)
    return accounts.sign_in(payload)
