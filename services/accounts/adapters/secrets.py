"""Secrets: argon2id password hashes, TOTP, random session/token/link secrets.

argon2 is deliberately slow (tens of milliseconds); it runs in eventlet's thread pool so a
sign-in does not stall every other call of the process (argon2-cffi releases the GIL)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache

import argon2
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.accounts.domain import PasswordRules

TOTP_ISSUER = "eldercare"


class Passwords:
    """Hash and check passwords with argon2id. ``time_cost``/``memory_kib`` default to
    argon2-cffi's RFC 9106 low-memory profile; tests and the demo may lower them."""

    def __init__(self, time_cost: int | None = None, memory_kib: int | None = None, parallelism: int | None = None):
        profile = argon2.profiles.RFC_9106_LOW_MEMORY
        self.hasher = PasswordHasher(time_cost=time_cost or profile.time_cost,
                                     memory_cost=memory_kib or profile.memory_cost,
                                     parallelism=parallelism or profile.parallelism, type=argon2.Type.ID)
        # A decoy checked for unknown logins, so an attacker cannot tell them apart by time.
        self._decoy = self.hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return _in_thread(self.hasher.hash, password)

    def matches(self, stored_hash: str | None, password: str) -> bool:
        try:
            return _in_thread(self.hasher.verify, stored_hash or self._decoy, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False


def _in_thread(function, *args):
    from eventlet import patcher, tpool
    if patcher.is_monkey_patched("thread"):
        return tpool.execute(function, *args)
    return function(*args)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same_digest(secret: str, stored: str) -> bool:
    return hmac.compare_digest(digest(secret), stored)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, login: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=TOTP_ISSUER)


def totp_matches(secret: str, code: object, at=None) -> bool:
    """The code of this 30-second step, or of the one before or after (clock drift)."""
    if not isinstance(code, str) or not code.isdigit() or len(code) != 6:
        return False
    return pyotp.TOTP(secret).verify(code, for_time=at, valid_window=1)


def totp_now(secret: str, at=None) -> str:
    return pyotp.TOTP(secret).at(at) if at is not None else pyotp.TOTP(secret).now()


@lru_cache(maxsize=1)
def password_rules() -> PasswordRules:
    """zxcvbn's list of the 30,000 most common passwords and its guessability estimate."""
    from zxcvbn import zxcvbn
    from zxcvbn.frequency_lists import FREQUENCY_LISTS
    common = frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])
    return PasswordRules(common=common, score=lambda password, words: zxcvbn(password[:100], words)["score"])
