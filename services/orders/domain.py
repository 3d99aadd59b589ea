"""Home-service orders (助餐、助浴、助洁、助医、陪护; seeds 003/004), pure: placing an order,
routing it to the nearest facility that can take it, accepting, declining (the next
facility is offered), completing, and the one alert for an order nobody accepted in time.
No framework, no I/O: what the rules need (the elder as the registry reported them, the
facilities that offer the service and their load that day, the deadline policy) is passed in.

Nearest is by the division tree (kernel/divisions.py): a facility of the elder's own
village first, then one of the township, then one of the county; never beyond the county
(its civil affairs bureau answers for the services). Among equally near facilities the one
with the most places left that day wins (spreading the load), then the lowest id (so the
same facts always route the same way).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Mapping

from kernel.errors import CommandRejected, ConflictError, NotFoundError, PolicyError, ValidationError
from kernel.jurisdiction import JurisdictionVersions, parse_date, parse_jurisdiction

SERVICE_KINDS = ("meals", "bathing", "cleaning", "medical_help", "accompaniment")
CALLERS = ("elder", "family", "visitor", "device")
# (nearness, how many leading digits of the division code must match)
NEARNESS = (("village", 12), ("township", 9), ("county", 6))
UNACCEPTED_REASONS = ("deadline_passed", "no_facility_accepted")


# --- facts the rules are given ---------------------------------------------------------

@dataclass(frozen=True)
class KnownElder:
    elder_id: str
    division_code: str
    record_status: str = "active"            # active | deceased | merged


@dataclass(frozen=True)
class Candidate:
    """A facility in operation in the elder's county that offers the service, with its
    capacity for it and how many orders of it it holds for the day already."""

    facility_id: str
    division_code: str
    daily_capacity: int
    taken: int

    @property
    def free(self) -> int:
        return self.daily_capacity - self.taken


# --- commands ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PlaceOrder:
    order_id: str
    elder_id: str
    service_kind: str
    service_date: date
    caller: str                              # who called: elder, family, visitor or device
    note: str = ""
    preferred_facility_id: str | None = None


@dataclass(frozen=True)
class AcceptOrder:
    order_id: str
    facility_id: str


@dataclass(frozen=True)
class DeclineOrder:
    order_id: str
    facility_id: str
    reason: str


@dataclass(frozen=True)
class CompleteOrder:
    order_id: str
    facility_id: str
    delivered_on: date
    note: str = ""


# --- events ------------------------------------------------------------------------------

@dataclass(frozen=True)
class OrderPlaced:
    order_id: str
    elder_id: str
    division_code: str                       # the elder's village
    service_kind: str
    service_date: date
    caller: str
    note: str
    accept_by: datetime                      # UTC: not accepted by then, the alert is raised
    deadline_policy: str                     # the policy version that set it


@dataclass(frozen=True)
class OrderOffered:
    order_id: str
    facility_id: str
    facility_division_code: str
    nearness: str                            # village | township | county | chosen
    service_kind: str
    service_date: date


@dataclass(frozen=True)
class OrderDeclined:
    order_id: str
    facility_id: str
    reason: str


@dataclass(frozen=True)
class OrderAccepted:
    order_id: str
    facility_id: str


@dataclass(frozen=True)
class OrderCompleted:
    order_id: str
    facility_id: str
    elder_id: str
    division_code: str
    service_kind: str
    delivered_on: date
    note: str


@dataclass(frozen=True)
class MealDelivered:
    """A meal delivered to an elder at home, with the elder's count of meals that month so
    far: the fact subsidies pays a per-meal subsidy by."""

    order_id: str
    elder_id: str
    division_code: str
    facility_id: str
    delivered_on: date
    month: str                               # YYYY-MM of delivered_on
    meals_in_month: int


@dataclass(frozen=True)
class OrderUnaccepted:
    """Raised once per order: nobody accepted it by its deadline, or every facility that
    could take it declined. Notifications turns it into an alert."""

    order_id: str
    elder_id: str
    division_code: str
    service_kind: str
    service_date: date
    reason: str
    facility_id: str | None                  # the facility it waited on, if any
    declined_by: tuple[str, ...]
    accept_by: datetime


@dataclass(frozen=True)
class Order:
    order_id: str
    version: int = 0
    status: str = "none"                     # none | offered | accepted | completed | unrouted
    elder_id: str = ""
    division_code: str = ""
    service_kind: str = ""
    service_date: date | None = None
    caller: str = ""
    note: str = ""
    accept_by: datetime | None = None
    facility_id: str | None = None
    nearness: str | None = None
    declined_by: tuple[str, ...] = ()
    delivered_on: date | None = None
    unaccepted: bool = False

    @property
    def exists(self) -> bool:
        return self.status != "none"


# --- the deadline policy -----------------------------------------------------------------

@dataclass(frozen=True)
class DeadlineVersion:
    jurisdiction: str
    effective_from: date
    source: str
    minutes: Mapping[str, int]               # service kind → minutes from placing to accept

    @property
    def version_id(self) -> str:
        return f"order_deadlines@{self.jurisdiction or 'national'}@{self.effective_from.isoformat()}"


class DeadlinePolicy:
    """How long a facility has to accept an order of each service, by jurisdiction and
    effective date (``policies/orders.yml``); a place without its own version inherits the
    nearest enclosing jurisdiction's."""

    def __init__(self, versions: Iterable[DeadlineVersion]):
        self._versions = JurisdictionVersions(list(versions), kind="order deadline policy")

    def in_force(self, division_code: str, on: date) -> DeadlineVersion:
        return self._versions.in_force(division_code, on)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "DeadlinePolicy":
        entries = data.get("acceptance_deadlines") if isinstance(data, Mapping) else None
        if not isinstance(entries, list) or not entries:
            raise PolicyError("policy data needs a list under 'acceptance_deadlines'", field="acceptance_deadlines")
        versions = []
        for index, entry in enumerate(entries):
            where = f"acceptance_deadlines[{index}]"
            if not isinstance(entry, Mapping):
                raise PolicyError(f"{where} must be a mapping", field=where)
            minutes = entry.get("accept_within_minutes")
            if not isinstance(minutes, Mapping) or set(minutes) != set(SERVICE_KINDS):
                raise PolicyError(f"{where}.accept_within_minutes must give every service kind "
                                  f"({', '.join(SERVICE_KINDS)})", field=f"{where}.accept_within_minutes")
            for kind, value in minutes.items():
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise PolicyError(f"{where}.accept_within_minutes.{kind} must be a whole number of minutes, "
                                      "1 or more", field=f"{where}.accept_within_minutes.{kind}")
            if not isinstance(entry.get("source"), str) or not entry["source"].strip():
                raise PolicyError(f"{where}.source must name the document", field=f"{where}.source")
            try:
                jurisdiction = parse_jurisdiction(entry.get("jurisdiction"))
            except ValueError as exc:
                raise PolicyError(f"{where}.jurisdiction {exc}", field=f"{where}.jurisdiction") from None
            try:
                effective_from = parse_date(entry.get("effective_from"))
            except ValueError as exc:
                raise PolicyError(f"{where}.effective_from {exc}", field=f"{where}.effective_from") from None
            versions.append(DeadlineVersion(jurisdiction, effective_from, entry["source"], dict(minutes)))
        return cls(versions)


# --- routing -----------------------------------------------------------------------------

def nearness(elder_division: str, facility_division: str) -> str | None:
    for name, digits in NEARNESS:
        if elder_division[:digits] == facility_division[:digits]:
            return name
    return None


def route(elder_division: str, candidates: Iterable[Candidate], excluded: Iterable[str] = ()) -> tuple[Candidate, str] | None:
    """The nearest candidate with a place left that day, not ``excluded`` (it declined)."""
    excluded = set(excluded)
    best, best_key = None, None
    for candidate in candidates:
        if candidate.facility_id in excluded or candidate.free <= 0:
            continue
        near = nearness(elder_division, candidate.division_code)
        if near is None:
            continue
        key = (NEAR_RANK[near], -candidate.free, candidate.facility_id)
        if best_key is None or key < best_key:
            best, best_key = (candidate, near), key
    return best


NEAR_RANK = {name: rank for rank, (name, _) in enumerate(NEARNESS)}


# --- decide ------------------------------------------------------------------------------

def _offer(order_id: str, kind: str, on: date, chosen: tuple[Candidate, str]) -> OrderOffered:
    candidate, near = chosen
    return OrderOffered(order_id, candidate.facility_id, candidate.division_code, near, kind, on)


def decide_place(state: Order, command: PlaceOrder, elder: KnownElder | None, candidates: list[Candidate],
                 policy: DeadlinePolicy, now: datetime, today: date) -> list:
    """Refuses, naming the field, an unknown service, an elder the registry has not
    reported or who died, a service date in the past, a chosen facility that does not offer
    the service (or has no place left), or no facility in the county able to take it."""
    if state.exists:
        raise ConflictError(f"order {command.order_id} exists already", field="order_id")
    if command.service_kind not in SERVICE_KINDS:
        raise ValidationError({"service_kind": [f"must be one of {', '.join(SERVICE_KINDS)}"]})
    if command.caller not in CALLERS:
        raise ValidationError({"caller": [f"must be one of {', '.join(CALLERS)}"]})
    if elder is None:
        raise NotFoundError(f"elder {command.elder_id} is unknown: the registry has not reported them registered",
                            field="elder_id")
    if elder.record_status == "deceased":
        raise CommandRejected(f"elder {command.elder_id} is recorded as deceased", field="elder_id")
    if elder.record_status == "merged":
        raise CommandRejected(f"record {command.elder_id} was merged into another; order for that record",
                              field="elder_id")
    if command.service_date < today:
        raise CommandRejected(f"service date {command.service_date} is in the past (today is {today})",
                              field="service_date")
    if command.preferred_facility_id:
        chosen = next((c for c in candidates if c.facility_id == command.preferred_facility_id), None)
        if chosen is None:
            raise CommandRejected(f"facility {command.preferred_facility_id} does not offer {command.service_kind} "
                                  f"in operation in the elder's county", field="facility_id")
        if chosen.free <= 0:
            raise CommandRejected(f"facility {chosen.facility_id} has no {command.service_kind} place left on "
                                  f"{command.service_date}", field="facility_id")
        routed = (chosen, "chosen")
    else:
        routed = route(elder.division_code, candidates)
        if routed is None:
            raise CommandRejected(f"no facility in operation in county {elder.division_code[:6]} offers "
                                  f"{command.service_kind} with a place left on {command.service_date}",
                                  field="service_kind")
    version = policy.in_force(elder.division_code, today)
    accept_by = now + timedelta(minutes=version.minutes[command.service_kind])
    return [OrderPlaced(command.order_id, command.elder_id, elder.division_code, command.service_kind,
                        command.service_date, command.caller, command.note, accept_by, version.version_id),
            _offer(command.order_id, command.service_kind, command.service_date, routed)]


def _check_offered_to(state: Order, facility_id: str, what: str) -> None:
    if not state.exists:
        raise NotFoundError(f"no order {state.order_id!r}", field="order_id")
    if state.status != "offered":
        raise CommandRejected(f"order {state.order_id} is {state.status}; only an offered order can be {what}",
                              field="order_id")
    if state.facility_id != facility_id:
        raise CommandRejected(f"order {state.order_id} is offered to facility {state.facility_id}, "
                              f"not {facility_id}", field="facility_id")


def decide_accept(state: Order, command: AcceptOrder) -> list:
    if state.status == "accepted" and state.facility_id == command.facility_id:
        raise ConflictError(f"order {state.order_id} is accepted already", field="order_id")
    _check_offered_to(state, command.facility_id, "accepted")
    return [OrderAccepted(state.order_id, command.facility_id)]


def decide_decline(state: Order, command: DeclineOrder, candidates: list[Candidate]) -> list:
    """Declined: offered to the next nearest facility that has not declined it; when none is
    left the order is unrouted and raised once as unaccepted."""
    _check_offered_to(state, command.facility_id, "declined")
    if not command.reason.strip():
        raise ValidationError({"reason": ["must say why the facility cannot take the order"]})
    return _declined(state, command.facility_id, command.reason, candidates)


def decide_facility_stopped(state: Order, facility_id: str, reason: str, candidates: list[Candidate],
                            today: date) -> list:
    """The facility stopped operating: an order it was offered, or accepted for today or
    later, goes to the next nearest facility as if it had declined. One it accepted for an
    earlier day stays: it may have been delivered and is still the facility's to complete."""
    if state.facility_id != facility_id:
        return []
    if state.status == "offered" or (state.status == "accepted" and state.service_date >= today):
        return _declined(state, facility_id, reason, candidates)
    return []


def _declined(state: Order, facility_id: str, reason: str, candidates: list[Candidate]) -> list:
    events: list = [OrderDeclined(state.order_id, facility_id, reason)]
    declined = state.declined_by + (facility_id,)
    routed = route(state.division_code, candidates, excluded=declined)
    if routed is not None:
        return events + [_offer(state.order_id, state.service_kind, state.service_date, routed)]
    if state.unaccepted:                     # raised already (its deadline passed): once is enough
        return events
    return events + [OrderUnaccepted(state.order_id, state.elder_id, state.division_code, state.service_kind,
                                     state.service_date, "no_facility_accepted", None, declined, state.accept_by)]


def decide_complete(state: Order, command: CompleteOrder, meals_before: int, today: date) -> list:
    """``meals_before``: meals already delivered to the elder in the month of ``delivered_on``."""
    if not state.exists:
        raise NotFoundError(f"no order {state.order_id!r}", field="order_id")
    if state.status == "completed":
        raise ConflictError(f"order {state.order_id} was completed on {state.delivered_on}", field="order_id")
    if state.status != "accepted":
        raise CommandRejected(f"order {state.order_id} is {state.status}: a facility completes an order only "
                              "after accepting it", field="order_id")
    if state.facility_id != command.facility_id:
        raise CommandRejected(f"order {state.order_id} was accepted by facility {state.facility_id}, "
                              f"not {command.facility_id}", field="facility_id")
    if command.delivered_on > today:
        raise CommandRejected(f"delivered_on {command.delivered_on} is in the future (today is {today})",
                              field="delivered_on")
    events: list = [OrderCompleted(state.order_id, command.facility_id, state.elder_id, state.division_code,
                                   state.service_kind, command.delivered_on, command.note)]
    if state.service_kind == "meals":
        events.append(MealDelivered(state.order_id, state.elder_id, state.division_code, command.facility_id,
                                    command.delivered_on, command.delivered_on.strftime("%Y-%m"), meals_before + 1))
    return events


def is_overdue(state: Order, now: datetime) -> bool:
    return state.status == "offered" and not state.unaccepted and state.accept_by is not None \
        and state.accept_by <= now


def decide_overdue(state: Order, now: datetime) -> list:
    """The one alert of an order still waiting for acceptance at its deadline."""
    if not is_overdue(state, now):
        return []
    return [OrderUnaccepted(state.order_id, state.elder_id, state.division_code, state.service_kind,
                            state.service_date, "deadline_passed", state.facility_id, state.declined_by,
                            state.accept_by)]


# --- evolve ------------------------------------------------------------------------------

def evolve(state: Order, event) -> Order:
    state = replace(state, version=state.version + 1)
    if isinstance(event, OrderPlaced):
        return replace(state, status="offered", elder_id=event.elder_id, division_code=event.division_code,
                       service_kind=event.service_kind, service_date=event.service_date, caller=event.caller,
                       note=event.note, accept_by=event.accept_by)
    if isinstance(event, OrderOffered):
        return replace(state, status="offered", facility_id=event.facility_id, nearness=event.nearness)
    if isinstance(event, OrderDeclined):
        # unrouted until the next offer (decided with the decline, if a facility is left)
        return replace(state, status="unrouted", declined_by=state.declined_by + (event.facility_id,),
                       facility_id=None)
    if isinstance(event, OrderAccepted):
        return replace(state, status="accepted", facility_id=event.facility_id)
    if isinstance(event, OrderCompleted):
        return replace(state, status="completed", delivered_on=event.delivered_on)
    if isinstance(event, OrderUnaccepted):
        return replace(state, unaccepted=True)
    if isinstance(event, MealDelivered):
        return state
    raise TypeError(f"orders cannot apply {type(event).__name__}")


def fold(order_id: str, events: Iterable) -> Order:
    state = Order(order_id)
    for event in events:
        state = evolve(state, event)
    return state
