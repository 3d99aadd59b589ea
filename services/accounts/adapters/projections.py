"""The accounts read models, updated in the append's transaction (``kernel.uow``) and
rebuildable from the log: the directory of people and grants, the sessions and API tokens
the gateway's requests are resolved against, sign-in failures by client address (the
throttle counts them), and the department changes recorded on top of the policy file."""
from __future__ import annotations

import json

from sqlalchemy import delete, insert, update
from sqlalchemy.engine import Connection

from kernel.envelope import Envelope, format_time
from services.accounts.adapters.tables import (PROJECTION_TABLES, address_throttles, api_tokens, department_changes,
                                               grants, people, sessions, sign_in_failures)

PERSON_STATUS = {"accounts.person_suspended.v1": "suspended", "accounts.person_reinstated.v1": "active",
                 "accounts.person_left.v1": "left"}
DEPARTMENT_EVENTS = frozenset({"accounts.department_added.v1", "accounts.department_retired.v1",
                               "accounts.joint_meeting_changed.v1"})


class AccountsDirectory:
    name = "directory"

    def __init__(self, catalogue):
        self.handles = frozenset(catalogue.types("accounts")) - {"accounts.emergency_token_issued.v1"}

    def tables(self):
        return PROJECTION_TABLES

    def apply(self, conn: Connection, envelope: Envelope) -> None:
        data, kind, at = envelope.data, envelope.type, format_time(envelope.recorded_time)
        apply = _APPLY.get(kind)
        if apply is not None:
            apply(conn, data, at, envelope)
        elif kind in PERSON_STATUS:
            conn.execute(update(people).where(people.c.person_id == data["person_id"])
                         .values(status=PERSON_STATUS[kind]))
            if kind == "accounts.person_left.v1":
                conn.execute(delete(grants).where(grants.c.person_id == data["person_id"]))


def _created(conn, data, at, _envelope):
    conn.execute(insert(people).values(person_id=data["person_id"], login=data["login"], name=data["name"],
                                       phone=data["phone"], home_jurisdiction=data["home_jurisdiction"],
                                       status="active", second_factor=False, locked=False, locked_until=None))


def _details(conn, data, at, _envelope):
    values = {k: data[k] for k in ("name", "phone") if data[k] is not None}
    if values:
        conn.execute(update(people).where(people.c.person_id == data["person_id"]).values(**values))


def _granted(conn, data, at, _envelope):
    conn.execute(insert(grants).values(grant_id=data["grant_id"], person_id=data["person_id"],
                                       department=data["department"], role=data["role"],
                                       jurisdiction=data["jurisdiction"], granted_by=data["by"], granted_at=at))


def _revoked(conn, data, at, _envelope):
    conn.execute(delete(grants).where(grants.c.grant_id == data["grant_id"]))


def _second_factor(value):
    def apply(conn, data, at, _envelope):
        conn.execute(update(people).where(people.c.person_id == data["person_id"]).values(second_factor=value))
    return apply


def _token_issued(conn, data, at, _envelope):
    conn.execute(insert(api_tokens).values(token_id=data["token_id"], person_id=data["person_id"],
                                           grant_id=data["grant_id"], label=data["label"], issued_at=at,
                                           expires_at=data["expires_at"], revoked_at=None))


def _token_revoked(conn, data, at, _envelope):
    conn.execute(update(api_tokens).where(api_tokens.c.token_id == data["token_id"]).values(revoked_at=at))


def _signed_in(conn, data, at, _envelope):
    conn.execute(insert(sessions).values(session_id=data["session_id"], person_id=data["person_id"],
                                         grant_id=data["grant_id"], client_address=data["client_address"],
                                         started_at=at, ended_at=None, end_reason=None))
    conn.execute(update(people).where(people.c.person_id == data["person_id"]).values(locked=False, locked_until=None))


def _grant_selected(conn, data, at, _envelope):
    conn.execute(update(sessions).where(sessions.c.session_id == data["session_id"]).values(grant_id=data["grant_id"]))


def _signed_out(conn, data, at, _envelope):
    conn.execute(update(sessions).where(sessions.c.session_id == data["session_id"])
                 .values(ended_at=at, end_reason=data["reason"]))


def _failed(conn, data, at, envelope):
    conn.execute(insert(sign_in_failures).values(position=envelope.position, client_address=data["client_address"],
                                                 person_id=data["person_id"], reason=data["reason"], failed_at=at))


def _unknown_login(conn, data, at, envelope):
    conn.execute(insert(sign_in_failures).values(position=envelope.position, client_address=data["client_address"],
                                                 person_id=None, reason="unknown_login", failed_at=at))


def _locked(conn, data, at, _envelope):
    conn.execute(update(people).where(people.c.person_id == data["person_id"])
                 .values(locked=True, locked_until=data["locked_until"]))


def _unlocked(conn, data, at, _envelope):
    conn.execute(update(people).where(people.c.person_id == data["person_id"]).values(locked=False, locked_until=None))


def _throttled(conn, data, at, _envelope):
    conn.execute(delete(address_throttles).where(address_throttles.c.client_address == data["client_address"]))
    conn.execute(insert(address_throttles).values(client_address=data["client_address"], until=data["until"]))


def _department(conn, data, at, envelope):
    conn.execute(insert(department_changes).values(position=envelope.position, type=envelope.type,
                                                   data=json.dumps(data, ensure_ascii=False)))


_APPLY = {
    "accounts.person_created.v1": _created, "accounts.details_changed.v1": _details,
    "accounts.role_granted.v1": _granted, "accounts.role_revoked.v1": _revoked,
    "accounts.second_factor_enrolled.v1": _second_factor(True),
    "accounts.second_factor_removed.v1": _second_factor(False),
    "accounts.api_token_issued.v1": _token_issued, "accounts.api_token_revoked.v1": _token_revoked,
    "accounts.signed_in.v1": _signed_in, "accounts.grant_selected.v1": _grant_selected,
    "accounts.signed_out.v1": _signed_out, "accounts.sign_in_failed.v1": _failed,
    "accounts.account_locked.v1": _locked, "accounts.account_unlocked.v1": _unlocked,
    "accounts.client_address_throttled.v1": _throttled, "accounts.unknown_login_attempted.v1": _unknown_login,
    **{kind: _department for kind in DEPARTMENT_EVENTS},
}
