"""Who is calling: signed bearer tokens (JWT, HS256) issued by ``eldercare token issue``.

A token names the user, their department, role and jurisdiction (a division code), and
expires. Keys are rotatable: the keyring file lists every key by id and which one signs new
tokens; a token is checked with the key its ``kid`` header names, so tokens signed with the
previous key keep working until that key is removed from the file.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
import yaml

from contracts.actors import DEFAULT_DEPARTMENTS, ROLES
from kernel.config import repository_path
from kernel.errors import EldercareError

ISSUER = "eldercare-gateway"
DEFAULT_KEYRING = "var/keys/gateway_tokens.yml"


class AuthenticationError(EldercareError):
    code = "unauthenticated"


@dataclass(frozen=True)
class Principal:
    user: str
    department: str
    role: str
    jurisdiction: str          # 12-digit division code; "000000000000" = nationwide

    def actor(self) -> dict:
        return {"department": self.department, "user": self.user, "role": self.role}


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
        if principal.department not in DEFAULT_DEPARTMENTS or principal.role not in ROLES \
                or not (len(principal.jurisdiction) == 12 and principal.jurisdiction.isdigit()):
            raise AuthenticationError(
                "token names an unknown department, role or jurisdiction (departments: "
                f"{', '.join(DEFAULT_DEPARTMENTS)}; roles: {', '.join(r for r in ROLES if r != 'system')}; "
                "jurisdiction: a 12-digit division code)")
        return principal
