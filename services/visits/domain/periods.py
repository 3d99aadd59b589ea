"""Calendar periods that visit obligations are counted in: months and quarters (local dates)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from contracts.fields import PERIOD_LABEL, period_label_problem

from .policy import PERIOD_MONTHS


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date          # the last day: the due date
    kind: str          # "month" | "quarter"

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def period_containing(kind: str, day: date) -> Period:
    months = PERIOD_MONTHS[kind]
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    next_year, next_month = (start.year + 1, 1) if first_month + months > 12 else (start.year, first_month + months)
    return Period(start, date(next_year, next_month, 1) - timedelta(days=1), kind)


def parse_period(label: str) -> Period:
    """``2026-10`` (a month) or ``2026-Q4`` (a quarter) within the accepted span of dates;
    raises ValueError otherwise."""
    problem = period_label_problem(label)
    if problem:
        raise ValueError(problem)
    year, month, quarter = PERIOD_LABEL.match(label).groups()
    if quarter:
        return period_containing("quarter", date(int(year), int(quarter) * 3 - 2, 1))
    return period_containing("month", date(int(year), int(month), 1))


def periods_ending_between(after: date, until: date) -> list[Period]:
    """Every month and quarter whose last day is in ``(after, until]``, by due date."""
    found = []
    for kind in PERIOD_MONTHS:
        period = period_containing(kind, after + timedelta(days=1))
        while period.end <= until:
            if period.end > after:
                found.append(period)
            period = period_containing(kind, period.end + timedelta(days=1))
    return sorted(found, key=lambda p: (p.end, p.kind))


def last_period_end_before(day: date) -> date:
    """The due date of the latest month that ended before ``day`` (quarters end on month ends)."""
    return period_containing("month", day).start - timedelta(days=1)
