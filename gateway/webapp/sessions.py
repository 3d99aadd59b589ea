"""Who is signed in: the session token the accounts service issued at sign-in, kept in an
HttpOnly, SameSite cookie (never in a URL), resolved to a Principal on every page.

Every page asks ``principal_from_session`` and nothing else, so the one place that knows how
a session becomes a person is here."""
from __future__ import annotations

from gateway.auth import AuthenticationError, Principal

SESSION_COOKIE = "eldercare_session"


def sign_in(service, login: str, password: str, one_time_password: str | None, client_address: str) -> dict:
    """``{"session_token", "expires_at", "person"}``; a refusal is the accounts service's
    ``AuthenticationError``/``ValidationError`` naming the field."""
    request = {"login": login, "password": password, "client_address": client_address}
    if one_time_password:
        request["one_time_password"] = one_time_password
    return service.rpc["accounts"].sign_in(request)


def sign_out(service, session_token: str) -> None:
    service.rpc["accounts"].sign_out({"session_token": session_token})


def principal_from_session(service, session_token: str) -> Principal:
    """The person behind a session; ``AuthenticationError`` when it is unknown, expired or
    revoked (the page then sends them to sign in and back)."""
    if not session_token:
        raise AuthenticationError("not signed in", field="session")
    return service.tokens.verify(session_token)
