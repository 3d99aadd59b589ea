"""Secrets: argon2id password hashes, TOTP, random session/token/link secrets, and the
AES-GCM box that keeps TOTP secrets encrypted at rest.

argon2 is deliberately slow (tens of milliseconds); it runs in eventlet's thread pool so a
sign-in does not stall every other call of the process (argon2-cffi releases the GIL)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import argon2
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kernel.config import repository_path
from kernel.errors import EldercareError
from services.accounts.domain import PasswordRules

TOTP_ISSUER = "eldercare"
TOTP_STEP_SECONDS = 30


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


def totp_step(secret: str, code: object, at: datetime) -> int | None:
    """The 30-second step (counter) whose code ``code`` is: this step, or the one before or
    after (clock drift); None if none matches. A caller that remembers the last step it
    accepted refuses the same code twice (RFC 6238 §5.2)."""
    if not isinstance(code, str) or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_STEP_SECONDS)
    now_step = totp.timecode(at)
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def totp_now(secret: str, at: datetime | None = None) -> str:
    return pyotp.TOTP(secret, interval=TOTP_STEP_SECONDS).at(at) if at is not None else pyotp.TOTP(secret).now()


class SecretKeyError(EldercareError):
    """The key that encrypts TOTP secrets is missing, malformed, or not the one they were
    sealed with."""

    code = "secret_key"


class SecretBox:
    """AES-256-GCM for the secrets the service must read back (TOTP seeds). A sealed value is
    ``aesgcm1:<key id>:<base64 nonce + ciphertext>``; the credential id is the associated
    data, so a sealed value copied onto another credential's row does not open."""

    PREFIX = "aesgcm1"

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise SecretKeyError(f"the accounts secret key must be 32 bytes (base64 of 32 random bytes), "
                                 f"not {len(key)}", field="secret_key")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"eldercare-accounts-key/" + key).hexdigest()[:12]

    @classmethod
    def from_settings(cls, key_text: str | None, key_file: str | None) -> "SecretBox":
        """The key from ``ACCOUNTS_SECRET_KEY`` (base64), else from the key file. Missing is
        an error, never a generated key: secrets sealed under a key nobody kept are lost."""
        source = "ACCOUNTS_SECRET_KEY"
        if not key_text:
            if not key_file:
                raise SecretKeyError("no key to encrypt TOTP secrets: set ACCOUNTS_SECRET_KEY (base64 of 32 "
                                     "bytes) or ACCOUNTS_SECRET_KEY_FILE", field="secret_key")
            path = repository_path(key_file)
            try:
                key_text = path.read_text(encoding="ascii").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise SecretKeyError(f"no readable accounts secret key at {path} (ACCOUNTS_SECRET_KEY_FILE; "
                                     f"`eldercare keys init` makes one for a local run): {exc}",
                                     field="secret_key_file") from exc
            source = str(path)
        try:
            key = base64.b64decode(str(key_text), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SecretKeyError(f"the accounts secret key in {source} is not base64", field="secret_key") from exc
        return cls(key)

    def seal(self, plaintext: str, credential_id: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), credential_id.encode("utf-8"))
        return f"{self.PREFIX}:{self.key_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def open(self, stored: str, credential_id: str) -> str:
        prefix, _, rest = stored.partition(":")
        key_id, _, body = rest.partition(":")
        if prefix != self.PREFIX or not body:
            raise SecretKeyError(f"credential {credential_id} is not sealed (stored before encryption at rest?); "
                                 "run `eldercare migrate accounts` with the key configured", field="secret_key")
        if key_id != self.key_id:
            raise SecretKeyError(f"credential {credential_id} was sealed under accounts key {key_id}, but the "
                                 f"configured key is {self.key_id}: check ACCOUNTS_SECRET_KEY / "
                                 "ACCOUNTS_SECRET_KEY_FILE", field="secret_key")
        raw = base64.b64decode(body)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], credential_id.encode("utf-8")).decode("utf-8")
        except InvalidTag as exc:
            raise SecretKeyError(f"credential {credential_id} does not decrypt under accounts key {key_id} "
                                 "(altered, or moved from another row)", field="secret_key") from exc

    @staticmethod
    def is_sealed(stored: str) -> bool:
        return stored.startswith(SecretBox.PREFIX + ":")


def new_secret_key() -> str:
    return base64.b64encode(os.urandom(32)).decode("ascii")


def write_secret_key_file(key_file: str) -> Path | None:
    """Create the key file (0600) if it is missing; the path when one was made."""
    path = repository_path(key_file)
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(new_secret_key() + "\n")
    return path


@lru_cache(maxsize=1)
def password_rules() -> PasswordRules:
    """zxcvbn's list of the 30,000 most common passwords and its guessability estimate."""
    from zxcvbn import zxcvbn
    from zxcvbn.frequency_lists import FREQUENCY_LISTS
    common = frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])
    return PasswordRules(common=common, score=lambda password, words: zxcvbn(password[:100], words)["score"])
