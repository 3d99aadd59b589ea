"""Who is calling.

Every request is resolved to a person by the accounts service (``contracts.accounts``): a
session cookie (``principal_from_session``) or a personal API token
(``principal_from_api_token``), each answer cached for ``GATEWAY.identity_cache_seconds``
(default 10 s, at most 60), so a revoked token or grant stops working within that time
while the dashboard does not pay an RPC per request. A person with several grants acts
under one at a time: the session's active grant (chosen at sign-in, changed with
``select_grant``); an API token is bound to one grant when issued.

The emergency path: signed bearer tokens (JWT, HS256) issued by ``eldercare token issue``
on the server (recorded in the accounts log), verified here without the accounts service.
A token names the user, their department, role and jurisdiction (a division code), and
expires. Keys are rotatable: the keyring file lists every key by id and which one signs new
tokens; a token is checked with the key its ``kid`` header names, so tokens signed with the
previous key keep working until that key is removed from the file.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
import yaml

from contracts.actors import DEFAULT_DEPARTMENTS, ROLES, is_department_code
from kernel.config import repository_path
from kernel.errors import AuthenticationError

ISSUER = "eldercare-gateway"
DEFAULT_KEYRING = "var/keys/gateway_tokens.yml"
DEFAULT_IDENTITY_CACHE_SECONDS = 10.0
MAX_IDENTITY_CACHE_SECONDS = 60.0      # issue 18: a revocation takes effect within 60 s
API_TOKEN_PREFIX = "ect_"              # personal API tokens (accounts); anything else is a JWT
SESSION_COOKIE = "eldercare_session"   # the API's session cookie (set by POST /api/session)

__all__ = ["AuthenticationError", "Principal", "Keyring", "IdentityResolver", "principal_from_session",
           "principal_from_api_token", "configure_identity", "claimed_account"]


@dataclass(frozen=True)
class Principal:
    user: str
    department: str
    role: str
    jurisdiction: str          # 12-digit division code; "000000000000" = nationwide
    person_id: str | None = None       # None: an emergency operator token (no person behind it)
    grant_id: str | None = None        # the grant acted under
    name: str | None = None
    session_id: str | None = None
    token_id: str | None = None
    grants: tuple = field(default=(), compare=False)   # every grant of the person (dicts)

    def actor(self) -> dict:
        actor = {"department": self.department, "user": self.user, "role": self.role}
        if self.person_id is not None:
            actor["person_id"] = self.person_id
        return actor

    @classmethod
    def from_resolved(cls, answer: dict) -> "Principal":
        """From the accounts service's ``resolve_session`` / ``resolve_token`` answer."""
        person, grant = answer["person"], answer["active_grant"]
        return cls(user=person["login"], department=grant["department"], role=grant["role"],
                   jurisdiction=grant["jurisdiction"], person_id=person["person_id"], grant_id=grant["grant_id"],
                   name=person.get("name"), session_id=answer.get("session_id"), token_id=answer.get("token_id"),
                   grants=tuple(person.get("grants", ())))


class IdentityResolver:
    """Asks the accounts service who a session or token belongs to, and remembers each answer
    (refusals too) for ``ttl`` seconds. ``call(method, payload)`` makes the RPC."""

    def __init__(self, call, ttl: float = DEFAULT_IDENTITY_CACHE_SECONDS, clock=time.monotonic):
        self.call, self.ttl, self.clock = call, min(float(ttl), MAX_IDENTITY_CACHE_SECONDS), clock
        self._cache: dict[str, tuple[float, Principal | AuthenticationError]] = {}
        self._lock = threading.Lock()

    def session(self, session_token: str) -> Principal:
        return self._resolve("resolve_session", {"session_token": session_token}, session_token)

    def api_token(self, token: str) -> Principal:
        return self._resolve("resolve_token", {"token": token}, token)

    def forget(self, secret: str) -> None:
        """Drop a cached answer at once (after signing out through this gateway)."""
        with self._lock:
            self._cache.pop(_cache_key(secret), None)

    def _resolve(self, method: str, payload: dict, secret: str) -> Principal:
        if not isinstance(secret, str) or not secret or len(secret) > 256:
            raise AuthenticationError("no session or token given; sign in first", field="authorization")
        key = _cache_key(secret)
        now = self.clock()
        with self._lock:
            cached = self._cache.get(key)
        if cached is None or cached[0] <= now:
            try:
                cached = (now + self.ttl, Principal.from_resolved(self.call(method, payload)))
            except AuthenticationError as refusal:
                cached = (now + self.ttl, refusal)
            with self._lock:
                if len(self._cache) > 50_000:       # bounded: stale entries go first
                    self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
                self._cache[key] = cached
        if isinstance(cached[1], AuthenticationError):
            raise cached[1]
        return cached[1]


def claimed_account(token: str) -> str | None:
    """Whose a bearer token says it is, unverified (for throttling guesses per account): a
    personal API token's id, or an operator token's subject; None when it names no one."""
    if token.startswith(API_TOKEN_PREFIX):
        token_id = token[len(API_TOKEN_PREFIX):].split("_", 1)[0]
        return f"token:{token_id}" if token_id else None
    try:
        subject = jwt.decode(token, options={"verify_signature": False}).get("sub")
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError):
        return None
    return subject if isinstance(subject, str) and subject else None


def _cache_key(secret: str) -> str:
    # The cache holds digests, not the bearer secrets themselves.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


_IDENTITY: dict = {"resolver": None}


def configure_identity(resolver: IdentityResolver | None) -> None:
    """Set by the gateway's ``Identity`` dependency when the gateway starts."""
    _IDENTITY["resolver"] = resolver


def _resolver() -> IdentityResolver:
    resolver = _IDENTITY["resolver"]
    if resolver is None:
        raise AuthenticationError("sign-in is not available: the gateway has no accounts connection",
                                  field="authorization")
    return resolver


def principal_from_session(session_token: str) -> Principal:
    """The person (acting under their session's active grant) whose session cookie this is;
    cached. Raises ``AuthenticationError`` for an unknown, expired or ended session."""
    return _resolver().session(session_token)


def principal_from_api_token(token: str) -> Principal:
    """The person and grant a personal API token (``ect_…``) stands for; cached."""
    return _resolver().api_token(token)


class Keyring:
    def __init__(self, path: str | Path = DEFAULT_KEYRING):
        self.path = Path(repository_path(str(path)))

    def _load(self) -> dict:
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise AuthenticationError(f"token keys are not set up ({self.path}: {exc.strerror}); "
                                      "run `eldercare token rotate`") from exc
        return data

    def rotate(self) -> str:
        """Add a new signing key and make it active; earlier keys stay valid until removed."""
        data = self._load() if self.path.exists() else {"keys": {}}
        key_id = datetime.now(timezone.utc).strftime("k%Y%m%d%H%M%S") + secrets.token_hex(2)
        data["keys"][key_id] = secrets.token_urlsafe(48)
        data["active"] = key_id
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch(mode=0o600, exist_ok=True)
        self.path.write_text("# Gateway token signing keys (HS256). Keep secret; remove a key to revoke its tokens.\n"
                             + yaml.safe_dump(data, sort_keys=True), encoding="utf-8")
        return key_id

    def issue(self, principal: Principal, hours: float = 12.0) -> str:
        data = self._load()
        key_id = data["active"]
        now = datetime.now(timezone.utc)
        claims = {"iss": ISSUER, "sub": principal.user, "dep": principal.department, "role": principal.role,
                  "jur": principal.jurisdiction, "iat": now, "exp": now + timedelta(hours=hours)}
        return jwt.encode(claims, data["keys"][key_id], algorithm="HS256", headers={"kid": key_id})

    def verify(self, token: str) -> Principal:
        keys = self._load().get("keys", {})
        try:
            key_id = jwt.get_unverified_header(token).get("kid")
            if key_id not in keys:
                raise AuthenticationError("token signed with an unknown or retired key")
            claims = jwt.decode(token, keys[key_id], algorithms=["HS256"], issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub"]})
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("token expired; ask for a new one") from None
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"invalid token: {exc}") from None
        principal = Principal(claims["sub"], claims.get("dep", ""), claims.get("role", ""), claims.get("jur", ""))
        if not is_department_code(principal.department) or principal.role not in ROLES \
                or not (len(principal.jurisdiction) == 12 and principal.jurisdiction.isdigit()):
            raise AuthenticationError(
                "token names an unknown department, role or jurisdiction (departments: "
                f"{', '.join(DEFAULT_DEPARTMENTS)}; roles: {', '.join(r for r in ROLES if r != 'system')}; "
                "jurisdiction: a 12-digit division code)")
        return principal
