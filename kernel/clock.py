"""Clocks: every handler takes one, so tests and replays control time."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

# Policy dates (a visit due date, a subsidy month) are local dates in China Standard Time.
DEFAULT_LOCAL_TIMEZONE = ZoneInfo("Asia/Shanghai")

# The span of local dates the system takes as input (effective dates, visit days, months,
# birth dates). Outside it a date is a typing error; near datetime's own limits it would not
# even convert (0001-01-01 begins in Asia/Shanghai at a UTC instant in year 0).
EARLIEST_ACCEPTED_DATE = date(1900, 1, 1)
LATEST_ACCEPTED_DATE = date(2199, 12, 31)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class SystemClock:
    """Wall-clock time; ``today()`` is the local policy date."""

    local_timezone: tzinfo = DEFAULT_LOCAL_TIMEZONE

    def now(self) -> datetime:
        return utc_now()

    def today(self) -> date:
        return self.now().astimezone(self.local_timezone).date()


@dataclass
class FixedClock(SystemClock):
    """A clock that stands still until moved; for tests and deterministic demos."""

    current: datetime = field(default_factory=utc_now)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta) -> None:
        self.current = self.current + timedelta(**delta)

    def set_today(self, day: date) -> None:
        local_noon = datetime.combine(day, time(12), self.local_timezone)
        self.current = local_noon.astimezone(timezone.utc)


def start_of_local_day(day: date, local_timezone: tzinfo = DEFAULT_LOCAL_TIMEZONE) -> datetime:
    """The UTC instant at which local ``day`` begins: how an effective date becomes an event time."""
    return datetime.combine(day, time(0), local_timezone).astimezone(timezone.utc)


def local_date_of(instant: datetime, local_timezone: tzinfo = DEFAULT_LOCAL_TIMEZONE) -> date:
    return instant.astimezone(local_timezone).date()


@dataclass
class ShiftedClock(SystemClock):
    """Real time moved by an offset so that "today" is a chosen local date, while time still
    flows (events keep distinct, ordered recorded times). For tests and reproducible demos."""

    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        return utc_now() + self.offset

    def set_today(self, day: date) -> None:
        local_noon = datetime.combine(day, time(12), self.local_timezone).astimezone(timezone.utc)
        self.offset = local_noon - utc_now()
