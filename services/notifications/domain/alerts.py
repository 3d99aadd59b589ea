"""One alert: raised for an incident, routed by policy, escalated up the reporting chain
while nobody responsible acknowledges it, acknowledged, closed with an outcome.

``decide(state, command, book)`` returns the events a command causes (or raises, deciding
nothing); ``evolve(state, event)`` applies one. Both pure: the routing book and the time
(``command.at``) are passed in. Sweeps (escalation, re-routing) decide ``[]`` when there is
nothing to do, so running them twice changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from kernel.clock import local_date_of
from kernel.divisions import is_division_code
from kernel.errors import CommandRejected, ConflictError, NotFoundError, ValidationError

from .model import (ALERT_KINDS, INFORMED, OUTCOMES, RESPONSIBLE, SEVERITIES, Route, department_party,
                    is_aware, is_text, level_party, party_department)
from .policy import RoutingBook, RoutingPolicy

OPEN, ACKNOWLEDGED, CLOSED = "open", "acknowledged", "closed"


# --- commands -------------------------------------------------------------------------

@dataclass(frozen=True)
class AlertCommand:
    alert_id: str
    at: datetime


@dataclass(frozen=True)
class RaiseAlert(AlertCommand):
    """``family`` lists the family parties (supporters, entrusted carer) known for the elder;
    ``incident_key`` names the incident so the same one reported again is not a new alert."""

    kind: str
    incident_key: str
    division_code: str
    severity: str
    summary: str
    elder_id: str | None = None
    cause_type: str = "rpc"
    cause_id: str | None = None
    family: tuple[str, ...] = ()


@dataclass(frozen=True)
class EscalateAlert(AlertCommand):
    """Issued by the sweep: escalate if the acknowledgement deadline has passed by ``at``."""


@dataclass(frozen=True)
class RerouteAlert(AlertCommand):
    """Issued by the sweep when the policy in force for the alert's place has changed."""

    family: tuple[str, ...] = ()


@dataclass(frozen=True)
class AcknowledgeAlert(AlertCommand):
    party: str
    actor_department: str
    note: str | None = None


@dataclass(frozen=True)
class CloseAlert(AlertCommand):
    party: str
    actor_department: str
    outcome: str | None
    note: str | None = None


# --- events ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AlertEvent:
    alert_id: str


@dataclass(frozen=True)
class AlertRaised(AlertEvent):
    TYPE = "notifications.alert_raised.v1"
    kind: str
    incident_key: str
    elder_id: str | None
    division_code: str
    severity: str
    summary: str
    cause_type: str
    cause_id: str | None
    level: str
    ack_deadline: datetime
    policy_ref: str
    raised_at: datetime


@dataclass(frozen=True)
class AlertRouted(AlertEvent):
    TYPE = "notifications.alert_routed.v1"
    level: str
    routes: tuple[Route, ...]
    reason: str
    policy_ref: str
    routed_at: datetime


@dataclass(frozen=True)
class AlertRepeated(AlertEvent):
    TYPE = "notifications.alert_repeated.v1"
    occurrences: int
    summary: str
    cause_id: str | None
    repeated_at: datetime


@dataclass(frozen=True)
class AlertEscalated(AlertEvent):
    TYPE = "notifications.alert_escalated.v1"
    from_level: str
    to_level: str
    missed_deadline: datetime
    ack_deadline: datetime
    escalated_at: datetime


@dataclass(frozen=True)
class AlertUnacknowledgedAtTop(AlertEvent):
    TYPE = "notifications.alert_unacknowledged_at_top.v1"
    level: str
    missed_deadline: datetime
    detected_at: datetime


@dataclass(frozen=True)
class AlertAcknowledged(AlertEvent):
    TYPE = "notifications.alert_acknowledged.v1"
    party: str
    level: str
    note: str | None
    acknowledged_at: datetime


@dataclass(frozen=True)
class AlertClosed(AlertEvent):
    TYPE = "notifications.alert_closed.v1"
    party: str
    outcome: str
    note: str | None
    closed_at: datetime


ALERT_EVENT_CLASSES = (AlertRaised, AlertRouted, AlertRepeated, AlertEscalated, AlertUnacknowledgedAtTop,
                       AlertAcknowledged, AlertClosed)


# --- state ----------------------------------------------------------------------------

@dataclass(frozen=True)
class AlertState:
    alert_id: str
    version: int = 0
    status: str | None = None
    kind: str = ""
    incident_key: str = ""
    elder_id: str | None = None
    division_code: str = ""
    severity: str = ""
    summary: str = ""
    level: str = ""
    ack_deadline: datetime | None = None
    policy_ref: str = ""
    raised_at: datetime | None = None
    routes: tuple[Route, ...] = ()
    occurrences: int = 0
    top_deadline_missed: bool = False
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    outcome: str | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    escalations: tuple[str, ...] = field(default_factory=tuple)

    @property
    def exists(self) -> bool:
        return self.status is not None

    @property
    def is_closed(self) -> bool:
        return self.status == CLOSED

    @property
    def awaits_acknowledgement(self) -> bool:
        return self.status == OPEN

    def route_of(self, party: str) -> Route | None:
        return next((r for r in self.routes if r.party == party), None)

    @property
    def parties(self) -> tuple[str, ...]:
        return tuple(r.party for r in self.routes)


# --- decide ---------------------------------------------------------------------------

def decide(state: AlertState, command: AlertCommand, book: RoutingBook) -> list[AlertEvent]:
    if not is_aware(command.at):
        raise ValidationError({"at": ["must be a timezone-aware time"]})
    decider = _DECIDERS.get(type(command))
    if decider is None:
        raise TypeError(f"notifications has no alert rule for {type(command).__name__}")
    return decider(state, command, book)


def _policy(book: RoutingBook, division_code: str, at: datetime) -> RoutingPolicy:
    return book.policy_for(division_code, local_date_of(at))


def _raise(state: AlertState, command: RaiseAlert, book: RoutingBook) -> list[AlertEvent]:
    if state.is_closed:
        raise ConflictError(f"alert {state.alert_id} is closed; a new incident needs a new alert", field="alert_id")
    if state.exists:
        # The same incident reported again while the alert is open: one alert, counted.
        return [AlertRepeated(state.alert_id, occurrences=state.occurrences + 1, summary=command.summary,
                              cause_id=command.cause_id, repeated_at=command.at)]
    _refuse_invalid({
        "kind": [] if command.kind in ALERT_KINDS else [f"must be one of {', '.join(ALERT_KINDS)}"],
        "severity": [] if command.severity in SEVERITIES else [f"must be one of {', '.join(SEVERITIES)}"],
        "division_code": [] if is_division_code(command.division_code) else ["must be a 12-digit division code"],
        "summary": [] if is_text(command.summary) else ["must say what was found"],
        "incident_key": [] if is_text(command.incident_key) else ["must name the incident"],
    })
    policy = _policy(book, command.division_code, command.at)
    route = policy.route(command.kind)
    level = route.start_level
    routes = ((Route(level_party(level, command.division_code), RESPONSIBLE),)
              + tuple(Route(department_party(d, command.division_code), RESPONSIBLE) for d in route.departments)
              + (tuple(Route(party, INFORMED) for party in command.family) if route.inform_family else ()))
    return [
        AlertRaised(command.alert_id, kind=command.kind, incident_key=command.incident_key,
                    elder_id=command.elder_id, division_code=command.division_code, severity=command.severity,
                    summary=command.summary, cause_type=command.cause_type, cause_id=command.cause_id,
                    level=level, ack_deadline=command.at + timedelta(minutes=policy.ack_minutes(command.kind, level)),
                    policy_ref=policy.ref, raised_at=command.at),
        AlertRouted(command.alert_id, level=level, routes=routes, reason="raised", policy_ref=policy.ref,
                    routed_at=command.at),
    ]


def _escalate(state: AlertState, command: EscalateAlert, book: RoutingBook) -> list[AlertEvent]:
    if not state.awaits_acknowledgement or state.top_deadline_missed or command.at < state.ack_deadline:
        return []
    policy = _policy(book, state.division_code, command.at)
    next_level = policy.next_level(state.level)
    if next_level is None:
        return [AlertUnacknowledgedAtTop(state.alert_id, level=state.level, missed_deadline=state.ack_deadline,
                                         detected_at=command.at)]
    # The next level gets its whole window from when it is told, not from the missed deadline:
    # a sweep that ran late must not leave the township no time at all.
    deadline = command.at + timedelta(minutes=policy.ack_minutes(state.kind, next_level))
    party = level_party(next_level, state.division_code)
    return [
        AlertEscalated(state.alert_id, from_level=state.level, to_level=next_level,
                       missed_deadline=state.ack_deadline, ack_deadline=deadline, escalated_at=command.at),
        AlertRouted(state.alert_id, level=next_level, routes=(Route(party, RESPONSIBLE),), reason="escalated",
                    policy_ref=policy.ref, routed_at=command.at),
    ]


def _reroute(state: AlertState, command: RerouteAlert, book: RoutingBook) -> list[AlertEvent]:
    if not state.exists or state.is_closed:
        return []
    policy = _policy(book, state.division_code, command.at)
    if policy.ref == state.policy_ref:
        return []
    route = policy.route(state.kind)
    wanted = [Route(department_party(d, state.division_code), RESPONSIBLE) for d in route.departments]
    if route.inform_family:
        wanted += [Route(party, INFORMED) for party in command.family]
    added = tuple(r for r in wanted if state.route_of(r.party) is None)
    # Recorded even when nobody is added: the alert now follows the new version (its
    # deadlines from the next escalation on), and the sweep stops re-checking it.
    return [AlertRouted(state.alert_id, level=state.level, routes=added, reason="policy_changed",
                        policy_ref=policy.ref, routed_at=command.at)]


def _acknowledge(state: AlertState, command: AcknowledgeAlert, book: RoutingBook) -> list[AlertEvent]:
    _check_may_answer(state, command.party, command.actor_department)
    if state.status == ACKNOWLEDGED:
        raise ConflictError(f"alert {state.alert_id} was already acknowledged by {state.acknowledged_by} "
                            f"at {state.acknowledged_at.isoformat()}", field="alert_id")
    return [AlertAcknowledged(state.alert_id, party=command.party, level=state.level, note=command.note,
                              acknowledged_at=command.at)]


def _close(state: AlertState, command: CloseAlert, book: RoutingBook) -> list[AlertEvent]:
    if not is_text(command.outcome):
        raise ValidationError({"outcome": [f"closing an alert needs an outcome: one of {', '.join(OUTCOMES)}"]})
    if command.outcome not in OUTCOMES:
        raise ValidationError({"outcome": [f"must be one of {', '.join(OUTCOMES)}, got {command.outcome!r}"]})
    _check_may_answer(state, command.party, command.actor_department)
    closed = AlertClosed(state.alert_id, party=command.party, outcome=command.outcome, note=command.note,
                         closed_at=command.at)
    if state.status == ACKNOWLEDGED:
        return [closed]
    # Every alert ends acknowledged-and-closed: closing an open one acknowledges it first.
    return [AlertAcknowledged(state.alert_id, party=command.party, level=state.level,
                              note="acknowledged on closing", acknowledged_at=command.at), closed]


def _check_may_answer(state: AlertState, party: str, actor_department: str) -> None:
    if not state.exists:
        raise NotFoundError(f"no alert {state.alert_id!r}", field="alert_id")
    if state.is_closed:
        raise CommandRejected(f"alert {state.alert_id} was closed at {state.closed_at.isoformat()} "
                              f"({state.outcome})", field="alert_id")
    route = state.route_of(party)
    if route is None:
        raise CommandRejected(f"alert {state.alert_id} was not sent to {party!r}; it was sent to "
                              f"{', '.join(state.parties)}", field="party")
    if route.role != RESPONSIBLE:
        raise CommandRejected(f"{party!r} was informed of alert {state.alert_id}, not made responsible; only "
                              "a responsible party can acknowledge or close it", field="party")
    department = party_department(party)
    if department is not None and department != actor_department:
        raise CommandRejected(f"{party!r} belongs to {department}; a {actor_department} user cannot answer for it",
                              field="party")


def _refuse_invalid(errors: dict[str, list[str]]) -> None:
    problems = {name: messages for name, messages in errors.items() if messages}
    if problems:
        raise ValidationError(problems)


_DECIDERS = {RaiseAlert: _raise, EscalateAlert: _escalate, RerouteAlert: _reroute,
             AcknowledgeAlert: _acknowledge, CloseAlert: _close}


# --- evolve ---------------------------------------------------------------------------

def evolve(state: AlertState, event: AlertEvent) -> AlertState:
    state = replace(state, version=state.version + 1)
    if isinstance(event, AlertRaised):
        return replace(state, status=OPEN, kind=event.kind, incident_key=event.incident_key,
                       elder_id=event.elder_id, division_code=event.division_code, severity=event.severity,
                       summary=event.summary, level=event.level, ack_deadline=event.ack_deadline,
                       policy_ref=event.policy_ref, raised_at=event.raised_at, occurrences=1)
    if isinstance(event, AlertRouted):
        return replace(state, routes=state.routes + event.routes, policy_ref=event.policy_ref)
    if isinstance(event, AlertRepeated):
        return replace(state, occurrences=event.occurrences)
    if isinstance(event, AlertEscalated):
        return replace(state, level=event.to_level, ack_deadline=event.ack_deadline,
                       escalations=state.escalations + (event.to_level,))
    if isinstance(event, AlertUnacknowledgedAtTop):
        return replace(state, top_deadline_missed=True)
    if isinstance(event, AlertAcknowledged):
        return replace(state, status=ACKNOWLEDGED, acknowledged_by=event.party,
                       acknowledged_at=event.acknowledged_at)
    if isinstance(event, AlertClosed):
        return replace(state, status=CLOSED, outcome=event.outcome, closed_by=event.party, closed_at=event.closed_at)
    raise TypeError(f"not an alert event: {type(event).__name__}")


def evolve_all(state: AlertState, events) -> AlertState:
    for event in events:
        state = evolve(state, event)
    return state


def fold(alert_id: str, events) -> AlertState:
    return evolve_all(AlertState(alert_id), events)

