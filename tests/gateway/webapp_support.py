"""The people of the web app's tests, made in the real accounts service (issue 18) next to
the gateway's ``system``: each signs in with a password, and with a one-time code where their
role needs one (county level and up)."""
from nameko.standalone.rpc import ServiceRpcProxy

from contracts.accounts import SECOND_FACTOR_DEPARTMENTS, SECOND_FACTOR_ROLES
from kernel import migrate
from services.accounts.service import AccountsService
from tests.accounts.support import FAST_ARGON2, SECRET_KEY, STRONG, enrol, make_person, next_code, paired_authenticator

PASSWORD = STRONG
# The authenticator clock of the accounts containers of the running test (start_accounts
# pairs it): every code a test types is a new time step, as the service accepts each once.
AUTHENTICATOR: dict = {}


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
    AUTHENTICATOR["clock"] = paired_authenticator(container, system.containers["accounts"])
    secrets = {}
    with ServiceRpcProxy("accounts", config) as accounts:
        accounts.authenticator = AUTHENTICATOR["clock"]
        for who in people:
            make_person(accounts, who["user"], who["role"], who["jurisdiction"], department=who["department"],
                        password=PASSWORD)
            needs = who["role"] in SECOND_FACTOR_ROLES or who["department"] in SECOND_FACTOR_DEPARTMENTS
            secrets[who["user"]] = enrol(accounts, who["user"], PASSWORD) if needs else None
    return secrets


def one_time_code(secret: str | None) -> str:
    return next_code(AUTHENTICATOR["clock"], secret) if secret else ""
