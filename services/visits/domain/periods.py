"""Calendar periods that visit obligations are counted in: months and quarters (local dates)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from kernel.clock import EARLIEST_ACCEPTED_DATE, LATEST_ACCEPTED_DATE

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


_PERIOD_LABEL = re.compile(r"^([0-9]{4})-(?:(0[1-9]|1[0-2])|[Qq]([1-4]))$")


def parse_period(label: str) -> Period:
    """``2026-10`` (a month) or ``2026-Q4`` (a quarter) within the accepted span of dates;
    raises ValueError otherwise. ASCII digits only: ``int()`` alone would take " 2026",
    "+2026", "2_026" and other scripts' digits."""
    found = _PERIOD_LABEL.match(label) if isinstance(label, str) else None
    if found is None or not EARLIEST_ACCEPTED_DATE.year <= int(found.group(1)) <= LATEST_ACCEPTED_DATE.year:
        raise ValueError(f"must be a month like 2026-10 or a quarter like 2026-Q4 from "
                         f"{EARLIEST_ACCEPTED_DATE.year} to {LATEST_ACCEPTED_DATE.year}, got {label!r}")
    year, month, quarter = found.groups()
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
