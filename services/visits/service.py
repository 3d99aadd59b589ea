"""The visits service: visitors, visit obligations from policy, visit records, overdue
detection and coverage, over nameko RPC; registry events arrive through RabbitMQ.

Every command takes ``payload`` (validated by its schema) and ``actor``; a refused command
raises a clear error naming the field and writes nothing. The period timer closes every
period whose due date has passed (met / overdue), once per elder and period.
"""
from __future__ import annotations

import base64

import structlog
from sqlalchemy import and_, case, func, or_, select

from contracts import CATALOGUE
from contracts.services import SEALING_SERVICES, VISITS
from contracts.actors import ActorSchema
from kernel.consumer import durable_event_handler
from kernel.divisions import CHILD_PREFIX_LENGTH, significant_prefix
from kernel.envelope import Actor, CommandMeta
from kernel.errors import NotFoundError
from kernel.ids import new_stream_id
from kernel.providers import (CallContext, CheckpointSealer, LoggingContext, OutboxRelayRunner, ServiceDatabase,
                              configured_timer, ping_answer)
from kernel.rpc import command_rpc
from kernel.trace import events_about
from kernel.witness import checkpoint_witness
from kernel.uow import retry_on_concurrency
from kernel.validation import load_or_refuse, refuse_future_known_at
from services.visits import coverage as coverage_report
from services.visits.adapters.tables import (notices, period_outcomes, plans, visit_conflicts, visit_records,
                                             visitors)
from services.visits.domain import ChangeVisitorVillages, DeactivateVisitor, RegisterVisitor, last_period_end_before
from services.visits.handlers import (assign_visitor, load_plan, observe_registry_event, record_visit,
                                      run_visitor_command, sweep_periods)
from services.visits.rules import VisitsRules, visits_projections
from contracts.visits_rpc import (AssignVisitorSchema, ChangeVisitorVillagesSchema, CoverageQuerySchema,
                                     DeactivateVisitorSchema, DivisionQuerySchema, OverdueQuerySchema,
                                     RecordVisitSchema, RegisterVisitorSchema)
from services.visits.views import plan_view, visitor_view

log = structlog.get_logger(__name__)
ACTOR_SCHEMA = ActorSchema()
SYSTEM_ACTOR = Actor.system("visits")
VISITOR_COMMANDS = {
    "register_visitor": (RegisterVisitorSchema(), RegisterVisitor),
    "change_visitor_villages": (ChangeVisitorVillagesSchema(), ChangeVisitorVillages),
    "deactivate_visitor": (DeactivateVisitorSchema(), DeactivateVisitor),
}


def _rows(conn, statement) -> list[dict]:
    return [dict(row._mapping) for row in conn.execute(statement)]


def _within(column, division_code: str):
    return column.startswith(significant_prefix(division_code))


class VisitsService(checkpoint_witness(SEALING_SERVICES, own="visits")):
    name = "visits"

    db = ServiceDatabase(CATALOGUE, projections=visits_projections)
    relay = OutboxRelayRunner()
    checkpoints = CheckpointSealer()
    rules = VisitsRules()
    call = CallContext()
    log = LoggingContext()

    def _meta(self, actor) -> CommandMeta:
        return CommandMeta(load_or_refuse(ACTOR_SCHEMA, actor), **self.call)

    def _in_unit_of_work(self, work):
        def run():
            with self.db.unit_of_work() as uow:
                return work(uow)
        return retry_on_concurrency(run)

    # -- visitors -------------------------------------------------------------------------
    def _visitor_command(self, name: str, payload, actor) -> dict:
        schema, command_class = VISITOR_COMMANDS[name]
        values, meta = load_or_refuse(schema, payload), self._meta(actor)
        values["effective_date"] = values["effective_date"] or self.db.clock.today()
        if name == "register_visitor":
            values["visitor_id"] = values["visitor_id"] or new_stream_id()
            values["village_codes"] = tuple(values["village_codes"])
        command = command_class(**values)
        state = self._in_unit_of_work(lambda uow: run_visitor_command(uow, self.rules, command, meta))
        log.info("visitor command accepted", command=name, visitor_id=state.visitor_id, user=meta.actor.user)
        return visitor_view(state)

    @command_rpc
    def register_visitor(self, payload, actor):
        return self._visitor_command("register_visitor", payload, actor)

    @command_rpc
    def change_visitor_villages(self, payload, actor):
        return self._visitor_command("change_visitor_villages", payload, actor)

    @command_rpc
    def deactivate_visitor(self, payload, actor):
        return self._visitor_command("deactivate_visitor", payload, actor)

    @command_rpc
    def list_visitors(self, filters):
        query = load_or_refuse(DivisionQuerySchema(), filters)
        prefix = significant_prefix(query["division_code"])
        # village_codes is space-separated: a code in the division starts the text or follows a space.
        covers = or_(visitors.c.village_codes.startswith(prefix), visitors.c.village_codes.contains(" " + prefix))
        statement = (select(visitors).where(covers).order_by(visitors.c.visitor_id)
                     .limit(query["limit"]).offset(query["offset"]))
        with self.db.connect() as conn:
            rows = _rows(conn, statement)
        # Stored space-separated for the prefix match above; answered as register_visitor does.
        return [{**row, "village_codes": row["village_codes"].split()} for row in rows]

    # -- assignment and notice ------------------------------------------------------------
    @command_rpc
    def assign_visitor(self, payload, actor):
        """Make ``visitor_id`` the elder's responsible visitor and issue the written notice
        (HTML and PDF, fetched with ``get_notice``)."""
        values, meta = load_or_refuse(AssignVisitorSchema(), payload), self._meta(actor)
        on = values["effective_date"] or self.db.clock.today()
        issued = self._in_unit_of_work(
            lambda uow: assign_visitor(uow, self.rules, values["elder_id"], values["visitor_id"], on, meta))
        log.info("visitor assigned, notice issued", elder_id=values["elder_id"], visitor_id=values["visitor_id"],
                 notice_id=issued["notice_id"])
        return issued

    @command_rpc
    def get_notice(self, notice_id, format="html"):
        """``{"html": ...}`` or ``{"pdf_base64": ...}`` with the recorded SHA-256."""
        with self.db.connect() as conn:
            row = conn.execute(select(notices).where(notices.c.notice_id == notice_id)).first()
        if row is None:
            raise NotFoundError(f"no notice {notice_id!r}", field="notice_id")
        body = {"html": row.html} if format == "html" else {"pdf_base64": base64.b64encode(row.pdf).decode()}
        return {"notice_id": notice_id, "elder_id": row.elder_id, "visitor_id": row.visitor_id,
                "issued_on": row.issued_on, "sha256": row.sha256, **body}

    # -- visits ---------------------------------------------------------------------------
    @command_rpc
    def record_visit(self, payload, actor):
        """Record a visit (or, with ``supersedes`` and ``correction_reason``, correct one)."""
        values, meta = load_or_refuse(RecordVisitSchema(), payload), self._meta(actor)
        today = self.db.clock.today()
        visit_id, events = self._in_unit_of_work(lambda uow: record_visit(uow, self.rules, values, today, meta))
        kinds = [e.TYPE for e in events]
        log.info("visit recorded", elder_id=values["elder_id"], visit_id=visit_id, events=kinds)
        return {"visit_id": visit_id, "events": kinds}

    @command_rpc
    def get_plan(self, elder_id):
        plan = load_plan(self.db.store, elder_id, CATALOGUE)
        if not plan.is_open:
            raise NotFoundError(f"visits has no plan for elder {elder_id!r}", field="elder_id")
        return plan_view(plan)

    @command_rpc
    def list_plans(self, filters):
        """Plans in a division (current obligation, responsible visitor), by elder id."""
        query = load_or_refuse(DivisionQuerySchema(), filters)
        statement = (select(plans).where(_within(plans.c.division_code, query["division_code"]))
                     .order_by(plans.c.elder_id).limit(query["limit"]).offset(query["offset"]))
        with self.db.connect() as conn:
            return _rows(conn, statement)

    @command_rpc
    def elder_events(self, elder_id):
        """Every event of this service's log about the elder (its own stream and any event
        naming it), for the gateway's cross-agency timeline."""
        return events_about(self.db.engine, elder_id)

    @command_rpc
    def list_visits(self, elder_id):
        with self.db.connect() as conn:
            return _rows(conn, select(visit_records).where(visit_records.c.elder_id == elder_id)
                         .order_by(visit_records.c.visited_on, visit_records.c.position))

    @command_rpc
    def last_visits(self, filters):
        """Per elder of a division with a plan: the day of their latest visit and how many
        visits this month, for a village worker's list (who is due)."""
        query = load_or_refuse(DivisionQuerySchema(), filters)
        month_start = self.db.clock.today().replace(day=1).isoformat()
        this_month = func.sum(case((visit_records.c.visited_on >= month_start, 1), else_=0))
        statement = (select(visit_records.c.elder_id, func.max(visit_records.c.visited_on).label("last_visited_on"),
                            this_month.label("visits_this_month"))
                     .join(plans, plans.c.elder_id == visit_records.c.elder_id)
                     .where(_within(plans.c.division_code, query["division_code"]),
                            visit_records.c.superseded_by.is_(None))
                     .group_by(visit_records.c.elder_id).order_by(visit_records.c.elder_id)
                     .limit(query["limit"]).offset(query["offset"]))
        with self.db.connect() as conn:
            return [{**row, "visits_this_month": int(row["visits_this_month"] or 0)} for row in _rows(conn, statement)]

    @command_rpc
    def list_conflicts(self, filters):
        query = load_or_refuse(DivisionQuerySchema(), filters)
        statement = (select(visit_conflicts).join(plans, plans.c.elder_id == visit_conflicts.c.elder_id)
                     .where(_within(plans.c.division_code, query["division_code"]))
                     .order_by(visit_conflicts.c.visited_on).limit(query["limit"]))
        with self.db.connect() as conn:
            return _rows(conn, statement)

    @command_rpc
    def reassignments_needed(self, filters):
        query = load_or_refuse(DivisionQuerySchema(), filters)
        statement = (select(plans).where(plans.c.reassignment_needed.is_(True),
                                         _within(plans.c.division_code, query["division_code"]))
                     .order_by(plans.c.elder_id).limit(query["limit"]))
        with self.db.connect() as conn:
            return _rows(conn, statement)

    # -- registry facts -------------------------------------------------------------------
    @durable_event_handler(*VISITS.consumer("on_registry_event").arguments)
    def on_registry_event(self, event, uow):
        events = observe_registry_event(uow, self.rules, event, self.db.clock.today())
        if events:
            log.info("obligation recomputed", elder_id=event.subject, cause=event.type,
                     events=[e.TYPE for e in events])

    # -- periods --------------------------------------------------------------------------
    @configured_timer("VISITS.period_close_interval_seconds", 3600)
    def close_periods_on_timer(self):
        with self.db.exclusively("period-close") as mine:
            if mine:       # another replica holds it: that one does this tick's work
                self.close_periods()

    @command_rpc
    def close_periods(self):
        """Close every period due before today that is not closed yet; returns counts."""
        meta = CommandMeta(SYSTEM_ACTOR, **self.call)
        return sweep_periods(self.db.unit_of_work, self.db.connect, self.rules,
                             self.db.clock.today(), meta)

    @command_rpc
    def list_overdue(self, filters):
        """Open overdue periods (not resolved by a late record) in a division."""
        query = load_or_refuse(OverdueQuerySchema(), filters)
        conditions = [period_outcomes.c.outcome == "overdue",
                      _within(period_outcomes.c.division_code, query["division_code"])]
        if query["period"]:
            conditions.append(period_outcomes.c.period == query["period"])
        statement = (select(period_outcomes).where(and_(*conditions))
                     .order_by(period_outcomes.c.due_on, period_outcomes.c.elder_id).limit(query["limit"]))
        with self.db.connect() as conn:
            return _rows(conn, statement)

    @command_rpc
    def coverage(self, query):
        """Elders due, visited on time, visited late and overdue for a division and a closed
        period, by target class and by the next level down. With ``known_at``, replayed
        from the log as it was recorded by then."""
        query = load_or_refuse(CoverageQuerySchema(), query)
        refuse_future_known_at(query["known_at"], self.db.clock.now())
        prefix = significant_prefix(query["division_code"])
        child_length = CHILD_PREFIX_LENGTH[len(prefix)]
        if query["known_at"] is None:
            with self.db.connect() as conn:
                counts = coverage_report.live_counts(conn, query["period"], prefix, child_length)
        else:
            counts = coverage_report.replayed_counts(self.db.store, query["period"], prefix, child_length,
                                                     query["known_at"])
        return coverage_report.summarise(query["division_code"], query["period"], counts, self.rules,
                                         known_at=query["known_at"])

    @command_rpc
    def division_summary(self, filters):
        """For the dashboard: elders under obligation (by class), elders visited this month so
        far, open overdue periods, and the last closed month's coverage."""
        query = load_or_refuse(DivisionQuerySchema(), filters)
        today = self.db.clock.today()
        with self.db.connect() as conn:
            summary = coverage_report.division_summary(conn, query["division_code"], today)
        last_month = last_period_end_before(today)
        summary["last_closed_month"] = self.coverage({"division_code": query["division_code"],
                                                      "period": f"{last_month.year}-{last_month.month:02d}"})
        return summary

    @command_rpc
    def ping(self):
        return ping_answer(self.name, self.db)
