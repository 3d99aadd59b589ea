"""Coverage of visit obligations for a division and a closed period.

Counts come as ``(child_division_prefix, target_class, outcome, n)``: from the
``period_outcomes`` projection for the live answer, or replayed from the log for "as it
was known at" — one summary function serves both, so they cannot drift apart.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from services.visits.adapters.tables import period_outcomes
from services.visits.domain import parse_period

PERIOD_EVENTS = ("visits.period_met.v1", "visits.visit_overdue.v1", "visits.overdue_resolved.v1")
OUTCOMES = ("met", "resolved", "overdue")


def live_counts(conn, period: str, prefix: str, child_length: int) -> list[tuple]:
    """From the ``period_outcomes`` projection, grouped in the database."""
    child = func.substr(period_outcomes.c.division_code, 1, child_length)
    statement = (select(child, period_outcomes.c.target_class, period_outcomes.c.outcome, func.count())
                 .where(period_outcomes.c.period == period, period_outcomes.c.division_code.startswith(prefix))
                 .group_by(child, period_outcomes.c.target_class, period_outcomes.c.outcome))
    return [tuple(row) for row in conn.execute(statement)]


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
    from sqlalchemy import and_, distinct

    from kernel.divisions import significant_prefix
    from services.visits.adapters.tables import plans, visit_records
    prefix = significant_prefix(division_code)
    in_division = plans.c.division_code.startswith(prefix)
    by_class = {}
    for classes, count in conn.execute(select(plans.c.classes, func.count()).where(in_division, plans.c.classes != "")
                                       .group_by(plans.c.classes)):
        for target_class in classes.split():
            by_class[target_class] = by_class.get(target_class, 0) + count
    under_obligation = conn.execute(select(func.count()).select_from(plans)
                                    .where(in_division, plans.c.classes != "")).scalar()
    visited = conn.execute(select(func.count(distinct(visit_records.c.elder_id)))
                           .select_from(visit_records.join(plans, plans.c.elder_id == visit_records.c.elder_id))
                           .where(in_division, plans.c.classes != "", visit_records.c.superseded_by.is_(None),
                                  visit_records.c.visited_on >= today.replace(day=1).isoformat())).scalar()
    overdue = conn.execute(select(func.count()).select_from(period_outcomes).where(and_(
        period_outcomes.c.outcome == "overdue", period_outcomes.c.division_code.startswith(prefix)))).scalar()
    return {"division_code": division_code, "under_obligation": under_obligation, "by_class": by_class,
            "visited_this_month": visited, "open_overdue": overdue, "month": today.strftime("%Y-%m")}
