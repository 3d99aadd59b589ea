"""Read models of the visits log, kept in the append's transaction and rebuildable.

``VisitPlanDirectory`` folds each touched elder's stream (so a backdated obligation change
lands in date order); the other tables take each event as it comes (records, closed
periods, conflicts, visitors never change once written, except ``superseded_by``).
Each also keeps the dashboard's per-village counts of what it writes, moved by the
difference between an elder's row before and after.
"""
from __future__ import annotations

import json
from collections import Counter

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from kernel.catalogue import EventCatalogue
from kernel.schema import events as events_table
from kernel.store import EVENT_COLUMNS, envelope_from_row
from services.visits.adapters.event_mapping import event_from_envelope
from services.visits.adapters.tables import (outcome_counts, period_outcomes, plan_counts, plan_visit_months, plans,
                                             visit_conflicts, visit_counts, visit_records, visitors)
from services.visits.domain import PLAN_EVENTS, VISITOR_EVENTS, fold

OUTCOME_OF = {"visits.period_met.v1": "met", "visits.visit_overdue.v1": "overdue",
              "visits.overdue_resolved.v1": "resolved"}
OUTCOME_KEY = ("division_code", "period", "target_class", "outcome")


# Events that change a plan's row (or its counted visit months) beyond its version; the rest
# only bump the version.
SHAPING = frozenset({"visits.plan_opened.v1", "visits.obligation_changed.v1", "visits.elder_relocated.v1",
                     "visits.visitor_assigned.v1", "visits.reassignment_needed.v1", "visits.visit_recorded.v1"})


def add_counts(conn: Connection, table, keys: tuple[str, ...], changes: Counter) -> None:
    """Add ``changes`` (key values → elders) to the count rows (made on first use). Every
    writer of a projection holds the log's append lock, so update-then-insert cannot race.
    A row back at zero is deleted, so the rows do not depend on how events were batched: a
    replay nets +1 and -1 in one batch and never makes the row."""
    for key, change in changes.items():
        if not change:
            continue
        where = [table.c[name] == value for name, value in zip(keys, key)]
        if conn.execute(update(table).where(*where).values(elders=table.c.elders + change)).rowcount == 0:
            conn.execute(insert(table), {**dict(zip(keys, key)), "elders": change})
        elif change < 0:
            conn.execute(delete(table).where(*where, table.c.elders == 0))


class VisitPlanDirectory:
    name = "visit_plans"
    handles = frozenset(cls.TYPE for cls in PLAN_EVENTS)

    def __init__(self, catalogue: EventCatalogue):
        self.catalogue = catalogue

    def tables(self):
        return [plans, plan_counts, plan_visit_months, visit_counts]

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
        if not reshaped:
            return
        ids = sorted(reshaped)
        before = {row.elder_id: row for row in conn.execute(self._current, {"ids": ids})}
        months_before: dict[str, set[str]] = {}
        for elder_id, month in conn.execute(self._months, {"ids": ids}):
            months_before.setdefault(elder_id, set()).add(month)
        plans_counted, visits_counted = Counter(), Counter()
        for elder_id in ids:
            sequence = last_sequence[elder_id]
            rows = conn.execute(self._stream_upto, {"stream_id": elder_id, "sequence": sequence})
            plan = fold(elder_id, [event_from_envelope(envelope_from_row(r, conn), self.catalogue) for r in rows])
            old = before.get(elder_id)
            flag = needs_reassignment.get(elder_id, bool(old.reassignment_needed) if old is not None else False)
            classes = " ".join(sorted(plan.classes))
            conn.execute(delete(plans).where(plans.c.elder_id == elder_id))
            conn.execute(insert(plans), {
                "elder_id": elder_id, "name": plan.name, "division_code": plan.division_code,
                "classes": classes, "visitor_id": plan.visitor_id,
                "reassignment_needed": flag, "tracking_from": plan.tracking_from.isoformat(),
                "version": plan.version})
            months = {v.visited_on.strftime("%Y-%m") for v in plan.visits.values()}
            old_months = months_before.get(elder_id, set())
            if months != old_months:
                conn.execute(delete(plan_visit_months).where(plan_visit_months.c.elder_id == elder_id))
                if months:
                    conn.execute(insert(plan_visit_months), [{"elder_id": elder_id, "month": m} for m in sorted(months)])
            plans_counted[(plan.division_code, classes)] += 1
            for month in months if classes else ():
                visits_counted[(plan.division_code, month)] += 1
            if old is not None:
                plans_counted[(old.division_code, old.classes)] -= 1
                for month in old_months if old.classes else ():
                    visits_counted[(old.division_code, month)] -= 1
        add_counts(conn, plan_counts, ("division_code", "classes"), plans_counted)
        add_counts(conn, visit_counts, ("division_code", "month"), visits_counted)

    _current = select(plans.c.elder_id, plans.c.division_code, plans.c.classes, plans.c.reassignment_needed).where(
        plans.c.elder_id.in_(bindparam("ids", expanding=True)))
    _months = select(plan_visit_months.c.elder_id, plan_visit_months.c.month).where(
        plan_visit_months.c.elder_id.in_(bindparam("ids", expanding=True)))
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
        return [visitors, visit_records, period_outcomes, visit_conflicts, outcome_counts]

    def apply_many(self, conn: Connection, envelopes) -> None:
        """Closed periods (the bulk of a sweep) in one INSERT; everything else in order."""
        closed = [self._outcome_row(e) for e in envelopes if e.type in ("visits.period_met.v1", "visits.visit_overdue.v1")]
        if closed:
            conn.execute(insert(period_outcomes), closed)
            add_counts(conn, outcome_counts, OUTCOME_KEY, Counter(tuple(row[k] for k in OUTCOME_KEY) for row in closed))
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
            key = (period_outcomes.c.elder_id == data["elder_id"], period_outcomes.c.period == data["period"])
            closed = conn.execute(select(period_outcomes.c.division_code, period_outcomes.c.period,
                                         period_outcomes.c.target_class, period_outcomes.c.outcome).where(*key)).first()
            conn.execute(update(period_outcomes).where(*key).values(outcome="resolved"))
            if closed is not None and closed.outcome != "resolved":
                add_counts(conn, outcome_counts, OUTCOME_KEY, Counter({tuple(closed): -1, (*tuple(closed)[:3], "resolved"): 1}))
            return
        row = self._outcome_row(envelope)
        conn.execute(insert(period_outcomes), row)
        add_counts(conn, outcome_counts, OUTCOME_KEY, Counter({tuple(row[k] for k in OUTCOME_KEY): 1}))

    @staticmethod
    def _outcome_row(envelope) -> dict:
        data = envelope.data
        return {"elder_id": data["elder_id"], "period": data["period"], "period_start": data["period_start"],
                "due_on": data["effective_date"], "target_class": data["target_class"],
                "required_visits": data["required_visits"], "visits": data["visits"],
                "outcome": OUTCOME_OF[envelope.type], "days_late": data.get("days_late"),
                "division_code": data["division_code"], "visitor_id": data["visitor_id"]}
