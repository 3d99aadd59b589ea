"""Grant policy: what a facility is paid, per jurisdiction and date (DOMAIN.md §6).

Amounts differ between places and change over time, so they are data with effective
dates, loaded from ``policies/facilities.yml``. A jurisdiction is a prefix of the 12-digit
division code; a place without its own version inherits the nearest enclosing
jurisdiction's ("" is national). Within a jurisdiction the latest version in force wins.
A place no version covers pays nothing (no grant event), which is not an error: most
counties have no star-award programme.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, Iterable, Mapping, TypeVar

from kernel.errors import PolicyError

from .model import FacilityKind

# Division code prefix lengths, most specific first: village … province, national.
JURISDICTION_LEVELS = (12, 9, 6, 4, 2, 0)


@dataclass(frozen=True)
class OperatingSubsidyPolicy:
    """Yearly operating subsidy per facility in operation, by kind (kinds absent: none)."""

    jurisdiction: str
    effective_from: date
    annual_fen_by_kind: Mapping[FacilityKind, int]
    source: str


@dataclass(frozen=True)
class StarAwardPolicy:
    """One-time award for reaching a star level, by level (levels absent: none)."""

    jurisdiction: str
    effective_from: date
    fen_by_stars: Mapping[int, int]
    source: str


P = TypeVar("P", OperatingSubsidyPolicy, StarAwardPolicy)


class _VersionedTable(Generic[P]):
    def __init__(self, name: str, versions: Iterable[P]):
        self.name = name
        self._by_jurisdiction: dict[str, list[P]] = {}
        for version in versions:
            same = self._by_jurisdiction.setdefault(version.jurisdiction, [])
            if any(v.effective_from == version.effective_from for v in same):
                raise PolicyError(f"two {name} versions for jurisdiction {version.jurisdiction!r} take "
                                  f"effect on {version.effective_from}", field=f"{name}.effective_from")
            same.append(version)
            same.sort(key=lambda v: v.effective_from)

    def in_force(self, division_code: str, on: date) -> P | None:
        if not (isinstance(division_code, str) and len(division_code) == 12 and division_code.isdigit()):
            raise PolicyError(f"division code must be 12 digits, got {division_code!r}", field="division_code")
        for level in JURISDICTION_LEVELS:
            versions = [v for v in self._by_jurisdiction.get(division_code[:level], ()) if v.effective_from <= on]
            if versions:
                return versions[-1]
        return None


class GrantPolicyBook:
    """Every version of the operating-subsidy and star-award policies."""

    def __init__(self, operating_subsidies: Iterable[OperatingSubsidyPolicy] = (),
                 star_awards: Iterable[StarAwardPolicy] = ()):
        self._subsidies = _VersionedTable("operating_subsidies", operating_subsidies)
        self._awards = _VersionedTable("star_awards", star_awards)

    def operating_subsidy(self, division_code: str, on: date) -> OperatingSubsidyPolicy | None:
        return self._subsidies.in_force(division_code, on)

    def star_award(self, division_code: str, on: date) -> StarAwardPolicy | None:
        return self._awards.in_force(division_code, on)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "GrantPolicyBook":
        """Plain data → policy book; bad data raises ``PolicyError`` naming the entry and
        field, e.g. ``star_awards[0].fen_by_stars``."""
        if not isinstance(data, Mapping):
            raise PolicyError("facility policy data must be a mapping", field="_schema")
        unknown = sorted(set(data) - {"operating_subsidies", "star_awards"})
        if unknown:
            raise PolicyError(f"unknown section {unknown[0]!r}", field=unknown[0])
        return cls(
            [_parse(entry, f"operating_subsidies[{i}]", _operating_subsidy)
             for i, entry in enumerate(_list(data, "operating_subsidies"))],
            [_parse(entry, f"star_awards[{i}]", _star_award) for i, entry in enumerate(_list(data, "star_awards"))])


def _list(data: Mapping, section: str) -> list:
    entries = data.get(section) or []
    if not isinstance(entries, list):
        raise PolicyError(f"{section} must be a list", field=section)
    return entries


class _Problem(Exception):
    def __init__(self, field_name: str, problem: str):
        super().__init__(problem)
        self.field_name, self.problem = field_name, problem


def _parse(entry: Any, where: str, build):
    if not isinstance(entry, Mapping):
        raise PolicyError(f"{where}: must be a mapping", field=where)
    try:
        return build(entry)
    except _Problem as problem:
        raise PolicyError(f"{where}.{problem.field_name}: {problem.problem}",
                          field=f"{where}.{problem.field_name}") from None


def _check_fields(entry: Mapping, amounts: str) -> None:
    expected = ("jurisdiction", "effective_from", amounts, "source")
    for name in sorted(set(entry) - set(expected)):
        raise _Problem(name, "unknown field")
    for name in expected:
        if name not in entry:
            raise _Problem(name, "missing")


def _operating_subsidy(entry: Mapping) -> OperatingSubsidyPolicy:
    _check_fields(entry, "annual_fen_by_kind")
    amounts = _amounts(entry["annual_fen_by_kind"], "annual_fen_by_kind", _kind)
    return OperatingSubsidyPolicy(_jurisdiction(entry["jurisdiction"]), _date(entry["effective_from"]),
                                  amounts, _source(entry["source"]))


def _star_award(entry: Mapping) -> StarAwardPolicy:
    _check_fields(entry, "fen_by_stars")
    amounts = _amounts(entry["fen_by_stars"], "fen_by_stars", _stars)
    return StarAwardPolicy(_jurisdiction(entry["jurisdiction"]), _date(entry["effective_from"]),
                           amounts, _source(entry["source"]))


def _amounts(value: Any, name: str, key) -> dict:
    if not isinstance(value, Mapping) or not value:
        raise _Problem(name, "must map each key to an amount in fen")
    amounts = {}
    for raw_key, amount in value.items():
        # Integer fen only: a float would be a yuan amount typed in the wrong unit.
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise _Problem(name, f"{raw_key}: amount must be a whole number of fen, got {amount!r}")
        amounts[key(raw_key, name)] = amount
    return amounts


def _kind(value: Any, name: str) -> FacilityKind:
    try:
        return FacilityKind(value)
    except ValueError:
        raise _Problem(name, f"{value!r} is not a facility kind") from None


def _stars(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise _Problem(name, f"{value!r} is not a star level 1–5")
    return value


def _jurisdiction(value: Any) -> str:
    if not (isinstance(value, str) and (value == "" or value.isdigit()) and len(value) in JURISDICTION_LEVELS):
        raise _Problem("jurisdiction", f"must be a division code prefix of 0, 2, 4, 6, 9 or 12 digits, got {value!r}")
    return value


def _date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise _Problem("effective_from", f"must be an ISO date (YYYY-MM-DD), got {value!r}") from None


def _source(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Problem("source", "must name the policy document")
    return value
