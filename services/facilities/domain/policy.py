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
from typing import Any, Iterable, Mapping

from kernel.errors import PolicyError
from kernel.jurisdiction import JurisdictionVersions, parse_date, parse_jurisdiction

from .model import FacilityKind


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


def _in_force(versions: JurisdictionVersions, division_code: str, on: date):
    """The version in force, or None where no jurisdiction enclosing the place has one."""
    return next(iter(versions.chain(division_code, on)), None)


class GrantPolicyBook:
    """Every version of the operating-subsidy and star-award policies."""

    def __init__(self, operating_subsidies: Iterable[OperatingSubsidyPolicy] = (),
                 star_awards: Iterable[StarAwardPolicy] = ()):
        self._subsidies = JurisdictionVersions(operating_subsidies, kind="operating subsidy policy")
        self._awards = JurisdictionVersions(star_awards, kind="star award policy")

    def operating_subsidy(self, division_code: str, on: date) -> OperatingSubsidyPolicy | None:
        return _in_force(self._subsidies, division_code, on)

    def star_award(self, division_code: str, on: date) -> StarAwardPolicy | None:
        return _in_force(self._awards, division_code, on)

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
    try:
        return parse_jurisdiction(value)
    except ValueError as problem:
        raise _Problem("jurisdiction", str(problem)) from None


def _date(value: Any) -> date:
    try:
        return parse_date(value)
    except ValueError as problem:
        raise _Problem("effective_from", str(problem)) from None


def _source(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Problem("source", "must name the policy document")
    return value
