"""Loading the accounts service's configured rules (``ACCOUNTS`` in config.yml): the
department policy file, the division table, argon2's cost, lockout, throttling, session
lifetimes and the key that encrypts TOTP secrets. Loaded once per process and checked at
start-up: a missing or malformed key stops the service there, not at the first sign-in."""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from contracts import CATALOGUE
from kernel.config import REPOSITORY_ROOT, setting
from kernel.divisions import configured_division_table
from kernel.policy_files import load_policy_file
from services.accounts.adapters.projections import AccountsDirectory
from services.accounts.adapters.secrets import Passwords, SecretBox, password_rules
from services.accounts.domain import DepartmentBook, SignInPolicy
from services.accounts.handlers import AccountsContext, ThrottlePolicy

DEFAULT_DEPARTMENTS_FILE = REPOSITORY_ROOT / "policies" / "departments.yml"


def departments_file(config) -> str:
    return str(setting(config, "ACCOUNTS", "departments_policy_file", None) or DEFAULT_DEPARTMENTS_FILE)


def load_departments(path: str) -> DepartmentBook:
    return load_policy_file(path, DepartmentBook.from_dict, "DEPARTMENTS_POLICY_FILE")


def secret_box(config) -> SecretBox:
    return SecretBox.from_settings(setting(config, "ACCOUNTS", "secret_key", None),
                                   setting(config, "ACCOUNTS", "secret_key_file", None))


def _int(config, key: str, default: int) -> int:
    return int(setting(config, "ACCOUNTS", key, default))


def accounts_context(config) -> AccountsContext:
    defaults, throttle = SignInPolicy(), ThrottlePolicy()
    policy = SignInPolicy(
        lock_after_failures=_int(config, "lock_after_failures", defaults.lock_after_failures),
        lock_minutes=_int(config, "lock_minutes", defaults.lock_minutes),
        session_idle_minutes=_int(config, "session_idle_minutes", defaults.session_idle_minutes),
        session_max_hours=_int(config, "session_max_hours", defaults.session_max_hours),
        reset_link_hours=_int(config, "reset_link_hours", defaults.reset_link_hours),
        api_token_max_days=_int(config, "api_token_max_days", defaults.api_token_max_days))
    throttle = ThrottlePolicy(
        address_failures=_int(config, "address_failures", throttle.address_failures),
        window_minutes=_int(config, "address_window_minutes", throttle.window_minutes),
        throttle_minutes=_int(config, "address_throttle_minutes", throttle.throttle_minutes))
    # 0 = argon2-cffi's RFC 9106 low-memory profile (3 passes over 64 MiB).
    passwords = Passwords(_int(config, "argon2_time_cost", 0) or None, _int(config, "argon2_memory_kib", 0) or None,
                          _int(config, "argon2_parallelism", 0) or None)
    return AccountsContext(CATALOGUE, load_departments(departments_file(config)), configured_division_table(config),
                           passwords, password_rules(), secret_box(config), policy, throttle)


def accounts_projections(_config):
    return [AccountsDirectory(CATALOGUE)]


class AccountsRules(DependencyProvider):
    """Hands each worker the accounts context (catalogue, departments, divisions, secrets)."""

    def setup(self):
        self.context = accounts_context(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.context
