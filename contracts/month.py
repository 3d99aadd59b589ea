"""A subsidy month: a local calendar month, written ``YYYY-MM`` on the wire."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from kernel.clock import EARLIEST_ACCEPTED_DATE, LATEST_ACCEPTED_DATE

_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        found = _MONTH.match(text or "") if isinstance(text, str) else None
        if not found:
            raise ValueError(f"must be a month YYYY-MM, got {text!r}")
        month = cls(int(found.group(1)), int(found.group(2)))
        if not cls.of(EARLIEST_ACCEPTED_DATE) <= month <= cls.of(LATEST_ACCEPTED_DATE):
            raise ValueError(f"must be a month from {cls.of(EARLIEST_ACCEPTED_DATE)} to "
                             f"{cls.of(LATEST_ACCEPTED_DATE)}, got {text!r}")
        return month

    @classmethod
    def of(cls, day: date) -> "Month":
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> "Month":
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def __str__(self) -> str:
        return self.label
