"""Departments and the joint meeting (联席会议) as data (DOMAIN.md §7): the nine of 001 by
default; a jurisdiction adds or retires departments and sets its joint meeting's members,
each change from an effective date (``policies/departments.yml``, then the accounts log's
department events on top). A place inherits every change of the places that contain it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Mapping

from contracts.actors import DEPARTMENT_CODE_PATTERN
from kernel.errors import PolicyError
from kernel.jurisdiction import JURISDICTION_LEVELS, check_division_code, parse_date, parse_jurisdiction


@dataclass(frozen=True)
class DepartmentName:
    zh: str
    en: str


@dataclass(frozen=True)
class DepartmentChange:
    """One change at one jurisdiction (a division-code prefix) from one date."""

    jurisdiction: str
    effective_from: date
    add: tuple[tuple[str, DepartmentName], ...] = ()
    retire: tuple[str, ...] = ()
    joint_meeting: tuple[str, tuple[str, ...]] | None = None      # (convenor, members)
    source: str = ""


@dataclass(frozen=True)
class Departments:
    """What is in force at one place on one day."""

    names: dict               # code -> DepartmentName
    convenor: str | None
    members: tuple[str, ...]

    def __contains__(self, code: str) -> bool:
        return code in self.names

    def as_dict(self) -> dict:
        return {"departments": [{"code": code, "name_zh": name.zh, "name_en": name.en}
                                for code, name in self.names.items()],
                "joint_meeting": {"convenor": self.convenor, "members": list(self.members)}}


class DepartmentBook:
    def __init__(self, changes: Iterable[DepartmentChange]):
        self.changes = tuple(changes)

    def with_changes(self, more: Iterable[DepartmentChange]) -> "DepartmentBook":
        return DepartmentBook(self.changes + tuple(more))

    def on(self, division_code: str, day: date) -> Departments:
        check_division_code(division_code)
        names: dict = {}
        convenor, members = None, ()
        for level in sorted(JURISDICTION_LEVELS):
            prefix = division_code[:level]
            for change in sorted((c for c in self.changes if c.jurisdiction == prefix and c.effective_from <= day),
                                 key=lambda c: c.effective_from):
                names.update(dict(change.add))
                for code in change.retire:
                    names.pop(code, None)
                if change.joint_meeting is not None:
                    convenor, members = change.joint_meeting
        members = tuple(m for m in members if m in names)
        return Departments(names, convenor if convenor in names else None, members)

    def every_code(self) -> frozenset[str]:
        """Every department code any jurisdiction ever declared."""
        return frozenset(code for change in self.changes for code, _ in change.add)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "DepartmentBook":
        entries = data.get("department_policies") if isinstance(data, Mapping) else None
        if not isinstance(entries, list) or not entries:
            raise PolicyError("policy data needs a list under 'department_policies'", field="department_policies")
        return cls(_parse(entry, index) for index, entry in enumerate(entries))


def _parse(entry: Any, index: int) -> DepartmentChange:
    where = f"department_policies[{index}]"
    if not isinstance(entry, Mapping):
        raise PolicyError(f"{where} must be a mapping", field=where)
    try:
        jurisdiction = parse_jurisdiction(entry.get("jurisdiction"))
        effective_from = parse_date(entry.get("effective_from"))
        add = tuple((_code(code), _name(name, code)) for code, name in (entry.get("add") or {}).items())
        retire = tuple(_code(code) for code in entry.get("retire") or ())
        meeting = entry.get("joint_meeting")
        joint = None
        if meeting is not None:
            members = tuple(_code(code) for code in meeting.get("members") or ())
            convenor = _code(meeting.get("convenor"))
            if not members or convenor not in members:
                raise ValueError("joint_meeting needs members and a convenor among them")
            joint = (convenor, members)
    except (ValueError, AttributeError) as exc:
        raise PolicyError(f"{where}: {exc}", field=where) from None
    return DepartmentChange(jurisdiction, effective_from, add, retire, joint, str(entry.get("source", "")))


def _code(code: Any) -> str:
    if not isinstance(code, str) or not DEPARTMENT_CODE_PATTERN.match(code):
        raise ValueError(f"{code!r} is not a department code (lower-case letters, digits, _)")
    return code


def _name(name: Any, code: str) -> DepartmentName:
    if not isinstance(name, Mapping) or not name.get("zh") or not name.get("en"):
        raise ValueError(f"department {code} needs names: {{zh: ..., en: ...}}")
    return DepartmentName(str(name["zh"]), str(name["en"]))
