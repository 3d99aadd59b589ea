"""Commands: requests to record a fact about a facility, named in the imperative.

Every command names the facility and the local date on which the fact takes effect."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .model import AdmissionKind, FacilityKind, HomeServiceOffer, OperatingModel


@dataclass(frozen=True)
class FacilityCommand:
    facility_id: str
    effective_date: date


@dataclass(frozen=True)
class OpenFacility(FacilityCommand):
    name: str
    division_code: str
    kind: FacilityKind
    operating_model: OperatingModel
    operator: str
    capacity: int
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChangeDetails(FacilityCommand):
    """Name, operator, operating model or services; ``changes`` maps each to its new value."""

    changes: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class ChangeCapacity(FacilityCommand):
    capacity: int
    reason: str


@dataclass(frozen=True)
class RateFacility(FacilityCommand):
    """A star rating assessed on ``effective_date``."""

    stars: int
    assessor: str


@dataclass(frozen=True)
class SuspendFacility(FacilityCommand):
    reason: str


@dataclass(frozen=True)
class ReinstateFacility(FacilityCommand):
    reason: str


@dataclass(frozen=True)
class MergeFacility(FacilityCommand):
    """Merge ``facility_id`` into ``survivor_id``; its residents move there. The survivor's
    capacity becomes ``survivor_capacity`` when given (e.g. it gains the beds it needs)."""

    survivor_id: str
    reason: str
    survivor_capacity: int | None = None


@dataclass(frozen=True)
class CloseFacility(FacilityCommand):
    reason: str


@dataclass(frozen=True)
class AdmitElder(FacilityCommand):
    elder_id: str
    admission_kind: AdmissionKind


@dataclass(frozen=True)
class DischargeElder(FacilityCommand):
    elder_id: str
    reason: str


@dataclass(frozen=True)
class TransferElder(FacilityCommand):
    """Move a resident of ``facility_id`` to ``to_facility_id`` (same admission kind unless given)."""

    elder_id: str
    to_facility_id: str
    reason: str
    admission_kind: AdmissionKind | None = None


@dataclass(frozen=True)
class AssessOperatingSubsidy(FacilityCommand):
    """Does the facility qualify for ``year``'s operating subsidy, assessed on ``effective_date``?"""

    year: int


@dataclass(frozen=True)
class DeclareHomeServices(FacilityCommand):
    """The home services the facility offers from ``effective_date`` and each one's daily
    capacity; replaces the previous declaration (an empty list: none any more)."""

    offers: tuple[HomeServiceOffer, ...]
