"""Events of the facilities service, named in the past tense. ``TYPE`` is the stable wire
type (``contracts.facilities``); every event belongs to the stream of its ``facility_id``."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from .model import AdmissionKind, FacilityKind, HomeServiceOffer, OperatingModel


@dataclass(frozen=True, kw_only=True)
class FacilityEvent:
    TYPE: ClassVar[str]

    facility_id: str
    effective_date: date


@dataclass(frozen=True, kw_only=True)
class FacilityOpened(FacilityEvent):
    TYPE: ClassVar[str] = "facilities.facility_opened.v1"

    name: str
    division_code: str
    kind: FacilityKind
    operating_model: OperatingModel
    operator: str
    capacity: int
    services: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class FacilityDetailsChanged(FacilityEvent):
    TYPE: ClassVar[str] = "facilities.facility_details_changed.v1"

    changes: dict[str, Any] = field(default_factory=dict)
    reason: str


@dataclass(frozen=True, kw_only=True)
class CapacityChanged(FacilityEvent):
    TYPE: ClassVar[str] = "facilities.capacity_changed.v1"

    capacity: int
    previous_capacity: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class StarRatingAwarded(FacilityEvent):
    TYPE: ClassVar[str] = "facilities.star_rating_awarded.v1"

    stars: int
    assessor: str


@dataclass(frozen=True, kw_only=True)
class StarRatingChanged(FacilityEvent):
    TYPE: ClassVar[str] = "facilities.star_rating_changed.v1"

    stars: int
    previous_stars: int
    assessor: str


@dataclass(frozen=True, kw_only=True)
class Grant(FacilityEvent):
    """Money subsidies will pay, with the policy that set the amount."""

    division_code: str
    amount_fen: int
    policy_jurisdiction: str
    policy_source: str


@dataclass(frozen=True, kw_only=True)
class StarAwardGranted(Grant):
    TYPE: ClassVar[str] = "facilities.star_award_granted.v1"

    stars: int


@dataclass(frozen=True, kw_only=True)
class OperatingSubsidyEligible(Grant):
    TYPE: ClassVar[str] = "facilities.operating_subsidy_eligible.v1"

    year: int
    kind: FacilityKind


@dataclass(frozen=True, kw_only=True)
class FacilitySuspended(FacilityEvent):
    TYPE: ClassVar[str] = "facilities.facility_suspended.v1"

    reason: str


@dataclass(frozen=True, kw_only=True)
class FacilityReinstated(FacilityEvent):
    TYPE: ClassVar[str] = "facilities.facility_reinstated.v1"

    reason: str


@dataclass(frozen=True, kw_only=True)
class FacilityMerged(FacilityEvent):
    TYPE: ClassVar[str] = "facilities.facility_merged.v1"

    merged_into: str
    moved_elder_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True, kw_only=True)
class FacilityAbsorbed(FacilityEvent):
    TYPE: ClassVar[str] = "facilities.facility_absorbed.v1"

    absorbed_facility_id: str
    capacity: int
    previous_capacity: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class FacilityClosed(FacilityEvent):
    TYPE: ClassVar[str] = "facilities.facility_closed.v1"

    reason: str


@dataclass(frozen=True, kw_only=True)
class AdmissionEvent(FacilityEvent):
    elder_id: str
    division_code: str
    facility_kind: FacilityKind
    admission_kind: AdmissionKind


@dataclass(frozen=True, kw_only=True)
class ElderAdmitted(AdmissionEvent):
    TYPE: ClassVar[str] = "facilities.elder_admitted.v1"


@dataclass(frozen=True, kw_only=True)
class ElderDischarged(AdmissionEvent):
    TYPE: ClassVar[str] = "facilities.elder_discharged.v1"

    reason: str


@dataclass(frozen=True, kw_only=True)
class ElderTransferred(AdmissionEvent):
    """On the destination's stream."""

    TYPE: ClassVar[str] = "facilities.elder_transferred.v1"

    from_facility_id: str
    from_division_code: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ElderTransferredOut(AdmissionEvent):
    """On the origin's stream."""

    TYPE: ClassVar[str] = "facilities.elder_transferred_out.v1"

    to_facility_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class HomeServicesDeclared(FacilityEvent):
    """The whole current offer: orders routes home-service orders by it."""

    TYPE: ClassVar[str] = "facilities.home_services_declared.v1"

    division_code: str
    offers: tuple[HomeServiceOffer, ...]


EVENT_CLASSES: tuple[type[FacilityEvent], ...] = (
    FacilityOpened, FacilityDetailsChanged, CapacityChanged, StarRatingAwarded, StarRatingChanged,
    StarAwardGranted, OperatingSubsidyEligible, FacilitySuspended, FacilityReinstated, FacilityMerged,
    FacilityAbsorbed, FacilityClosed, ElderAdmitted, ElderDischarged, ElderTransferred, ElderTransferredOut,
    HomeServicesDeclared,
)
EVENT_TYPES: dict[str, type[FacilityEvent]] = {cls.TYPE: cls for cls in EVENT_CLASSES}
