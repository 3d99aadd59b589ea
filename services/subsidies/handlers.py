"""Subsidies handlers: one unit of work each. Load, let the domain decide, append
(projections update in the same transaction). Refusals raise and write nothing.

A run is processed a page of elders per transaction: the page's entries, the run's
progress and the page's reviews commit together, so a crash resumes at the next page and
a run started again finds nothing left to do.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

import structlog
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from contracts.registry import ERASURE_EVENT
from kernel import personal
from kernel.catalogue import EventCatalogue
from kernel.db import insert_many
from kernel.divisions import is_ascii_digits, significant_prefix
from kernel.envelope import CommandMeta, Envelope
from kernel.errors import NotFoundError, ValidationError
from kernel.logging import bind
from kernel.uow import UnitOfWork, retry_on_concurrency
from services.subsidies.adapters.event_mapping import run_event_from_envelope, to_pending
from services.subsidies.adapters.facts import grant_from_row, load_histories, record_fact
from services.subsidies.adapters.tables import (elder_divisions, elders, facility_grants, ledger, reviews,
                                                run_progress, runs)
from services.subsidies.domain import (CompleteRun, LedgerEntry, Month, RunSpec, RunState,
                                       StartRun, SubsidyRuleBook, decide, elder_entitlements, evolve, fold,
                                       payments_stream_for, review_elder, review_grant, run_id_for)

log = structlog.get_logger(__name__)
RUN_PAGE = 1000          # elders computed in one transaction


@dataclass(frozen=True)
class SubsidiesContext:
    catalogue: EventCatalogue
    rules: SubsidyRuleBook


def normalise_jurisdiction(value: str) -> str:
    """``140500000000`` or ``1405`` → ``1405``: runs are keyed by the significant prefix."""
    if not (is_ascii_digits(value) and 2 <= len(value) <= 12):
        raise ValidationError({"jurisdiction": [f"must be a division code or prefix of 2–12 digits, got {value!r}"]})
    return significant_prefix(value.ljust(12, "0")) or value[:2]


# -- consumed facts ---------------------------------------------------------------------
def observe_event(uow: UnitOfWork, envelope: Envelope) -> str | None:
    """Record a registry or facilities fact in the elder's history (the inbox's transaction)."""
    if envelope.type == ERASURE_EVENT:
        drop_personal_copies(uow.conn, envelope)
        return envelope.data["elder_id"]
    return record_fact(uow.conn, envelope, uow.now())


def drop_personal_copies(conn: Connection, envelope: Envelope) -> None:
    """The elder's personal data was erased: the facts kept about them keep what a subsidy
    depends on (dates, levels, status, place) and lose the personal fields."""
    from contracts import CATALOGUE
    from services.subsidies.adapters.tables import fact_history
    elder_id = envelope.data["elder_id"]
    rows = conn.execute(select(fact_history.c.fact_id, fact_history.c.kind, fact_history.c.data)
                        .where(fact_history.c.elder_id == elder_id)).all()
    updates = []
    for row in rows:
        data = json.loads(row.data)
        paths = _personal_paths_of_fact(CATALOGUE, data)
        if paths:
            updates.append(update(fact_history).where(fact_history.c.fact_id == row.fact_id).values(
                data=json.dumps(personal.redacted(data, paths), ensure_ascii=False)))
    personal.erase_copies(conn, envelope, updates)


def _personal_paths_of_fact(catalogue, data: dict) -> tuple:
    # A kept fact is a registry or facilities payload; its personal fields are every contract's.
    paths = set()
    for contract in catalogue:
        if contract.source in ("registry", "facilities"):
            paths.update(path for path in contract.personal_paths if path[0] in data)
    return tuple(sorted(paths))


# -- the run's lifecycle ------------------------------------------------------------------
def load_run(uow: UnitOfWork, ctx: SubsidiesContext, jurisdiction: str, month: Month) -> RunState:
    envelopes = uow.read_stream(run_id_for(jurisdiction, month))
    return fold(jurisdiction, month, [run_event_from_envelope(e, ctx.catalogue) for e in envelopes])


def run_lifecycle_command(uow: UnitOfWork, ctx: SubsidiesContext, jurisdiction: str, month: Month, command,
                          meta: CommandMeta) -> tuple[RunState, list]:
    bind(run_id=run_id_for(jurisdiction, month))
    state = load_run(uow, ctx, jurisdiction, month)
    events = decide(state, command)
    if events:
        uow.append([to_pending(e, ctx.catalogue, actor=meta.actor, correlation_id=meta.correlation_id,
                               causation_id=meta.causation_id) for e in events], {state.run_id: state.version})
        for event in events:
            state = evolve(state, event)
    return state, events


def closed_by(conn: Connection, jurisdiction: str, month: Month) -> str | None:
    """The jurisdiction (this one, one enclosing it or one inside it) whose ``month`` is
    closed: a run here would pay into a closed month there."""
    rows = conn.execute(select(runs.c.jurisdiction).where(runs.c.month == month.label, runs.c.closed.is_(True)))
    for (other,) in rows:
        if other.startswith(jurisdiction) or jurisdiction.startswith(other):
            return other
    return None


# -- computing a run ----------------------------------------------------------------------
def _earlier_runs(conn: Connection, jurisdiction: str, month: Month) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(
        select(runs.c.month, runs.c.rulebook_hash).where(runs.c.jurisdiction == jurisdiction,
                                                          runs.c.month < month.label, runs.c.status != "none")
        .order_by(runs.c.month))]


def _progress(conn: Connection, run_id: str) -> dict:
    row = conn.execute(select(run_progress).where(run_progress.c.run_id == run_id)).first()
    if row is None:
        return {"run_id": run_id, "after_division_code": "", "after_elder_id": "", "payments_version": 0,
                "elders_done": False, "new": True}
    return {**row._mapping, "new": False}


def _save_progress(conn: Connection, progress: dict) -> None:
    values = {k: progress[k] for k in ("after_division_code", "after_elder_id", "payments_version", "elders_done")}
    if progress.pop("new", False):
        conn.execute(insert(run_progress), {"run_id": progress["run_id"], **values})
    else:
        conn.execute(update(run_progress).where(run_progress.c.run_id == progress["run_id"]).values(**values))


def _append_entries(uow: UnitOfWork, ctx: SubsidiesContext, spec: RunSpec, events: list, progress: dict,
                    meta: CommandMeta) -> None:
    if events:
        stream = payments_stream_for(spec.jurisdiction, spec.month)
        uow.append([to_pending(e, ctx.catalogue, actor=meta.actor, correlation_id=meta.correlation_id,
                               causation_id=meta.causation_id) for e in events],
                   {stream: progress["payments_version"]})
        progress["payments_version"] += len(events)


def _ledger_of(conn: Connection, elder_ids: list[str], periods: list[str]) -> dict[str, list[LedgerEntry]]:
    found: dict[str, list[LedgerEntry]] = {}
    rows = conn.execute(select(ledger.c.entry_id, ledger.c.beneficiary_id, ledger.c.programme, ledger.c.period,
                               ledger.c.amount_fen, ledger.c.reference)
                        .where(ledger.c.beneficiary_id.in_(elder_ids), ledger.c.period.in_(periods)))
    for row in rows:
        found.setdefault(row.beneficiary_id, []).append(
            LedgerEntry(row.entry_id, row.programme, row.period, row.amount_fen, row.reference))
    return found


def compute_page(uow: UnitOfWork, ctx: SubsidiesContext, spec: RunSpec, past_months: list[Month],
                 recompute_all: bool, meta: CommandMeta, page_size: int = RUN_PAGE) -> int | None:
    """Compute the next page of the run's elders; returns how many elders it covered, or
    None once every elder is done."""
    conn = uow.conn
    progress = _progress(conn, spec.run_id)
    if progress["elders_done"]:
        return None
    # A range scan of elder_divisions' primary key from the cursor: each page costs the
    # same however far the run has got. An elder recorded in two divisions of the
    # jurisdiction comes up twice; the second review finds everything recorded already.
    division, column = elder_divisions.c.division_code, elder_divisions.c.elder_id
    after_division, after_elder = progress["after_division_code"], progress["after_elder_id"]
    rows = conn.execute(
        select(division, column)
        .where(division >= spec.jurisdiction.ljust(12, "0"), division <= spec.jurisdiction.ljust(12, "9"),
               or_(division > after_division, and_(division == after_division, column > after_elder)))
        .order_by(division, column).limit(page_size)).all()
    if not rows:
        progress["elders_done"] = True
        _save_progress(conn, progress)
        return None
    page = list(dict.fromkeys(row.elder_id for row in rows))
    # Versions first, facts after: a fact committed in between leaves its elder marked as
    # changed for the next run rather than being missed.
    versions = dict(conn.execute(select(elders.c.elder_id, elders.c.facts_version)
                                 .where(elders.c.elder_id.in_(page))).all())
    reviewed = dict(conn.execute(select(reviews.c.elder_id, reviews.c.reviewed_version)
                                 .where(reviews.c.jurisdiction == spec.jurisdiction, reviews.c.elder_id.in_(page))).all())
    changed = {e for e in page if recompute_all or versions.get(e, 0) > reviewed.get(e, 0)}
    histories = load_histories(conn, page)
    periods = [spec.month.label] + ([m.label for m in past_months] if changed and past_months else [])
    entries = _ledger_of(conn, page, periods)
    events = []
    for elder_id in page:
        history = histories[elder_id]
        events += review_elder(spec, elder_id, history, entries.get(elder_id, ()),
                               past_months if elder_id in changed else (), ctx.rules,
                               fallback_division=_last_division(history, spec.jurisdiction))
    _append_entries(uow, ctx, spec, events, progress, meta)
    progress["after_division_code"], progress["after_elder_id"] = rows[-1].division_code, rows[-1].elder_id
    _save_progress(conn, progress)
    conn.execute(delete(reviews).where(reviews.c.jurisdiction == spec.jurisdiction, reviews.c.elder_id.in_(page)))
    insert_many(conn, reviews, [{"jurisdiction": spec.jurisdiction, "elder_id": e, "reviewed_version": versions.get(e, 0)}
                                for e in page])
    return len(rows)


def _last_division(history, jurisdiction: str) -> str:
    codes = [getattr(f, "division_code", None) for f in history]
    codes = [c for c in codes if c]
    return codes[-1] if codes else jurisdiction.ljust(12, "0")


def compute_grants(uow: UnitOfWork, ctx: SubsidiesContext, spec: RunSpec, meta: CommandMeta) -> int:
    """Facility grants of the jurisdiction not paid yet, from this month or earlier."""
    conn = uow.conn
    paid = select(ledger.c.reference).where(ledger.c.reference == facility_grants.c.grant_id).exists()
    rows = conn.execute(select(facility_grants).where(
        facility_grants.c.division_code.startswith(spec.jurisdiction),
        facility_grants.c.effective_date < spec.month.next().first_day.isoformat(), ~paid)
        .order_by(facility_grants.c.effective_date, facility_grants.c.grant_id)).all()
    events = []
    for row in rows:
        events += review_grant(spec, grant_from_row(row), False, ctx.rules)
    progress = _progress(conn, spec.run_id)
    _append_entries(uow, ctx, spec, events, progress, meta)
    _save_progress(conn, progress)
    return len(events)


def run_totals(conn: Connection, run_id: str) -> dict:
    def total(kind):
        row = conn.execute(select(func.count(), func.coalesce(func.sum(ledger.c.amount_fen), 0))
                           .where(ledger.c.run_id == run_id, ledger.c.kind == kind)).one()
        return int(row[0]), int(row[1])
    disbursements, disbursed = total("disbursement")
    adjustments, adjusted = total("adjustment")
    beneficiaries = conn.execute(select(func.count(func.distinct(ledger.c.beneficiary_id)))
                                 .where(ledger.c.run_id == run_id)).scalar()
    return {"beneficiaries": int(beneficiaries or 0), "disbursements": disbursements, "disbursed_fen": disbursed,
            "adjustments": adjustments, "adjusted_fen": adjusted}


def start_run(open_unit_of_work, ctx: SubsidiesContext, jurisdiction: str, month: Month, today: date,
              meta: CommandMeta, progress=None, page_size: int = RUN_PAGE) -> dict:
    """Start (or resume) the run of ``jurisdiction`` × ``month`` and compute it to the end.
    Returns the run's totals and whether anything changed."""
    jurisdiction = normalise_jurisdiction(jurisdiction)
    run_id = run_id_for(jurisdiction, month)
    bind(run_id=run_id)

    def start():
        with open_unit_of_work() as uow:
            command = StartRun(jurisdiction, month, today, ctx.rules.content_hash, ctx.rules.covers(jurisdiction),
                               closed_by(uow.conn, jurisdiction, month))
            return run_lifecycle_command(uow, ctx, jurisdiction, month, command, meta)

    state, started = retry_on_concurrency(start)
    if state.status != "started":
        log.info("run already computed; nothing changed", jurisdiction=jurisdiction, month=month.label,
                 status=state.status)
        with open_unit_of_work() as uow:
            return {"run_id": run_id, "status": state.status, "changed": False, **run_totals(uow.conn, run_id)}
    with open_unit_of_work() as uow:
        earlier = _earlier_runs(uow.conn, jurisdiction, month)
    past_months = [Month.parse(r["month"]) for r in earlier]
    # Under a changed rule book every past month may owe something else: recompute them all.
    recompute_all = bool(earlier) and earlier[-1]["rulebook_hash"] != ctx.rules.content_hash
    log.info("run computing", jurisdiction=jurisdiction, month=month.label, resumed=not started,
             past_months=len(past_months), recompute_all=recompute_all)
    elders_done = 0
    while True:
        def page():
            with open_unit_of_work() as uow:
                spec = RunSpec(run_id, jurisdiction, month, today, uow.now())
                return compute_page(uow, ctx, spec, past_months, recompute_all, meta, page_size)
        covered = retry_on_concurrency(page)
        if covered is None:
            break
        elders_done += covered
        if progress:
            progress(covered)

    def finish():
        with open_unit_of_work() as uow:
            spec = RunSpec(run_id, jurisdiction, month, today, uow.now())
            compute_grants(uow, ctx, spec, meta)
            totals = run_totals(uow.conn, run_id)
            state, _ = run_lifecycle_command(uow, ctx, jurisdiction, month, CompleteRun(today, **totals), meta)
            return state, totals

    state, totals = retry_on_concurrency(finish)
    log.info("run completed", jurisdiction=jurisdiction, month=month.label, elders_reviewed=elders_done, **totals)
    return {"run_id": run_id, "status": state.status, "changed": True, **totals}


# -- reading ------------------------------------------------------------------------------
def entitlement_as_of(connect, ctx: SubsidiesContext, elder_id: str, month: Month,
                      known_at: datetime | None) -> dict:
    """What was due to the elder for ``month`` as the facts were known at ``known_at``
    (default: now), and what had been recorded for that month by then."""
    with connect() as conn:
        history = load_histories(conn, [elder_id])[elder_id]
        if not history:
            raise NotFoundError(f"subsidies has learnt nothing about elder {elder_id!r}", field="elder_id")
        statement = select(ledger).where(ledger.c.beneficiary_id == elder_id, ledger.c.period == month.label)
        if known_at is not None:
            from kernel.envelope import format_time
            statement = statement.where(ledger.c.recorded_at <= format_time(known_at))
        recorded = [dict(r._mapping) for r in conn.execute(statement.order_by(ledger.c.recorded_at))]
    owed = elder_entitlements(elder_id, history, month, ctx.rules, known_at)
    return {
        "elder_id": elder_id, "month": month.label, "known_at": known_at.isoformat() if known_at else None,
        "due_fen": sum(e.amount_fen for e in owed),
        "entitlements": [{"programme": e.programme, "amount_fen": e.amount_fen, "rule_version": e.rule.version_id,
                          "rule_hash": e.rule.content_hash, "rule_source": e.rule.source,
                          "facts": _facts_view(e.facts)} for e in owed],
        "recorded_fen": sum(r["amount_fen"] for r in recorded),
        "recorded": [{k: r[k] for k in ("entry_id", "run_id", "kind", "programme", "amount_fen", "rule_hash")}
                     for r in recorded],
    }


def _facts_view(facts) -> dict:
    view = {k: getattr(facts, k) for k in facts.__dataclass_fields__}
    view["as_of"] = facts.as_of.isoformat()
    return {k: v for k, v in view.items() if v is not None}
