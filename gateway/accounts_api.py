"""The gateway's sign-in and account administration endpoints (``/api/session``,
``/api/people``, ``/api/tokens``, ``/api/departments``): each calls the accounts service
(``contracts.accounts``), which checks who may administer whom itself — the gateway only
turns away the roles that never may (auditors write nothing; only administrators manage
other people's accounts).

Sign-in answers with the session token and sets it as the ``eldercare_session`` cookie
(HttpOnly, SameSite=Lax, Secure behind HTTPS); an API client may send it as the cookie or use
a personal API token (``POST /api/tokens``) as ``Authorization: Bearer``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from gateway.access import ForbiddenError
from gateway.auth import SESSION_COOKIE, AuthenticationError, Principal
from gateway.webapp import security
from kernel.config import gateway_base_url, setting

ADMIN = frozenset({"admin", "system"})


@dataclass(frozen=True)
class AccountRoute:
    method: str
    path: str
    name: str
    call: Callable                 # (gateway, request, principal | None, params, body) -> (body, status)
    rpc: str | None                # the accounts method it calls (its request schema documents the body)
    summary: str
    signed_in: bool = True
    admin_only: bool = False
    checks_secret: bool = False    # a password or code: failures are throttled (gateway.throttle)

    @property
    def status(self) -> int:
        return 201 if self.name in CREATING else 200


def _admin(method: str, id_param: str | None = None, status: int = 200):
    """An administration command: the body (plus the id from the path) and the caller as actor."""
    def call(gateway, request, principal, params, body):
        payload = {**body, **({id_param: params[id_param]} if id_param else {})}
        return getattr(gateway.rpc["accounts"], method)(payload, principal.actor()), status
    return call


def reset_password(gateway, request, principal, params, body):
    """The one-time code, and the link to send the person: the code after ``#``, so the
    browser never sends it to a server (nor to a log) when the link is opened."""
    answer = gateway.rpc["accounts"].reset_password({**body, "person_id": params["person_id"]}, principal.actor())
    link = f"{gateway_base_url(gateway.settings)}/app/password-reset#{answer['reset_token']}"
    return {**answer, "reset_link": link}, 201


def client_address(gateway, request) -> str:
    """Who is signing in, for throttling: the peer, or behind a trusted proxy (ingress) the
    first address of X-Forwarded-For (``GATEWAY.trust_forwarded_for``)."""
    if setting(gateway.settings, "GATEWAY", "trust_forwarded_for", False) and request.access_route:
        return str(request.access_route[0])[:64]
    return str(request.remote_addr or "unknown")[:64]


def login_of(login) -> str | None:
    """The account a sign-in names, as the throttle counts it (case and spaces aside)."""
    return (login.strip().lower() or None) if isinstance(login, str) else None


def _session_cookie(request, response: Response, token: str | None) -> None:
    secure = request.scheme == "https" or request.headers.get("X-Forwarded-Proto") == "https"
    if token is None:
        response.delete_cookie(SESSION_COOKIE, path="/")
    else:
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax", secure=secure, path="/")


def sign_in(gateway, request, _principal, _params, body):
    payload = {k: body.get(k) for k in ("login", "password", "one_time_password", "grant_id") if k in body}
    answer = gateway.rpc["accounts"].sign_in({**payload, "client_address": client_address(gateway, request)})
    # The double-submit token a cookie-signed write must echo in X-CSRF-Token.
    return {**answer, "csrf_token": security.csrf_token(request)}, 201, answer["session_token"]


def current_session(gateway, request, principal: Principal, _params, _body):
    return {"person_id": principal.person_id, "login": principal.user, "name": principal.name,
            "grants": list(principal.grants),
            "active_grant": {"grant_id": principal.grant_id, "department": principal.department,
                             "role": principal.role, "jurisdiction": principal.jurisdiction},
            "session_id": principal.session_id, "token_id": principal.token_id}, 200


def _session_token(request) -> str:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise AuthenticationError("no session cookie: sign in first", field="authorization")
    return token


def sign_out(gateway, request, _principal, _params, _body):
    token = _session_token(request)
    gateway.rpc["accounts"].sign_out({"session_token": token})
    gateway.identity.forget(token)
    return {"signed_out": True}, 200, None


def select_grant(gateway, request, _principal, _params, body):
    token = _session_token(request)
    answer = gateway.rpc["accounts"].select_grant({"session_token": token, "grant_id": body.get("grant_id")})
    gateway.identity.forget(token)
    return answer, 200


def change_password(gateway, request, _principal, _params, body):
    return gateway.rpc["accounts"].set_password({"session_token": _session_token(request),
                                                 "password": body.get("password"),
                                                 "new_password": body.get("new_password")}), 200


def _public(method: str, with_address: bool = False):
    def call(gateway, request, _principal, _params, body):
        payload = dict(body)
        if with_address:
            payload["client_address"] = client_address(gateway, request)
        return getattr(gateway.rpc["accounts"], method)(payload), 200
    return call


def list_people(gateway, request, principal, _params, _body):
    filters = dict(request.args)
    filters.setdefault("jurisdiction", principal.jurisdiction)
    return gateway.rpc["accounts"].list_people(filters), 200


def get_person(gateway, request, principal, params, _body):
    return gateway.rpc["accounts"].get_person(params["person_id"]), 200


def departments(gateway, request, principal, _params, _body):
    return gateway.rpc["accounts"].departments(request.args.get("jurisdiction", principal.jurisdiction),
                                               request.args.get("on")), 200


CREATING = frozenset({"sign_in", "create_person", "grant_role", "reset_password", "issue_api_token",
                      "add_department"})
R = AccountRoute
ACCOUNT_ROUTES = [
    R("POST", "/api/session", "sign_in", sign_in, "sign_in", "Sign in: a session (cookie) for one grant",
      signed_in=False, checks_secret=True),
    R("GET", "/api/session", "current_session", current_session, None, "Who is signed in, with which grant"),
    R("DELETE", "/api/session", "sign_out", sign_out, "sign_out", "Sign out (ends the session)", signed_in=False),
    R("POST", "/api/session/grant", "select_grant", select_grant, "select_grant",
      "Work under another of your grants", signed_in=False),
    R("POST", "/api/password", "change_password", change_password, "set_password", "Change your password",
      signed_in=False, checks_secret=True),
    R("POST", "/api/password-reset", "complete_password_reset", _public("complete_password_reset"),
      "complete_password_reset", "Set a new password with a reset code", signed_in=False, checks_secret=True),
    R("POST", "/api/second-factor", "begin_second_factor", _public("begin_second_factor", True),
      "begin_second_factor", "Start enrolling an authenticator app (TOTP)", signed_in=False, checks_secret=True),
    R("POST", "/api/second-factor/confirmation", "confirm_second_factor", _public("confirm_second_factor", True),
      "confirm_second_factor", "Confirm the authenticator with a code", signed_in=False, checks_secret=True),
    R("GET", "/api/people", "list_people", list_people, "list_people", "People of a jurisdiction",
      admin_only=True),
    R("POST", "/api/people", "create_person", _admin("create_person", status=201), "create_person",
      "Create a person's account with their first grant", admin_only=True),
    R("GET", "/api/people/<person_id>", "get_person", get_person, "get_person", "A person's account",
      admin_only=True),
    R("POST", "/api/people/<person_id>/details", "change_person_details", _admin("change_details", "person_id"),
      "change_details", "Change a person's name or contact", admin_only=True),
    R("POST", "/api/people/<person_id>/grants", "grant_role", _admin("grant_role", "person_id", 201),
      "grant_role", "Grant a role (department × role × jurisdiction)", admin_only=True),
    R("POST", "/api/people/<person_id>/grant-revocations", "revoke_role", _admin("revoke_role", "person_id"),
      "revoke_role", "Revoke a grant", admin_only=True),
    R("POST", "/api/people/<person_id>/suspension", "suspend_person", _admin("suspend_person", "person_id"),
      "suspend_person", "Suspend a person", admin_only=True),
    R("POST", "/api/people/<person_id>/reinstatement", "reinstate_person",
      _admin("reinstate_person", "person_id"), "reinstate_person", "Reinstate a suspended person",
      admin_only=True),
    R("POST", "/api/people/<person_id>/leaving", "record_leaving", _admin("record_leaving", "person_id"),
      "record_leaving", "Record that a person left (every grant ends)", admin_only=True),
    R("POST", "/api/people/<person_id>/unlock", "unlock_account", _admin("unlock_account", "person_id"),
      "unlock_account", "Unlock an account locked after failed sign-ins", admin_only=True),
    R("POST", "/api/people/<person_id>/password-reset", "reset_password",
      reset_password, "reset_password", "Issue a one-time password reset code",
      admin_only=True),
    R("POST", "/api/people/<person_id>/second-factor-removal", "remove_second_factor",
      _admin("remove_second_factor", "person_id"), "remove_second_factor", "Remove a person's authenticator",
      admin_only=True),
    R("POST", "/api/people/<person_id>/session-ends", "end_session", _admin("end_session", "person_id"),
      "end_session", "End a person's session", admin_only=True),
    R("POST", "/api/tokens", "issue_api_token", _admin("issue_api_token", status=201), "issue_api_token",
      "Issue a personal API token"),
    R("POST", "/api/tokens/<token_id>/revocation", "revoke_api_token", _admin("revoke_api_token", "token_id"),
      "revoke_api_token", "Revoke an API token"),
    R("GET", "/api/departments", "departments", departments, "departments",
      "Departments and joint meeting in force in a jurisdiction"),
    R("POST", "/api/departments", "add_department", _admin("add_department", status=201), "add_department",
      "Add a department to a jurisdiction", admin_only=True),
    R("POST", "/api/departments/retirement", "retire_department", _admin("retire_department"),
      "retire_department", "Retire a department", admin_only=True),
    R("POST", "/api/joint-meeting", "set_joint_meeting", _admin("set_joint_meeting"), "set_joint_meeting",
      "Set the joint meeting's members", admin_only=True),
]
ACCOUNT_MAP = Map([Rule(route.path, methods=[route.method], endpoint=index)
                   for index, route in enumerate(ACCOUNT_ROUTES)])


def match_account_route(request):
    """(route, params) when the request is for one of these endpoints, else None."""
    adapter = ACCOUNT_MAP.bind("gateway", "/")
    try:
        index, params = adapter.match(request.path, method=request.method)
    except (NotFound, MethodNotAllowed):
        return None
    return ACCOUNT_ROUTES[index], params


def serve_account_route(gateway, request, route: AccountRoute, params) -> Response:
    principal = gateway._authenticate(request) if route.signed_in else None
    if principal is not None and route.admin_only and principal.role not in ADMIN:
        raise ForbiddenError(f"{route.name}: only an administrator manages accounts", field="authorization")
    if principal is not None and route.method == "POST" and principal.role == "auditor":
        raise ForbiddenError(f"{route.name}: auditors read and never write", field="authorization")
    body = gateway._body(request) if route.method == "POST" else {}
    if route.checks_secret:
        keys = {"client": client_address(gateway, request), "account": login_of(body.get("login"))}
        result = gateway.throttle.attempt(keys, lambda: route.call(gateway, request, principal, params, body))
    else:
        result = route.call(gateway, request, principal, params, body)
    answer, status = result[0], result[1]
    response = Response(json.dumps(answer, ensure_ascii=False, default=str), status=status,
                        mimetype="application/json", headers={"Cache-Control": "no-store"})
    if len(result) == 3:
        _session_cookie(request, response, result[2])
        security.ensure_csrf_cookie(request, response)
    return response


__all__ = ["ACCOUNT_ROUTES", "match_account_route", "serve_account_route", "client_address", "login_of"]
