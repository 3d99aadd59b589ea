"""Visit frequency policy: how often each target class must be visited, per jurisdiction
and date (DOMAIN.md §3: Puyang monthly and more often for key targets; Inner Mongolia
quarterly; Jincheng special-hardship elders monthly with a 100% goal).

A version lists requirements for some target classes only; a class it does not mention
is inherited from the enclosing jurisdiction's version in force the same day, so Jincheng
can add its special-hardship rule and keep the national rule for everyone else.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable, Mapping

from kernel.errors import PolicyError
from kernel.jurisdiction import JurisdictionVersions, parse_date, parse_jurisdiction, parse_positive_int

TARGET_CLASSES = ("general", "key_target", "special_hardship")
PERIOD_MONTHS = {"month": 1, "quarter": 3}
# When two classes ask for the same rate, the more specific class names the obligation.
CLASS_PRECEDENCE = {"special_hardship": 0, "key_target": 1, "general": 2}
DEFAULT_FIRST_PERIOD_MIN_DAYS = 15


@dataclass(frozen=True)
class Requirement:
    period: str       # "month" | "quarter"
    visits: int       # at least this many visits in each period

    @property
    def visits_per_month(self) -> float:
        return self.visits / PERIOD_MONTHS[self.period]


@dataclass(frozen=True)
class VisitPolicy:
    jurisdiction: str
    effective_from: date
    requirements: Mapping[str, Requirement]
    source: str
    # A period in which the obligation started is owed only if at least this many of its
    # days were under obligation (an elder found left-behind on the 28th owes from next month).
    first_period_min_days: int | None = None
    coverage_goals: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ResolvedPolicy:
    """The rule for one place on one day, after inheritance."""

    requirements: Mapping[str, Requirement]
    first_period_min_days: int
    coverage_goals: Mapping[str, float]
    sources: tuple[str, ...]

    def obligation_for(self, classes: Iterable[str]) -> tuple[str, Requirement] | None:
        """The most demanding requirement among the classes the elder is in."""
        defined = [(c, self.requirements[c]) for c in classes if c in self.requirements]
        if not defined:
            return None
        return min(defined, key=lambda item: (-item[1].visits_per_month, CLASS_PRECEDENCE[item[0]]))


class VisitPolicyBook:
    def __init__(self, policies: Iterable[VisitPolicy]):
        self._versions = JurisdictionVersions(policies, kind="visit policy")

    @property
    def policies(self) -> tuple[VisitPolicy, ...]:
        return self._versions.versions

    def resolve(self, division_code: str, on: date) -> ResolvedPolicy:
        chain = self._versions.chain(division_code, on)
        if not chain:
            raise PolicyError(f"no visit policy covers division {division_code} on {on}", field="division_code")
        requirements: dict[str, Requirement] = {}
        goals: dict[str, float] = {}
        min_days = None
        for version in reversed(chain):          # national first, the most specific last wins
            requirements.update(version.requirements)
            goals.update(version.coverage_goals)
            min_days = version.first_period_min_days or min_days
        return ResolvedPolicy(requirements, min_days or DEFAULT_FIRST_PERIOD_MIN_DAYS, goals,
                              tuple(v.source for v in chain))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "VisitPolicyBook":
        """``{"visit_policies": [...]}``; bad data raises ``PolicyError`` naming the entry
        and field, e.g. ``visit_policies[2].requirements.key_target.visits``."""
        if not isinstance(data, Mapping) or not isinstance(data.get("visit_policies"), list):
            raise PolicyError("policy data needs a list under 'visit_policies'", field="visit_policies")
        return cls(_parse_policy(entry, f"visit_policies[{i}]") for i, entry in enumerate(data["visit_policies"]))


_FIELDS = {"jurisdiction", "effective_from", "requirements", "source", "first_period_min_days", "coverage_goals"}


def _parse_policy(entry: Any, where: str) -> VisitPolicy:
    def fail(name: str, problem: str) -> PolicyError:
        return PolicyError(f"{where}.{name}: {problem}", field=f"{where}.{name}")

    if not isinstance(entry, Mapping):
        raise fail("_entry", "each visit policy must be a mapping")
    for name in sorted(set(entry) - _FIELDS):
        raise fail(name, "unknown field")
    for name in ("jurisdiction", "effective_from", "requirements", "source"):
        if name not in entry:
            raise fail(name, "missing")
    try:
        jurisdiction = parse_jurisdiction(entry["jurisdiction"])
    except ValueError as exc:
        raise fail("jurisdiction", str(exc)) from None
    try:
        effective_from = parse_date(entry["effective_from"])
    except ValueError as exc:
        raise fail("effective_from", str(exc)) from None
    if not isinstance(entry["source"], str) or not entry["source"].strip():
        raise fail("source", "must name the policy document")
    min_days = entry.get("first_period_min_days")
    if min_days is not None:
        try:
            parse_positive_int(min_days)
        except ValueError as exc:
            raise fail("first_period_min_days", str(exc)) from None
    return VisitPolicy(jurisdiction, effective_from, _parse_requirements(entry["requirements"], fail),
                       entry["source"], min_days, _parse_goals(entry.get("coverage_goals") or {}, fail))


def _parse_requirements(value: Any, fail) -> dict[str, Requirement]:
    if not isinstance(value, Mapping) or not value:
        raise fail("requirements", "must map target classes to {period, visits}")
    parsed = {}
    for target_class, rule in value.items():
        here = f"requirements.{target_class}"
        if target_class not in TARGET_CLASSES:
            raise fail(here, f"unknown target class; use one of {', '.join(TARGET_CLASSES)}")
        if not isinstance(rule, Mapping) or set(rule) != {"period", "visits"}:
            raise fail(here, "must be {period: month|quarter, visits: N}")
        if rule["period"] not in PERIOD_MONTHS:
            raise fail(f"{here}.period", f"must be month or quarter, got {rule['period']!r}")
        try:
            visits = parse_positive_int(rule["visits"])
        except ValueError as exc:
            raise fail(f"{here}.visits", str(exc)) from None
        parsed[target_class] = Requirement(rule["period"], visits)
    return parsed


def _parse_goals(value: Any, fail) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise fail("coverage_goals", "must map target classes to a rate between 0 and 1")
    goals = {}
    for target_class, rate in value.items():
        if target_class not in TARGET_CLASSES:
            raise fail(f"coverage_goals.{target_class}", "unknown target class")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
            raise fail(f"coverage_goals.{target_class}", f"must be a rate in (0, 1], got {rate!r}")
        goals[target_class] = float(rate)
    return goals
