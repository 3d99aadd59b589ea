"""Routing policy: who is told of which alert kind, how long each level has to acknowledge,
how long a device may stay silent, when a referral falls due and how deliveries retry.

The rules differ between places and change over time, so they are data (DOMAIN.md §4, §7):
each ``RoutingPolicy`` is one version of one jurisdiction's rules, in force from its
``effective_from`` until a later version of the same jurisdiction replaces it. A
jurisdiction is a prefix of the 12-digit division code; a place without its own version
inherits the nearest enclosing jurisdiction's ("" is national). A version is complete
(every alert kind is routed) so that one lookup answers every question about a place.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Mapping

from kernel.errors import PolicyError
from kernel.jurisdiction import JurisdictionVersions, parse_jurisdiction

from .model import ALERT_KINDS, DEPARTMENTS, DEVICE_KINDS, LEVELS

@dataclass(frozen=True)
class KindRoute:
    """How one alert kind is routed: the level it starts at, the departments told at once,
    whether the family (supporters and the entrusted carer) is told and urged to act, and
    acknowledgement deadlines that override the chain's for this kind (urgent kinds)."""

    kind: str
    start_level: str
    departments: tuple[str, ...]
    inform_family: bool
    ack_within_minutes: Mapping[str, int]


@dataclass(frozen=True)
class RetryPolicy:
    attempts_per_channel: int
    backoff_seconds: tuple[int, ...]

    def backoff_after(self, attempt_on_channel: int) -> int:
        """Seconds to wait after the ``attempt_on_channel``-th failure on one channel."""
        return self.backoff_seconds[min(attempt_on_channel, len(self.backoff_seconds)) - 1]


@dataclass(frozen=True)
class RoutingPolicy:
    jurisdiction: str
    effective_from: date
    source: str
    ack_within_minutes: Mapping[str, int]          # per level of the chain
    kinds: Mapping[str, KindRoute]
    heartbeat_allowance_minutes: Mapping[str, int]  # per device kind
    referral_due_days: int
    retry: RetryPolicy

    @property
    def ref(self) -> str:
        """Names this version in events, so a changed policy is visible on each alert."""
        return f"{self.jurisdiction or 'national'}@{self.effective_from.isoformat()}"

    def route(self, kind: str) -> KindRoute:
        return self.kinds[kind]

    def ack_minutes(self, kind: str, level: str) -> int:
        return self.kinds[kind].ack_within_minutes.get(level, self.ack_within_minutes[level])

    def next_level(self, level: str) -> str | None:
        index = LEVELS.index(level)
        return LEVELS[index + 1] if index + 1 < len(LEVELS) else None


class RoutingBook:
    """Every version of the routing policy of every jurisdiction (``kernel.jurisdiction``)."""

    def __init__(self, policies: Iterable[RoutingPolicy]):
        self._versions = JurisdictionVersions(policies, kind="routing policy")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RoutingBook":
        """Build from plain data ``{"routing_policies": [...]}``; bad data raises
        ``PolicyError`` naming the entry and field, e.g. ``routing_policies[1].kinds.smoke_alarm``."""
        if not isinstance(data, Mapping) or not isinstance(data.get("routing_policies"), list):
            raise PolicyError("policy data needs a list under 'routing_policies'", field="routing_policies")
        return cls(_parse_policy(entry, f"routing_policies[{index}]")
                   for index, entry in enumerate(data["routing_policies"]))

    @property
    def policies(self) -> tuple[RoutingPolicy, ...]:
        return self._versions.versions

    def policy_for(self, division_code: str, on: date) -> RoutingPolicy:
        """The most specific jurisdiction's latest version in force on ``on``."""
        return self._versions.in_force(division_code, on)


# --- parsing ----------------------------------------------------------------------------

_FIELDS = ("jurisdiction", "effective_from", "source", "ack_within_minutes", "kinds",
           "heartbeat_allowance_minutes", "referral_due_days", "retry")
_KIND_FIELDS = ("start_level", "departments", "inform_family", "ack_within_minutes")


def _fail(where: str, problem: str) -> PolicyError:
    return PolicyError(f"{where}: {problem}", field=where)


def _mapping(value: Any, where: str, required: Iterable[str] = (), allowed: Iterable[str] | None = None) -> Mapping:
    if not isinstance(value, Mapping):
        raise _fail(where, "must be a mapping")
    allowed = set(allowed) if allowed is not None else None
    if allowed is not None:
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise _fail(f"{where}.{unknown[0]}", "unknown field")
    missing = [name for name in required if name not in value]
    if missing:
        raise _fail(f"{where}.{missing[0]}", "missing")
    return value


def _positive_int(value: Any, where: str) -> int:
    # bool is an int in Python; "true" minutes would be a data-entry slip, not a number.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _fail(where, f"must be a positive whole number, got {value!r}")
    return value


def _minutes_by(value: Any, where: str, names: tuple[str, ...], complete: bool) -> dict[str, int]:
    value = _mapping(value, where, required=names if complete else (), allowed=names)
    return {name: _positive_int(minutes, f"{where}.{name}") for name, minutes in value.items()}


def _parse_policy(entry: Any, where: str) -> RoutingPolicy:
    entry = _mapping(entry, where, required=_FIELDS, allowed=_FIELDS)
    try:
        jurisdiction = parse_jurisdiction(entry["jurisdiction"])
    except ValueError as problem:
        raise _fail(f"{where}.jurisdiction", str(problem)) from None
    try:
        effective_from = (entry["effective_from"] if isinstance(entry["effective_from"], date)
                          else date.fromisoformat(entry["effective_from"]))
    except (TypeError, ValueError):
        raise _fail(f"{where}.effective_from", f"must be an ISO date, got {entry['effective_from']!r}") from None
    if not isinstance(entry["source"], str) or not entry["source"].strip():
        raise _fail(f"{where}.source", "must name the policy document")
    kinds = _mapping(entry["kinds"], f"{where}.kinds", required=ALERT_KINDS, allowed=ALERT_KINDS)
    retry = _mapping(entry["retry"], f"{where}.retry", required=("attempts_per_channel", "backoff_seconds"),
                     allowed=("attempts_per_channel", "backoff_seconds"))
    backoff = retry["backoff_seconds"]
    if not isinstance(backoff, list) or not backoff:
        raise _fail(f"{where}.retry.backoff_seconds", "must be a non-empty list of seconds")
    return RoutingPolicy(
        jurisdiction=jurisdiction, effective_from=effective_from, source=entry["source"],
        ack_within_minutes=_minutes_by(entry["ack_within_minutes"], f"{where}.ack_within_minutes", LEVELS, True),
        kinds={kind: _parse_kind(kind, kinds[kind], f"{where}.kinds.{kind}") for kind in ALERT_KINDS},
        heartbeat_allowance_minutes=_minutes_by(entry["heartbeat_allowance_minutes"],
                                                f"{where}.heartbeat_allowance_minutes", DEVICE_KINDS, True),
        referral_due_days=_positive_int(entry["referral_due_days"], f"{where}.referral_due_days"),
        retry=RetryPolicy(
            attempts_per_channel=_positive_int(retry["attempts_per_channel"], f"{where}.retry.attempts_per_channel"),
            backoff_seconds=tuple(_positive_int(s, f"{where}.retry.backoff_seconds[{i}]")
                                  for i, s in enumerate(backoff))))


def _parse_kind(kind: str, value: Any, where: str) -> KindRoute:
    value = _mapping(value, where, required=("start_level",), allowed=_KIND_FIELDS)
    if value["start_level"] not in LEVELS:
        raise _fail(f"{where}.start_level", f"must be one of {', '.join(LEVELS)}, got {value['start_level']!r}")
    departments = value.get("departments", [])
    if not isinstance(departments, list) or not set(departments) <= set(DEPARTMENTS):
        raise _fail(f"{where}.departments", f"must be a list drawn from {', '.join(DEPARTMENTS)}, got {departments!r}")
    inform_family = value.get("inform_family", False)
    if not isinstance(inform_family, bool):
        raise _fail(f"{where}.inform_family", f"must be true or false, got {inform_family!r}")
    return KindRoute(kind=kind, start_level=value["start_level"], departments=tuple(departments),
                     inform_family=inform_family,
                     ack_within_minutes=_minutes_by(value.get("ack_within_minutes", {}),
                                                    f"{where}.ack_within_minutes", LEVELS, False))
