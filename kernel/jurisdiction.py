"""Policy versions by jurisdiction and effective date — the lookup every service's policy
data shares.

A jurisdiction is a prefix of the 12-digit division code ("" national, 2 province,
4 city, 6 county, 9 township, 12 village). Each jurisdiction has versions, each in force
from its ``effective_from`` until a later version of the same jurisdiction replaces it.
A place without its own version inherits the nearest enclosing jurisdiction's.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Generic, Iterable, Protocol, TypeVar

from kernel.divisions import is_ascii_digits, is_division_code
from kernel.errors import PolicyError

# Most specific first: village, township, county, city, province, national.
JURISDICTION_LEVELS = (12, 9, 6, 4, 2, 0)


class Versioned(Protocol):
    jurisdiction: str
    effective_from: date


V = TypeVar("V", bound=Versioned)


class JurisdictionVersions(Generic[V]):
    """All versions of one kind of policy, for every jurisdiction."""

    def __init__(self, versions: Iterable[V], *, kind: str = "policy"):
        self.kind = kind
        self._by_jurisdiction: dict[str, list[V]] = {}
        for version in versions:
            existing = self._by_jurisdiction.setdefault(version.jurisdiction, [])
            if any(v.effective_from == version.effective_from for v in existing):
                raise PolicyError(f"two {kind} versions for jurisdiction {version.jurisdiction!r} take effect on "
                                  f"{version.effective_from}", field="effective_from")
            existing.append(version)
            existing.sort(key=lambda v: v.effective_from)

    @property
    def versions(self) -> tuple[V, ...]:
        return tuple(v for versions in self._by_jurisdiction.values() for v in versions)

    def in_force(self, division_code: str, on: date) -> V:
        """The most specific jurisdiction's latest version in force on ``on``."""
        for version in self.chain(division_code, on):
            return version
        raise PolicyError(f"no {self.kind} covers division {division_code} on {on}", field="division_code")

    def chain(self, division_code: str, on: date) -> list[V]:
        """The version in force on ``on`` at each enclosing level, most specific first — for
        policies whose versions refine their parent's field by field."""
        check_division_code(division_code)
        chain = []
        for level in JURISDICTION_LEVELS:
            in_force = [v for v in self._by_jurisdiction.get(division_code[:level], ()) if v.effective_from <= on]
            if in_force:
                chain.append(in_force[-1])
        return chain

    def covering(self, division_code: str) -> tuple[V, ...]:
        """Every version of every enclosing jurisdiction: the dates the rule may change."""
        check_division_code(division_code)
        return tuple(v for level in JURISDICTION_LEVELS for v in self._by_jurisdiction.get(division_code[:level], ()))


def check_division_code(division_code: str) -> None:
    if not is_division_code(division_code):
        raise PolicyError(f"division code must be 12 digits, got {division_code!r}", field="division_code")


def parse_jurisdiction(value: Any) -> str:
    """Raises ValueError with the problem; callers name the entry."""
    if not ((value == "" or is_ascii_digits(value)) and len(value) in JURISDICTION_LEVELS):
        raise ValueError(f"must be a division code prefix of 0, 2, 4, 6, 9 or 12 digits, got {value!r}")
    return value


def parse_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"must be an ISO date (YYYY-MM-DD), got {value!r}") from None


def parse_positive_int(value: Any) -> int:
    # bool is an int in Python; "true" visits would be a data-entry slip, not a number.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"must be a positive whole number, got {value!r}")
    return value
