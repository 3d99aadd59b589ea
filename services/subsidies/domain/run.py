"""Monthly disbursement runs: the run's lifecycle and what a run owes each beneficiary.

A run belongs to a jurisdiction (division-code prefix) and a month. Its lifecycle:
started → completed → approved (finance only) → paid; then the month may be closed, after
which no run for it starts again. Starting a run that exists changes nothing and says so
(a run interrupted half-way resumes where it stopped).

What a run computes for a beneficiary (``review_elder``):

- **the run's month**: the entitlement of every elder of the jurisdiction that month
  (their division on its first day is inside it) becomes one disbursement per programme,
  unless something is already recorded for that beneficiary, programme and month;
- **earlier months that had runs**: the entitlement is recomputed from everything known
  now and compared with what was recorded (disbursements plus earlier adjustments); a
  difference becomes one adjustment (back-pay if positive, claw-back if negative) that
  lists the entries it corrects. Nothing already computed is edited.

So after any run, for every month that had one, the sum of the entries equals the
entitlement recomputed from the history known at that run.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import ClassVar, Sequence

from kernel.errors import CommandRejected, ConflictError, ValidationError

from .entitlement import Entitlement, FacilityGrant, FactsUsed, entitlements_for, grant_entitlement
from .facts import Fact, facts_on, meals_in
from contracts.month import Month
from .policy import SubsidyRuleBook

APPROVING_DEPARTMENT = "finance"


def run_id_for(jurisdiction: str, month: Month) -> str:
    return f"subsidy-run:{jurisdiction}:{month.label}"


def payments_stream_for(jurisdiction: str, month: Month) -> str:
    return f"subsidy-pay:{jurisdiction}:{month.label}"


# -- events ----------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class RunEvent:
    TYPE: ClassVar[str]
    run_id: str
    jurisdiction: str
    month: str
    effective_date: date


@dataclass(frozen=True, kw_only=True)
class RunStarted(RunEvent):
    TYPE: ClassVar[str] = "subsidies.run_started.v1"
    rulebook_hash: str


@dataclass(frozen=True, kw_only=True)
class RunCompleted(RunEvent):
    TYPE: ClassVar[str] = "subsidies.run_completed.v1"
    beneficiaries: int
    disbursements: int
    disbursed_fen: int
    adjustments: int
    adjusted_fen: int


@dataclass(frozen=True, kw_only=True)
class RunApproved(RunEvent):
    TYPE: ClassVar[str] = "subsidies.run_approved.v1"
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class RunPaid(RunEvent):
    TYPE: ClassVar[str] = "subsidies.run_paid.v1"
    paid_on: date
    payment_reference: str


@dataclass(frozen=True, kw_only=True)
class MonthClosed(RunEvent):
    TYPE: ClassVar[str] = "subsidies.month_closed.v1"


@dataclass(frozen=True, kw_only=True)
class EntryEvent(RunEvent):
    beneficiary_id: str
    beneficiary_kind: str
    programme: str
    period: str
    division_code: str
    reference: str = ""


@dataclass(frozen=True, kw_only=True)
class DisbursementComputed(EntryEvent):
    TYPE: ClassVar[str] = "subsidies.disbursement_computed.v1"
    amount_fen: int
    rule_version: str
    rule_hash: str
    facts: FactsUsed


@dataclass(frozen=True, kw_only=True)
class AdjustmentComputed(EntryEvent):
    TYPE: ClassVar[str] = "subsidies.adjustment_computed.v1"
    amount_fen: int
    reason: str
    previously_paid_fen: int
    now_due_fen: int
    corrects: tuple[str, ...]
    rule_version: str | None = None
    rule_hash: str | None = None
    facts: FactsUsed | None = None


RUN_EVENTS = (RunStarted, RunCompleted, RunApproved, RunPaid, MonthClosed)
ENTRY_EVENTS = (DisbursementComputed, AdjustmentComputed)


# -- the run's lifecycle -----------------------------------------------------------------
@dataclass(frozen=True)
class RunState:
    run_id: str
    jurisdiction: str
    month: Month
    status: str = "none"           # none | started | completed | approved | paid
    closed: bool = False
    rulebook_hash: str | None = None
    version: int = 0


def evolve(state: RunState, event: RunEvent) -> RunState:
    version = state.version + 1
    if isinstance(event, RunStarted):
        return replace(state, status="started", rulebook_hash=event.rulebook_hash, version=version)
    if isinstance(event, RunCompleted):
        return replace(state, status="completed", version=version)
    if isinstance(event, RunApproved):
        return replace(state, status="approved", version=version)
    if isinstance(event, RunPaid):
        return replace(state, status="paid", version=version)
    if isinstance(event, MonthClosed):
        return replace(state, closed=True, version=version)
    return replace(state, version=version)


def fold(jurisdiction: str, month: Month, events: Sequence[RunEvent]) -> RunState:
    state = RunState(run_id_for(jurisdiction, month), jurisdiction, month)
    for event in events:
        state = evolve(state, event)
    return state


@dataclass(frozen=True)
class StartRun:
    jurisdiction: str
    month: Month
    today: date
    rulebook_hash: str
    has_policy: bool
    closed_by: str | None = None    # the enclosing jurisdiction whose month is closed, if any


@dataclass(frozen=True)
class CompleteRun:
    today: date
    beneficiaries: int
    disbursements: int
    disbursed_fen: int
    adjustments: int
    adjusted_fen: int


@dataclass(frozen=True)
class ApproveRun:
    department: str
    today: date
    note: str = ""


@dataclass(frozen=True)
class MarkPaid:
    today: date
    paid_on: date
    payment_reference: str


@dataclass(frozen=True)
class CloseMonth:
    today: date


def _base(state: RunState, today: date) -> dict:
    return {"run_id": state.run_id, "jurisdiction": state.jurisdiction, "month": state.month.label,
            "effective_date": today}


def decide(state: RunState, command) -> list[RunEvent]:
    """Events for ``command`` on the run; [] when it is already done; raises when refused."""
    if isinstance(command, StartRun):
        return _decide_start(state, command)
    if isinstance(command, CompleteRun):
        if state.status != "started":
            return []
        return [RunCompleted(**_base(state, command.today), beneficiaries=command.beneficiaries,
                             disbursements=command.disbursements, disbursed_fen=command.disbursed_fen,
                             adjustments=command.adjustments, adjusted_fen=command.adjusted_fen)]
    if isinstance(command, ApproveRun):
        if command.department != APPROVING_DEPARTMENT:
            raise CommandRejected(f"only the {APPROVING_DEPARTMENT} department approves a run; "
                                  f"{command.department!r} cannot", field="actor.department")
        if state.status in ("approved", "paid"):
            return []
        if state.status != "completed":
            raise ConflictError(f"run {state.run_id} is {state.status}: only a completed run can be approved",
                                field="run_id")
        return [RunApproved(**_base(state, command.today), note=command.note)]
    if isinstance(command, MarkPaid):
        if state.status == "paid":
            return []
        if state.status != "approved":
            raise ConflictError(f"run {state.run_id} is {state.status}: finance must approve it before it is paid",
                                field="run_id")
        if command.paid_on > command.today:
            raise ValidationError({"paid_on": [f"{command.paid_on} is in the future"]})
        return [RunPaid(**_base(state, command.today), paid_on=command.paid_on,
                        payment_reference=command.payment_reference)]
    if isinstance(command, CloseMonth):
        if state.closed:
            return []
        if state.status not in ("none", "paid"):
            raise ConflictError(f"run {state.run_id} is {state.status}: pay it before closing the month",
                                field="month")
        return [MonthClosed(**_base(state, command.today))]
    raise TypeError(f"unknown command {command!r}")


def _decide_start(state: RunState, command: StartRun) -> list[RunEvent]:
    if command.month > Month.of(command.today):
        raise ValidationError({"month": [f"{command.month} is in the future (today is {command.today})"]})
    if state.closed or command.closed_by:
        raise CommandRejected(f"month {command.month} is closed for {command.closed_by or state.jurisdiction}; "
                              "no further run", field="month")
    if not command.has_policy:
        raise CommandRejected(f"no subsidy policy covers jurisdiction {command.jurisdiction!r}", field="jurisdiction")
    if state.status != "none":
        return []
    return [RunStarted(**_base(state, command.today), rulebook_hash=command.rulebook_hash)]


# -- what a run owes ------------------------------------------------------------------------
@dataclass(frozen=True)
class LedgerEntry:
    """A disbursement or adjustment already recorded (its event id is ``entry_id``)."""

    entry_id: str
    programme: str
    period: str
    amount_fen: int
    reference: str = ""


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    jurisdiction: str
    month: Month
    today: date
    known_at: datetime | None = None     # when the run computed: stamped on the facts it used


def _entry_base(spec: RunSpec, entitlement_or_none, beneficiary_id: str, kind: str, programme: str, period: Month,
                division_code: str, reference: str = "") -> dict:
    return {"run_id": spec.run_id, "jurisdiction": spec.jurisdiction, "month": spec.month.label,
            "effective_date": spec.month.first_day, "beneficiary_id": beneficiary_id, "beneficiary_kind": kind,
            "programme": programme, "period": period.label, "division_code": division_code, "reference": reference}


def _disbursement(spec: RunSpec, owed: Entitlement) -> DisbursementComputed:
    return DisbursementComputed(
        **_entry_base(spec, owed, owed.beneficiary_id, owed.beneficiary_kind, owed.programme, owed.period,
                      owed.division_code, owed.reference),
        amount_fen=owed.amount_fen, rule_version=owed.rule.version_id, rule_hash=owed.rule.content_hash,
        facts=owed.facts)


def review_elder(spec: RunSpec, elder_id: str, history: Sequence[Fact], ledger: Sequence[LedgerEntry],
                 past_months: Sequence[Month], rules: SubsidyRuleBook, fallback_division: str) -> list:
    """Disbursements for the run's month and adjustments of ``past_months`` (see module doc).
    ``fallback_division`` is where an entry goes when the elder has no facts that month
    (a claw-back of a record no longer known to be registered then)."""
    events = []
    for month in sorted(set(past_months) | {spec.month}):
        # Everything recorded so far counts (not a cut-off by time): an elder's fact version,
        # not a timestamp, says what a run has seen, so clock skew cannot hide a fact.
        facts = facts_on(elder_id, history, month.first_day)
        if month == spec.month and (facts is None or not facts.division_code.startswith(spec.jurisdiction)):
            continue      # not this jurisdiction's elder this month: its own run pays them
        due = {e.programme: e for e in entitlements_for(facts, month, rules, spec.known_at,
                                                        meals_in(history, month.label))}
        recorded: dict[str, list[LedgerEntry]] = {}
        for entry in ledger:
            if entry.period == month.label and not entry.reference:
                recorded.setdefault(entry.programme, []).append(entry)
        division = facts.division_code if facts else fallback_division
        for programme in sorted(set(due) | set(recorded)):
            owed, entries = due.get(programme), recorded.get(programme, [])
            now_due, paid = (owed.amount_fen if owed else 0), sum(e.amount_fen for e in entries)
            if not entries and month == spec.month:
                if now_due > 0:
                    events.append(_disbursement(spec, owed))
            elif now_due != paid:
                events.append(AdjustmentComputed(
                    **_entry_base(spec, owed, elder_id, "elder", programme, month, division),
                    amount_fen=now_due - paid, reason="back_pay" if now_due > paid else "claw_back",
                    previously_paid_fen=paid, now_due_fen=now_due, corrects=tuple(e.entry_id for e in entries),
                    rule_version=owed.rule.version_id if owed else None,
                    rule_hash=owed.rule.content_hash if owed else None, facts=owed.facts if owed else None))
    return events


def review_grant(spec: RunSpec, grant: FacilityGrant, already_paid: bool, rules: SubsidyRuleBook) -> list:
    """A facility grant is paid once, in the first run of its jurisdiction from its month on."""
    if already_paid or Month.of(grant.effective_date) > spec.month or not grant.division_code.startswith(spec.jurisdiction):
        return []
    owed = grant_entitlement(grant, spec.month, rules)
    return [_disbursement(spec, owed)] if owed else []
