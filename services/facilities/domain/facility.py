"""Deciding and evolving one facility: lifecycle, star ratings and awards, capacity and
admissions. All pure: what the decision needs beyond the facility's own state (today,
the grant policy, the elder as the registry reported them, the elder's current residence,
the other facility of a transfer or merger) is passed in as ``Circumstances``.

Why no fact may be dated before the facility's latest one: "as of a date" folds by
effective date, and a backdated admission could otherwise land before a capacity cut or
a closure that was decided without it — the past would show a full facility over-filled.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Callable, Iterable

from kernel.errors import CommandRejected, ConflictError, NotFoundError, UnknownEventTypeError, ValidationError

from . import commands as c
from . import events as e
from .model import (ADMISSIONS_BY_KIND, AdmissionKind, FacilityKind, FacilityState, FacilityStatus, HomeServiceKind,
                    HomeServiceOffer, KnownElder, OperatingModel, Residence, Resident, is_division_code, is_text)
from .policy import GrantPolicyBook

DETAIL_FIELDS = frozenset({"name", "operator", "operating_model", "services"})


@dataclass(frozen=True)
class Circumstances:
    today: date
    policies: GrantPolicyBook
    elder: KnownElder | None = None          # admissions: the elder, if the registry reported them
    residence: Residence | None = None       # admissions: where the elder holds an admission now
    elder_last_moved_on: date | None = None  # admissions: the elder's latest admission or discharge
    other: FacilityState | None = None       # transfer: destination; merger: survivor


# --- decide ---------------------------------------------------------------------------

def decide(state: FacilityState, command: c.FacilityCommand, circumstances: Circumstances) -> list[e.FacilityEvent]:
    """The events ``command`` causes (on this facility's stream and, for a transfer or a
    merger, on the other facility's). Raises, deciding nothing, when the rules refuse."""
    decider = _DECIDERS.get(type(command))
    if decider is None:
        raise TypeError(f"facilities has no rule for {type(command).__name__}")
    if command.effective_date > circumstances.today:
        raise CommandRejected(f"effective date {command.effective_date} is in the future "
                              f"(today is {circumstances.today})", field="effective_date")
    if not isinstance(command, c.OpenFacility):
        _check_may_act_on(state, command)
    return decider(state, command, circumstances)


def _check_may_act_on(state: FacilityState, command: c.FacilityCommand) -> None:
    if not state.exists:
        raise NotFoundError(f"facility {state.facility_id} does not exist", field="facility_id")
    _check_not_before_last_change(state, command.effective_date)


def _check_not_before_last_change(state: FacilityState, on: date, field: str = "effective_date") -> None:
    if state.last_changed_on is not None and on < state.last_changed_on:
        raise CommandRejected(f"facility {state.facility_id} last changed on {state.last_changed_on}; "
                              "a change cannot be recorded before that date", field=field)


def _check_not_ended(state: FacilityState) -> None:
    if state.status is FacilityStatus.CLOSED:
        raise CommandRejected(f"facility {state.facility_id} closed on {state.closed_on}", field="facility_id")
    if state.status is FacilityStatus.MERGED:
        raise CommandRejected(f"facility {state.facility_id} was merged into {state.merged_into}; "
                              "act on that facility", field="facility_id")


def _check_in_operation(state: FacilityState, what: str) -> None:
    _check_not_ended(state)
    if state.status is FacilityStatus.SUSPENDED:
        raise CommandRejected(f"facility {state.facility_id} is suspended since {state.suspended_since}; "
                              f"it cannot {what}", field="facility_id")


def _refuse_invalid(errors: dict[str, list[str]]) -> None:
    problems = {name: messages for name, messages in errors.items() if messages}
    if problems:
        raise ValidationError(problems)


def _text(value: object, problem: str) -> list[str]:
    return [] if is_text(value) else [problem]


# --- deciders ---------------------------------------------------------------------------

def _open(state: FacilityState, command: c.OpenFacility, _: Circumstances) -> list[e.FacilityEvent]:
    if state.exists:
        raise ConflictError(f"facility {state.facility_id} already exists", field="facility_id")
    _refuse_invalid({
        "facility_id": _text(command.facility_id, "must not be blank"),
        "name": _text(command.name, "must not be blank"),
        "operator": _text(command.operator, "must name who runs the facility"),
        "division_code": [] if is_division_code(command.division_code) else ["must be 12 digits"],
        "kind": [] if _is_member(command.kind, FacilityKind) else ["is not a facility kind"],
        "operating_model": [] if _is_member(command.operating_model, OperatingModel) else ["is not an operating model"],
        "capacity": _capacity_problems(command.capacity),
        "services": _services_problems(command.services),
    })
    return [e.FacilityOpened(
        facility_id=command.facility_id, effective_date=command.effective_date, name=command.name,
        division_code=command.division_code, kind=FacilityKind(command.kind),
        operating_model=OperatingModel(command.operating_model), operator=command.operator,
        capacity=command.capacity, services=tuple(command.services))]


def _change_details(state: FacilityState, command: c.ChangeDetails, _: Circumstances) -> list[e.FacilityEvent]:
    _check_not_ended(state)
    _refuse_invalid({"reason": _text(command.reason, "must say why the details change"),
                     "changes": [] if command.changes else ["must name at least one detail"]})
    for name in command.changes:
        if name not in DETAIL_FIELDS:
            raise CommandRejected(f"{name} is not a detail that can be changed here "
                                  f"({', '.join(sorted(DETAIL_FIELDS))})", field=f"changes.{name}")
    _refuse_invalid({f"changes.{name}": _detail_problems(name, value) for name, value in command.changes.items()})
    changes = {name: _normalised_detail(name, value) for name, value in command.changes.items()}
    changes = {name: value for name, value in changes.items() if value != getattr(state, name)}
    if not changes:
        raise CommandRejected("the facility already has these details", field="changes")
    return [e.FacilityDetailsChanged(facility_id=state.facility_id, effective_date=command.effective_date,
                                     changes=changes, reason=command.reason)]


def _change_capacity(state: FacilityState, command: c.ChangeCapacity, _: Circumstances) -> list[e.FacilityEvent]:
    _check_not_ended(state)
    _refuse_invalid({"capacity": _capacity_problems(command.capacity),
                     "reason": _text(command.reason, "must say why the capacity changes")})
    if command.capacity == state.capacity:
        raise CommandRejected(f"the facility already has {state.capacity} places", field="capacity")
    if command.capacity < state.occupancy:
        raise CommandRejected(f"{state.occupancy} places are taken; capacity cannot fall to {command.capacity} "
                              "before residents are discharged or transferred", field="capacity")
    return [e.CapacityChanged(facility_id=state.facility_id, effective_date=command.effective_date,
                              capacity=command.capacity, previous_capacity=state.capacity, reason=command.reason)]


def _rate(state: FacilityState, command: c.RateFacility, circumstances: Circumstances) -> list[e.FacilityEvent]:
    _check_not_ended(state)
    _refuse_invalid({"stars": [] if _is_star_level(command.stars) else ["must be a whole number of stars, 1 to 5"],
                     "assessor": _text(command.assessor, "must name who assessed")})
    if command.stars == state.stars:
        raise CommandRejected(f"the facility already holds {state.stars} stars", field="stars")
    common = dict(facility_id=state.facility_id, effective_date=command.effective_date,
                  stars=command.stars, assessor=command.assessor)
    rating = (e.StarRatingAwarded(**common) if state.stars is None
              else e.StarRatingChanged(**common, previous_stars=state.stars))
    return [rating] + _star_award(state, command, circumstances.policies)


def _star_award(state: FacilityState, command: c.RateFacility, policies: GrantPolicyBook) -> list[e.FacilityEvent]:
    """The one-time award for reaching a star level (seed 003: "对养老服务机构获得等级评定的，
    按照五级5万元…一级1万元的标准给予一次性奖补"), paid in that level's amount when the facility
    reaches a level above every level it held before. A downgrade reaches nothing, and
    climbing back to a level held before (a re-award) reaches nothing new: neither pays."""
    if command.stars <= state.highest_stars or command.stars in state.stars_awarded:
        return []
    policy = policies.star_award(state.division_code, command.effective_date)
    amount = policy.fen_by_stars.get(command.stars) if policy else None
    if not amount:
        return []
    return [e.StarAwardGranted(facility_id=state.facility_id, effective_date=command.effective_date,
                               division_code=state.division_code, stars=command.stars, amount_fen=amount,
                               policy_jurisdiction=policy.jurisdiction, policy_source=policy.source)]


def _suspend(state: FacilityState, command: c.SuspendFacility, _: Circumstances) -> list[e.FacilityEvent]:
    _check_in_operation(state, "be suspended again")
    _refuse_invalid({"reason": _text(command.reason, "must say why the facility is suspended")})
    return [e.FacilitySuspended(facility_id=state.facility_id, effective_date=command.effective_date,
                                reason=command.reason)]


def _reinstate(state: FacilityState, command: c.ReinstateFacility, _: Circumstances) -> list[e.FacilityEvent]:
    _check_not_ended(state)
    if state.status is not FacilityStatus.SUSPENDED:
        raise CommandRejected(f"facility {state.facility_id} is not suspended", field="facility_id")
    _refuse_invalid({"reason": _text(command.reason, "must say why the facility operates again")})
    return [e.FacilityReinstated(facility_id=state.facility_id, effective_date=command.effective_date,
                                 reason=command.reason)]


def _merge(state: FacilityState, command: c.MergeFacility, circumstances: Circumstances) -> list[e.FacilityEvent]:
    _check_not_ended(state)
    _refuse_invalid({"reason": _text(command.reason, "must say why the facilities merge"),
                     "survivor_capacity": [] if command.survivor_capacity is None
                     else _capacity_problems(command.survivor_capacity)})
    survivor = _other_facility(state, circumstances, command.survivor_id, "survivor_id", "absorb a facility",
                               command.effective_date)
    capacity = survivor.capacity if command.survivor_capacity is None else command.survivor_capacity
    needed = survivor.occupancy + state.occupancy
    if capacity < needed:
        raise CommandRejected(f"survivor {survivor.facility_id} would hold {needed} residents in {capacity} "
                              "places; give survivor_capacity to add the places", field="survivor_capacity")
    for resident in state.residents:
        _check_admission_kind(survivor, resident.admission_kind, field="survivor_id")
    on, reason = command.effective_date, command.reason
    moved = [e.ElderTransferred(facility_id=survivor.facility_id, effective_date=on, elder_id=r.elder_id,
                                division_code=survivor.division_code, facility_kind=survivor.kind,
                                admission_kind=r.admission_kind, from_facility_id=state.facility_id,
                                from_division_code=state.division_code, reason=f"merger: {reason}")
             for r in state.residents]
    return [e.FacilityMerged(facility_id=state.facility_id, effective_date=on, merged_into=survivor.facility_id,
                             moved_elder_ids=tuple(r.elder_id for r in state.residents), reason=reason),
            e.FacilityAbsorbed(facility_id=survivor.facility_id, effective_date=on,
                               absorbed_facility_id=state.facility_id, capacity=capacity,
                               previous_capacity=survivor.capacity, reason=reason),
            *moved]


def _close(state: FacilityState, command: c.CloseFacility, _: Circumstances) -> list[e.FacilityEvent]:
    _check_not_ended(state)
    _refuse_invalid({"reason": _text(command.reason, "must say why the facility closes")})
    if state.residents:
        raise CommandRejected(f"{state.occupancy} elders are still admitted to facility {state.facility_id}; "
                              "discharge or transfer them first", field="facility_id")
    return [e.FacilityClosed(facility_id=state.facility_id, effective_date=command.effective_date,
                             reason=command.reason)]


def _admit(state: FacilityState, command: c.AdmitElder, circumstances: Circumstances) -> list[e.FacilityEvent]:
    _check_in_operation(state, "admit elders")
    kind = _check_admission_kind(state, command.admission_kind)
    _check_elder_may_be_admitted(command.elder_id, command.effective_date, circumstances, state.facility_id)
    _check_has_room(state)
    return [e.ElderAdmitted(facility_id=state.facility_id, effective_date=command.effective_date,
                            elder_id=command.elder_id, division_code=state.division_code,
                            facility_kind=state.kind, admission_kind=kind)]


def _discharge(state: FacilityState, command: c.DischargeElder, _: Circumstances) -> list[e.FacilityEvent]:
    resident = _resident(state, command.elder_id)
    _refuse_invalid({"reason": _text(command.reason, "must say why the elder leaves")})
    _check_not_before_admission(resident, command.effective_date)
    return [e.ElderDischarged(facility_id=state.facility_id, effective_date=command.effective_date,
                              elder_id=command.elder_id, division_code=state.division_code,
                              facility_kind=state.kind, admission_kind=resident.admission_kind,
                              reason=command.reason)]


def _transfer(state: FacilityState, command: c.TransferElder, circumstances: Circumstances) -> list[e.FacilityEvent]:
    resident = _resident(state, command.elder_id)
    _refuse_invalid({"reason": _text(command.reason, "must say why the elder moves")})
    _check_not_before_admission(resident, command.effective_date)
    destination = _other_facility(state, circumstances, command.to_facility_id, "to_facility_id", "admit elders",
                                  command.effective_date)
    kind = _check_admission_kind(destination, command.admission_kind or resident.admission_kind)
    _check_has_room(destination, field="to_facility_id")
    on, common = command.effective_date, dict(elder_id=command.elder_id, reason=command.reason)
    return [e.ElderTransferredOut(facility_id=state.facility_id, effective_date=on, division_code=state.division_code,
                                  facility_kind=state.kind, admission_kind=resident.admission_kind,
                                  to_facility_id=destination.facility_id, **common),
            e.ElderTransferred(facility_id=destination.facility_id, effective_date=on,
                               division_code=destination.division_code, facility_kind=destination.kind,
                               admission_kind=kind, from_facility_id=state.facility_id,
                               from_division_code=state.division_code, **common)]


def _assess_operating_subsidy(state: FacilityState, command: c.AssessOperatingSubsidy,
                              circumstances: Circumstances) -> list[e.FacilityEvent]:
    if command.year != command.effective_date.year:
        raise CommandRejected(f"the {command.year} subsidy is assessed within {command.year}, "
                              f"not on {command.effective_date}", field="year")
    _check_in_operation(state, "receive an operating subsidy")
    if command.year in state.subsidy_years:
        raise ConflictError(f"facility {state.facility_id} already qualified for {command.year}", field="year")
    policy = circumstances.policies.operating_subsidy(state.division_code, command.effective_date)
    amount = policy.annual_fen_by_kind.get(state.kind) if policy else None
    if not amount:
        raise CommandRejected(f"no operating subsidy for a {state.kind.value} in division {state.division_code} "
                              f"on {command.effective_date}", field="kind")
    return [e.OperatingSubsidyEligible(
        facility_id=state.facility_id, effective_date=command.effective_date, division_code=state.division_code,
        year=command.year, kind=state.kind, amount_fen=amount, policy_jurisdiction=policy.jurisdiction,
        policy_source=policy.source)]


# More orders of one service a day than any village facility could serve: a typing error.
MAX_DAILY_CAPACITY = 10_000


def _declare_home_services(state: FacilityState, command: c.DeclareHomeServices,
                           _: Circumstances) -> list[e.FacilityEvent]:
    _check_not_ended(state)
    problems: dict[str, list[str]] = {}
    seen: set[str] = set()
    for index, offer in enumerate(command.offers):
        kind = getattr(offer, "service_kind", None)
        if not _is_member(kind, HomeServiceKind):
            problems[f"offers.{index}.service_kind"] = [
                f"must be one of {', '.join(k.value for k in HomeServiceKind)}"]
        elif HomeServiceKind(kind).value in seen:
            problems[f"offers.{index}.service_kind"] = ["is offered twice; give each service once"]
        else:
            seen.add(HomeServiceKind(kind).value)
        capacity = getattr(offer, "daily_capacity", None)
        if not (isinstance(capacity, int) and not isinstance(capacity, bool) and 1 <= capacity <= MAX_DAILY_CAPACITY):
            problems[f"offers.{index}.daily_capacity"] = [f"must be a whole number from 1 to {MAX_DAILY_CAPACITY}"]
    _refuse_invalid(problems)
    offers = tuple(sorted((HomeServiceOffer(HomeServiceKind(o.service_kind), o.daily_capacity) for o in command.offers),
                          key=lambda o: o.service_kind.value))
    if offers == state.home_services:
        raise CommandRejected("the facility already offers exactly these home services", field="offers")
    return [e.HomeServicesDeclared(facility_id=state.facility_id, effective_date=command.effective_date,
                                   division_code=state.division_code, offers=offers)]


_DECIDERS: dict[type, Callable] = {
    c.OpenFacility: _open, c.ChangeDetails: _change_details, c.ChangeCapacity: _change_capacity,
    c.RateFacility: _rate, c.SuspendFacility: _suspend, c.ReinstateFacility: _reinstate,
    c.MergeFacility: _merge, c.CloseFacility: _close, c.AdmitElder: _admit, c.DischargeElder: _discharge,
    c.TransferElder: _transfer, c.AssessOperatingSubsidy: _assess_operating_subsidy,
    c.DeclareHomeServices: _declare_home_services,
}


# --- shared checks ------------------------------------------------------------------------

def _other_facility(state: FacilityState, circumstances: Circumstances, other_id: str, field: str,
                    what: str, on: date) -> FacilityState:
    other = circumstances.other
    if other_id == state.facility_id:
        raise CommandRejected(f"facility {other_id} is the facility itself", field=field)
    if other is None or other.facility_id != other_id or not other.exists:
        raise NotFoundError(f"facility {other_id} does not exist", field=field)
    try:
        _check_in_operation(other, what)
    except CommandRejected as refused:
        raise CommandRejected(refused.message, field=field) from None
    # The other stream gets events of this date too: the same backdating rule holds there.
    _check_not_before_last_change(other, on)
    return other


def _check_admission_kind(state: FacilityState, admission_kind: object, field: str = "admission_kind") -> AdmissionKind:
    if not _is_member(admission_kind, AdmissionKind):
        raise ValidationError({field: [f"must be one of {', '.join(k.value for k in AdmissionKind)}"]})
    kind = AdmissionKind(admission_kind)
    if kind not in ADMISSIONS_BY_KIND[state.kind]:
        allowed = ", ".join(sorted(k.value for k in ADMISSIONS_BY_KIND[state.kind])) or "none"
        raise CommandRejected(f"a {state.kind.value} ({state.facility_id}) takes no {kind.value} admissions "
                              f"(it takes: {allowed})", field=field)
    return kind


def _check_elder_may_be_admitted(elder_id: str, on: date, circumstances: Circumstances, facility_id: str) -> None:
    elder, residence = circumstances.elder, circumstances.residence
    if elder is None:
        raise NotFoundError(f"elder {elder_id} is unknown: the registry has not reported them registered",
                            field="elder_id")
    if elder.deceased:
        raise CommandRejected(f"elder {elder_id} died on {elder.died_on}", field="elder_id")
    if elder.merged_into:
        raise CommandRejected(f"record {elder_id} was merged into {elder.merged_into}; admit that record",
                              field="elder_id")
    if residence is not None and residence.facility_id == facility_id:
        raise ConflictError(f"elder {elder_id} is already admitted here since {residence.since}", field="elder_id")
    if residence is not None:
        raise CommandRejected(f"elder {elder_id} is already admitted to facility {residence.facility_id} "
                              f"({residence.admission_kind.value}) since {residence.since}; discharge or "
                              "transfer them", field="elder_id")
    if circumstances.elder_last_moved_on is not None and on < circumstances.elder_last_moved_on:
        raise CommandRejected(f"elder {elder_id} last left a facility on {circumstances.elder_last_moved_on}; "
                              "an admission cannot be dated before that", field="effective_date")


def _check_has_room(state: FacilityState, field: str = "facility_id") -> None:
    if state.free_places == 0:
        raise CommandRejected(f"facility {state.facility_id} is full: {state.occupancy} of {state.capacity} "
                              "places taken", field=field)


def _resident(state: FacilityState, elder_id: str) -> Resident:
    resident = state.resident(elder_id)
    if resident is None:
        raise NotFoundError(f"elder {elder_id} is not admitted to facility {state.facility_id}", field="elder_id")
    return resident


def _check_not_before_admission(resident: Resident, on: date) -> None:
    if on < resident.admitted_on:
        raise CommandRejected(f"elder {resident.elder_id} was admitted on {resident.admitted_on}",
                              field="effective_date")


def _is_member(value: object, enum: type) -> bool:
    # A list, not a set: a str-valued Enum member hashes by its name, not by its value.
    return value in [member.value for member in enum]


def _is_star_level(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5


def _capacity_problems(value: object) -> list[str]:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return [] if ok else ["must be a whole number of places, 0 or more"]


def _services_problems(value: object) -> list[str]:
    ok = isinstance(value, (list, tuple)) and all(is_text(item) for item in value)
    return [] if ok else ["must be a list of non-blank service names"]


def _detail_problems(name: str, value: object) -> list[str]:
    if name == "operating_model":
        return [] if _is_member(value, OperatingModel) else ["is not an operating model"]
    if name == "services":
        return _services_problems(value)
    return _text(value, "must not be blank")


def _normalised_detail(name: str, value: object) -> object:
    if name == "operating_model":
        return OperatingModel(value)
    return tuple(value) if name == "services" else value


# --- evolve -------------------------------------------------------------------------------

def evolve(state: FacilityState, event: e.FacilityEvent) -> FacilityState:
    """The state after ``event``. Pure; refuses only event types it does not know."""
    apply = _EVOLVERS.get(type(event))
    if apply is None:
        raise UnknownEventTypeError(f"facilities cannot apply {type(event).__name__}")
    return replace(apply(state, event), version=state.version + 1, last_changed_on=event.effective_date)


def evolve_all(state: FacilityState, events: Iterable[e.FacilityEvent]) -> FacilityState:
    for event in events:
        state = evolve(state, event)
    return state


def fold(facility_id: str, events: Iterable[e.FacilityEvent]) -> FacilityState:
    """The facility after ``events`` (its own stream's), in effective-date order; events of
    one date keep their recorded order."""
    in_order = sorted(enumerate(events), key=lambda numbered: (numbered[1].effective_date, numbered[0]))
    return evolve_all(FacilityState.initial(facility_id), [event for _, event in in_order])


def fold_as_of(facility_id: str, events: Iterable[e.FacilityEvent], on: date) -> FacilityState:
    """The facility as it stood on ``on``, by what is recorded now."""
    return fold(facility_id, [event for event in events if event.effective_date <= on])


def events_for(facility_id: str, events: Iterable[e.FacilityEvent]) -> list[e.FacilityEvent]:
    return [event for event in events if event.facility_id == facility_id]


def _opened(state: FacilityState, event: e.FacilityOpened) -> FacilityState:
    return replace(state, status=FacilityStatus.OPEN, name=event.name, division_code=event.division_code,
                   kind=FacilityKind(event.kind), operating_model=OperatingModel(event.operating_model),
                   operator=event.operator, capacity=event.capacity, services=tuple(event.services),
                   opened_on=event.effective_date)


def _details_changed(state: FacilityState, event: e.FacilityDetailsChanged) -> FacilityState:
    changes = {name: _normalised_detail(name, value) for name, value in event.changes.items() if name in DETAIL_FIELDS}
    return replace(state, **changes)


def _capacity_changed(state: FacilityState, event: e.CapacityChanged) -> FacilityState:
    return replace(state, capacity=event.capacity)


def _rated(state: FacilityState, event: e.StarRatingAwarded | e.StarRatingChanged) -> FacilityState:
    return replace(state, stars=event.stars, rated_on=event.effective_date, assessor=event.assessor,
                   highest_stars=max(state.highest_stars, event.stars))


def _award_granted(state: FacilityState, event: e.StarAwardGranted) -> FacilityState:
    return replace(state, stars_awarded=state.stars_awarded | {event.stars})


def _subsidy_eligible(state: FacilityState, event: e.OperatingSubsidyEligible) -> FacilityState:
    return replace(state, subsidy_years=state.subsidy_years | {event.year})


def _suspended(state: FacilityState, event: e.FacilitySuspended) -> FacilityState:
    return replace(state, status=FacilityStatus.SUSPENDED, suspended_since=event.effective_date)


def _reinstated(state: FacilityState, event: e.FacilityReinstated) -> FacilityState:
    return replace(state, status=FacilityStatus.OPEN, suspended_since=None)


def _merged(state: FacilityState, event: e.FacilityMerged) -> FacilityState:
    return replace(state, status=FacilityStatus.MERGED, merged_into=event.merged_into, residents=())


def _absorbed(state: FacilityState, event: e.FacilityAbsorbed) -> FacilityState:
    return replace(state, capacity=event.capacity, absorbed=state.absorbed + (event.absorbed_facility_id,))


def _closed(state: FacilityState, event: e.FacilityClosed) -> FacilityState:
    return replace(state, status=FacilityStatus.CLOSED, closed_on=event.effective_date)


def _arrived(state: FacilityState, event: e.ElderAdmitted | e.ElderTransferred) -> FacilityState:
    resident = Resident(event.elder_id, AdmissionKind(event.admission_kind), event.effective_date)
    return replace(state, residents=state.residents + (resident,))


def _left(state: FacilityState, event: e.ElderDischarged | e.ElderTransferredOut) -> FacilityState:
    return replace(state, residents=tuple(r for r in state.residents if r.elder_id != event.elder_id))


def _home_services_declared(state: FacilityState, event: e.HomeServicesDeclared) -> FacilityState:
    return replace(state, home_services=tuple(event.offers))


_EVOLVERS: dict[type, Callable] = {
    e.FacilityOpened: _opened, e.FacilityDetailsChanged: _details_changed, e.CapacityChanged: _capacity_changed,
    e.StarRatingAwarded: _rated, e.StarRatingChanged: _rated, e.StarAwardGranted: _award_granted,
    e.OperatingSubsidyEligible: _subsidy_eligible, e.FacilitySuspended: _suspended,
    e.FacilityReinstated: _reinstated, e.FacilityMerged: _merged, e.FacilityAbsorbed: _absorbed,
    e.FacilityClosed: _closed, e.ElderAdmitted: _arrived, e.ElderTransferred: _arrived,
    e.ElderDischarged: _left, e.ElderTransferredOut: _left, e.HomeServicesDeclared: _home_services_declared,
}
