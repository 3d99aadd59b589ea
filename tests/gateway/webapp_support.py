"""The people of the web app's tests, made in the real accounts service (issue 18) next to
the gateway's ``system``: each signs in with a password, and with a one-time code where their
role needs one (county level and up)."""
from nameko.standalone.rpc import ServiceRpcProxy

from contracts.accounts import SECOND_FACTOR_DEPARTMENTS, SECOND_FACTOR_ROLES
from kernel import migrate
from services.accounts.adapters.secrets import totp_now
from services.accounts.service import AccountsService
from tests.accounts.support import FAST_ARGON2, STRONG, enrol, make_person

PASSWORD = STRONG


def start_accounts(system, container_factory, tmp_path, people) -> dict:
    """Start the accounts service and create ``people`` (dicts of user, department, role,
    jurisdiction); returns each login's TOTP secret (None where no second factor is needed)."""
    url = f"sqlite:///{tmp_path / 'accounts.db'}"
    migrate.upgrade("accounts", url)
    config = {**system.config, "DATABASES": {**system.config["DATABASES"], "accounts": url},
              "ACCOUNTS": {**FAST_ARGON2, "address_failures": 50}}
    container_factory(AccountsService, config).start()
    secrets = {}
    with ServiceRpcProxy("accounts", config) as accounts:
        for who in people:
            make_person(accounts, who["user"], who["role"], who["jurisdiction"], department=who["department"],
                        password=PASSWORD)
            needs = who["role"] in SECOND_FACTOR_ROLES or who["department"] in SECOND_FACTOR_DEPARTMENTS
            secrets[who["user"]] = enrol(accounts, who["user"], PASSWORD) if needs else None
    return secrets


def one_time_code(secret: str | None) -> str:
    return totp_now(secret) if secret else ""
