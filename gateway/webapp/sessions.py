"""Who is signed in: the session token the accounts service issued at sign-in, kept in an
HttpOnly, SameSite cookie (never in a URL), resolved to a Principal on every page by the
gateway's cached identity resolver (``gateway.auth``; the same cookie the API reads).

Every page asks ``principal_from_session`` and nothing else, so the one place that knows how
a session becomes a person is here."""
from __future__ import annotations

from gateway.auth import SESSION_COOKIE, Principal
from kernel.errors import AuthenticationError

__all__ = ["SESSION_COOKIE", "sign_in", "sign_out", "principal_from_session", "complete_password_reset"]


def sign_in(service, login: str, password: str, one_time_password: str | None, client_address: str) -> dict:
    """``{"session_token", "expires_at", "person", "active_grant"}``; a refusal is the
    accounts service's ``AuthenticationError`` (or a subclass: locked, throttled) or
    ``ValidationError`` naming the field."""
    request = {"login": login, "password": password, "client_address": client_address}
    if one_time_password:
        request["one_time_password"] = one_time_password
    return service.rpc["accounts"].sign_in(request)


def sign_out(service, session_token: str) -> None:
    service.identity.forget(session_token)
    service.rpc["accounts"].sign_out({"session_token": session_token})


def complete_password_reset(service, reset_token: str, new_password: str) -> None:
    """Set a new password with a one-time reset code. The accounts service keeps the code
    single-use and within its expiry (``AuthenticationError``, field ``reset_token``) and
    checks the password's strength (``ValidationError``, field ``new_password``)."""
    service.rpc["accounts"].complete_password_reset({"reset_token": reset_token, "new_password": new_password})


def principal_from_session(service, session_token: str) -> Principal:
    """The person behind a session; ``AuthenticationError`` when it is unknown, expired or
    ended (the page then sends them to sign in and back)."""
    if not session_token:
        raise AuthenticationError("not signed in", field="session")
    return service.identity.session(session_token)
