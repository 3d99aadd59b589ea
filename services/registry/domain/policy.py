"""Status policy: who counts as left-behind and as a key target, per jurisdiction and date.

The rules differ between places and change over time (DOMAIN.md §1), so they are data:
each ``StatusPolicy`` is one version of one jurisdiction's rule, in force from its
``effective_from`` date until a later version of the same jurisdiction replaces it.
A jurisdiction is a prefix of the 12-digit division code; a place without its own rule
inherits the rule of the nearest enclosing jurisdiction that has one ("" is national).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Mapping

from kernel.errors import PolicyError
from kernel.jurisdiction import JurisdictionVersions, parse_jurisdiction

from .model import SUPPORT_STATUS_NAMES, SelfCareLevel, SupportStatus


@dataclass(frozen=True)
class StatusPolicy:
    jurisdiction: str
    effective_from: date
    months_away: int
    advanced_age: int
    hard_up_statuses: frozenset[str]
    disabled_levels: frozenset[SelfCareLevel]
    living_alone_is_key: bool
    source: str

    def counts_as_hard_up(self, support_status: SupportStatus) -> bool:
        return bool(support_status.statuses & self.hard_up_statuses)


class PolicyBook:
    """All versions of the status policy of every jurisdiction (``kernel.jurisdiction``: the
    most specific jurisdiction with a version in force wins; within it, the latest)."""

    def __init__(self, policies: Iterable[StatusPolicy]):
        self._versions = JurisdictionVersions(policies, kind="status policy")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PolicyBook":
        """Build from plain data: ``{"status_policies": [{"jurisdiction": "41", ...}, ...]}``.

        Every field is required and checked; bad data raises ``PolicyError`` naming the
        entry and field, e.g. ``status_policies[2].months_away``.
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("status_policies"), list):
            raise PolicyError("policy data needs a list under 'status_policies'", field="status_policies")
        return cls(_parse_policy(entry, index) for index, entry in enumerate(data["status_policies"]))

    @property
    def policies(self) -> tuple[StatusPolicy, ...]:
        return self._versions.versions

    def policy_for(self, division_code: str, on: date) -> StatusPolicy:
        """The policy in force for ``division_code`` on ``on``."""
        return self._versions.in_force(division_code, on)

    def versions_covering(self, division_code: str) -> tuple[StatusPolicy, ...]:
        """Every version of every jurisdiction enclosing ``division_code``: the dates on
        which the rule for that place may change."""
        return self._versions.covering(division_code)


_FIELDS = ("jurisdiction", "effective_from", "months_away", "advanced_age", "hard_up_statuses",
           "disabled_levels", "living_alone_is_key", "source")


def _parse_policy(entry: Any, index: int) -> StatusPolicy:
    def fail(name: str, problem: str) -> PolicyError:
        where = f"status_policies[{index}].{name}"
        return PolicyError(f"{where}: {problem}", field=where)

    if not isinstance(entry, Mapping):
        raise fail("_entry", "each status policy must be a mapping")
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise fail(unknown[0], "unknown field")
    missing = [name for name in _FIELDS if name not in entry]
    if missing:
        raise fail(missing[0], "missing")
    try:
        return StatusPolicy(
            jurisdiction=_parse_jurisdiction(entry["jurisdiction"]),
            effective_from=_parse_date(entry["effective_from"]),
            months_away=_parse_positive_int(entry["months_away"], "months_away"),
            advanced_age=_parse_positive_int(entry["advanced_age"], "advanced_age"),
            hard_up_statuses=_parse_hard_up_statuses(entry["hard_up_statuses"]),
            disabled_levels=_parse_disabled_levels(entry["disabled_levels"]),
            living_alone_is_key=_parse_bool(entry["living_alone_is_key"]),
            source=_parse_source(entry["source"]),
        )
    except _FieldProblem as problem:
        raise fail(problem.field_name, problem.problem) from None


class _FieldProblem(Exception):
    def __init__(self, field_name: str, problem: str):
        super().__init__(problem)
        self.field_name, self.problem = field_name, problem


def _parse_jurisdiction(value: Any) -> str:
    try:
        return parse_jurisdiction(value)
    except ValueError as problem:
        raise _FieldProblem("jurisdiction", str(problem)) from None


def _parse_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise _FieldProblem("effective_from", f"must be an ISO date (YYYY-MM-DD), got {value!r}") from None


def _parse_positive_int(value: Any, name: str) -> int:
    # bool is an int in Python; "true" months would be a data-entry slip, not a number.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _FieldProblem(name, f"must be a positive whole number, got {value!r}")
    return value


def _parse_hard_up_statuses(value: Any) -> frozenset[str]:
    if not isinstance(value, (list, tuple, set, frozenset)) or not set(value) <= SUPPORT_STATUS_NAMES:
        allowed = ", ".join(sorted(SUPPORT_STATUS_NAMES))
        raise _FieldProblem("hard_up_statuses", f"must be a list drawn from {allowed}, got {value!r}")
    return frozenset(value)


def _parse_disabled_levels(value: Any) -> frozenset[SelfCareLevel]:
    try:
        if not isinstance(value, (list, tuple, set, frozenset)):
            raise ValueError
        return frozenset(SelfCareLevel(level) for level in value)
    except ValueError:
        allowed = ", ".join(level.value for level in SelfCareLevel)
        raise _FieldProblem("disabled_levels", f"must be a list drawn from {allowed}, got {value!r}") from None


def _parse_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _FieldProblem("living_alone_is_key", f"must be true or false, got {value!r}")
    return value


def _parse_source(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _FieldProblem("source", "must name the policy document")
    return value
