"""The people of the web app's tests, made in the real accounts service (issue 18) next to
the gateway's ``system``: each signs in with a password, and with a one-time code where their
role needs one (county level and up)."""
from datetime import timedelta

from nameko.standalone.rpc import ServiceRpcProxy

from contracts.accounts import SECOND_FACTOR_DEPARTMENTS, SECOND_FACTOR_ROLES
from kernel import migrate
from kernel.providers import find_database
from services.accounts.service import AccountsService
from tests.accounts.support import (FAST_ARGON2, SECRET_KEY, STRONG, SYSTEM, enrol, make_person, next_code,
                                    paired_authenticator)

PASSWORD = STRONG
# The running test's accounts containers, and the authenticator clock start_accounts pairs
# with them: every code a test types is a new time step, as the service accepts each once.
CURRENT: dict = {}


def start_accounts(system, container_factory, tmp_path, people) -> dict:
    """Start the accounts service and create ``people`` (dicts of user, department, role,
    jurisdiction); returns each login's TOTP secret (None where no second factor is needed)."""
    url = f"sqlite:///{tmp_path / 'accounts.db'}"
    migrate.upgrade("accounts", url)
    config = {**system.config, "DATABASES": {**system.config["DATABASES"], "accounts": url},
              "ACCOUNTS": {**FAST_ARGON2, "address_failures": 50, "secret_key": SECRET_KEY}}
    container = container_factory(AccountsService, config)
    container.start()
    # The system's own accounts container serves the same database and RPC queue.
    CURRENT["containers"] = (container, system.containers["accounts"])
    CURRENT["authenticator"] = paired_authenticator(*CURRENT["containers"])
    secrets = {}
    with ServiceRpcProxy("accounts", config) as accounts:
        accounts.authenticator = CURRENT["authenticator"]
        for who in people:
            make_person(accounts, who["user"], who["role"], who["jurisdiction"], department=who["department"],
                        password=PASSWORD)
            needs = who["role"] in SECOND_FACTOR_ROLES or who["department"] in SECOND_FACTOR_DEPARTMENTS
            secrets[who["user"]] = enrol(accounts, who["user"], PASSWORD) if needs else None
    return secrets


def one_time_code(secret: str | None) -> str:
    return next_code(CURRENT["authenticator"], secret) if secret else ""


def reset_link_code(system, login: str) -> str:
    """What an administrator sends after ``reset_password``: the one-time code of the link
    ``/app/password-reset#<code>``."""
    with ServiceRpcProxy("accounts", system.config) as accounts:
        person = accounts.find_person(login)
        return accounts.reset_password({"person_id": person["person_id"]}, SYSTEM)["reset_token"]


def move_accounts_clocks(**delta) -> None:
    for container in CURRENT["containers"]:
        find_database(container).clock.offset += timedelta(**delta)
