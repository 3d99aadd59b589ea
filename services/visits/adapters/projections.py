"""Read models of the visits log, kept in the append's transaction and rebuildable.

``VisitPlanDirectory`` folds each touched elder's stream (so a backdated obligation change
lands in date order); the other tables take each event as it comes (records, closed
periods, conflicts, visitors never change once written, except ``superseded_by``).
"""
from __future__ import annotations

import json

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from kernel.catalogue import EventCatalogue
from kernel.schema import events as events_table
from kernel.store import EVENT_COLUMNS, envelope_from_row
from services.visits.adapters.event_mapping import event_from_envelope
from services.visits.adapters.tables import period_outcomes, plans, visit_conflicts, visit_records, visitors
from services.visits.domain import PLAN_EVENTS, VISITOR_EVENTS, fold

OUTCOME_OF = {"visits.period_met.v1": "met", "visits.visit_overdue.v1": "overdue",
              "visits.overdue_resolved.v1": "resolved"}


# Events that change a plan's row beyond its version; the rest only bump the version.
SHAPING = frozenset({"visits.plan_opened.v1", "visits.obligation_changed.v1", "visits.elder_relocated.v1",
                     "visits.visitor_assigned.v1", "visits.reassignment_needed.v1"})


class VisitPlanDirectory:
    name = "visit_plans"
    handles = frozenset(cls.TYPE for cls in PLAN_EVENTS)

    def __init__(self, catalogue: EventCatalogue):
        self.catalogue = catalogue

    def tables(self):
        return [plans]

    def apply(self, conn: Connection, envelope) -> None:
        self.apply_many(conn, [envelope])

    def apply_many(self, conn: Connection, envelopes) -> None:
        last_sequence: dict[str, int] = {}
        needs_reassignment: dict[str, bool] = {}
        reshaped: set[str] = set()
        for envelope in envelopes:
            last_sequence[envelope.subject] = envelope.sequence
            if envelope.type in SHAPING:
                reshaped.add(envelope.subject)
            if envelope.type == "visits.reassignment_needed.v1":
                needs_reassignment[envelope.subject] = True
            elif envelope.type == "visits.visitor_assigned.v1":
                needs_reassignment[envelope.subject] = False
        bumped = [{"elder": e, "version": v} for e, v in last_sequence.items() if e not in reshaped]
        if bumped:
            conn.execute(self._bump_version, bumped)
        for elder_id in reshaped:
            sequence = last_sequence[elder_id]
            rows = conn.execute(self._stream_upto, {"stream_id": elder_id, "sequence": sequence})
            plan = fold(elder_id, [event_from_envelope(envelope_from_row(r), self.catalogue) for r in rows])
            flag = needs_reassignment.get(elder_id)
            if flag is None:
                flag = bool(conn.execute(select(plans.c.reassignment_needed).where(plans.c.elder_id == elder_id))
                            .scalar())
            conn.execute(delete(plans).where(plans.c.elder_id == elder_id))
            conn.execute(insert(plans), {
                "elder_id": elder_id, "name": plan.name, "division_code": plan.division_code,
                "classes": " ".join(sorted(plan.classes)), "visitor_id": plan.visitor_id,
                "reassignment_needed": flag, "tracking_from": plan.tracking_from.isoformat(),
                "version": plan.version})

    _bump_version = update(plans).where(plans.c.elder_id == bindparam("elder")).values(version=bindparam("version"))
    _stream_upto = (select(*EVENT_COLUMNS)
                    .where(events_table.c.stream_id == bindparam("stream_id"),
                           events_table.c.sequence <= bindparam("sequence"))
                    .order_by(events_table.c.sequence))


class VisitLedger:
    """Visitors, visit records, closed periods and flagged conflicts, one event at a time."""

    name = "visit_ledger"
    handles = frozenset({cls.TYPE for cls in VISITOR_EVENTS} | set(OUTCOME_OF) | {
        "visits.visit_recorded.v1", "visits.visit_conflict_flagged.v1"})

    def tables(self):
        return [visitors, visit_records, period_outcomes, visit_conflicts]

    def apply_many(self, conn: Connection, envelopes) -> None:
        """Closed periods (the bulk of a sweep) in one INSERT; everything else in order."""
        closed = [e for e in envelopes if e.type in ("visits.period_met.v1", "visits.visit_overdue.v1")]
        if closed:
            conn.execute(insert(period_outcomes), [self._outcome_row(e) for e in closed])
        for envelope in envelopes:
            if envelope.type not in ("visits.period_met.v1", "visits.visit_overdue.v1"):
                self.apply(conn, envelope)

    def apply(self, conn: Connection, envelope) -> None:
        data, kind = envelope.data, envelope.type
        if kind == "visits.visitor_registered.v1":
            conn.execute(insert(visitors), {
                "visitor_id": data["visitor_id"], "name": data["name"], "phone": data["phone"], "role": data["role"],
                "organisation": data["organisation"], "village_codes": " ".join(data["village_codes"]),
                "active": True, "version": envelope.sequence})
        elif kind == "visits.visitor_villages_changed.v1":
            conn.execute(update(visitors).where(visitors.c.visitor_id == data["visitor_id"]).values(
                village_codes=" ".join(data["village_codes"]), version=envelope.sequence))
        elif kind == "visits.visitor_deactivated.v1":
            conn.execute(update(visitors).where(visitors.c.visitor_id == data["visitor_id"]).values(
                active=False, version=envelope.sequence))
        elif kind == "visits.visit_recorded.v1":
            self._record(conn, envelope)
        elif kind == "visits.visit_conflict_flagged.v1":
            conn.execute(insert(visit_conflicts), {
                "elder_id": data["elder_id"], "visit_ids": " ".join(data["visit_ids"]),
                "visited_on": data["effective_date"], "differences": json.dumps(data["differences"], ensure_ascii=False)})
        else:
            self._period(conn, envelope)

    def _record(self, conn, envelope) -> None:
        data = envelope.data
        if data["supersedes"]:
            conn.execute(update(visit_records).where(visit_records.c.visit_id == data["supersedes"])
                         .values(superseded_by=data["visit_id"]))
        conn.execute(insert(visit_records), {
            "visit_id": data["visit_id"], "elder_id": data["elder_id"], "visitor_id": data["visitor_id"],
            "visited_on": data["effective_date"], "mode": data["mode"], "services": " ".join(data["services"]),
            "risks": " ".join(r["kind"] for r in data["risks"]), "superseded_by": None,
            "position": envelope.position})

    def _period(self, conn, envelope) -> None:
        data = envelope.data
        outcome = OUTCOME_OF[envelope.type]
        if outcome == "resolved":
            conn.execute(update(period_outcomes).where(
                period_outcomes.c.elder_id == data["elder_id"], period_outcomes.c.period == data["period"])
                .values(outcome="resolved"))
            return
        conn.execute(insert(period_outcomes), self._outcome_row(envelope))

    @staticmethod
    def _outcome_row(envelope) -> dict:
        data = envelope.data
        return {"elder_id": data["elder_id"], "period": data["period"], "period_start": data["period_start"],
                "due_on": data["effective_date"], "target_class": data["target_class"],
                "required_visits": data["required_visits"], "visits": data["visits"],
                "outcome": OUTCOME_OF[envelope.type], "days_late": data.get("days_late"),
                "division_code": data["division_code"], "visitor_id": data["visitor_id"]}
