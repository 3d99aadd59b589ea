"""Visitors (巡访人员): who calls on elders, how to reach them, which villages they cover."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from kernel.errors import CommandRejected, ConflictError, NotFoundError

VISITOR_ROLES = ("village_cadre", "resident_cadre", "civil_affairs_specialist", "social_work_organisation",
                 "volunteer", "relative_or_neighbour", "grid_worker", "third_party")


# -- commands -------------------------------------------------------------------------
@dataclass(frozen=True)
class RegisterVisitor:
    visitor_id: str
    name: str
    phone: str
    role: str
    organisation: str
    village_codes: tuple[str, ...]
    effective_date: date


@dataclass(frozen=True)
class ChangeVisitorVillages:
    visitor_id: str
    village_codes: tuple[str, ...]
    effective_date: date


@dataclass(frozen=True)
class DeactivateVisitor:
    visitor_id: str
    reason: str
    effective_date: date


# -- events ---------------------------------------------------------------------------
@dataclass(frozen=True)
class VisitorRegistered:
    TYPE = "visits.visitor_registered.v1"
    visitor_id: str
    name: str
    phone: str
    role: str
    organisation: str
    village_codes: tuple[str, ...]
    effective_date: date


@dataclass(frozen=True)
class VisitorVillagesChanged:
    TYPE = "visits.visitor_villages_changed.v1"
    visitor_id: str
    village_codes: tuple[str, ...]
    effective_date: date


@dataclass(frozen=True)
class VisitorDeactivated:
    TYPE = "visits.visitor_deactivated.v1"
    visitor_id: str
    reason: str
    effective_date: date


VISITOR_EVENTS = (VisitorRegistered, VisitorVillagesChanged, VisitorDeactivated)


@dataclass(frozen=True)
class VisitorState:
    visitor_id: str
    version: int = 0
    name: str = ""
    phone: str = ""
    role: str = ""
    organisation: str = ""
    village_codes: tuple[str, ...] = ()
    active: bool = False

    @property
    def is_registered(self) -> bool:
        return self.version > 0

    def covers(self, division_code: str) -> bool:
        return division_code in self.village_codes


def decide_visitor(state: VisitorState, command) -> list:
    if isinstance(command, RegisterVisitor):
        if state.is_registered:
            raise ConflictError(f"visitor {command.visitor_id!r} is already registered", field="visitor_id")
        return [VisitorRegistered(**vars(command))]
    if not state.is_registered:
        raise NotFoundError(f"no visitor {command.visitor_id!r}", field="visitor_id")
    if not state.active:
        raise CommandRejected(f"visitor {command.visitor_id!r} is no longer active", field="visitor_id")
    if isinstance(command, ChangeVisitorVillages):
        if tuple(sorted(command.village_codes)) == tuple(sorted(state.village_codes)):
            return []
        return [VisitorVillagesChanged(**vars(command))]
    if isinstance(command, DeactivateVisitor):
        return [VisitorDeactivated(**vars(command))]
    raise TypeError(f"not a visitor command: {command!r}")


def evolve_visitor(state: VisitorState, event) -> VisitorState:
    state = replace(state, version=state.version + 1)
    if isinstance(event, VisitorRegistered):
        return replace(state, name=event.name, phone=event.phone, role=event.role,
                       organisation=event.organisation, village_codes=tuple(event.village_codes), active=True)
    if isinstance(event, VisitorVillagesChanged):
        return replace(state, village_codes=tuple(event.village_codes))
    if isinstance(event, VisitorDeactivated):
        return replace(state, active=False)
    raise TypeError(f"not a visitor event: {event!r}")


def fold_visitor(visitor_id: str, events) -> VisitorState:
    state = VisitorState(visitor_id)
    for event in events:
        state = evolve_visitor(state, event)
    return state
