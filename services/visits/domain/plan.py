"""An elder's visit plan: obligation (target classes over time), responsible visitor, visit
records, and the periods closed against the policy.

Rules that need explaining:

- **What is owed** for a period is decided on its due date (last day): the classes the elder
  was in that day, the policy in force for the division they lived in that day, the most
  demanding requirement among those classes. If that requirement counts in quarters, only
  quarters are owed; in months, only months. A period in which the obligation began is owed
  only if the policy's ``first_period_min_days`` of it were under obligation.
- **Tracking starts** with the month in which visits first learnt of the elder: periods that
  ended before then are not owed (the service does not invent years of arrears).
- **Records are never edited**: a correction is a new record that supersedes an earlier
  one. A closed period is never reopened; a late record that meets an overdue period's
  requirement resolves it with a new event.
- **Same-day records by different visitors that disagree** (a finding both recorded but
  differently, or different risks) are flagged for review, once per pair.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Mapping

from kernel.errors import CommandRejected, ConflictError, NotFoundError, ValidationError

from .periods import Period, periods_ending_between
from .policy import VisitPolicyBook

FINDING_TOPICS = ("living_conditions", "health", "care_by_children", "home_safety", "needs")


# -- value objects --------------------------------------------------------------------
@dataclass(frozen=True)
class Findings:
    living_conditions: str | None = None
    health: str | None = None
    care_by_children: str | None = None
    home_safety: str | None = None
    needs: str | None = None


@dataclass(frozen=True)
class Risk:
    kind: str
    severity: str
    description: str


@dataclass(frozen=True)
class Recipient:
    role: str            # "elder" | "supporter"
    name: str
    phone: str | None


@dataclass(frozen=True)
class VisitRecord:
    visit_id: str
    visitor_id: str
    mode: str
    visited_on: date
    services: tuple[str, ...]
    findings: Findings
    risks: tuple[Risk, ...]


@dataclass(frozen=True)
class ClosedPeriod:
    label: str
    kind: str
    start: date
    due: date
    target_class: str
    required: int
    outcome: str          # "met" | "overdue" | "resolved"


# -- commands -------------------------------------------------------------------------
@dataclass(frozen=True)
class ObserveElder:
    """What the registry says about the elder now (from one of its events)."""
    elder_id: str
    name: str
    division_code: str
    classes: frozenset[str]
    effective_date: date
    reason: str
    today: date
    visitor_villages: frozenset[str] | None = None    # of the assigned visitor, if any


@dataclass(frozen=True)
class AssignVisitor:
    elder_id: str
    visitor_id: str
    visitor_name: str
    visitor_phone: str
    visitor_villages: frozenset[str]
    notice_id: str
    recipients: tuple[Recipient, ...]
    document_sha256: str
    effective_date: date


@dataclass(frozen=True)
class RecordVisit:
    elder_id: str
    visit_id: str
    visitor_id: str
    mode: str
    visited_on: date
    services: tuple[str, ...]
    findings: Findings
    risks: tuple[Risk, ...]
    today: date
    died_on: date | None = None
    supersedes: str | None = None
    correction_reason: str | None = None


@dataclass(frozen=True)
class ClosePeriods:
    elder_id: str
    today: date


# -- events ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanOpened:
    TYPE = "visits.plan_opened.v1"
    elder_id: str
    effective_date: date
    name: str
    division_code: str


@dataclass(frozen=True)
class ObligationChanged:
    TYPE = "visits.obligation_changed.v1"
    elder_id: str
    effective_date: date
    classes: tuple[str, ...]
    previous_classes: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class ElderRelocated:
    TYPE = "visits.elder_relocated.v1"
    elder_id: str
    effective_date: date
    from_division_code: str
    division_code: str


@dataclass(frozen=True)
class VisitorAssigned:
    TYPE = "visits.visitor_assigned.v1"
    elder_id: str
    effective_date: date
    visitor_id: str
    previous_visitor_id: str | None


@dataclass(frozen=True)
class ReassignmentNeeded:
    TYPE = "visits.reassignment_needed.v1"
    elder_id: str
    effective_date: date
    visitor_id: str
    division_code: str
    reason: str


@dataclass(frozen=True)
class AssignmentNoticeIssued:
    TYPE = "visits.assignment_notice_issued.v1"
    elder_id: str
    effective_date: date
    notice_id: str
    visitor_id: str
    visitor_name: str
    visitor_phone: str
    recipients: tuple[Recipient, ...]
    document_sha256: str


@dataclass(frozen=True)
class VisitRecorded:
    TYPE = "visits.visit_recorded.v1"
    elder_id: str
    effective_date: date          # the day of the visit
    visit_id: str
    visitor_id: str
    mode: str
    services: tuple[str, ...]
    findings: Findings
    risks: tuple[Risk, ...]
    supersedes: str | None
    correction_reason: str | None


@dataclass(frozen=True)
class VisitConflictFlagged:
    TYPE = "visits.visit_conflict_flagged.v1"
    elder_id: str
    effective_date: date
    visit_ids: tuple[str, ...]
    differences: tuple[str, ...]


@dataclass(frozen=True)
class RiskReported:
    TYPE = "visits.risk_reported.v1"
    elder_id: str
    effective_date: date
    risk_id: str
    visit_id: str
    visitor_id: str
    division_code: str
    kind: str
    severity: str
    description: str


@dataclass(frozen=True)
class PeriodEvent:
    elder_id: str
    effective_date: date          # the period's due date
    period: str
    period_start: date
    target_class: str
    required_visits: int
    division_code: str
    visitor_id: str | None


@dataclass(frozen=True)
class PeriodMet(PeriodEvent):
    TYPE = "visits.period_met.v1"
    visits: int = 0


@dataclass(frozen=True)
class VisitOverdue(PeriodEvent):
    TYPE = "visits.visit_overdue.v1"
    visits: int = 0
    days_late: int = 1


@dataclass(frozen=True)
class OverdueResolved(PeriodEvent):
    TYPE = "visits.overdue_resolved.v1"
    visit_id: str = ""
    visited_on: date | None = None


PLAN_EVENTS = (PlanOpened, ObligationChanged, ElderRelocated, VisitorAssigned, ReassignmentNeeded,
               AssignmentNoticeIssued, VisitRecorded, VisitConflictFlagged, RiskReported, PeriodMet,
               VisitOverdue, OverdueResolved)


# -- state ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ElderPlan:
    elder_id: str
    version: int = 0
    name: str = ""
    division_code: str = ""
    tracking_from: date | None = None
    divisions: tuple[tuple[date, str], ...] = ()
    memberships: tuple[tuple[date, frozenset[str]], ...] = ()
    visitor_id: str | None = None
    visitors: tuple[tuple[date, str], ...] = ()
    visits: Mapping[str, VisitRecord] = field(default_factory=dict)       # current records only
    visit_ids: frozenset[str] = frozenset()                               # every id ever used
    flagged: frozenset[frozenset[str]] = frozenset()
    periods: Mapping[str, ClosedPeriod] = field(default_factory=dict)    # by label
    notices: tuple[str, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.tracking_from is not None

    @property
    def classes(self) -> frozenset[str]:
        return self.memberships[-1][1] if self.memberships else frozenset()

    def classes_on(self, day: date) -> frozenset[str]:
        return _value_on(self.memberships, day, frozenset())

    def division_on(self, day: date) -> str:
        return _value_on(self.divisions, day, self.division_code)

    def visitor_on(self, day: date) -> str | None:
        return _value_on(self.visitors, day, None)

    def obligation_began(self, day: date) -> date | None:
        """The first day of the unbroken run of membership that includes ``day``."""
        began = None
        for since, classes in self.memberships:
            if since > day:
                break
            began = (began or since) if classes else None
        return began

    def visits_in(self, period: Period) -> list[VisitRecord]:
        return [v for v in self.visits.values() if period.contains(v.visited_on)]


def _value_on(history, day, default):
    value = default
    for since, item in history:
        if since > day:
            break
        value = item
    return value


def _insert_dated(history: tuple, since: date, value) -> tuple:
    """Histories stay in date order even when a backdated fact arrives late; a fact dated
    the same day as an earlier one replaces it."""
    kept = [(d, v) for d, v in history if d != since]
    return tuple(sorted(kept + [(since, value)], key=lambda item: item[0]))


# -- decisions ------------------------------------------------------------------------
def decide(plan: ElderPlan, command, policies: VisitPolicyBook | None = None) -> list:
    if isinstance(command, ObserveElder):
        return _observe(plan, command)
    if isinstance(command, AssignVisitor):
        return _assign(plan, command)
    if isinstance(command, RecordVisit):
        return _record_visit(plan, command)
    if isinstance(command, ClosePeriods):
        return close_periods(plan, command.today, policies)
    raise TypeError(f"not a visit-plan command: {command!r}")


def _observe(plan: ElderPlan, command: ObserveElder) -> list:
    events: list = []
    day = command.effective_date
    if not plan.is_open:
        if not command.classes:
            return []          # visits owes nothing to an elder in no target class
        events.append(PlanOpened(plan.elder_id, command.today, command.name, command.division_code))
    elif command.division_code != plan.division_code:
        events.append(ElderRelocated(plan.elder_id, day, plan.division_code, command.division_code))
        if plan.visitor_id and command.visitor_villages is not None \
                and command.division_code not in command.visitor_villages:
            events.append(ReassignmentNeeded(plan.elder_id, day, plan.visitor_id, command.division_code,
                                             f"moved to {command.division_code}, outside the visitor's villages"))
    if frozenset(command.classes) != plan.classes_on(day):
        events.append(ObligationChanged(plan.elder_id, day, tuple(sorted(command.classes)),
                                        tuple(sorted(plan.classes_on(day))), command.reason))
    return events


def _assign(plan: ElderPlan, command: AssignVisitor) -> list:
    if not plan.is_open:
        raise CommandRejected(f"elder {plan.elder_id!r} is in no target class: no visits are owed",
                              field="elder_id")
    if plan.division_code not in command.visitor_villages:
        raise CommandRejected(f"visitor {command.visitor_id!r} does not cover village {plan.division_code}",
                              field="visitor_id")
    if command.notice_id in plan.notices:
        raise ConflictError(f"notice {command.notice_id!r} was already issued", field="notice_id")
    events: list = []
    if command.visitor_id != plan.visitor_id:
        events.append(VisitorAssigned(plan.elder_id, command.effective_date, command.visitor_id, plan.visitor_id))
    # Re-issuing the notice to the same visitor is allowed: a lost letter is re-sent.
    events.append(AssignmentNoticeIssued(plan.elder_id, command.effective_date, command.notice_id,
                                         command.visitor_id, command.visitor_name, command.visitor_phone,
                                         command.recipients, command.document_sha256))
    return events


def _record_visit(plan: ElderPlan, command: RecordVisit) -> list:
    _check_visit(plan, command)
    record = VisitRecord(command.visit_id, command.visitor_id, command.mode, command.visited_on,
                         tuple(command.services), command.findings, tuple(command.risks))
    events: list = [VisitRecorded(plan.elder_id, command.visited_on, command.visit_id, command.visitor_id,
                                  command.mode, record.services, command.findings, record.risks,
                                  command.supersedes, command.correction_reason)]
    already_reported = {r.kind for r in plan.visits[command.supersedes].risks} if command.supersedes else set()
    division = plan.division_on(command.visited_on)
    for index, risk in enumerate(command.risks):
        if risk.kind not in already_reported:
            events.append(RiskReported(plan.elder_id, command.visited_on, f"{command.visit_id}:{index + 1}",
                                       command.visit_id, command.visitor_id, division, risk.kind,
                                       risk.severity, risk.description))
    events += _conflicts(plan, record, command.supersedes)
    events += _late_resolutions(plan, record, command.supersedes)
    return events


def _check_visit(plan: ElderPlan, command: RecordVisit) -> None:
    if command.visited_on > command.today:
        raise ValidationError({"visited_on": [f"{command.visited_on} is in the future (today is {command.today})"]})
    if command.died_on and command.visited_on > command.died_on:
        raise CommandRejected(f"elder {plan.elder_id!r} died on {command.died_on}; no visit after that "
                              "can be recorded", field="visited_on")
    if command.visit_id in plan.visit_ids:
        raise ConflictError(f"visit {command.visit_id!r} is already recorded", field="visit_id")
    if command.supersedes is not None:
        if command.supersedes not in plan.visit_ids:
            raise NotFoundError(f"no visit {command.supersedes!r} for elder {plan.elder_id!r}", field="supersedes")
        if command.supersedes not in plan.visits:
            raise ConflictError(f"visit {command.supersedes!r} was already corrected; correct the newest record",
                                field="supersedes")
        if not command.correction_reason:
            raise ValidationError({"correction_reason": ["a correction needs a reason"]})


def _conflicts(plan: ElderPlan, record: VisitRecord, supersedes: str | None) -> list:
    events = []
    for other in sorted(plan.visits.values(), key=lambda v: v.visit_id):
        if other.visit_id == supersedes or other.visited_on != record.visited_on \
                or other.visitor_id == record.visitor_id:
            continue
        differences = _differences(other, record)
        pair = frozenset({other.visit_id, record.visit_id})
        if differences and pair not in plan.flagged:
            events.append(VisitConflictFlagged(plan.elder_id, record.visited_on,
                                               (other.visit_id, record.visit_id), tuple(differences)))
    return events


def _differences(a: VisitRecord, b: VisitRecord) -> list[str]:
    found = []
    for topic in FINDING_TOPICS:
        left, right = getattr(a.findings, topic), getattr(b.findings, topic)
        if left and right and left.strip() != right.strip():
            found.append(f"findings.{topic}: {left!r} vs {right!r}")
    left_risks, right_risks = {r.kind for r in a.risks}, {r.kind for r in b.risks}
    if left_risks != right_risks:
        found.append(f"risks: {sorted(left_risks)} vs {sorted(right_risks)}")
    return found


def _late_resolutions(plan: ElderPlan, record: VisitRecord, supersedes: str | None) -> list:
    events = []
    current = [v for v in plan.visits.values() if v.visit_id != supersedes] + [record]
    for closed in plan.periods.values():
        if closed.outcome != "overdue" or not closed.start <= record.visited_on <= closed.due:
            continue
        made = sum(1 for v in current if closed.start <= v.visited_on <= closed.due)
        if made >= closed.required:
            events.append(OverdueResolved(plan.elder_id, closed.due, closed.label, closed.start,
                                          closed.target_class, closed.required, plan.division_on(closed.due),
                                          plan.visitor_on(closed.due), record.visit_id, record.visited_on))
    return events


def close_periods(plan: ElderPlan, today: date, policies: VisitPolicyBook) -> list:
    """Close every owed period whose due date is before ``today`` and that is not closed yet."""
    if not plan.is_open or not plan.memberships:
        return []
    scan_from = max(plan.tracking_from, plan.memberships[0][0]) - timedelta(days=1)
    events = []
    for period in periods_ending_between(scan_from, today - timedelta(days=1)):
        if period.label in plan.periods:
            continue
        owed = _owed(plan, period, policies)
        if owed is None:
            continue
        target_class, required = owed
        made = len(plan.visits_in(period))
        common = dict(elder_id=plan.elder_id, effective_date=period.end, period=period.label,
                      period_start=period.start, target_class=target_class, required_visits=required,
                      division_code=plan.division_on(period.end), visitor_id=plan.visitor_on(period.end))
        if made >= required:
            events.append(PeriodMet(**common, visits=made))
        else:
            events.append(VisitOverdue(**common, visits=made, days_late=(today - period.end).days))
    return events


def _owed(plan: ElderPlan, period: Period, policies: VisitPolicyBook) -> tuple[str, int] | None:
    if period.end < plan.tracking_from:
        return None
    classes = plan.classes_on(period.end)
    if not classes:
        return None
    resolved = policies.resolve(plan.division_on(period.end), period.end)
    obligation = resolved.obligation_for(classes)
    if obligation is None or obligation[1].period != period.kind:
        return None
    began = plan.obligation_began(period.end)
    days_under = (period.end - max(began, period.start)).days + 1
    if days_under < min(resolved.first_period_min_days, period.days):
        return None
    return obligation[0], obligation[1].visits


# -- evolution ------------------------------------------------------------------------
def evolve(plan: ElderPlan, event) -> ElderPlan:
    plan = replace(plan, version=plan.version + 1)
    if isinstance(event, PlanOpened):
        first_of_month = event.effective_date.replace(day=1)
        return replace(plan, name=event.name, division_code=event.division_code, tracking_from=first_of_month,
                       divisions=_insert_dated(plan.divisions, date.min, event.division_code))
    if isinstance(event, ObligationChanged):
        return replace(plan, memberships=_insert_dated(plan.memberships, event.effective_date,
                                                       frozenset(event.classes)))
    if isinstance(event, ElderRelocated):
        return replace(plan, division_code=event.division_code,
                       divisions=_insert_dated(plan.divisions, event.effective_date, event.division_code))
    if isinstance(event, VisitorAssigned):
        return replace(plan, visitor_id=event.visitor_id,
                       visitors=_insert_dated(plan.visitors, event.effective_date, event.visitor_id))
    if isinstance(event, AssignmentNoticeIssued):
        return replace(plan, notices=plan.notices + (event.notice_id,))
    if isinstance(event, VisitRecorded):
        visits = {k: v for k, v in plan.visits.items() if k != event.supersedes}
        visits[event.visit_id] = VisitRecord(event.visit_id, event.visitor_id, event.mode, event.effective_date,
                                             tuple(event.services), event.findings, tuple(event.risks))
        return replace(plan, visits=visits, visit_ids=plan.visit_ids | {event.visit_id})
    if isinstance(event, VisitConflictFlagged):
        return replace(plan, flagged=plan.flagged | {frozenset(event.visit_ids)})
    if isinstance(event, (PeriodMet, VisitOverdue, OverdueResolved)):
        outcome = {PeriodMet: "met", VisitOverdue: "overdue", OverdueResolved: "resolved"}[type(event)]
        kind = "quarter" if "Q" in event.period else "month"
        closed = ClosedPeriod(event.period, kind, event.period_start, event.effective_date, event.target_class,
                              event.required_visits, outcome)
        return replace(plan, periods={**plan.periods, event.period: closed})
    if isinstance(event, (ReassignmentNeeded, RiskReported)):
        return plan
    raise TypeError(f"not a visit-plan event: {event!r}")


def fold(elder_id: str, events) -> ElderPlan:
    plan = ElderPlan(elder_id)
    for event in events:
        plan = evolve(plan, event)
    return plan
