"""A person's account: who they are, what they may do where (grants), how they sign in.

Pure: ``decide(state, command) -> events`` and ``evolve(state, event) -> state``. Checks
that need the outside world arrive as facts in the command: whether the password matched
(hashing is an adapter's work), who the granter is and what they may grant (``reach``),
which departments exist (``departments``), what time it is.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from kernel.errors import AccountLockedError, AuthenticationError, CommandRejected, ConflictError, NotFoundError

# -- value objects ----------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    grant_id: str
    department: str
    role: str
    jurisdiction: str
    by: str = ""

    def as_dict(self) -> dict:
        return {"grant_id": self.grant_id, "department": self.department, "role": self.role,
                "jurisdiction": self.jurisdiction}


@dataclass(frozen=True)
class SignInPolicy:
    """How many failures lock an account and for how long; how long a session lives."""

    lock_after_failures: int = 5
    lock_minutes: int = 15
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    reset_link_hours: int = 24
    api_token_max_days: int = 30


# -- commands ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatePerson:
    person_id: str
    login: str
    name: str
    phone: str | None
    home_jurisdiction: str
    grants: tuple[Grant, ...]
    password_credential_id: str | None     # an initial password was given (hashed by the adapter)
    reset_credential_id: str | None        # else: a one-time link to choose one
    by: str
    now: datetime


@dataclass(frozen=True)
class ChangeDetails:
    person_id: str
    name: str | None
    phone: str | None
    by: str


@dataclass(frozen=True)
class GrantRole:
    person_id: str
    grant: Grant
    granted_by_grant_id: str | None
    by: str


@dataclass(frozen=True)
class RevokeRole:
    person_id: str
    grant_id: str
    reason: str
    by: str


@dataclass(frozen=True)
class Suspend:
    person_id: str
    reason: str
    by: str


@dataclass(frozen=True)
class Reinstate:
    person_id: str
    reason: str
    by: str


@dataclass(frozen=True)
class RecordLeaving:
    person_id: str
    left_on: date
    reason: str
    by: str


@dataclass(frozen=True)
class SetPassword:
    person_id: str
    credential_id: str
    by: str


@dataclass(frozen=True)
class ResetPassword:
    person_id: str
    credential_id: str
    by: str
    now: datetime


@dataclass(frozen=True)
class EnrolSecondFactor:
    person_id: str
    credential_id: str
    by: str


@dataclass(frozen=True)
class RemoveSecondFactor:
    person_id: str
    reason: str
    by: str


@dataclass(frozen=True)
class IssueApiToken:
    person_id: str
    token_id: str
    grant_id: str
    label: str
    days: float
    by: str
    now: datetime


@dataclass(frozen=True)
class RevokeApiToken:
    person_id: str
    token_id: str
    reason: str
    by: str


@dataclass(frozen=True)
class SignIn:
    """One attempt, after the adapters checked what they can: did the password match, did
    the one-time password (if any was sent) match, and is one needed."""

    person_id: str
    session_id: str
    client_address: str
    password_matched: bool
    one_time_password_given: bool
    one_time_password_matched: bool
    second_factor_required: bool
    grant_id: str | None
    now: datetime
    one_time_password_reused: bool = False     # it matched, but its time step was already used


@dataclass(frozen=True)
class SelectGrant:
    person_id: str
    session_id: str
    grant_id: str


@dataclass(frozen=True)
class EndSession:
    person_id: str
    session_id: str
    reason: str            # signed_out | ended_by_admin
    by: str


@dataclass(frozen=True)
class Unlock:
    person_id: str
    reason: str
    by: str


# -- events -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonCreated:
    TYPE = "accounts.person_created.v1"
    person_id: str
    by: str
    login: str
    name: str
    phone: str | None
    home_jurisdiction: str


@dataclass(frozen=True)
class DetailsChanged:
    TYPE = "accounts.details_changed.v1"
    person_id: str
    by: str
    name: str | None
    phone: str | None


@dataclass(frozen=True)
class RoleGranted:
    TYPE = "accounts.role_granted.v1"
    person_id: str
    by: str
    grant_id: str
    department: str
    role: str
    jurisdiction: str
    granted_by_grant_id: str | None


@dataclass(frozen=True)
class RoleRevoked:
    TYPE = "accounts.role_revoked.v1"
    person_id: str
    by: str
    grant_id: str
    reason: str


@dataclass(frozen=True)
class PersonSuspended:
    TYPE = "accounts.person_suspended.v1"
    person_id: str
    by: str
    reason: str


@dataclass(frozen=True)
class PersonReinstated:
    TYPE = "accounts.person_reinstated.v1"
    person_id: str
    by: str
    reason: str


@dataclass(frozen=True)
class PersonLeft:
    TYPE = "accounts.person_left.v1"
    person_id: str
    by: str
    reason: str
    left_on: date


@dataclass(frozen=True)
class PasswordSet:
    TYPE = "accounts.password_set.v1"
    person_id: str
    by: str
    credential_id: str


@dataclass(frozen=True)
class PasswordReset:
    TYPE = "accounts.password_reset.v1"
    person_id: str
    by: str
    credential_id: str
    expires_at: str


@dataclass(frozen=True)
class SecondFactorEnrolled:
    TYPE = "accounts.second_factor_enrolled.v1"
    person_id: str
    by: str
    credential_id: str


@dataclass(frozen=True)
class SecondFactorRemoved:
    TYPE = "accounts.second_factor_removed.v1"
    person_id: str
    by: str
    reason: str


@dataclass(frozen=True)
class ApiTokenIssued:
    TYPE = "accounts.api_token_issued.v1"
    person_id: str
    by: str
    token_id: str
    grant_id: str
    label: str
    expires_at: str


@dataclass(frozen=True)
class ApiTokenRevoked:
    TYPE = "accounts.api_token_revoked.v1"
    person_id: str
    by: str
    reason: str
    token_id: str


@dataclass(frozen=True)
class SignedIn:
    TYPE = "accounts.signed_in.v1"
    person_id: str
    by: str
    session_id: str
    grant_id: str
    client_address: str
    second_factor_used: bool


@dataclass(frozen=True)
class GrantSelected:
    TYPE = "accounts.grant_selected.v1"
    person_id: str
    by: str
    session_id: str
    grant_id: str


@dataclass(frozen=True)
class SignedOut:
    TYPE = "accounts.signed_out.v1"
    person_id: str
    by: str
    session_id: str
    reason: str


@dataclass(frozen=True)
class SignInFailed:
    TYPE = "accounts.sign_in_failed.v1"
    person_id: str
    by: str
    client_address: str
    reason: str
    consecutive_failures: int


@dataclass(frozen=True)
class AccountLocked:
    TYPE = "accounts.account_locked.v1"
    person_id: str
    by: str
    locked_until: str | None
    reason: str


@dataclass(frozen=True)
class AccountUnlocked:
    TYPE = "accounts.account_unlocked.v1"
    person_id: str
    by: str
    reason: str


PERSON_EVENTS = (PersonCreated, DetailsChanged, RoleGranted, RoleRevoked, PersonSuspended, PersonReinstated,
                 PersonLeft, PasswordSet, PasswordReset, SecondFactorEnrolled, SecondFactorRemoved, ApiTokenIssued,
                 ApiTokenRevoked, SignedIn, GrantSelected, SignedOut, SignInFailed, AccountLocked, AccountUnlocked)


# -- state ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonState:
    person_id: str
    version: int = 0
    login: str = ""
    name: str = ""
    phone: str | None = None
    home_jurisdiction: str = ""
    status: str = "none"                      # none | active | suspended | left
    grants: dict = field(default_factory=dict)          # grant_id -> Grant
    password_credential_id: str | None = None
    reset_credential_id: str | None = None
    second_factor_credential_id: str | None = None
    tokens: dict = field(default_factory=dict)          # token_id -> (grant_id, expires_at ISO)
    sessions: dict = field(default_factory=dict)        # session_id -> grant_id
    consecutive_failures: int = 0
    locked: bool = False
    locked_until: str | None = None           # None with locked: until an administrator unlocks

    @property
    def exists(self) -> bool:
        return self.version > 0

    def lock_in_force(self, now: datetime) -> bool:
        return self.locked and (self.locked_until is None or self.locked_until > iso(now))

    def grant_list(self) -> list[Grant]:
        return sorted(self.grants.values(), key=lambda g: g.grant_id)


def iso(instant: datetime) -> str:
    from kernel.envelope import format_time
    return format_time(instant)


# -- decide -----------------------------------------------------------------------------


def decide(state: PersonState, command, policy: SignInPolicy = SignInPolicy()) -> list:
    if isinstance(command, CreatePerson):
        return _create(state, command, policy)
    if not state.exists:
        raise NotFoundError(f"no person {command.person_id!r}", field="person_id")
    if isinstance(command, SignIn):
        return _sign_in(state, command, policy)
    if state.status == "left" and not isinstance(command, (EndSession,)):
        raise CommandRejected(f"{state.login} has left; their account is closed", field="person_id")
    handler = _DECISIONS.get(type(command))
    if handler is None:
        raise TypeError(f"not a person command: {command!r}")
    return handler(state, command, policy)


def _create(state, c: CreatePerson, policy) -> list:
    if state.exists:
        raise ConflictError(f"person {c.person_id!r} already exists", field="person_id")
    events: list = [PersonCreated(c.person_id, c.by, c.login, c.name, c.phone, c.home_jurisdiction)]
    events += [RoleGranted(c.person_id, c.by, g.grant_id, g.department, g.role, g.jurisdiction, None)
               for g in _distinct(c.grants)]
    if c.password_credential_id:
        events.append(PasswordSet(c.person_id, c.by, c.password_credential_id))
    elif c.reset_credential_id:
        events.append(PasswordReset(c.person_id, c.by, c.reset_credential_id,
                                    iso(c.now + timedelta(hours=policy.reset_link_hours))))
    return events


def _distinct(grants):
    seen, unique = set(), []
    for grant in grants:
        key = (grant.department, grant.role, grant.jurisdiction)
        if key in seen:
            raise ConflictError(f"the grant {'/'.join(key)} is listed twice", field="grants")
        seen.add(key)
        unique.append(grant)
    return unique


def _change_details(state, c: ChangeDetails, _policy) -> list:
    if (c.name is None or c.name == state.name) and (c.phone is None or c.phone == state.phone):
        return []
    return [DetailsChanged(c.person_id, c.by, c.name, c.phone)]


def _grant(state, c: GrantRole, _policy) -> list:
    g = c.grant
    if any((h.department, h.role, h.jurisdiction) == (g.department, g.role, g.jurisdiction)
           for h in state.grants.values()):
        return []       # already held: granting again changes nothing
    return [RoleGranted(c.person_id, c.by, g.grant_id, g.department, g.role, g.jurisdiction, c.granted_by_grant_id)]


def _revoke(state, c: RevokeRole, _policy) -> list:
    grant = state.grants.get(c.grant_id)
    if grant is None:
        raise NotFoundError(f"{state.login} holds no grant {c.grant_id!r}", field="grant_id")
    events: list = [RoleRevoked(c.person_id, c.by, c.grant_id, c.reason)]
    # Tokens bound to the grant die with it; sessions under it fall back at the next request.
    events += [ApiTokenRevoked(c.person_id, c.by, "its grant was revoked", token_id)
               for token_id, (grant_id, _) in sorted(state.tokens.items()) if grant_id == c.grant_id]
    events += [SignedOut(c.person_id, c.by, session_id, "grant_revoked")
               for session_id, grant_id in sorted(state.sessions.items()) if grant_id == c.grant_id]
    return events


def _end_everything(state, by: str, reason: str, session_reason: str, tokens_too: bool) -> list:
    events: list = [SignedOut(state.person_id, by, session_id, session_reason) for session_id in sorted(state.sessions)]
    if tokens_too:
        events += [ApiTokenRevoked(state.person_id, by, reason, token_id) for token_id in sorted(state.tokens)]
    return events


def _suspend(state, c: Suspend, _policy) -> list:
    if state.status == "suspended":
        return []
    # The sessions end now; tokens stay issued but are refused while the person is suspended.
    return [PersonSuspended(c.person_id, c.by, c.reason)] + _end_everything(state, c.by, c.reason, "suspended", False)


def _reinstate(state, c: Reinstate, _policy) -> list:
    if state.status != "suspended":
        raise CommandRejected(f"{state.login} is not suspended", field="person_id")
    return [PersonReinstated(c.person_id, c.by, c.reason)]


def _leave(state, c: RecordLeaving, _policy) -> list:
    return _end_everything(state, c.by, "the person left", "left", True) + [
        PersonLeft(c.person_id, c.by, c.reason, c.left_on)]


def _set_password(state, c: SetPassword, _policy) -> list:
    return [PasswordSet(c.person_id, c.by, c.credential_id)]


def _reset_password(state, c: ResetPassword, policy) -> list:
    events: list = [PasswordReset(c.person_id, c.by, c.credential_id,
                                  iso(c.now + timedelta(hours=policy.reset_link_hours)))]
    return events + _end_everything(state, c.by, "password reset", "password_reset", False)


def _enrol(state, c: EnrolSecondFactor, _policy) -> list:
    return [SecondFactorEnrolled(c.person_id, c.by, c.credential_id)]


def _remove_factor(state, c: RemoveSecondFactor, _policy) -> list:
    if state.second_factor_credential_id is None:
        return []
    return [SecondFactorRemoved(c.person_id, c.by, c.reason)]


def _issue_token(state, c: IssueApiToken, policy) -> list:
    _require_active(state)
    if c.grant_id not in state.grants:
        raise NotFoundError(f"{state.login} holds no grant {c.grant_id!r}", field="grant_id")
    if not 0 < c.days <= policy.api_token_max_days:
        raise CommandRejected(f"a token lives at most {policy.api_token_max_days} days", field="days")
    return [ApiTokenIssued(c.person_id, c.by, c.token_id, c.grant_id, c.label, iso(c.now + timedelta(days=c.days)))]


def _revoke_token(state, c: RevokeApiToken, _policy) -> list:
    if c.token_id not in state.tokens:
        raise NotFoundError(f"{state.login} has no live token {c.token_id!r}", field="token_id")
    return [ApiTokenRevoked(c.person_id, c.by, c.reason, c.token_id)]


def _select(state, c: SelectGrant, _policy) -> list:
    if c.session_id not in state.sessions:
        raise AuthenticationError("this session has ended; sign in again", field="session_token")
    if c.grant_id not in state.grants:
        raise NotFoundError(f"{state.login} holds no grant {c.grant_id!r}", field="grant_id")
    if state.sessions[c.session_id] == c.grant_id:
        return []
    return [GrantSelected(c.person_id, c.person_id, c.session_id, c.grant_id)]


def _end_session(state, c: EndSession, _policy) -> list:
    if c.session_id not in state.sessions:
        return []       # already ended: ending it again is no change
    return [SignedOut(c.person_id, c.by, c.session_id, c.reason)]


def _unlock(state, c: Unlock, _policy) -> list:
    if not state.locked and not state.consecutive_failures:
        return []
    return [AccountUnlocked(c.person_id, c.by, c.reason)]


def _require_active(state) -> None:
    if state.status != "active":
        raise CommandRejected(f"{state.login} is {state.status}", field="person_id")


def _sign_in(state, c: SignIn, policy) -> list:
    """Refusals of a checked attempt are events (raised by the handler after it appended
    them); a lock in force refuses before any password is looked at."""
    def failed(reason):
        # A lock that ran out starts the count again (one more try does not lock at once).
        base = 0 if state.locked and not state.lock_in_force(c.now) else state.consecutive_failures
        failures = base + (reason in COUNTED_FAILURES)
        events = [SignInFailed(c.person_id, c.person_id, c.client_address, reason, failures)]
        if reason in COUNTED_FAILURES and failures >= policy.lock_after_failures:
            events.append(AccountLocked(c.person_id, "system:accounts",
                                        iso(c.now + timedelta(minutes=policy.lock_minutes)),
                                        f"{failures} failed sign-ins in a row"))
        return events
    if state.lock_in_force(c.now):
        return failed("locked")
    if not c.password_matched:
        return failed("bad_password")
    if c.second_factor_required:
        if not c.one_time_password_given:
            return failed("one_time_password_required")
        if not c.one_time_password_matched:
            return failed("bad_one_time_password")
        if c.one_time_password_reused:
            return failed("one_time_password_reused")
    if state.status in ("suspended", "left"):
        return failed(state.status)
    grant_id = c.grant_id or next((g.grant_id for g in state.grant_list()), None)
    if grant_id is None or grant_id not in state.grants:
        return failed("no_grant")
    return [SignedIn(c.person_id, c.person_id, c.session_id, grant_id, c.client_address, c.second_factor_required)]


# Failures that count towards the lock: wrong secrets, not the state of the account.
# A reused code counts: whoever replays an observed code also knows the password.
COUNTED_FAILURES = frozenset({"bad_password", "bad_one_time_password", "one_time_password_reused"})

_DECISIONS = {ChangeDetails: _change_details, GrantRole: _grant, RevokeRole: _revoke, Suspend: _suspend,
              Reinstate: _reinstate, RecordLeaving: _leave, SetPassword: _set_password,
              ResetPassword: _reset_password, EnrolSecondFactor: _enrol, RemoveSecondFactor: _remove_factor,
              IssueApiToken: _issue_token, RevokeApiToken: _revoke_token, SelectGrant: _select,
              EndSession: _end_session, Unlock: _unlock}


def refusal_of(events: list, state: PersonState | None = None) -> AuthenticationError | None:
    """The error a sign-in answers with when its events say it failed (``state``: the
    person before them, for a lock already in force)."""
    failure = next((e for e in events if isinstance(e, SignInFailed)), None)
    if failure is None:
        return None
    lock = next((e for e in events if isinstance(e, AccountLocked)), None)
    if lock is not None:
        return sign_in_refusal("locked", lock.locked_until)
    if failure.reason == "locked" and state is not None:
        return sign_in_refusal("locked", state.locked_until)
    return sign_in_refusal(failure.reason)


def sign_in_refusal(reason: str, locked_until: str | None = None) -> AuthenticationError:
    if reason == "locked":
        until = f"until {locked_until}" if locked_until else "until an administrator unlocks it"
        return AccountLockedError(f"this account is locked after repeated failed sign-ins, {until}",
                                  locked_until=locked_until)
    messages = {
        "bad_password": ("wrong login name or password", "password"),
        "unknown_login": ("wrong login name or password", "password"),
        "one_time_password_required": ("this account also needs the 6-digit code from its authenticator app",
                                       "one_time_password"),
        "bad_one_time_password": ("the one-time code is wrong or has expired", "one_time_password"),
        "one_time_password_reused": ("this one-time code was already used; wait for the next one",
                                     "one_time_password"),
        "suspended": ("this account is suspended; ask your administrator", "login"),
        "left": ("this account is closed", "login"),
        "no_grant": ("this account holds no role yet; ask your administrator", "login"),
    }
    message, field_name = messages[reason]
    return AuthenticationError(message, field=field_name)


# -- evolve -----------------------------------------------------------------------------


def evolve(state: PersonState, event) -> PersonState:
    state = replace(state, version=state.version + 1)
    kind = type(event)
    if kind is PersonCreated:
        return replace(state, login=event.login, name=event.name, phone=event.phone,
                       home_jurisdiction=event.home_jurisdiction, status="active")
    if kind is DetailsChanged:
        return replace(state, name=event.name if event.name is not None else state.name,
                       phone=event.phone if event.phone is not None else state.phone)
    if kind is RoleGranted:
        grant = Grant(event.grant_id, event.department, event.role, event.jurisdiction, event.by)
        return replace(state, grants={**state.grants, event.grant_id: grant})
    if kind is RoleRevoked:
        return replace(state, grants={k: v for k, v in state.grants.items() if k != event.grant_id})
    if kind is PersonSuspended:
        return replace(state, status="suspended")
    if kind is PersonReinstated:
        return replace(state, status="active")
    if kind is PersonLeft:
        return replace(state, status="left", grants={}, tokens={}, sessions={}, password_credential_id=None,
                       reset_credential_id=None, second_factor_credential_id=None)
    if kind is PasswordSet:
        return replace(state, password_credential_id=event.credential_id, reset_credential_id=None)
    if kind is PasswordReset:
        return replace(state, password_credential_id=None, reset_credential_id=event.credential_id)
    if kind is SecondFactorEnrolled:
        return replace(state, second_factor_credential_id=event.credential_id)
    if kind is SecondFactorRemoved:
        return replace(state, second_factor_credential_id=None)
    if kind is ApiTokenIssued:
        return replace(state, tokens={**state.tokens, event.token_id: (event.grant_id, event.expires_at)})
    if kind is ApiTokenRevoked:
        return replace(state, tokens={k: v for k, v in state.tokens.items() if k != event.token_id})
    if kind is SignedIn:
        return replace(state, sessions={**state.sessions, event.session_id: event.grant_id},
                       consecutive_failures=0, locked=False, locked_until=None)
    if kind is GrantSelected:
        return replace(state, sessions={**state.sessions, event.session_id: event.grant_id})
    if kind is SignedOut:
        return replace(state, sessions={k: v for k, v in state.sessions.items() if k != event.session_id})
    if kind is SignInFailed:
        return replace(state, consecutive_failures=event.consecutive_failures)
    if kind is AccountLocked:
        return replace(state, locked=True, locked_until=event.locked_until)
    if kind is AccountUnlocked:
        return replace(state, locked=False, locked_until=None, consecutive_failures=0)
    raise TypeError(f"not a person event: {event!r}")


def evolve_all(state: PersonState, events) -> PersonState:
    for event in events:
        state = evolve(state, event)
    return state


def fold(person_id: str, events) -> PersonState:
    return evolve_all(PersonState(person_id), events)
