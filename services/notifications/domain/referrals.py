"""The referral ledger between departments: who owes what to whom by when.

A referral is created by the department that asks (``from_department``), accepted and
acted on by the department that owes (``to_department``), and closed with an outcome by
the asking department once satisfied. Past its local due date while still open it is
marked overdue once, so the joint meeting sees it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from kernel.clock import local_date_of
from kernel.divisions import is_division_code
from kernel.errors import CommandRejected, ConflictError, NotFoundError, ValidationError

from .model import DEPARTMENTS, OUTCOMES, is_aware, is_text

CREATED, ACCEPTED, ACTING, CLOSED = "created", "accepted", "action_taken", "closed"


@dataclass(frozen=True)
class ReferralCommand:
    referral_id: str
    at: datetime
    department: str          # the acting department (the caller's)


@dataclass(frozen=True)
class CreateReferral(ReferralCommand):
    to_department: str
    division_code: str
    request: str
    due_on: date
    created_by: str
    alert_id: str | None = None
    elder_id: str | None = None


@dataclass(frozen=True)
class AcceptReferral(ReferralCommand):
    note: str | None = None


@dataclass(frozen=True)
class RecordReferralAction(ReferralCommand):
    action: str = ""


@dataclass(frozen=True)
class CloseReferral(ReferralCommand):
    outcome: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class SettleReferral(ReferralCommand):
    """The owing department's own record answered the referral (a case it opened from it
    closed, ``services/departments``): the referral closes with that outcome. Issued by the
    consumer of that department's events; ``department`` is the case's."""

    outcome: str = "resolved"
    note: str | None = None


@dataclass(frozen=True)
class MarkReferralOverdue(ReferralCommand):
    """Issued by the sweep (``department`` is the system's)."""


@dataclass(frozen=True)
class ReferralEvent:
    referral_id: str


@dataclass(frozen=True)
class ReferralCreated(ReferralEvent):
    TYPE = "notifications.referral_created.v1"
    alert_id: str | None
    elder_id: str | None
    division_code: str
    from_department: str
    to_department: str
    request: str
    due_on: date
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class ReferralAccepted(ReferralEvent):
    TYPE = "notifications.referral_accepted.v1"
    department: str
    note: str | None
    accepted_at: datetime


@dataclass(frozen=True)
class ReferralActionTaken(ReferralEvent):
    TYPE = "notifications.referral_action_taken.v1"
    department: str
    action: str
    taken_at: datetime


@dataclass(frozen=True)
class ReferralClosed(ReferralEvent):
    TYPE = "notifications.referral_closed.v1"
    department: str
    outcome: str
    note: str | None
    closed_at: datetime


@dataclass(frozen=True)
class ReferralOverdue(ReferralEvent):
    TYPE = "notifications.referral_overdue.v1"
    to_department: str
    due_on: date
    days_late: int
    detected_at: datetime


REFERRAL_EVENT_CLASSES = (ReferralCreated, ReferralAccepted, ReferralActionTaken, ReferralClosed, ReferralOverdue)


@dataclass(frozen=True)
class ReferralState:
    referral_id: str
    version: int = 0
    status: str | None = None
    from_department: str = ""
    to_department: str = ""
    division_code: str = ""
    due_on: date | None = None
    overdue: bool = False
    outcome: str | None = None

    @property
    def exists(self) -> bool:
        return self.status is not None


def decide_referral(state: ReferralState, command: ReferralCommand) -> list[ReferralEvent]:
    if not is_aware(command.at):
        raise ValidationError({"at": ["must be a timezone-aware time"]})
    if isinstance(command, CreateReferral):
        return _create(state, command)
    if not state.exists:
        raise NotFoundError(f"no referral {state.referral_id!r}", field="referral_id")
    if isinstance(command, SettleReferral):
        _check_owing(state, command.department)
        if state.status == CLOSED:
            return []              # closed by the asking department meanwhile: nothing left to settle
        return [ReferralClosed(state.referral_id, department=command.department, outcome=command.outcome,
                               note=command.note, closed_at=command.at)]
    if state.status == CLOSED and not isinstance(command, MarkReferralOverdue):
        raise CommandRejected(f"referral {state.referral_id} is closed ({state.outcome})", field="referral_id")
    if isinstance(command, AcceptReferral):
        _check_owing(state, command.department)
        if state.status != CREATED:
            raise ConflictError(f"referral {state.referral_id} was already accepted", field="referral_id")
        return [ReferralAccepted(state.referral_id, department=command.department, note=command.note,
                                 accepted_at=command.at)]
    if isinstance(command, RecordReferralAction):
        _check_owing(state, command.department)
        if not is_text(command.action):
            raise ValidationError({"action": ["must say what was done"]})
        if state.status == CREATED:
            raise CommandRejected(f"referral {state.referral_id} must be accepted before action is recorded",
                                  field="referral_id")
        return [ReferralActionTaken(state.referral_id, department=command.department, action=command.action,
                                    taken_at=command.at)]
    if isinstance(command, CloseReferral):
        if not is_text(command.outcome) or command.outcome not in OUTCOMES:
            raise ValidationError({"outcome": [f"closing a referral needs an outcome: one of {', '.join(OUTCOMES)}"]})
        if command.department != state.from_department:
            raise CommandRejected(f"referral {state.referral_id} is owed to {state.from_department}; only it can "
                                  f"close it, not {command.department}", field="department")
        return [ReferralClosed(state.referral_id, department=command.department, outcome=command.outcome,
                               note=command.note, closed_at=command.at)]
    if isinstance(command, MarkReferralOverdue):
        today = local_date_of(command.at)
        if state.status == CLOSED or state.overdue or today <= state.due_on:
            return []
        return [ReferralOverdue(state.referral_id, to_department=state.to_department, due_on=state.due_on,
                                days_late=(today - state.due_on).days, detected_at=command.at)]
    raise TypeError(f"notifications has no referral rule for {type(command).__name__}")


def _create(state: ReferralState, command: CreateReferral) -> list[ReferralEvent]:
    if state.exists:
        raise ConflictError(f"referral {state.referral_id} already exists", field="referral_id")
    problems = {
        "department": [] if command.department in DEPARTMENTS else [f"must be one of {', '.join(DEPARTMENTS)}"],
        "to_department": ([] if command.to_department in DEPARTMENTS else [f"must be one of {', '.join(DEPARTMENTS)}"])
                         or (["must be another department than the one referring"]
                             if command.to_department == command.department else []),
        "division_code": [] if is_division_code(command.division_code) else ["must be a 12-digit division code"],
        "request": [] if is_text(command.request) else ["must say what is asked"],
        "due_on": [] if command.due_on >= local_date_of(command.at) else ["must not be in the past"],
    }
    problems = {name: messages for name, messages in problems.items() if messages}
    if problems:
        raise ValidationError(problems)
    return [ReferralCreated(command.referral_id, alert_id=command.alert_id, elder_id=command.elder_id,
                            division_code=command.division_code, from_department=command.department,
                            to_department=command.to_department, request=command.request, due_on=command.due_on,
                            created_by=command.created_by, created_at=command.at)]


def _check_owing(state: ReferralState, department: str) -> None:
    if department != state.to_department:
        raise CommandRejected(f"referral {state.referral_id} was sent to {state.to_department}, not {department}",
                              field="department")


def evolve_referral(state: ReferralState, event: ReferralEvent) -> ReferralState:
    state = replace(state, version=state.version + 1)
    if isinstance(event, ReferralCreated):
        return replace(state, status=CREATED, from_department=event.from_department,
                       to_department=event.to_department, division_code=event.division_code, due_on=event.due_on)
    if isinstance(event, ReferralAccepted):
        return replace(state, status=ACCEPTED)
    if isinstance(event, ReferralActionTaken):
        return replace(state, status=ACTING)
    if isinstance(event, ReferralClosed):
        return replace(state, status=CLOSED, outcome=event.outcome)
    if isinstance(event, ReferralOverdue):
        return replace(state, overdue=True)
    raise TypeError(f"not a referral event: {type(event).__name__}")


def fold_referral(referral_id: str, events) -> ReferralState:
    state = ReferralState(referral_id)
    for event in events:
        state = evolve_referral(state, event)
    return state
