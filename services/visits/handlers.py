"""Visits command handlers: one unit of work each. Load the stream, let the domain decide,
append (projections update in the same transaction). Refusals raise and write nothing."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import structlog
from sqlalchemy import delete, insert, or_, select

from contracts.registry import ERASURE_EVENT
from kernel import personal
from kernel.catalogue import EventCatalogue
from kernel.divisions import DivisionTable
from kernel.envelope import Actor, CommandMeta, Envelope
from kernel.errors import CommandRejected, ConflictError, NotFoundError
from kernel.ids import new_stream_id
from kernel.logging import bind
from kernel.uow import UnitOfWork, retry_on_concurrency
from services.visits.adapters.event_mapping import event_from_envelope, to_pending
from services.visits.adapters.notice import NoticeContent, render_notice
from services.visits.adapters.profiles import apply_registry_event, load_profile, target_classes
from services.visits.adapters.tables import notices, period_sweeps, plans, visit_records
from services.visits.domain import (AssignVisitor, ElderPlan, Findings, ObserveElder, PeriodMet, PlanOpened, Recipient,
                                    RecordVisit, Risk, VisitorState, VisitPolicyBook, close_periods, decide,
                                    decide_visitor, evolve, evolve_visitor, fold, fold_visitor,
                                    last_period_end_before)


log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class VisitsContext:
    catalogue: EventCatalogue
    policies: VisitPolicyBook
    divisions: DivisionTable


def load_plan(source, elder_id: str, catalogue: EventCatalogue) -> ElderPlan:
    return fold(elder_id, [event_from_envelope(e, catalogue) for e in source.read_stream(elder_id)])


def load_visitor(source, visitor_id: str, catalogue: EventCatalogue) -> VisitorState:
    return fold_visitor(visitor_id, [event_from_envelope(e, catalogue) for e in source.read_stream(visitor_id)])


def _append(uow: UnitOfWork, ctx: VisitsContext, events, expected: dict, jurisdiction: str, meta: CommandMeta):
    if events:
        uow.append([to_pending(e, ctx.catalogue, actor=meta.actor, jurisdiction=jurisdiction,
                               correlation_id=meta.correlation_id, causation_id=meta.causation_id)
                    for e in events], expected)
    return events


# -- visitors ---------------------------------------------------------------------------
def run_visitor_command(uow: UnitOfWork, ctx: VisitsContext, command, meta: CommandMeta) -> VisitorState:
    bind(visitor_id=command.visitor_id)
    for code in getattr(command, "village_codes", ()):
        division = ctx.divisions.get(code)
        if division is None or division.level != "village":
            raise CommandRejected(f"{code} is not a village in the division table", field="village_codes")
    state = load_visitor(uow, command.visitor_id, ctx.catalogue)
    events = decide_visitor(state, command)
    jurisdiction = (getattr(command, "village_codes", None) or state.village_codes)[0]
    _append(uow, ctx, events, {command.visitor_id: state.version}, jurisdiction, meta)
    for event in events:
        state = evolve_visitor(state, event)
    return state


def active_visitor(uow: UnitOfWork, ctx: VisitsContext, visitor_id: str) -> VisitorState:
    visitor = load_visitor(uow, visitor_id, ctx.catalogue)
    if not visitor.is_registered:
        raise NotFoundError(f"no visitor {visitor_id!r}", field="visitor_id")
    if not visitor.active:
        raise CommandRejected(f"visitor {visitor_id!r} is no longer active", field="visitor_id")
    return visitor


def known_elder(uow: UnitOfWork, elder_id: str) -> dict:
    profile = load_profile(uow.conn, elder_id)
    if profile is None:
        raise NotFoundError(f"no elder {elder_id!r} known to visits (registered in the registry?)",
                            field="elder_id")
    return profile


# -- registry facts -> obligations ------------------------------------------------------
def observe_registry_event(uow: UnitOfWork, ctx: VisitsContext, envelope: Envelope, today: date) -> list:
    """Apply one registry event to the elder's profile and recompute the obligation."""
    bind(elder_id=envelope.subject)
    if envelope.type == ERASURE_EVENT:
        drop_personal_copies(uow, envelope)
        return []
    profile = apply_registry_event(uow.conn, envelope)
    if profile is None:
        return []
    plan = load_plan(uow, envelope.subject, ctx.catalogue)
    villages = None
    if plan.visitor_id:
        villages = frozenset(load_visitor(uow, plan.visitor_id, ctx.catalogue).village_codes)
    command = ObserveElder(envelope.subject, profile["name"], profile["division_code"], target_classes(profile),
                           date.fromisoformat(envelope.data["effective_date"]), envelope.type, today, villages)
    meta = CommandMeta(Actor.system("visits"), envelope.correlation_id, envelope.id)
    return _append(uow, ctx, decide(plan, command), {plan.elder_id: plan.version}, profile["division_code"], meta)


def drop_personal_copies(uow: UnitOfWork, envelope: Envelope) -> None:
    """The elder's personal data was erased: destroy visits' key for them (its log's plan,
    notices and visit findings about them read ``[erased]``) and drop the copies in the read
    models (profile, plan name, the written notices, conflict details)."""
    from sqlalchemy import delete, update
    from services.visits.adapters.tables import elder_profiles, notices, plans, visit_conflicts
    elder_id = envelope.data["elder_id"]
    personal.erase_copies(uow.conn, envelope, [
        update(elder_profiles).where(elder_profiles.c.elder_id == elder_id)
        .values(name=personal.ERASED, phone=None, supporters="[]"),
        update(plans).where(plans.c.elder_id == elder_id).values(name=personal.ERASED),
        delete(notices).where(notices.c.elder_id == elder_id),
        update(visit_conflicts).where(visit_conflicts.c.elder_id == elder_id).values(differences="[]"),
    ])


# -- assignment and the written notice ---------------------------------------------------
def assign_visitor(uow: UnitOfWork, ctx: VisitsContext, elder_id: str, visitor_id: str, on: date,
                   meta: CommandMeta) -> dict:
    bind(elder_id=elder_id, visitor_id=visitor_id)
    profile = known_elder(uow, elder_id)
    visitor = active_visitor(uow, ctx, visitor_id)
    plan = load_plan(uow, elder_id, ctx.catalogue)
    recipients = (Recipient("elder", profile["name"], profile["phone"]),) + tuple(
        Recipient("supporter", s["name"], s.get("phone")) for s in json.loads(profile["supporters"]))
    notice_id = new_stream_id()
    rendered = render_notice(NoticeContent(
        notice_id, on, profile["name"], ctx.divisions.full_name(plan.division_code or profile["division_code"]),
        visitor.name,
        visitor.phone, visitor.role, visitor.organisation, tuple((r.role, r.name) for r in recipients)))
    command = AssignVisitor(elder_id, visitor_id, visitor.name, visitor.phone, frozenset(visitor.village_codes),
                            notice_id, recipients, rendered.sha256, on)
    _append(uow, ctx, decide(plan, command), {elder_id: plan.version}, plan.division_code, meta)
    uow.conn.execute(insert(notices), {"notice_id": notice_id, "elder_id": elder_id, "visitor_id": visitor_id,
                                       "issued_on": on.isoformat(), "html": rendered.html, "pdf": rendered.pdf,
                                       "sha256": rendered.sha256})
    return {"notice_id": notice_id, "sha256": rendered.sha256, "elder_id": elder_id, "visitor_id": visitor_id}


# -- visit records -----------------------------------------------------------------------
def record_visit(uow: UnitOfWork, ctx: VisitsContext, values: dict, today: date, meta: CommandMeta) -> tuple:
    """Returns (visit_id, events)."""
    elder_id = values["elder_id"]
    bind(elder_id=elder_id, visitor_id=values["visitor_id"])
    profile = known_elder(uow, elder_id)
    active_visitor(uow, ctx, values["visitor_id"])
    plan = load_plan(uow, elder_id, ctx.catalogue)
    expected = {elder_id: plan.version}
    opening = []
    if not plan.is_open:
        # A visit to an elder in no target class (yet) is still a record worth keeping.
        opening = [PlanOpened(elder_id, today, profile["name"], profile["division_code"])]
        plan = evolve(plan, opening[0])
    visit_id = values["visit_id"] or new_stream_id()
    _refuse_visit_id_of_another_elder(uow, visit_id, elder_id)
    died_on = date.fromisoformat(profile["died_on"]) if profile["died_on"] else None
    command = RecordVisit(elder_id, visit_id, values["visitor_id"], values["mode"], values["visited_on"],
                          tuple(values["services"]), Findings(**values["findings"]),
                          tuple(Risk(**r) for r in values["risks"]), today, died_on, values["supersedes"],
                          values["correction_reason"])
    events = opening + decide(plan, command)
    _append(uow, ctx, events, expected, plan.division_code, meta)
    return visit_id, events


def _refuse_visit_id_of_another_elder(uow: UnitOfWork, visit_id: str, elder_id: str) -> None:
    """A visit id names one visit of one elder everywhere (its risks become alerts
    ``<visit_id>:<n>``). The elder's plan knows only its own ids, so a client's id already
    used for someone else is found in the read model (same database and transaction) and is
    a conflict, not a primary-key failure. The other elder is not named: the caller may not
    be entitled to know them."""
    owner = uow.conn.execute(select(visit_records.c.elder_id)
                             .where(visit_records.c.visit_id == visit_id)).scalar()
    if owner is not None and owner != elder_id:
        raise ConflictError(f"visit {visit_id!r} is already recorded for another elder", field="visit_id")


# -- closing periods ---------------------------------------------------------------------
def close_periods_for(uow: UnitOfWork, ctx: VisitsContext, elder_ids, today: date, meta: CommandMeta) -> list:
    """Close the due periods of several elders in one append (one transaction)."""
    events, expected = [], {}
    for elder_id, envelopes in uow.read_streams(list(elder_ids)).items():
        plan = fold(elder_id, [event_from_envelope(e, ctx.catalogue) for e in envelopes])
        closed = close_periods(plan, today, ctx.policies)
        if closed:
            events += closed
            expected[elder_id] = plan.version
    if events:
        uow.append([to_pending(e, ctx.catalogue, actor=meta.actor, jurisdiction=e.division_code,
                               correlation_id=meta.correlation_id) for e in events], expected)
    return events


SWEEP_PAGE = 200          # elders whose periods are closed in one transaction


def sweep_periods(open_unit_of_work, connect, ctx: VisitsContext, today: date, meta: CommandMeta,
                  progress=None) -> dict:
    """Close the due periods of every plan not yet swept through the last month end, a page
    of elders per transaction; the sweep cursor moves in the same transaction, so a crash
    resumes where it stopped and a second sweep finds nothing to do."""
    through = last_period_end_before(today).isoformat()
    totals = {"elders": 0, "met": 0, "overdue": 0}
    after = ""      # keyset: each page starts after the last elder of the one before (linear, not quadratic)
    while True:
        with connect() as conn:
            page = conn.execute(
                select(plans.c.elder_id).outerjoin(period_sweeps, period_sweeps.c.elder_id == plans.c.elder_id)
                .where(plans.c.elder_id > after,
                       or_(period_sweeps.c.swept_through.is_(None), period_sweeps.c.swept_through < through))
                .order_by(plans.c.elder_id).limit(SWEEP_PAGE)).scalars().all()
        if not page:
            break
        after = page[-1]

        def close_page():
            with open_unit_of_work() as uow:
                events = close_periods_for(uow, ctx, page, today, meta)
                uow.conn.execute(delete(period_sweeps).where(period_sweeps.c.elder_id.in_(page)))
                uow.conn.execute(insert(period_sweeps), [{"elder_id": e, "swept_through": through} for e in page])
                return events

        for event in retry_on_concurrency(close_page):
            totals["met" if isinstance(event, PeriodMet) else "overdue"] += 1
        totals["elders"] += len(page)
        if progress:
            progress(len(page))
    if totals["elders"]:
        log.info("periods closed", today=str(today), through=through, **totals)
    return totals
