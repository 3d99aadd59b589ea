"""Accounts handlers: one unit of work per command. Slow or outside work (argon2, the
division table, the department book) happens before the transaction; the domain decides
inside it; secrets are written to ``credentials`` in the same transaction as the event
that names them.

``db`` is anything with ``unit_of_work()``, ``connect()``, ``store`` and ``clock`` — the
service's ``kernel.providers.Database``, or the command line's (``services.accounts.cli``).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import structlog
from sqlalchemy import and_, func, insert, or_, select, update

from contracts.accounts import SECOND_FACTOR_DEPARTMENTS, SECOND_FACTOR_FROM_LEVEL, SECOND_FACTOR_ROLES
from kernel.catalogue import EventCatalogue
from kernel.clock import SystemClock, start_of_local_day
from kernel.divisions import DivisionTable, significant_prefix
from kernel.envelope import Actor, PendingEvent, format_time, parse_time
from kernel.errors import (AuthenticationError, ConflictError, NotFoundError, NotPermittedError, TooManyAttemptsError,
                           ValidationError)
from kernel.logging import bind
from kernel.uow import retry_on_concurrency
from services.accounts.adapters import secrets
from services.accounts.adapters.event_mapping import event_from_envelope, to_pending
from services.accounts.adapters.tables import (address_throttles, api_tokens, credentials, department_changes, grants,
                                               people, session_activity, sessions, sign_in_failures)
from services.accounts.domain import (Administrator, DepartmentBook, DepartmentChange, DepartmentName, Grant,
                                      PasswordRules, PersonState, SignInPolicy, covering_grant, decide, evolve_all,
                                      fold, grant_refusal, level_refusal, manage_refusal, within)
from services.accounts.domain import person as p

log = structlog.get_logger(__name__)
TOKEN_PREFIX = "ect_"
SESSION_TOUCH_SECONDS = 60      # how stale a session's last-seen time may get before it is written again


@dataclass(frozen=True)
class ThrottlePolicy:
    """Failed sign-ins from one client address within ``window_minutes`` that throttle it
    for ``throttle_minutes``: later attempts are refused before any password is checked."""

    address_failures: int = 20
    window_minutes: int = 15
    throttle_minutes: int = 15


@dataclass
class AccountsContext:
    catalogue: EventCatalogue
    departments: DepartmentBook
    divisions: DivisionTable
    passwords: secrets.Passwords
    password_rules: PasswordRules
    secret_box: secrets.SecretBox
    policy: SignInPolicy = field(default_factory=SignInPolicy)
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    # The time one-time codes are checked against: the wall clock, not the service's (which
    # tests and demos may pin), since the authenticator app on a phone counts real time.
    authenticator_clock: SystemClock = field(default_factory=SystemClock)


# -- reading -----------------------------------------------------------------------------


def load_person(source, person_id: str, catalogue: EventCatalogue) -> PersonState:
    return fold(person_id, [event_from_envelope(e, catalogue) for e in source.read_stream(person_id)])


def person_id_of_login(conn, login: str) -> str | None:
    return conn.execute(select(people.c.person_id).where(people.c.login == login)).scalar()


def person_view(conn, person_id: str) -> dict:
    row = conn.execute(select(people).where(people.c.person_id == person_id)).first()
    if row is None:
        raise NotFoundError(f"no person {person_id!r}", field="person_id")
    held = conn.execute(select(grants).where(grants.c.person_id == person_id).order_by(grants.c.grant_id)).all()
    return {"person_id": row.person_id, "login": row.login, "name": row.name, "phone": row.phone,
            "home_jurisdiction": row.home_jurisdiction, "status": row.status, "second_factor": row.second_factor,
            "locked": row.locked, "locked_until": row.locked_until,
            "grants": [{"grant_id": g.grant_id, "department": g.department, "role": g.role,
                        "jurisdiction": g.jurisdiction, "granted_by": g.granted_by} for g in held]}


def person_detail(conn, person_id: str, now: datetime) -> dict:
    """An administrator's view: the person, their open sessions and their live API tokens
    (ids only: an administrator ends a session or revokes a token by its id)."""
    view = person_view(conn, person_id)
    open_sessions = conn.execute(select(sessions).where(sessions.c.person_id == person_id,
                                                        sessions.c.ended_at.is_(None))
                                 .order_by(sessions.c.started_at)).all()
    live_tokens = conn.execute(select(api_tokens).where(api_tokens.c.person_id == person_id,
                                                        api_tokens.c.revoked_at.is_(None),
                                                        api_tokens.c.expires_at > format_time(now))
                               .order_by(api_tokens.c.issued_at)).all()
    view["sessions"] = [{"session_id": s.session_id, "grant_id": s.grant_id, "client_address": s.client_address,
                         "started_at": s.started_at} for s in open_sessions]
    view["api_tokens"] = [{"token_id": t.token_id, "grant_id": t.grant_id, "label": t.label,
                           "expires_at": t.expires_at} for t in live_tokens]
    return view


def departments_book(conn, ctx: AccountsContext) -> DepartmentBook:
    """The policy file with the log's department changes on top."""
    rows = conn.execute(select(department_changes).order_by(department_changes.c.position)).all()
    return ctx.departments.with_changes(_change_of(row.type, json.loads(row.data)) for row in rows)


def _change_of(kind: str, data: dict) -> DepartmentChange:
    prefix = significant_prefix(data["jurisdiction"])
    prefix = prefix if len(prefix) in (2, 4, 6, 9, 12) else data["jurisdiction"]
    day = date.fromisoformat(data["effective_date"])
    if kind == "accounts.department_added.v1":
        return DepartmentChange(prefix, day, add=((data["code"], DepartmentName(data["name_zh"], data["name_en"])),))
    if kind == "accounts.department_retired.v1":
        return DepartmentChange(prefix, day, retire=(data["code"],))
    return DepartmentChange(prefix, day, joint_meeting=(data["convenor"], tuple(data["members"])))


# -- who is acting -----------------------------------------------------------------------


def acting_administrator(source, actor: dict, catalogue: EventCatalogue) -> Administrator:
    """The administrator behind ``actor`` as this service knows them: a signed-in person's
    current grants (not what the caller claims), or the system (bootstrap, CLI)."""
    if actor.get("role") == "system" and actor.get("department") == "system":
        return Administrator.system(actor.get("user", "system"))
    person_id = actor.get("person_id")
    if not person_id:
        raise NotPermittedError("accounts are administered by a signed-in person (an operator token names "
                                "no person)", field="actor")
    person = load_person(source, person_id, catalogue)
    if not person.exists:
        raise NotPermittedError(f"no person {person_id!r} is acting", field="actor")
    return Administrator.of(person)


def _refuse(refusal) -> None:
    if refusal:
        field_name, why = refusal if isinstance(refusal, tuple) else ("person_id", refusal)
        raise NotPermittedError(why, field=field_name)


def _meta_actor(actor: dict) -> Actor:
    return Actor(actor.get("department", "system"), actor.get("user", "system"), actor.get("role", "system"))


# -- checks on a new grant -----------------------------------------------------------------


def check_grant(ctx: AccountsContext, book: DepartmentBook, grant: dict, today: date, prefix: str = "") -> None:
    """The place exists and suits the role, and the department exists there today."""
    division = ctx.divisions.get(grant["jurisdiction"])
    if division is None:
        raise ValidationError({f"{prefix}jurisdiction": [f"{grant['jurisdiction']!r} is not in the division table"]})
    problem = level_refusal(grant["role"], division.level)
    if problem:
        raise ValidationError({f"{prefix}role": [problem]})
    in_force = book.on(grant["jurisdiction"], today)
    if grant["department"] not in in_force:
        raise ValidationError({f"{prefix}department": [
            f"{grant['department']!r} is not a department of {division.name} ({grant['jurisdiction']}) on {today}; "
            f"known: {', '.join(in_force.names)}"]})


def _check_password(ctx: AccountsContext, password: str, login: str, name: str, field_name: str) -> None:
    problems = ctx.password_rules.problems(password, login, name)
    if problems:
        raise ValidationError({field_name: problems})


# -- administration --------------------------------------------------------------------------


def _append(uow, ctx, state: PersonState, events, actor: Actor, meta_ids: dict, jurisdiction: str | None = None):
    if not events:
        return state
    now = uow.now()
    pending = [to_pending(e, ctx.catalogue, actor=actor, jurisdiction=jurisdiction or state.home_jurisdiction
                          or "000000000000", now=now, **meta_ids) for e in events]
    uow.append(pending, {state.person_id: state.version})
    return evolve_all(state, events)


def _store_credential(uow, credential_id: str, person_id: str, kind: str, secret: str,
                      expires_at: str | None = None) -> None:
    uow.conn.execute(insert(credentials).values(credential_id=credential_id, person_id=person_id, kind=kind,
                                                secret=secret, created_at=format_time(uow.now()),
                                                expires_at=expires_at, used_at=None))


def create_person(db, ctx: AccountsContext, payload: dict, actor: dict, meta_ids: dict) -> dict:
    """A new person with their first grants, and either an initial password or a one-time
    link to choose one (returned once as ``reset_token``)."""
    today = db.clock.today()
    if payload["password"] is not None:
        _check_password(ctx, payload["password"], payload["login"], payload["name"], "password")
        password_hash = ctx.passwords.hash(payload["password"])
    link_secret = secrets.new_secret()
    person_id = str(uuid.uuid4())
    credential_id = str(uuid.uuid4())

    def run():
        with db.unit_of_work() as uow:
            admin = acting_administrator(uow, actor, ctx.catalogue)
            book = departments_book(uow.conn, ctx)
            if person_id_of_login(uow.conn, payload["login"]):
                raise ConflictError(f"the login {payload['login']!r} is taken", field="login")
            _refuse(_home_refusal(admin, payload["home_jurisdiction"]))
            new_grants = []
            for index, grant in enumerate(payload["grants"]):
                check_grant(ctx, book, grant, today, f"grants.{index}.")
                refusal = grant_refusal(admin, grant["role"], grant["jurisdiction"])
                if refusal:
                    raise NotPermittedError(refusal[1], field=f"grants.{index}.{refusal[0]}")
                new_grants.append(Grant(str(uuid.uuid4()), grant["department"], grant["role"], grant["jurisdiction"]))
            if ctx.divisions.get(payload["home_jurisdiction"]) is None:
                raise ValidationError({"home_jurisdiction": [f"{payload['home_jurisdiction']!r} is not in the "
                                                             "division table"]})
            has_password = payload["password"] is not None
            command = p.CreatePerson(person_id, payload["login"], payload["name"], payload["phone"],
                                     payload["home_jurisdiction"], tuple(new_grants),
                                     credential_id if has_password else None,
                                     None if has_password else credential_id, admin.by, uow.now())
            state = PersonState(person_id)
            events = decide(state, command, ctx.policy)
            after = _append(uow, ctx, state, events, _meta_actor(actor), meta_ids, payload["home_jurisdiction"])
            if has_password:
                _store_credential(uow, credential_id, person_id, "password", password_hash)
            else:
                expires = next(e.expires_at for e in events if isinstance(e, p.PasswordReset))
                _store_credential(uow, credential_id, person_id, "reset_link", secrets.digest(link_secret), expires)
            return after
    retry_on_concurrency(run)
    with db.connect() as conn:
        view = person_view(conn, person_id)
    if payload["password"] is None:
        view["reset_token"] = f"{credential_id}.{link_secret}"
    return view


def _home_refusal(admin: Administrator, home: str):
    if admin.is_system or any(within(home, g.jurisdiction) for g in admin.grants):
        return None
    if not admin.grants:
        return ("actor", "only an administrator creates accounts")
    return ("home_jurisdiction", f"{home} is outside your jurisdiction "
                                 f"({', '.join(g.jurisdiction for g in admin.grants)})")


def manage(db, ctx: AccountsContext, person_id: str, actor: dict, meta_ids: dict, build, *, self_allowed=False,
           before=None):
    """The common shape of an administrator's command on one person: the acting
    administrator may manage them (or it is the person themself, where allowed); the domain
    decides; the events are appended. ``build(state, admin, uow)`` makes the command."""
    def run():
        with db.unit_of_work() as uow:
            state = load_person(uow, person_id, ctx.catalogue)
            if not state.exists:
                raise NotFoundError(f"no person {person_id!r}", field="person_id")
            bind(person_id=person_id)
            admin = (Administrator(person_id, ()) if self_allowed and actor.get("person_id") == person_id
                     else acting_administrator(uow, actor, ctx.catalogue))
            if admin.by != person_id:
                _refuse(manage_refusal(admin, state))
            if before is not None:
                before(uow, state, admin)
            events = decide(state, build(state, admin, uow), ctx.policy)
            after = _append(uow, ctx, state, events, _meta_actor(actor), meta_ids)
            return after, events
    return retry_on_concurrency(run)


def grant_role(db, ctx, payload, actor, meta_ids) -> dict:
    today = db.clock.today()
    grant_id = str(uuid.uuid4())
    with db.connect() as conn:
        book = departments_book(conn, ctx)
    check_grant(ctx, book, payload, today)

    def build(state, admin, _uow):
        _refuse(grant_refusal(admin, payload["role"], payload["jurisdiction"]))
        grant = Grant(grant_id, payload["department"], payload["role"], payload["jurisdiction"])
        return p.GrantRole(state.person_id, grant, covering_grant(admin, payload["role"], payload["jurisdiction"]),
                           admin.by)
    manage(db, ctx, payload["person_id"], actor, meta_ids, build)
    with db.connect() as conn:
        return person_view(conn, payload["person_id"])


def simple_command(make):
    """An administrator's command whose domain command is ``make(payload, admin, uow)``."""
    def handler(db, ctx, payload, actor, meta_ids, self_allowed=False) -> dict:
        manage(db, ctx, payload["person_id"], actor, meta_ids,
               lambda state, admin, uow: make(payload, admin, uow), self_allowed=self_allowed)
        with db.connect() as conn:
            return person_view(conn, payload["person_id"])
    return handler


change_details = simple_command(lambda d, a, _u: p.ChangeDetails(d["person_id"], d["name"], d["phone"], a.by))
revoke_role = simple_command(lambda d, a, _u: p.RevokeRole(d["person_id"], d["grant_id"], d["reason"], a.by))
suspend_person = simple_command(lambda d, a, _u: p.Suspend(d["person_id"], d["reason"], a.by))
reinstate_person = simple_command(lambda d, a, _u: p.Reinstate(d["person_id"], d["reason"], a.by))
record_leaving = simple_command(lambda d, a, _u: p.RecordLeaving(d["person_id"], d["left_on"], d["reason"], a.by))
unlock_account = simple_command(lambda d, a, _u: p.Unlock(d["person_id"], d["reason"], a.by))
remove_second_factor = simple_command(lambda d, a, _u: p.RemoveSecondFactor(d["person_id"], d["reason"], a.by))
end_session = simple_command(lambda d, a, _u: p.EndSession(d["person_id"], d["session_id"], "ended_by_admin", a.by))


def reset_password(db, ctx, payload, actor, meta_ids) -> dict:
    """An administrator's reset: the password stops working and the person's sessions end;
    the answer holds the one-time link token (shown once; only its digest is kept)."""
    link_secret, credential_id = secrets.new_secret(), str(uuid.uuid4())

    def store(uow, state, admin):
        expires = format_time(uow.now() + timedelta(hours=ctx.policy.reset_link_hours))   # as the domain's
        _store_credential(uow, credential_id, state.person_id, "reset_link", secrets.digest(link_secret), expires)

    def build(state, admin, uow):
        return p.ResetPassword(state.person_id, credential_id, admin.by, uow.now())
    _after, events = manage(db, ctx, payload["person_id"], actor, meta_ids, build, before=store)
    expires = next(e.expires_at for e in events if isinstance(e, p.PasswordReset))
    return {"person_id": payload["person_id"], "reset_token": f"{credential_id}.{link_secret}", "expires_at": expires}


def issue_api_token(db, ctx, payload, actor, meta_ids) -> dict:
    person_id = payload["person_id"] or actor.get("person_id")
    if not person_id:
        raise ValidationError({"person_id": ["name the person (an operator token has none of its own)"]})
    token_id, secret = uuid.uuid4().hex, secrets.new_secret()

    def build(state, admin, uow):
        return p.IssueApiToken(state.person_id, token_id, payload["grant_id"], payload["label"], payload["days"],
                               admin.by, uow.now())

    def store(uow, state, admin):
        _store_credential(uow, token_id, state.person_id, "api_token", secrets.digest(secret))
    _after, events = manage(db, ctx, person_id, actor, meta_ids, build, self_allowed=True, before=store)
    issued = next(e for e in events if isinstance(e, p.ApiTokenIssued))
    return {"token": f"{TOKEN_PREFIX}{token_id}_{secret}", "token_id": token_id, "expires_at": issued.expires_at,
            "grant_id": issued.grant_id, "person_id": person_id}


def revoke_api_token(db, ctx, payload, actor, meta_ids) -> dict:
    person_id = payload["person_id"] or actor.get("person_id")
    if not person_id:
        with db.connect() as conn:
            person_id = conn.execute(select(api_tokens.c.person_id)
                                     .where(api_tokens.c.token_id == payload["token_id"])).scalar()
    if not person_id:
        raise NotFoundError(f"no token {payload['token_id']!r}", field="token_id")
    manage(db, ctx, person_id, actor, meta_ids,
           lambda state, admin, uow: p.RevokeApiToken(person_id, payload["token_id"], payload["reason"], admin.by),
           self_allowed=True)
    return {"token_id": payload["token_id"], "revoked": True}


# -- sign-in -----------------------------------------------------------------------------------


def _throttled_until(conn, address: str, now: datetime) -> str | None:
    until = conn.execute(select(address_throttles.c.until)
                         .where(address_throttles.c.client_address == address)).scalar()
    return until if until and until > format_time(now) else None


def _after_failure(uow, ctx: AccountsContext, address: str) -> None:
    """Throttle the address once its failures in the window reach the limit (an event)."""
    now = uow.now()
    since = format_time(now - timedelta(minutes=ctx.throttle.window_minutes))
    failures = uow.conn.execute(select(func.count()).select_from(sign_in_failures).where(
        sign_in_failures.c.client_address == address, sign_in_failures.c.failed_at >= since)).scalar()
    if failures < ctx.throttle.address_failures or _throttled_until(uow.conn, address, now):
        return
    stream = f"address:{address}"
    until = format_time(now + timedelta(minutes=ctx.throttle.throttle_minutes))
    event = PendingEvent(stream, "accounts.client_address_throttled.v1",
                         {"client_address": address, "failures": failures, "until": until}, now,
                         Actor.system("accounts"), "000000000000")
    uow.append([event], {stream: uow.stream_version(stream)})
    log.warning("client address throttled after failed sign-ins", client_address=address, failures=failures,
                until=until)


def _refuse_if_throttled(db, address: str) -> None:
    with db.connect() as conn:
        until = _throttled_until(conn, address, db.clock.now())
    if until:
        seconds = max(1, int((parse_time(until) - db.clock.now()).total_seconds()))
        log.info("sign-in refused: client address throttled", client_address=address)
        raise TooManyAttemptsError(f"too many failed sign-ins from this address; try again after {until}",
                                   retry_after_seconds=seconds)


def _stored_secret(conn, credential_id: str | None, kind: str) -> str | None:
    if credential_id is None:
        return None
    return conn.execute(select(credentials.c.secret).where(credentials.c.credential_id == credential_id,
                                                           credentials.c.kind == kind)).scalar()


def second_factor_required(state: PersonState) -> bool:
    """Enrolled, or holding a grant at county level or above, in finance, as an auditor or
    as an administrator (issue 18)."""
    return state.second_factor_credential_id is not None or any(
        g.role in SECOND_FACTOR_ROLES or g.department in SECOND_FACTOR_DEPARTMENTS
        or len(significant_prefix(g.jurisdiction)) <= SECOND_FACTOR_FROM_LEVEL for g in state.grants.values())


@dataclass(frozen=True)
class CheckedPassword:
    state: PersonState
    matched: bool


def check_password_attempt(db, ctx: AccountsContext, login: str, password: str, address: str,
                           meta_ids: dict) -> CheckedPassword:
    """The throttle, then the password: the person and whether it matched. An unknown login is
    recorded and refused here. A locked account's password is not checked at all (the
    caller's decide refuses it)."""
    _refuse_if_throttled(db, address)
    with db.connect() as conn:
        person_id = person_id_of_login(conn, login)
    if person_id is None:
        ctx.passwords.matches(None, password)       # same cost as a real check
        stream = f"address:{address}"
        with db.unit_of_work() as uow:
            event = PendingEvent(stream, "accounts.unknown_login_attempted.v1",
                                 {"client_address": address, "login": login[:64]}, uow.now(),
                                 Actor.system("accounts"), "000000000000", **meta_ids)
            uow.append([event], {stream: uow.stream_version(stream)})
            _after_failure(uow, ctx, address)
        raise p.sign_in_refusal("unknown_login")
    state = load_person(db.store, person_id, ctx.catalogue)
    if state.lock_in_force(db.clock.now()):
        return CheckedPassword(state, False)
    with db.connect() as conn:
        stored = _stored_secret(conn, state.password_credential_id, "password")
    return CheckedPassword(state, ctx.passwords.matches(stored, password))


def sign_in(db, ctx: AccountsContext, payload: dict, meta_ids: dict) -> dict:
    address = payload["client_address"]
    checked = check_password_attempt(db, ctx, payload["login"], payload["password"], address, meta_ids)
    state = checked.state
    required = second_factor_required(state)
    if checked.matched and required and state.second_factor_credential_id is None:
        raise AuthenticationError("this account must enrol a second factor (an authenticator app) before it signs "
                                  "in: begin_second_factor, then confirm_second_factor", field="one_time_password")
    code = payload["one_time_password"]
    step = None
    if checked.matched and required and code:
        step = _matched_step(db, ctx, state.second_factor_credential_id, code)
    session_id, session_secret = str(uuid.uuid4()), secrets.new_secret()

    def run():
        with db.unit_of_work() as uow:
            current = load_person(uow, state.person_id, ctx.catalogue)
            # Claimed in the sign-in's own transaction: of two sign-ins with one code, the
            # second's UPDATE finds the step taken (PostgreSQL re-reads the row once the
            # first commits; SQLite writers queue), and a rolled-back attempt claims nothing.
            reused = step is not None and not _claim_step(uow.conn, state.second_factor_credential_id, step)
            command = p.SignIn(current.person_id, session_id, address, checked.matched, bool(code), step is not None,
                               required, payload["grant_id"], uow.now(), one_time_password_reused=reused)
            events = decide(current, command, ctx.policy)
            _append(uow, ctx, current, events, Actor("system", current.login, "system"), meta_ids)
            refusal = p.refusal_of(events, current)
            if refusal is not None:
                _after_failure(uow, ctx, address)
            else:
                _store_credential(uow, session_id, current.person_id, "session", secrets.digest(session_secret))
                uow.conn.execute(insert(session_activity).values(session_id=session_id,
                                                                 last_seen_at=format_time(uow.now())))
            return refusal
    refusal = retry_on_concurrency(run)
    if refusal is not None:
        log.info("sign-in refused", person_id=state.person_id, reason=refusal.message, client_address=address)
        raise refusal
    answer = resolve_session(db, ctx, {"session_token": f"{session_id}.{session_secret}"})
    return {"session_token": f"{session_id}.{session_secret}", "expires_at": answer["expires_at"],
            "person": answer["person"], "active_grant": answer["active_grant"]}


def _matched_step(db, ctx: AccountsContext, credential_id: str | None, code: str) -> int | None:
    """The time step of ``code`` under the person's enrolled TOTP secret (None: no match)."""
    with db.connect() as conn:
        sealed = _stored_secret(conn, credential_id, "totp")
    if sealed is None:
        return None
    return secrets.totp_step(ctx.secret_box.open(sealed, credential_id), code, ctx.authenticator_clock.now())


def _claim_step(conn, credential_id: str, step: int) -> bool:
    """Record ``step`` as the credential's last accepted one, if it is later than that:
    a code is accepted once, and never one older than a code already used."""
    claimed = conn.execute(update(credentials).where(credentials.c.credential_id == credential_id,
                                                     or_(credentials.c.last_step.is_(None),
                                                         credentials.c.last_step < step))
                           .values(last_step=step))
    return claimed.rowcount == 1


def _split(token: str, separator: str) -> tuple[str, str]:
    head, sep, tail = token.partition(separator)
    if not sep or not head or not tail:
        raise AuthenticationError("not a session or token this system issued; sign in again", field="session_token")
    return head, tail


def resolve_session(db, ctx: AccountsContext, payload: dict) -> dict:
    """Who this session is, acting under which grant, until when. Read from the projections
    (no stream is folded): the gateway asks on every uncached request."""
    session_id, secret = _split(payload["session_token"], ".")
    now = db.clock.now()
    with db.connect() as conn:
        row = conn.execute(select(sessions, credentials.c.secret, session_activity.c.last_seen_at)
                           .join(credentials, and_(credentials.c.credential_id == sessions.c.session_id,
                                                   credentials.c.kind == "session"))
                           .outerjoin(session_activity, session_activity.c.session_id == sessions.c.session_id)
                           .where(sessions.c.session_id == session_id)).first()
        if row is None or not secrets.same_digest(secret, row.secret):
            raise AuthenticationError("unknown session; sign in again", field="session_token")
        if row.ended_at is not None:
            raise AuthenticationError(f"this session has ended ({row.end_reason.replace('_', ' ')}); sign in again",
                                      field="session_token")
        last_seen = parse_time(row.last_seen_at or row.started_at)
        idle_ends = last_seen + timedelta(minutes=ctx.policy.session_idle_minutes)
        hard_end = parse_time(row.started_at) + timedelta(hours=ctx.policy.session_max_hours)
        if now >= idle_ends or now >= hard_end:
            raise AuthenticationError("this session expired; sign in again", field="session_token")
        answer = _identity(conn, row.person_id, row.grant_id)
    if (now - last_seen).total_seconds() >= SESSION_TOUCH_SECONDS:
        with db.unit_of_work() as uow:      # appends nothing: the activity row only
            uow.conn.execute(update(session_activity).where(session_activity.c.session_id == session_id)
                             .values(last_seen_at=format_time(now)))
        idle_ends = now + timedelta(minutes=ctx.policy.session_idle_minutes)
    return {**answer, "session_id": session_id, "expires_at": format_time(min(idle_ends, hard_end))}


def _identity(conn, person_id: str, grant_id: str) -> dict:
    person = person_view(conn, person_id)
    if person["status"] != "active":
        raise AuthenticationError(f"this account is {person['status']}", field="session_token")
    grant = next((g for g in person["grants"] if g["grant_id"] == grant_id), None)
    if grant is None:
        raise AuthenticationError("the role this was issued for has been revoked; sign in again",
                                  field="session_token")
    public = {k: person[k] for k in ("person_id", "login", "name", "status", "second_factor")}
    public["grants"] = [{k: g[k] for k in ("grant_id", "department", "role", "jurisdiction")} for g in person["grants"]]
    active = {k: grant[k] for k in ("grant_id", "department", "role", "jurisdiction")}
    return {**public, "person": public, "active_grant": active}


def resolve_token(db, ctx: AccountsContext, payload: dict) -> dict:
    token = payload["token"]
    if not token.startswith(TOKEN_PREFIX):
        raise AuthenticationError("not a personal API token", field="authorization")
    token_id, secret = _split(token[len(TOKEN_PREFIX):], "_")
    with db.connect() as conn:
        row = conn.execute(select(api_tokens, credentials.c.secret)
                           .join(credentials, and_(credentials.c.credential_id == api_tokens.c.token_id,
                                                   credentials.c.kind == "api_token"))
                           .where(api_tokens.c.token_id == token_id)).first()
        if row is None or not secrets.same_digest(secret, row.secret):
            raise AuthenticationError("unknown API token", field="authorization")
        if row.revoked_at is not None:
            raise AuthenticationError(f"this API token was revoked at {row.revoked_at}", field="authorization")
        if row.expires_at <= format_time(db.clock.now()):
            raise AuthenticationError(f"this API token expired at {row.expires_at}", field="authorization")
        answer = _identity(conn, row.person_id, row.grant_id)
    return {**answer, "token_id": token_id, "expires_at": row.expires_at}


def _session_person(db, ctx, session_token: str) -> tuple[str, str]:
    answer = resolve_session(db, ctx, {"session_token": session_token})
    return answer["person_id"], answer["session_id"]


def sign_out(db, ctx, payload, meta_ids) -> dict:
    try:
        person_id, session_id = _session_person(db, ctx, payload["session_token"])
    except AuthenticationError:
        return {"signed_out": True}        # nothing to end: signing out twice is no error
    manage(db, ctx, person_id, {"person_id": person_id}, meta_ids,
           lambda state, admin, uow: p.EndSession(person_id, session_id, "signed_out", person_id), self_allowed=True)
    return {"signed_out": True}


def select_grant(db, ctx, payload, meta_ids) -> dict:
    person_id, session_id = _session_person(db, ctx, payload["session_token"])
    manage(db, ctx, person_id, {"person_id": person_id}, meta_ids,
           lambda state, admin, uow: p.SelectGrant(person_id, session_id, payload["grant_id"]), self_allowed=True)
    return resolve_session(db, ctx, {"session_token": payload["session_token"]})


def change_password(db, ctx, payload, meta_ids) -> dict:
    """The person changes their own password: signed in, and knowing the current one."""
    person_id, _session_id = _session_person(db, ctx, payload["session_token"])
    state = load_person(db.store, person_id, ctx.catalogue)
    with db.connect() as conn:
        stored = _stored_secret(conn, state.password_credential_id, "password")
    if not ctx.passwords.matches(stored, payload["password"]):
        raise AuthenticationError("the current password is wrong", field="password")
    _check_password(ctx, payload["new_password"], state.login, state.name, "new_password")
    return _set_password(db, ctx, person_id, ctx.passwords.hash(payload["new_password"]), meta_ids)


def _set_password(db, ctx, person_id: str, password_hash: str, meta_ids, used_link: str | None = None) -> dict:
    credential_id = str(uuid.uuid4())

    def store(uow, state, admin):
        if used_link is not None:
            uow.conn.execute(update(credentials).where(credentials.c.credential_id == used_link)
                             .values(used_at=format_time(uow.now())))
        _store_credential(uow, credential_id, person_id, "password", password_hash)
    manage(db, ctx, person_id, {"person_id": person_id}, meta_ids,
           lambda state, admin, uow: p.SetPassword(person_id, credential_id, person_id), self_allowed=True,
           before=store)
    return {"person_id": person_id, "password_set": True}


def complete_password_reset(db, ctx, payload, meta_ids) -> dict:
    credential_id, secret = _split(payload["reset_token"], ".")
    with db.connect() as conn:
        row = conn.execute(select(credentials).where(credentials.c.credential_id == credential_id,
                                                     credentials.c.kind == "reset_link")).first()
    if row is None or not secrets.same_digest(secret, row.secret):
        raise AuthenticationError("this reset link is not valid", field="reset_token")
    if row.used_at is not None:
        raise AuthenticationError("this reset link was already used", field="reset_token")
    if row.expires_at <= format_time(db.clock.now()):
        raise AuthenticationError(f"this reset link expired at {row.expires_at}; ask for a new one",
                                  field="reset_token")
    state = load_person(db.store, row.person_id, ctx.catalogue)
    if state.reset_credential_id != credential_id:
        raise AuthenticationError("a newer reset or password replaced this link", field="reset_token")
    _check_password(ctx, payload["new_password"], state.login, state.name, "new_password")
    return _set_password(db, ctx, row.person_id, ctx.passwords.hash(payload["new_password"]), meta_ids,
                         used_link=credential_id)


def _password_checked(db, ctx, payload, meta_ids) -> PersonState:
    """A password-only step (enrolling a second factor) goes through the sign-in throttle
    and lock, and a wrong password is a failed sign-in like any other."""
    checked = check_password_attempt(db, ctx, payload["login"], payload["password"], payload["client_address"],
                                     meta_ids)
    if checked.matched and not checked.state.lock_in_force(db.clock.now()):
        return checked.state
    state = checked.state

    def run():
        with db.unit_of_work() as uow:
            current = load_person(uow, state.person_id, ctx.catalogue)
            command = p.SignIn(current.person_id, "none", payload["client_address"], False, False, False, False,
                               None, uow.now())
            events = decide(current, command, ctx.policy)
            _append(uow, ctx, current, events, Actor("system", current.login, "system"), meta_ids)
            _after_failure(uow, ctx, payload["client_address"])
            return p.refusal_of(events, current)
    raise retry_on_concurrency(run)


def begin_second_factor(db, ctx, payload, meta_ids) -> dict:
    state = _password_checked(db, ctx, payload, meta_ids)
    if state.second_factor_credential_id is not None:
        raise ConflictError("a second factor is already enrolled; an administrator removes it first",
                            field="login")
    secret, credential_id = secrets.new_totp_secret(), str(uuid.uuid4())
    with db.unit_of_work() as uow:
        _store_credential(uow, credential_id, state.person_id, "totp_pending",
                          ctx.secret_box.seal(secret, credential_id))
    return {"credential_id": credential_id, "secret": secret, "otpauth_uri": secrets.totp_uri(secret, state.login)}


def confirm_second_factor(db, ctx, payload, meta_ids) -> dict:
    state = _password_checked(db, ctx, payload, meta_ids)
    if state.second_factor_credential_id is not None:
        raise ConflictError("a second factor is already enrolled", field="login")
    with db.connect() as conn:
        row = conn.execute(select(credentials).where(credentials.c.credential_id == payload["credential_id"],
                                                     credentials.c.kind == "totp_pending",
                                                     credentials.c.person_id == state.person_id)).first()
    if row is None:
        raise NotFoundError("no enrolment was begun with this credential id", field="credential_id")
    step = secrets.totp_step(ctx.secret_box.open(row.secret, row.credential_id), payload["one_time_password"],
                             ctx.authenticator_clock.now())
    if step is None:
        raise ValidationError({"one_time_password": ["the code does not match; check the app's clock"]})

    def store(uow, current, admin):
        # The confirming code is used up too: it cannot then sign in.
        uow.conn.execute(update(credentials).where(credentials.c.credential_id == row.credential_id)
                         .values(kind="totp", last_step=step))
    manage(db, ctx, state.person_id, {"person_id": state.person_id}, meta_ids,
           lambda current, admin, uow: p.EnrolSecondFactor(state.person_id, row.credential_id, state.person_id),
           self_allowed=True, before=store)
    return {"person_id": state.person_id, "second_factor": True}


# -- departments ---------------------------------------------------------------------------------


def change_departments(db, ctx, kind: str, payload: dict, actor: dict, meta_ids: dict) -> dict:
    """Add or retire a department, or set the joint meeting, for a jurisdiction from a date:
    an administrator of that jurisdiction (or above) does it."""
    jurisdiction = payload["jurisdiction"]
    if ctx.divisions.get(jurisdiction) is None:
        raise ValidationError({"jurisdiction": [f"{jurisdiction!r} is not in the division table"]})
    stream = f"departments:{jurisdiction}"
    day = payload["effective_date"]

    def run():
        with db.unit_of_work() as uow:
            admin = acting_administrator(uow, actor, ctx.catalogue)
            if not admin.is_system and not any(within(jurisdiction, g.jurisdiction) for g in admin.grants):
                raise NotPermittedError(f"{jurisdiction} is outside your jurisdiction", field="jurisdiction")
            in_force = departments_book(uow.conn, ctx).on(jurisdiction, day)
            data = {"jurisdiction": jurisdiction, "effective_date": day.isoformat(), "by": admin.by}
            if kind == "accounts.department_added.v1":
                if payload["code"] in in_force:
                    raise ConflictError(f"{payload['code']} already exists there on {day}", field="code")
                data.update(code=payload["code"], name_zh=payload["name_zh"], name_en=payload["name_en"])
            elif kind == "accounts.department_retired.v1":
                if payload["code"] not in in_force:
                    raise NotFoundError(f"{payload['code']} is not a department there on {day}", field="code")
                data.update(code=payload["code"])
            else:
                unknown = [m for m in payload["members"] if m not in in_force]
                if unknown:
                    raise ValidationError({"members": [f"not departments there on {day}: {', '.join(unknown)}"]})
                if payload["convenor"] not in payload["members"]:
                    raise ValidationError({"convenor": ["must be one of the members"]})
                data.update(convenor=payload["convenor"], members=list(payload["members"]))
            event = PendingEvent(stream, kind, data, start_of_local_day(day), _meta_actor(actor), jurisdiction,
                                 **meta_ids)
            uow.append([event], {stream: uow.stream_version(stream)})
    retry_on_concurrency(run)
    return departments_on(db, ctx, jurisdiction, day)


def departments_on(db, ctx, jurisdiction: str, day: date | None) -> dict:
    with db.connect() as conn:
        book = departments_book(conn, ctx)
    return {"jurisdiction": jurisdiction, "on": (day or db.clock.today()).isoformat(),
            **book.on(jurisdiction, day or db.clock.today()).as_dict()}


def list_people(db, payload) -> list[dict]:
    prefix = significant_prefix(payload["jurisdiction"])
    with db.connect() as conn:
        ids = conn.execute(select(people.c.person_id).where(people.c.home_jurisdiction.startswith(prefix))
                           .order_by(people.c.login).limit(payload["limit"]).offset(payload["offset"])).scalars().all()
        return [person_view(conn, person_id) for person_id in ids]


def record_emergency_token(db, user: str, department: str, role: str, jurisdiction: str, expires_at: str,
                           operator: str) -> None:
    """``eldercare token issue``: the operator's token is in the log (who, for whom, until)."""
    stream = "emergency-tokens"
    with db.unit_of_work() as uow:
        event = PendingEvent(stream, "accounts.emergency_token_issued.v1",
                             {"user": user, "department": department, "role": role, "jurisdiction": jurisdiction,
                              "expires_at": expires_at, "operator": operator[:64] or "unknown"},
                             uow.now(), Actor("system", operator[:64] or "operator", "system"), jurisdiction)
        uow.append([event], {stream: uow.stream_version(stream)})


__all__ = ["AccountsContext", "ThrottlePolicy", "CheckedPassword"]
