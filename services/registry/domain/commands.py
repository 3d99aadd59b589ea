"""Commands: requests to record a fact about an elder, named in the imperative.

Every command names the elder and the local date on which the fact takes effect
(``effective_date``); a date in the past records a fact late (backdated).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .model import Carer, Contact, SelfCareLevel, Supporter, SupportStatus


@dataclass(frozen=True)
class ElderCommand:
    elder_id: str
    effective_date: date


@dataclass(frozen=True)
class RegisterElder(ElderCommand):
    resident_id: str
    name: str
    sex: str
    birth_date: date
    division_code: str
    household_id: str
    address: str
    phone: str | None = None
    contacts: tuple[Contact, ...] = ()
    supporters: tuple[Supporter, ...] = ()
    carer: Carer | None = None
    income_sources: tuple[str, ...] = ()
    support_status: SupportStatus = SupportStatus()
    health: str | None = None
    self_care_level: SelfCareLevel = SelfCareLevel.FULL_SELF_CARE
    lives_alone: bool = False


@dataclass(frozen=True)
class CorrectDetails(ElderCommand):
    """Correct or update plain details; facts with their own command cannot be changed here."""

    changes: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class RecordSupporterLeft(ElderCommand):
    """A supporter left the county; ``new_supporter`` adds one not yet on the record."""

    supporter_id: str
    whereabouts: str | None = None
    phone: str | None = None
    new_supporter: Supporter | None = None


@dataclass(frozen=True)
class RecordSupporterReturned(ElderCommand):
    supporter_id: str


@dataclass(frozen=True)
class EntrustCarer(ElderCommand):
    carer: Carer


@dataclass(frozen=True)
class AssessSelfCare(ElderCommand):
    level: SelfCareLevel
    assessor: str


@dataclass(frozen=True)
class ChangeSupportStatus(ElderCommand):
    support_status: SupportStatus
    reason: str


@dataclass(frozen=True)
class RecordMove(ElderCommand):
    division_code: str
    address: str
    household_id: str


@dataclass(frozen=True)
class RecordHospitalisation(ElderCommand):
    hospital: str


@dataclass(frozen=True)
class RecordHospitalDischarge(ElderCommand):
    pass


@dataclass(frozen=True)
class RecordDeath(ElderCommand):
    pass


@dataclass(frozen=True)
class GiveConsent(ElderCommand):
    scope: str
    departments: tuple[str, ...]


@dataclass(frozen=True)
class WithdrawConsent(ElderCommand):
    scope: str
    departments: tuple[str, ...]


@dataclass(frozen=True)
class EraseElder(ElderCommand):
    """Erase the elder's personal data, on a legal ground (who may is checked by the handler)."""

    legal_ground: str
    reason: str


@dataclass(frozen=True)
class MergeRecords(ElderCommand):
    """Merge the duplicate record ``elder_id`` into ``survivor_id``."""

    survivor_id: str
    reason: str


@dataclass(frozen=True)
class UnmergeRecords(ElderCommand):
    """Undo a merge: ``elder_id`` is the duplicate, its survivor is taken from its record."""

    reason: str


@dataclass(frozen=True)
class EvaluateStatus(ElderCommand):
    """Issued by the daily timer: records no fact, only brings derived statuses up to date."""


@dataclass(frozen=True)
class RecordFacilityEntry(ElderCommand):
    """Facilities admitted the elder (or transferred them from ``from_facility_id``)."""

    facility_id: str
    facility_division_code: str
    admission_kind: str
    from_facility_id: str | None = None


@dataclass(frozen=True)
class RecordFacilityExit(ElderCommand):
    """Facilities discharged the elder."""

    facility_id: str
    reason: str
