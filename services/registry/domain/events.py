"""Events of the registry, named in the past tense.

Each class carries ``TYPE``, its stable wire type with a schema version: change a payload
incompatibly and the version goes up, never the meaning of an existing type.
Fact events record what was reported; derived status events (subclasses of
``DerivedStatusEvent``) record what the rules concluded from the facts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from .model import Carer, Contact, SelfCareLevel, Supporter, SupportStatus


@dataclass(frozen=True, kw_only=True)
class ElderEvent:
    TYPE: ClassVar[str]

    elder_id: str
    effective_date: date


@dataclass(frozen=True, kw_only=True)
class DerivedStatusEvent(ElderEvent):
    """Concluded by ``derive_status`` from the facts, never reported directly."""


@dataclass(frozen=True, kw_only=True)
class ElderRegistered(ElderEvent):
    TYPE: ClassVar[str] = "registry.elder_registered.v1"

    resident_id: str
    name: str
    sex: str
    birth_date: date
    division_code: str
    household_id: str
    address: str
    phone: str | None
    contacts: tuple[Contact, ...]
    supporters: tuple[Supporter, ...]
    carer: Carer | None
    income_sources: tuple[str, ...]
    support_status: SupportStatus
    health: str | None
    self_care_level: SelfCareLevel
    lives_alone: bool


@dataclass(frozen=True, kw_only=True)
class DetailsCorrected(ElderEvent):
    TYPE: ClassVar[str] = "registry.elder_details_corrected.v1"

    changes: dict[str, Any] = field(default_factory=dict)
    reason: str


@dataclass(frozen=True, kw_only=True)
class SupporterLeft(ElderEvent):
    """A supporter left on ``effective_date``; adds the supporter if not yet on the record."""

    TYPE: ClassVar[str] = "registry.supporter_left.v1"

    supporter_id: str
    name: str
    relationship: str
    phone: str | None
    whereabouts: str | None


@dataclass(frozen=True, kw_only=True)
class SupporterReturned(ElderEvent):
    TYPE: ClassVar[str] = "registry.supporter_returned.v1"

    supporter_id: str


@dataclass(frozen=True, kw_only=True)
class CarerEntrusted(ElderEvent):
    TYPE: ClassVar[str] = "registry.carer_entrusted.v1"

    carer: Carer


@dataclass(frozen=True, kw_only=True)
class SelfCareAssessed(ElderEvent):
    TYPE: ClassVar[str] = "registry.self_care_assessed.v1"

    level: SelfCareLevel
    previous_level: SelfCareLevel
    assessor: str


@dataclass(frozen=True, kw_only=True)
class SupportStatusChanged(ElderEvent):
    TYPE: ClassVar[str] = "registry.support_status_changed.v1"

    support_status: SupportStatus
    previous_support_status: SupportStatus
    reason: str


@dataclass(frozen=True, kw_only=True)
class ElderMoved(ElderEvent):
    TYPE: ClassVar[str] = "registry.elder_moved.v1"

    from_division_code: str
    division_code: str
    address: str
    household_id: str


@dataclass(frozen=True, kw_only=True)
class ElderHospitalised(ElderEvent):
    TYPE: ClassVar[str] = "registry.elder_hospitalised.v1"

    hospital: str


@dataclass(frozen=True, kw_only=True)
class ElderDischargedFromHospital(ElderEvent):
    TYPE: ClassVar[str] = "registry.elder_discharged_from_hospital.v1"


@dataclass(frozen=True, kw_only=True)
class ElderDied(ElderEvent):
    TYPE: ClassVar[str] = "registry.elder_died.v1"


@dataclass(frozen=True, kw_only=True)
class RecordMergedInto(ElderEvent):
    """On the duplicate's stream: this record is a duplicate of ``survivor_id``."""

    TYPE: ClassVar[str] = "registry.record_merged_into.v1"

    survivor_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class DuplicateAbsorbed(ElderEvent):
    """On the survivor's stream: ``duplicate_id`` now points here."""

    TYPE: ClassVar[str] = "registry.duplicate_absorbed.v1"

    duplicate_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RecordUnmerged(ElderEvent):
    """On the duplicate's stream: the merge into ``survivor_id`` was undone."""

    TYPE: ClassVar[str] = "registry.record_unmerged.v1"

    survivor_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class DuplicateReleased(ElderEvent):
    """On the survivor's stream: ``duplicate_id`` no longer points here."""

    TYPE: ClassVar[str] = "registry.duplicate_released.v1"

    duplicate_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class BecameLeftBehind(DerivedStatusEvent):
    TYPE: ClassVar[str] = "registry.became_left_behind.v1"

    reason: str
    supporters_away_since: date


@dataclass(frozen=True, kw_only=True)
class CeasedLeftBehind(DerivedStatusEvent):
    TYPE: ClassVar[str] = "registry.ceased_left_behind.v1"

    reason: str


@dataclass(frozen=True, kw_only=True)
class KeyTargetChanged(DerivedStatusEvent):
    TYPE: ClassVar[str] = "registry.key_target_changed.v1"

    is_key_target: bool
    reasons: tuple[str, ...]
    previous_reasons: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class EnteredFacility(ElderEvent):
    TYPE: ClassVar[str] = "registry.entered_facility.v1"

    facility_id: str
    facility_division_code: str
    admission_kind: str
    from_facility_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class LeftFacility(ElderEvent):
    TYPE: ClassVar[str] = "registry.left_facility.v1"

    facility_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ConsentGiven(ElderEvent):
    TYPE: ClassVar[str] = "registry.consent_given.v1"

    scope: str
    departments: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ConsentWithdrawn(ElderEvent):
    TYPE: ClassVar[str] = "registry.consent_withdrawn.v1"

    scope: str
    departments: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ElderErased(ElderEvent):
    TYPE: ClassVar[str] = "registry.elder_erased.v1"

    legal_ground: str
    reason: str


EVENT_CLASSES: tuple[type[ElderEvent], ...] = (
    ElderRegistered, DetailsCorrected, SupporterLeft, SupporterReturned, CarerEntrusted,
    SelfCareAssessed, SupportStatusChanged, ElderMoved, ElderHospitalised,
    ElderDischargedFromHospital, ElderDied, RecordMergedInto, DuplicateAbsorbed,
    RecordUnmerged, DuplicateReleased, BecameLeftBehind, CeasedLeftBehind, KeyTargetChanged,
    EnteredFacility, LeftFacility, ConsentGiven, ConsentWithdrawn, ElderErased,
)

EVENT_TYPES: dict[str, type[ElderEvent]] = {cls.TYPE: cls for cls in EVENT_CLASSES}
