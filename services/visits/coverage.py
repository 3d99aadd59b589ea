"""Coverage of visit obligations for a division and a closed period.

Counts come as ``(child_division_prefix, target_class, outcome, n)``: from the per-village
``outcome_counts`` of the ``period_outcomes`` projection for the live answer, or replayed
from the log for "as it was known at" — one summary function serves both, so they cannot
drift apart.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from services.visits.adapters.tables import outcome_counts, plan_counts, visit_counts
from services.visits.domain import parse_period

PERIOD_EVENTS = ("visits.period_met.v1", "visits.visit_overdue.v1", "visits.overdue_resolved.v1")
OUTCOMES = ("met", "resolved", "overdue")


def live_counts(conn, period: str, prefix: str, child_length: int) -> list[tuple]:
    """From the per-village counts of closed periods, added up in the database."""
    child = func.substr(outcome_counts.c.division_code, 1, child_length)
    statement = (select(child, outcome_counts.c.target_class, outcome_counts.c.outcome, func.sum(outcome_counts.c.elders))
                 .where(outcome_counts.c.period == period, outcome_counts.c.division_code.startswith(prefix))
                 .group_by(child, outcome_counts.c.target_class, outcome_counts.c.outcome))
    return [tuple(row) for row in conn.execute(statement) if row[3]]


def replayed_counts(store, period: str, prefix: str, child_length: int, known_at: datetime) -> list[tuple]:
    """Fold the period events recorded by ``known_at`` (a scan of the log: an audit query)."""
    outcomes: dict[str, tuple[str, str, str]] = {}
    for envelope in store.iter_all():
        if envelope.recorded_time > known_at:
            break                      # the log is in recording order
        if envelope.type not in PERIOD_EVENTS or envelope.data["period"] != period:
            continue
        data = envelope.data
        if not data["division_code"].startswith(prefix):
            continue
        outcome = {"visits.period_met.v1": "met", "visits.visit_overdue.v1": "overdue"}.get(envelope.type, "resolved")
        outcomes[data["elder_id"]] = (data["division_code"][:child_length], data["target_class"], outcome)
    counts: dict[tuple, int] = {}
    for key in outcomes.values():
        counts[key] = counts.get(key, 0) + 1
    return [(*key, n) for key, n in counts.items()]


def _block(tally: dict[str, int]) -> dict:
    due = sum(tally.values())
    visited = tally.get("met", 0) + tally.get("resolved", 0)
    return {"due": due, "visited_on_time": tally.get("met", 0), "visited_late": tally.get("resolved", 0),
            "overdue": tally.get("overdue", 0),
            "coverage_rate": round(visited / due, 4) if due else None,
            "on_time_rate": round(tally.get("met", 0) / due, 4) if due else None}


def summarise(division_code: str, period: str, counts, ctx, known_at=None) -> dict:
    total: dict[str, int] = {}
    by_class: dict[str, dict[str, int]] = {}
    by_child: dict[str, dict[str, int]] = {}
    for child, target_class, outcome, n in counts:
        for tally in (total, by_class.setdefault(target_class, {}), by_child.setdefault(child, {})):
            tally[outcome] = tally.get(outcome, 0) + n
    children = []
    for prefix in sorted(by_child):
        code = prefix.ljust(12, "0")
        division = ctx.divisions.get(code)
        children.append({"division_code": code, "name": division.name if division else None,
                         **_block(by_child[prefix])})
    place = ctx.divisions.get(division_code)
    # Goals of the place itself (a county inherits its city's); a province-wide report shows its own.
    goals = ctx.policies.resolve(division_code, parse_period(period).end).coverage_goals
    return {"division_code": division_code, "name": place.name if place else None, "period": period,
            "known_at": known_at.isoformat() if known_at else None, **_block(total),
            "by_class": {c: {**_block(t), "goal": goals.get(c)} for c, t in sorted(by_class.items())},
            "by_division": children}


def division_summary(conn, division_code: str, today) -> dict:
    """Elders under obligation (by class), elders among them visited this month, open overdue
    periods: added up from the per-village counts the projections keep."""
    from kernel.divisions import significant_prefix
    prefix = significant_prefix(division_code)
    by_class, under_obligation = {}, 0
    for classes, count in conn.execute(select(plan_counts.c.classes, func.sum(plan_counts.c.elders))
                                       .where(plan_counts.c.division_code.startswith(prefix), plan_counts.c.classes != "")
                                       .group_by(plan_counts.c.classes)):
        under_obligation += count
        for target_class in classes.split():
            by_class[target_class] = by_class.get(target_class, 0) + count
    month = today.strftime("%Y-%m")
    visited = conn.execute(select(func.sum(visit_counts.c.elders)).where(
        visit_counts.c.division_code.startswith(prefix), visit_counts.c.month == month)).scalar()
    overdue = conn.execute(select(func.sum(outcome_counts.c.elders)).where(
        outcome_counts.c.division_code.startswith(prefix), outcome_counts.c.outcome == "overdue")).scalar()
    return {"division_code": division_code, "under_obligation": int(under_obligation),
            "by_class": {c: int(n) for c, n in by_class.items() if n},
            "visited_this_month": int(visited or 0), "open_overdue": int(overdue or 0), "month": month}
