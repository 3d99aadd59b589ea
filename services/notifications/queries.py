"""Aggregate reads for the joint-meeting dashboard: counts per division, from the alert
board's per-village counts (whatever the number of alerts) and, for the ages of recent
alerts, a range of ``ix_alerts_raised``."""
from __future__ import annotations

from datetime import datetime, timedelta

from marshmallow import Schema
from sqlalchemy import case, func, select

from contracts.fields import DivisionCode
from contracts.notifications import UtcDateTime
from kernel.divisions import significant_prefix
from kernel.envelope import format_time
from services.notifications.adapters.tables import alert_counts, alert_department_counts, alerts, referrals
from services.notifications.domain import CLOSED


class AlertSummarySchema(Schema):
    division_code = DivisionCode(required=True)
    # Ages are counted from this instant (the caller's now; the service's clock when absent).
    now = UtcDateTime(load_default=None, allow_none=True)


ALERT_SUMMARY_SCHEMA = AlertSummarySchema()


def alert_summary(conn, division_code: str, now: datetime) -> dict:
    prefix = significant_prefix(division_code)
    not_closed = conn.execute(select(func.sum(alert_counts.c.alerts)).where(
        alert_counts.c.division_code.startswith(prefix), alert_counts.c.status != CLOSED)).scalar() or 0
    departments = conn.execute(
        select(alert_department_counts.c.department, func.sum(alert_department_counts.c.alerts))
        .where(alert_department_counts.c.division_code.startswith(prefix))
        .group_by(alert_department_counts.c.department).order_by(alert_department_counts.c.department)).all()
    day_ago, three_days_ago = format_time(now - timedelta(hours=24)), format_time(now - timedelta(hours=72))
    recent = select(func.count()).select_from(alerts).where(
        alerts.c.status != CLOSED, alerts.c.division_code.startswith(prefix))
    under_24 = conn.execute(recent.where(alerts.c.raised_at > day_ago)).scalar()
    under_72 = conn.execute(recent.where(alerts.c.raised_at > three_days_ago)).scalar()
    in_division = referrals.c.division_code.startswith(prefix)
    open_referrals, overdue_referrals = conn.execute(
        select(func.count(), func.sum(case((referrals.c.overdue, 1), else_=0)))
        .where(in_division, referrals.c.status != CLOSED)).one()
    return {"division_code": division_code, "open_alerts": int(not_closed),
            "by_age": {"under_24h": under_24, "24h_to_72h": under_72 - under_24,
                       "over_72h": int(not_closed) - under_72},
            "by_department": {department: int(n) for department, n in departments if n},
            "open_referrals": open_referrals, "overdue_referrals": int(overdue_referrals or 0)}
