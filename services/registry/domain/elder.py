"""Deciding and evolving one elder's record; deriving left-behind and key-target status.

``decide`` turns a command into fact events plus the status events the rules derive from
them; ``evolve`` applies one event to the state; ``fold`` rebuilds the state from a
stream in effective-date order. All pure: the policy book and today's date are passed in.

Why decisions guard dates so carefully: events are replayed in effective-date order, so
a backdated fact must not land before a later fact about the same subject, and a derived
event must not land before the derived events already recorded. Otherwise the replayed
state would differ from the state the decision was made on.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Callable, Iterable

from dateutil.relativedelta import relativedelta

from contracts.registry_rpc import CORRECTABLE_FIELDS
from kernel.errors import (CommandRejected, ConflictError, NotFoundError, PolicyError,
                           UnknownEventTypeError, ValidationError)

from . import commands as c
from . import events as e
from .model import (SEXES, Carer, Contact, ElderState, RecordStatus, SelfCareLevel, Supporter,
                    SupportStatus, anniversary, is_division_code, is_phone, is_text,
                    resident_id_identity_problems, resident_id_problems)
from .policy import PolicyBook, StatusPolicy


# Fields that change only through their own command, so that each change keeps its meaning.
FIELDS_WITH_OWN_COMMAND = {
    "supporters": "RecordSupporterLeft / RecordSupporterReturned",
    "carer": "EntrustCarer",
    "self_care_level": "AssessSelfCare",
    "support_status": "ChangeSupportStatus",
    "division_code": "RecordMove",
    "hospitalised": "RecordHospitalisation / RecordHospitalDischarge",
    "died_on": "RecordDeath",
    "record_status": "RecordDeath / MergeRecords / UnmergeRecords",
    "merged_into": "MergeRecords / UnmergeRecords",
}

# Subjects (see ElderState.last_changed_on) whose change can change the key-target reasons.
KEY_TARGET_INPUTS = ("support_status", "self_care_level", "lives_alone", "birth_date", "division_code")

RECORD = "record"  # the subject of registration, death, merge and unmerge
FACILITY = "facility"  # the subject of entering and leaving facilities (see ElderState.last_changed_on)

Decider = Callable[[ElderState, c.ElderCommand], list[e.ElderEvent]]


# --- decide ---------------------------------------------------------------------------

def decide(state: ElderState, command: c.ElderCommand, policy_book: PolicyBook,
           today: date) -> list[e.ElderEvent]:
    """The events that ``command`` causes on ``state``: the fact events, then the status
    events derived from the resulting state. Raises when the rules refuse the command."""
    decider = _DECIDERS.get(type(command))
    if decider is None:
        raise TypeError(f"the registry has no rule for {type(command).__name__}")
    _check_not_in_future(command, today)
    if state.erased_on is not None:
        if isinstance(command, c.EvaluateStatus):
            return []                      # nothing is derived about an erased person any more
        raise ConflictError(f"elder {state.elder_id}'s personal data was erased on {state.erased_on}; "
                            f"the record takes no more commands", field="elder_id")
    if isinstance(command, c.EraseElder):
        if not state.is_registered:
            raise NotFoundError(f"elder {state.elder_id} is not registered", field="elder_id")
        return decider(state, command)     # any record may be erased, a closed one too
    if not isinstance(command, c.RegisterElder):
        _check_may_act_on(state, command)
    facts = decider(state, command)
    return facts + derive_status(evolve_all(state, facts), policy_book, today)


def decide_survivor_side(survivor_state: ElderState, command: c.ElderCommand) -> list[e.ElderEvent]:
    """The events a merge or unmerge appends to the survivor's stream.

    The handler appends these and ``decide``'s events on the duplicate in one transaction.
    """
    if isinstance(command, c.MergeRecords):
        return _absorb_duplicate(survivor_state, command)
    if isinstance(command, c.UnmergeRecords):
        return _release_duplicate(survivor_state, command)
    raise TypeError(f"{type(command).__name__} has no survivor side")


def _check_not_in_future(command: c.ElderCommand, today: date) -> None:
    if command.effective_date > today:
        raise CommandRejected(
            f"effective date {command.effective_date} is in the future (today is {today})",
            field="effective_date")


def _check_may_act_on(state: ElderState, command: c.ElderCommand) -> None:
    if not state.is_registered:
        raise NotFoundError(f"elder {state.elder_id} is not registered", field="elder_id")
    if isinstance(command, c.EvaluateStatus):
        return  # the timer may evaluate any record; an inactive one just derives nothing
    if not state.is_active and not isinstance(command, c.UnmergeRecords):
        raise CommandRejected(_inactive_message(state), field="elder_id")
    if command.effective_date < state.registered_on:
        raise CommandRejected(
            f"effective date {command.effective_date} is before the elder was registered "
            f"({state.registered_on})", field="effective_date")


def _inactive_message(state: ElderState) -> str:
    if state.record_status is RecordStatus.DECEASED:
        return f"elder {state.elder_id} died on {state.died_on}; the record is closed"
    return f"record {state.elder_id} was merged into {state.merged_into}; act on that record"


def _check_not_before_last_change(state: ElderState, subject: str, on: date) -> None:
    last = state.last_change_of(subject)
    if last is not None and on < last:
        raise CommandRejected(
            f"{subject} last changed on {last}; a change cannot be recorded before that date",
            field="effective_date")


def _refuse_invalid(errors: dict[str, list[str]]) -> None:
    problems = {name: msgs for name, msgs in errors.items() if msgs}
    if problems:
        raise ValidationError(problems)


# --- deciders, one per command ----------------------------------------------------------

def _register(state: ElderState, command: c.RegisterElder) -> list[e.ElderEvent]:
    if state.is_registered:
        raise ConflictError(f"elder {state.elder_id} is already registered", field="elder_id")
    _refuse_invalid(_registration_problems(command))
    return [e.ElderRegistered(
        elder_id=command.elder_id, effective_date=command.effective_date,
        resident_id=command.resident_id, name=command.name, sex=command.sex,
        birth_date=command.birth_date, division_code=command.division_code,
        household_id=command.household_id, address=command.address, phone=command.phone,
        contacts=tuple(command.contacts), supporters=tuple(command.supporters),
        carer=command.carer, income_sources=tuple(command.income_sources),
        support_status=command.support_status, health=command.health,
        self_care_level=SelfCareLevel(command.self_care_level), lives_alone=command.lives_alone)]


def _registration_problems(command: c.RegisterElder) -> dict[str, list[str]]:
    errors = {name: _field_problems(name, getattr(command, name)) for name in sorted(CORRECTABLE_FIELDS)}
    errors["elder_id"] = [] if is_text(command.elder_id) else ["must not be blank"]
    errors["division_code"] = [] if is_division_code(command.division_code) else ["must be 12 digits"]
    errors["supporters"] = _supporters_problems(command.supporters, command.effective_date)
    errors["carer"] = [] if command.carer is None else _carer_problems(command.carer)
    errors["support_status"] = [] if isinstance(command.support_status, SupportStatus) else ["must be a SupportStatus"]
    errors["self_care_level"] = _self_care_level_problems(command.self_care_level)
    errors["resident_id"] += _identity_problems(command.resident_id, command.birth_date, command.sex)
    errors["birth_date"] += _born_by_problems(command.birth_date, command.effective_date)
    return errors


def _correct_details(state: ElderState, command: c.CorrectDetails) -> list[e.ElderEvent]:
    _refuse_invalid({"reason": [] if is_text(command.reason) else ["must say why the details change"],
                     "changes": [] if command.changes else ["must name at least one field"]})
    for name in command.changes:
        _check_correctable(name)
        _check_not_before_last_change(state, name, command.effective_date)
    normalised = {name: _normalised(name, value) for name, value in command.changes.items()}
    changes = {name: value for name, value in normalised.items() if value != getattr(state, name)}
    if not changes:
        raise CommandRejected("the record already holds these details", field="changes")
    _refuse_invalid(_correction_problems(state, changes))
    return [e.DetailsCorrected(elder_id=state.elder_id, effective_date=command.effective_date,
                               changes=changes, reason=command.reason)]


def _check_correctable(name: str) -> None:
    if name in FIELDS_WITH_OWN_COMMAND:
        raise CommandRejected(f"{name} cannot be corrected; use {FIELDS_WITH_OWN_COMMAND[name]}", field=name)
    if name not in CORRECTABLE_FIELDS:
        raise CommandRejected(f"{name} is not a correctable detail of the record", field=name)


def _normalised(name: str, value: object) -> object:
    return tuple(value) if name in ("contacts", "income_sources") and isinstance(value, list) else value


def _correction_problems(state: ElderState, changes: dict[str, object]) -> dict[str, list[str]]:
    errors = {name: _field_problems(name, value) for name, value in changes.items()}
    if errors.get("birth_date") == []:
        errors["birth_date"] += _born_by_problems(changes["birth_date"], state.registered_on)
    if {"resident_id", "birth_date", "sex"} & changes.keys() and not any(errors.values()):
        corrected = replace(state, **changes)
        errors["resident_id"] = _identity_problems(corrected.resident_id, corrected.birth_date, corrected.sex)
    return errors


def _supporter_left(state: ElderState, command: c.RecordSupporterLeft) -> list[e.ElderEvent]:
    supporter = _supporter_leaving(state, command)
    _check_not_before_last_change(state, f"supporter:{command.supporter_id}", command.effective_date)
    phone = command.phone or supporter.phone
    _refuse_invalid({"phone": [] if phone is None or is_phone(phone) else ["is not a phone number"]})
    return [e.SupporterLeft(
        elder_id=state.elder_id, effective_date=command.effective_date,
        supporter_id=supporter.supporter_id, name=supporter.name,
        relationship=supporter.relationship, phone=phone,
        whereabouts=command.whereabouts or supporter.whereabouts)]


def _supporter_leaving(state: ElderState, command: c.RecordSupporterLeft) -> Supporter:
    """The supporter on the record who leaves, or the new one the command introduces."""
    known = state.supporter(command.supporter_id)
    if known is not None and command.new_supporter is not None:
        raise ConflictError(f"supporter {command.supporter_id} is already on the record", field="supporter_id")
    if known is not None and known.is_away:
        raise CommandRejected(f"supporter {command.supporter_id} has been away since {known.left_on}",
                              field="supporter_id")
    if known is not None:
        return known
    if command.new_supporter is None:
        raise NotFoundError(f"elder {state.elder_id} has no supporter {command.supporter_id}",
                            field="supporter_id")
    problems = _supporter_problems(command.new_supporter)
    if command.new_supporter.supporter_id != command.supporter_id:
        problems.append("supporter_id differs from the command's supporter_id")
    _refuse_invalid({"new_supporter": problems})
    return command.new_supporter


def _supporter_returned(state: ElderState, command: c.RecordSupporterReturned) -> list[e.ElderEvent]:
    supporter = state.supporter(command.supporter_id)
    if supporter is None:
        raise NotFoundError(f"elder {state.elder_id} has no supporter {command.supporter_id}",
                            field="supporter_id")
    if not supporter.is_away:
        raise CommandRejected(f"supporter {command.supporter_id} is not away", field="supporter_id")
    _check_not_before_last_change(state, f"supporter:{command.supporter_id}", command.effective_date)
    return [e.SupporterReturned(elder_id=state.elder_id, effective_date=command.effective_date,
                                supporter_id=command.supporter_id)]


def _entrust_carer(state: ElderState, command: c.EntrustCarer) -> list[e.ElderEvent]:
    _refuse_invalid({"carer": _carer_problems(command.carer)})
    _check_not_before_last_change(state, "carer", command.effective_date)
    return [e.CarerEntrusted(elder_id=state.elder_id, effective_date=command.effective_date,
                             carer=command.carer)]


def _assess_self_care(state: ElderState, command: c.AssessSelfCare) -> list[e.ElderEvent]:
    _refuse_invalid({"level": _self_care_level_problems(command.level),
                     "assessor": [] if is_text(command.assessor) else ["must name who assessed"]})
    _check_not_before_last_change(state, "self_care_level", command.effective_date)
    return [e.SelfCareAssessed(elder_id=state.elder_id, effective_date=command.effective_date,
                               level=SelfCareLevel(command.level), previous_level=state.self_care_level,
                               assessor=command.assessor)]


def _change_support_status(state: ElderState, command: c.ChangeSupportStatus) -> list[e.ElderEvent]:
    _refuse_invalid({
        "support_status": [] if isinstance(command.support_status, SupportStatus) else ["must be a SupportStatus"],
        "reason": [] if is_text(command.reason) else ["must say why the status changes"]})
    if command.support_status == state.support_status:
        raise CommandRejected("the record already holds this support status", field="support_status")
    _check_not_before_last_change(state, "support_status", command.effective_date)
    return [e.SupportStatusChanged(elder_id=state.elder_id, effective_date=command.effective_date,
                                   support_status=command.support_status,
                                   previous_support_status=state.support_status, reason=command.reason)]


def _record_move(state: ElderState, command: c.RecordMove) -> list[e.ElderEvent]:
    _refuse_invalid({"division_code": [] if is_division_code(command.division_code) else ["must be 12 digits"],
                     "address": _field_problems("address", command.address),
                     "household_id": _field_problems("household_id", command.household_id)})
    destination = (command.division_code, command.address, command.household_id)
    if destination == (state.division_code, state.address, state.household_id):
        raise CommandRejected("the elder already lives there", field="division_code")
    for subject in ("division_code", "address", "household_id"):
        _check_not_before_last_change(state, subject, command.effective_date)
    return [e.ElderMoved(elder_id=state.elder_id, effective_date=command.effective_date,
                         from_division_code=state.division_code, division_code=command.division_code,
                         address=command.address, household_id=command.household_id)]


def _record_hospitalisation(state: ElderState, command: c.RecordHospitalisation) -> list[e.ElderEvent]:
    _refuse_invalid({"hospital": [] if is_text(command.hospital) else ["must name the hospital"]})
    if state.hospitalised:
        raise CommandRejected(f"elder {state.elder_id} is already in {state.hospital}", field="elder_id")
    _check_not_before_last_change(state, "hospitalisation", command.effective_date)
    return [e.ElderHospitalised(elder_id=state.elder_id, effective_date=command.effective_date,
                                hospital=command.hospital)]


def _record_discharge(state: ElderState, command: c.RecordHospitalDischarge) -> list[e.ElderEvent]:
    if not state.hospitalised:
        raise CommandRejected(f"elder {state.elder_id} is not in hospital", field="elder_id")
    _check_not_before_last_change(state, "hospitalisation", command.effective_date)
    return [e.ElderDischargedFromHospital(elder_id=state.elder_id, effective_date=command.effective_date)]


def _record_death(state: ElderState, command: c.RecordDeath) -> list[e.ElderEvent]:
    _check_not_before_last_change(state, RECORD, command.effective_date)
    return [e.ElderDied(elder_id=state.elder_id, effective_date=command.effective_date)]


def _merge(state: ElderState, command: c.MergeRecords) -> list[e.ElderEvent]:
    _refuse_invalid({"survivor_id": [] if is_text(command.survivor_id) else ["must not be blank"],
                     "reason": [] if is_text(command.reason) else ["must say why the records are one person"]})
    if command.survivor_id == state.elder_id:
        raise CommandRejected("a record cannot be merged into itself", field="survivor_id")
    _check_not_before_last_change(state, RECORD, command.effective_date)
    return [e.RecordMergedInto(elder_id=state.elder_id, effective_date=command.effective_date,
                               survivor_id=command.survivor_id, reason=command.reason)]


def _unmerge(state: ElderState, command: c.UnmergeRecords) -> list[e.ElderEvent]:
    if state.record_status is not RecordStatus.MERGED:
        raise CommandRejected(f"record {state.elder_id} is not merged", field="elder_id")
    _refuse_invalid({"reason": [] if is_text(command.reason) else ["must say why the merge is undone"]})
    _check_not_before_last_change(state, RECORD, command.effective_date)
    return [e.RecordUnmerged(elder_id=state.elder_id, effective_date=command.effective_date,
                             survivor_id=state.merged_into, reason=command.reason)]


def _enter_facility(state: ElderState, command: c.RecordFacilityEntry) -> list[e.ElderEvent]:
    _refuse_invalid({"facility_id": [] if is_text(command.facility_id) else ["must not be blank"],
                     "facility_division_code": [] if is_division_code(command.facility_division_code)
                     else ["must be 12 digits"],
                     "admission_kind": [] if is_text(command.admission_kind) else ["must not be blank"]})
    if (state.facility_id, state.admission_kind) == (command.facility_id, command.admission_kind):
        raise CommandRejected(f"elder {state.elder_id} is already in facility {command.facility_id}",
                              field="facility_id")
    _check_not_before_last_change(state, FACILITY, command.effective_date)
    return [e.EnteredFacility(elder_id=state.elder_id, effective_date=command.effective_date,
                              facility_id=command.facility_id,
                              facility_division_code=command.facility_division_code,
                              admission_kind=command.admission_kind, from_facility_id=command.from_facility_id)]


def _leave_facility(state: ElderState, command: c.RecordFacilityExit) -> list[e.ElderEvent]:
    if state.facility_id != command.facility_id:
        where = f"in facility {state.facility_id}" if state.facility_id else "in no facility"
        raise CommandRejected(f"elder {state.elder_id} is {where}, not {command.facility_id}", field="facility_id")
    _check_not_before_last_change(state, FACILITY, command.effective_date)
    return [e.LeftFacility(elder_id=state.elder_id, effective_date=command.effective_date,
                           facility_id=command.facility_id, reason=command.reason)]


def _evaluate_status(state: ElderState, command: c.EvaluateStatus) -> list[e.ElderEvent]:
    return []  # no fact: decide() appends whatever derive_status finds due


def _absorb_duplicate(survivor: ElderState, command: c.MergeRecords) -> list[e.ElderEvent]:
    if not survivor.is_registered:
        raise NotFoundError(f"survivor {survivor.elder_id} is not registered", field="survivor_id")
    if survivor.elder_id == command.elder_id:
        raise CommandRejected("a record cannot be merged into itself", field="survivor_id")
    if not survivor.is_active:
        raise CommandRejected(f"cannot merge into {survivor.elder_id}: {_inactive_message(survivor)}",
                              field="survivor_id")
    if command.elder_id in survivor.absorbed_duplicates:
        raise ConflictError(f"{command.elder_id} is already merged into {survivor.elder_id}", field="elder_id")
    if command.effective_date < survivor.registered_on:
        raise CommandRejected(f"effective date {command.effective_date} is before the survivor was "
                              f"registered ({survivor.registered_on})", field="effective_date")
    return [e.DuplicateAbsorbed(elder_id=survivor.elder_id, effective_date=command.effective_date,
                                duplicate_id=command.elder_id, reason=command.reason)]


def _release_duplicate(survivor: ElderState, command: c.UnmergeRecords) -> list[e.ElderEvent]:
    if not survivor.is_registered:
        raise NotFoundError(f"survivor {survivor.elder_id} is not registered", field="survivor_id")
    if command.elder_id not in survivor.absorbed_duplicates:
        raise ConflictError(f"{command.elder_id} is not merged into {survivor.elder_id}", field="elder_id")
    return [e.DuplicateReleased(elder_id=survivor.elder_id, effective_date=command.effective_date,
                                duplicate_id=command.elder_id, reason=command.reason)]


def _give_consent(state: ElderState, command: c.GiveConsent) -> list[e.ElderEvent]:
    new = tuple(sorted(set(command.departments) - set(state.consents.get(command.scope, ()))))
    if not new:
        raise CommandRejected(f"the elder's consent {command.scope} already names {', '.join(command.departments)}",
                              field="departments")
    return [e.ConsentGiven(elder_id=state.elder_id, effective_date=command.effective_date, scope=command.scope,
                           departments=new)]


def _withdraw_consent(state: ElderState, command: c.WithdrawConsent) -> list[e.ElderEvent]:
    held = set(state.consents.get(command.scope, ()))
    missing = sorted(set(command.departments) - held)
    if missing:
        raise CommandRejected(f"the elder's consent {command.scope} does not name {', '.join(missing)} "
                              f"(names: {', '.join(sorted(held)) or 'none'})", field="departments")
    return [e.ConsentWithdrawn(elder_id=state.elder_id, effective_date=command.effective_date, scope=command.scope,
                               departments=tuple(sorted(set(command.departments))))]


def _consent_given(state: ElderState, event: e.ConsentGiven) -> ElderState:
    held = set(state.consents.get(event.scope, ())) | set(event.departments)
    return replace(state, consents={**state.consents, event.scope: tuple(sorted(held))})


def _consent_withdrawn(state: ElderState, event: e.ConsentWithdrawn) -> ElderState:
    held = set(state.consents.get(event.scope, ())) - set(event.departments)
    return replace(state, consents={**state.consents, event.scope: tuple(sorted(held))})


def _erase(state: ElderState, command: c.EraseElder) -> list[e.ElderEvent]:
    return [e.ElderErased(elder_id=state.elder_id, effective_date=command.effective_date,
                          legal_ground=command.legal_ground, reason=command.reason)]


def _erased(state: ElderState, event: e.ElderErased) -> ElderState:
    return replace(state, erased_on=event.effective_date)


_DECIDERS: dict[type, Decider] = {
    c.EraseElder: _erase,
    c.GiveConsent: _give_consent,
    c.WithdrawConsent: _withdraw_consent,
    c.RegisterElder: _register,
    c.CorrectDetails: _correct_details,
    c.RecordSupporterLeft: _supporter_left,
    c.RecordSupporterReturned: _supporter_returned,
    c.EntrustCarer: _entrust_carer,
    c.AssessSelfCare: _assess_self_care,
    c.ChangeSupportStatus: _change_support_status,
    c.RecordMove: _record_move,
    c.RecordHospitalisation: _record_hospitalisation,
    c.RecordHospitalDischarge: _record_discharge,
    c.RecordDeath: _record_death,
    c.MergeRecords: _merge,
    c.UnmergeRecords: _unmerge,
    c.EvaluateStatus: _evaluate_status,
    c.RecordFacilityEntry: _enter_facility,
    c.RecordFacilityExit: _leave_facility,
}


# --- value checks -----------------------------------------------------------------------

def _field_problems(name: str, value: object) -> list[str]:
    """Problems with one correctable field's value on its own."""
    if name == "resident_id":
        return resident_id_problems(value)
    if name == "sex":
        return [] if value in SEXES else [f"must be one of {', '.join(SEXES)}"]
    if name == "birth_date":
        return [] if isinstance(value, date) else ["must be a date"]
    if name in ("name", "household_id", "address"):
        return [] if is_text(value) else ["must not be blank"]
    if name == "phone":
        return [] if value is None or is_phone(value) else ["is not a phone number"]
    if name == "health":
        return [] if value is None or isinstance(value, str) else ["must be text"]
    if name == "lives_alone":
        return [] if isinstance(value, bool) else ["must be true or false"]
    if name == "income_sources":
        return [] if _is_sequence_of(value, is_text) else ["must be a list of non-blank texts"]
    if name == "contacts":
        return _contacts_problems(value)
    return []


def _is_sequence_of(value: object, accepts: Callable[[object], bool]) -> bool:
    return isinstance(value, (list, tuple)) and all(accepts(item) for item in value)


def _contacts_problems(contacts: object) -> list[str]:
    if not _is_sequence_of(contacts, lambda item: isinstance(item, Contact)):
        return ["must be a list of contacts"]
    return [f"contact {i + 1}: needs a name and a phone number" for i, contact in enumerate(contacts)
            if not (is_text(contact.name) and is_phone(contact.phone))]


def _supporters_problems(supporters: object, registered_on: date) -> list[str]:
    if not _is_sequence_of(supporters, lambda item: isinstance(item, Supporter)):
        return ["must be a list of supporters"]
    ids = [s.supporter_id for s in supporters]
    problems = [f"supporter_id {i} appears twice" for i in sorted(set(ids)) if ids.count(i) > 1]
    for supporter in supporters:
        problems += [f"{supporter.supporter_id}: {p}" for p in _supporter_problems(supporter)]
        problems += [f"{supporter.supporter_id}: {p}" for p in _movement_problems(supporter, registered_on)]
    return problems


def _supporter_problems(supporter: Supporter) -> list[str]:
    problems = [f"{name} must not be blank" for name in ("supporter_id", "name", "relationship")
                if not is_text(getattr(supporter, name))]
    if supporter.phone is not None and not is_phone(supporter.phone):
        problems.append("phone is not a phone number")
    return problems


def _movement_problems(supporter: Supporter, registered_on: date) -> list[str]:
    problems = []
    if supporter.left_on is not None and supporter.returned_on is not None:
        problems.append("cannot be both away (left_on) and back (returned_on)")
    for name in ("left_on", "returned_on"):
        moved_on = getattr(supporter, name)
        if moved_on is not None and moved_on > registered_on:
            problems.append(f"{name} {moved_on} is after the registration date")
    return problems


def _carer_problems(carer: object) -> list[str]:
    if not isinstance(carer, Carer):
        return ["must be a Carer"]
    problems = [f"{name} must not be blank" for name in ("name", "relationship") if not is_text(getattr(carer, name))]
    return problems + ([] if is_phone(carer.phone) else ["phone is not a phone number"])


def _self_care_level_problems(level: object) -> list[str]:
    # A list, not a set: a str-valued Enum member hashes by its name, not by its value.
    if level in [member.value for member in SelfCareLevel]:
        return []
    return [f"must be one of {', '.join(member.value for member in SelfCareLevel)}"]


def _identity_problems(resident_id: object, birth_date: object, sex: object) -> list[str]:
    """Only checked once each value is well formed on its own, to report one thing at a time."""
    well_formed = not resident_id_problems(resident_id) and isinstance(birth_date, date) and sex in SEXES
    return resident_id_identity_problems(resident_id, birth_date, sex) if well_formed else []


def _born_by_problems(birth_date: object, on: date) -> list[str]:
    if isinstance(birth_date, date) and birth_date > on:
        return [f"is after the registration date {on}"]
    return []


# --- evolve -------------------------------------------------------------------------------

def evolve(state: ElderState, event: e.ElderEvent) -> ElderState:
    """The state after ``event``. Pure; refuses only event types it does not know."""
    apply = _EVOLVERS.get(type(event))
    if apply is None:
        raise UnknownEventTypeError(f"the registry cannot apply {type(event).__name__}")
    return replace(apply(state, event), version=state.version + 1)


def fold(elder_id: str, events: Iterable[e.ElderEvent]) -> ElderState:
    """The state of ``elder_id`` after ``events``, applied in effective-date order.

    A backdated fact takes effect at its effective date, not where it was appended;
    events on the same date keep the order in which they were recorded.
    """
    in_order = sorted(enumerate(events), key=lambda numbered: (numbered[1].effective_date, numbered[0]))
    return evolve_all(ElderState.initial(elder_id), [event for _, event in in_order])


def fold_as_of(elder_id: str, events: Iterable[e.ElderEvent], on: date) -> ElderState:
    """The state of ``elder_id`` as it stood on ``on``, by what is recorded now."""
    return fold(elder_id, [event for event in events if event.effective_date <= on])


def evolve_all(state: ElderState, events: Iterable[e.ElderEvent]) -> ElderState:
    """``evolve`` each event in turn (in the order given)."""
    for event in events:
        state = evolve(state, event)
    return state


def _touched(state: ElderState, on: date, *subjects: str) -> dict[str, date]:
    return {**state.last_changed_on, **{subject: on for subject in subjects}}


def _registered(state: ElderState, event: e.ElderRegistered) -> ElderState:
    return replace(
        state, record_status=RecordStatus.ACTIVE, registered_on=event.effective_date,
        resident_id=event.resident_id, name=event.name, sex=event.sex, birth_date=event.birth_date,
        division_code=event.division_code, household_id=event.household_id, address=event.address,
        phone=event.phone, contacts=tuple(event.contacts), supporters=tuple(event.supporters),
        carer=event.carer, income_sources=tuple(event.income_sources),
        support_status=event.support_status, health=event.health,
        self_care_level=SelfCareLevel(event.self_care_level), lives_alone=event.lives_alone,
        last_changed_on=_touched(state, event.effective_date, RECORD))


def _details_corrected(state: ElderState, event: e.DetailsCorrected) -> ElderState:
    changes = {name: _normalised(name, value) for name, value in event.changes.items()
               if name in CORRECTABLE_FIELDS}
    return replace(state, **changes, last_changed_on=_touched(state, event.effective_date, *changes))


def _supporter_has_left(state: ElderState, event: e.SupporterLeft) -> ElderState:
    departed = Supporter(supporter_id=event.supporter_id, name=event.name, relationship=event.relationship,
                         phone=event.phone, whereabouts=event.whereabouts, left_on=event.effective_date)
    others = tuple(s for s in state.supporters if s.supporter_id != event.supporter_id)
    position = next((i for i, s in enumerate(state.supporters) if s.supporter_id == event.supporter_id),
                    len(others))
    supporters = others[:position] + (departed,) + others[position:]
    return replace(state, supporters=supporters,
                   last_changed_on=_touched(state, event.effective_date, f"supporter:{event.supporter_id}"))


def _supporter_has_returned(state: ElderState, event: e.SupporterReturned) -> ElderState:
    supporters = tuple(
        replace(s, left_on=None, returned_on=event.effective_date, whereabouts=None)
        if s.supporter_id == event.supporter_id else s
        for s in state.supporters)
    return replace(state, supporters=supporters,
                   last_changed_on=_touched(state, event.effective_date, f"supporter:{event.supporter_id}"))


def _carer_entrusted(state: ElderState, event: e.CarerEntrusted) -> ElderState:
    return replace(state, carer=event.carer, last_changed_on=_touched(state, event.effective_date, "carer"))


def _self_care_assessed(state: ElderState, event: e.SelfCareAssessed) -> ElderState:
    return replace(state, self_care_level=SelfCareLevel(event.level),
                   last_changed_on=_touched(state, event.effective_date, "self_care_level"))


def _support_status_changed(state: ElderState, event: e.SupportStatusChanged) -> ElderState:
    return replace(state, support_status=event.support_status,
                   last_changed_on=_touched(state, event.effective_date, "support_status"))


def _moved(state: ElderState, event: e.ElderMoved) -> ElderState:
    return replace(state, division_code=event.division_code, address=event.address,
                   household_id=event.household_id,
                   last_changed_on=_touched(state, event.effective_date, "division_code", "address", "household_id"))


def _hospitalised(state: ElderState, event: e.ElderHospitalised) -> ElderState:
    return replace(state, hospitalised=True, hospital=event.hospital,
                   last_changed_on=_touched(state, event.effective_date, "hospitalisation"))


def _discharged(state: ElderState, event: e.ElderDischargedFromHospital) -> ElderState:
    return replace(state, hospitalised=False, hospital=None,
                   last_changed_on=_touched(state, event.effective_date, "hospitalisation"))


def _died(state: ElderState, event: e.ElderDied) -> ElderState:
    return replace(state, record_status=RecordStatus.DECEASED, died_on=event.effective_date,
                   last_changed_on=_touched(state, event.effective_date, RECORD))


def _merged_into(state: ElderState, event: e.RecordMergedInto) -> ElderState:
    return replace(state, record_status=RecordStatus.MERGED, merged_into=event.survivor_id,
                   last_changed_on=_touched(state, event.effective_date, RECORD))


def _unmerged(state: ElderState, event: e.RecordUnmerged) -> ElderState:
    return replace(state, record_status=RecordStatus.ACTIVE, merged_into=None,
                   last_changed_on=_touched(state, event.effective_date, RECORD))


def _absorbed(state: ElderState, event: e.DuplicateAbsorbed) -> ElderState:
    others = tuple(d for d in state.absorbed_duplicates if d != event.duplicate_id)
    return replace(state, absorbed_duplicates=others + (event.duplicate_id,))


def _released(state: ElderState, event: e.DuplicateReleased) -> ElderState:
    return replace(state, absorbed_duplicates=tuple(d for d in state.absorbed_duplicates if d != event.duplicate_id))


def _became_left_behind(state: ElderState, event: e.BecameLeftBehind) -> ElderState:
    return replace(state, left_behind_since=event.effective_date, status_as_of=event.effective_date)


def _ceased_left_behind(state: ElderState, event: e.CeasedLeftBehind) -> ElderState:
    return replace(state, left_behind_since=None, status_as_of=event.effective_date)


def _key_target_changed(state: ElderState, event: e.KeyTargetChanged) -> ElderState:
    return replace(state, is_key_target=bool(event.reasons), key_target_reasons=tuple(sorted(event.reasons)),
                   status_as_of=event.effective_date)


def _entered_facility(state: ElderState, event: e.EnteredFacility) -> ElderState:
    return replace(state, facility_id=event.facility_id, admission_kind=event.admission_kind,
                   in_facility_since=event.effective_date,
                   last_changed_on=_touched(state, event.effective_date, FACILITY))


def _left_facility(state: ElderState, event: e.LeftFacility) -> ElderState:
    return replace(state, facility_id=None, admission_kind=None, in_facility_since=None,
                   last_changed_on=_touched(state, event.effective_date, FACILITY))


_EVOLVERS: dict[type, Callable[[ElderState, e.ElderEvent], ElderState]] = {
    e.ElderRegistered: _registered,
    e.DetailsCorrected: _details_corrected,
    e.SupporterLeft: _supporter_has_left,
    e.SupporterReturned: _supporter_has_returned,
    e.CarerEntrusted: _carer_entrusted,
    e.SelfCareAssessed: _self_care_assessed,
    e.SupportStatusChanged: _support_status_changed,
    e.ElderMoved: _moved,
    e.ElderHospitalised: _hospitalised,
    e.ElderDischargedFromHospital: _discharged,
    e.ElderDied: _died,
    e.RecordMergedInto: _merged_into,
    e.RecordUnmerged: _unmerged,
    e.DuplicateAbsorbed: _absorbed,
    e.DuplicateReleased: _released,
    e.BecameLeftBehind: _became_left_behind,
    e.CeasedLeftBehind: _ceased_left_behind,
    e.KeyTargetChanged: _key_target_changed,
    e.EnteredFacility: _entered_facility,
    e.LeftFacility: _left_facility,
    e.ElderErased: _erased,
    e.ConsentGiven: _consent_given,
    e.ConsentWithdrawn: _consent_withdrawn,
}


# --- derived status -------------------------------------------------------------------

def derive_status(state: ElderState, policy_book: PolicyBook, today: date) -> list[e.ElderEvent]:
    """The status events the facts in ``state`` call for by ``today`` and not yet recorded.

    Each is dated when the status actually changed (e.g. the day six months away were
    reached), never before a status event already recorded. Returns [] when the state
    already reflects everything, so the daily timer can call it freely.
    """
    if not state.is_registered:
        return []
    derived: list[e.ElderEvent] = []
    for step in (_left_behind_events, _key_target_events):
        found = step(state, policy_book, today)
        state = evolve_all(state, found)
        derived += found
    return derived


def key_target_reasons_on(state: ElderState, policy_book: PolicyBook, on: date) -> tuple[str, ...]:
    """Why the elder counts as a key target on ``on`` under the policy then in force
    (sorted; empty when not a key target). Only left-behind elders can be key targets."""
    if not state.is_left_behind or on < state.left_behind_since:
        return ()
    policy = policy_book.policy_for(state.division_code, on)
    reasons = {
        "hard_up": policy.counts_as_hard_up(state.support_status),
        "advanced_age": state.age_on(on) >= policy.advanced_age,
        "disabled": state.self_care_level in policy.disabled_levels,
        "living_alone": state.lives_alone and policy.living_alone_is_key,
    }
    return tuple(sorted(reason for reason, holds in reasons.items() if holds))


def left_behind_start(state: ElderState, policy_book: PolicyBook) -> date | None:
    """The first day on which every supporter has been away as long as the policy then in
    force requires; None unless every supporter is away now or if no policy ever applies.

    The rule may change while the supporters are away, so each policy version's
    requirement is tried: the answer is the earliest day that satisfies the version in
    force on that very day.
    """
    if not state.all_supporters_away:
        return None
    away_since = _supporters_away_since(state)
    versions = policy_book.versions_covering(state.division_code)
    candidates = {away_since + relativedelta(months=v.months_away) for v in versions}
    candidates |= {v.effective_from for v in versions if v.effective_from > away_since}
    for day in sorted(candidates):
        policy = _policy_or_none(policy_book, state.division_code, day)
        if policy is not None and away_since + relativedelta(months=policy.months_away) <= day:
            return day
    return None


def next_review_date(state: ElderState, policy_book: PolicyBook) -> date | None:
    """The earliest date on which ``derive_status`` would find something due without any
    new fact: the day left-behind status begins, or the next change of key-target reasons
    (an advanced-age birthday, a new policy version). None if nothing is pending."""
    if not state.is_active:
        return None
    if not state.is_left_behind:
        start = left_behind_start(state, policy_book)
        return None if start is None else max(start, _status_floor(state))
    floor = _key_target_floor(state)
    upcoming = sorted(day for day in _key_target_change_days(state, policy_book) if day > floor)
    return next((day for day in upcoming
                 if key_target_reasons_on(state, policy_book, day) != state.key_target_reasons), None)


def _left_behind_events(state: ElderState, policy_book: PolicyBook, today: date) -> list[e.ElderEvent]:
    if state.is_left_behind:
        return _ceasing_events(state)
    if not state.is_active:
        return []
    start = left_behind_start(state, policy_book)
    if start is None or start > today:
        return []
    policy = policy_book.policy_for(state.division_code, start)
    return [e.BecameLeftBehind(elder_id=state.elder_id, effective_date=max(start, _status_floor(state)),
                               reason=_left_behind_reason(state, policy, start),
                               supporters_away_since=_supporters_away_since(state))]


def _ceasing_events(state: ElderState) -> list[e.ElderEvent]:
    ended = _end_of_left_behind(state)
    if ended is None:
        return []
    ended_on, reason = ended
    return [e.CeasedLeftBehind(elder_id=state.elder_id, effective_date=max(ended_on, _status_floor(state)),
                               reason=reason)]


def _end_of_left_behind(state: ElderState) -> tuple[date, str] | None:
    """When and why a left-behind elder stopped being left-behind; None while still so."""
    if state.record_status is RecordStatus.DECEASED:
        return state.died_on, f"the elder died on {state.died_on}"
    if state.record_status is RecordStatus.MERGED:
        merged_on = state.last_change_of(RECORD)
        return merged_on, f"the record was merged into {state.merged_into} on {merged_on}"
    if state.all_supporters_away:
        return None
    back = sorted((s for s in state.supporters if not s.is_away and s.returned_on is not None),
                  key=lambda s: s.returned_on)
    if not back:
        return _status_floor(state), "no supporter is away any more"
    first = back[0]
    return first.returned_on, f"supporter {first.name} ({first.relationship}) returned on {first.returned_on}"


def _left_behind_reason(state: ElderState, policy: StatusPolicy, start: date) -> str:
    away = "; ".join(f"{s.name} ({s.relationship}) away since {s.left_on}" for s in state.supporters)
    jurisdiction = policy.jurisdiction or "national"
    return (f"every supporter away: {away}; {policy.months_away} months reached on {start} "
            f"(policy {jurisdiction} from {policy.effective_from}, {policy.source})")


def _key_target_events(state: ElderState, policy_book: PolicyBook, today: date) -> list[e.ElderEvent]:
    if not state.is_left_behind and not state.key_target_reasons:
        return []
    events: list[e.ElderEvent] = []
    current = state.key_target_reasons
    for day in _key_target_review_days(state, policy_book, today):
        reasons = key_target_reasons_on(state, policy_book, day)
        if reasons != current:
            events.append(e.KeyTargetChanged(elder_id=state.elder_id, effective_date=day,
                                             is_key_target=bool(reasons), reasons=reasons,
                                             previous_reasons=current))
            current = reasons
    return events


def _key_target_review_days(state: ElderState, policy_book: PolicyBook, today: date) -> list[date]:
    """The days between the last recorded change and today on which the reasons may change."""
    floor = _key_target_floor(state)
    if floor > today:
        return []
    if not state.is_left_behind:
        return [floor]  # no longer left-behind: the reasons lapse at once
    change_days = {day for day in _key_target_change_days(state, policy_book) if floor < day <= today}
    return sorted(change_days | {floor, today})


def _key_target_change_days(state: ElderState, policy_book: PolicyBook) -> set[date]:
    versions = policy_book.versions_covering(state.division_code)
    birthdays = {anniversary(state.birth_date, v.advanced_age) for v in versions}
    return birthdays | {v.effective_from for v in versions}


def _key_target_floor(state: ElderState) -> date:
    """No key-target change may be dated before this: the latest status event, the start of
    left-behind status, and (while left-behind) the latest change of a fact the reasons use,
    since the state only knows the current value of each fact."""
    floor = _status_floor(state)
    if not state.is_left_behind:
        return floor
    fact_dates = [state.last_change_of(subject) for subject in KEY_TARGET_INPUTS]
    return max([floor, state.left_behind_since, *(d for d in fact_dates if d is not None)])


def _status_floor(state: ElderState) -> date:
    """The earliest date a new derived event may carry: not before the registration or the
    latest change of the record's status, nor before the latest derived event."""
    candidates = (state.registered_on, state.status_as_of, state.last_change_of(RECORD))
    return max(d for d in candidates if d is not None)


def _supporters_away_since(state: ElderState) -> date:
    return max(s.left_on for s in state.supporters)


def _policy_or_none(policy_book: PolicyBook, division_code: str, on: date) -> StatusPolicy | None:
    try:
        return policy_book.policy_for(division_code, on)
    except PolicyError:
        return None
