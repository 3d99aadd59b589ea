"""Value objects and the state of one facility, rebuilt from its events (``facility.evolve``).
Nothing here performs I/O."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum


class FacilityKind(str, Enum):
    COUNTY_SUPPORT_CENTRE = "county_support_centre"
    TOWNSHIP_NURSING_HOME = "township_nursing_home"
    REGIONAL_CARE_CENTRE = "regional_care_centre"
    HAPPINESS_HOME = "happiness_home"
    DAY_CARE_CENTRE_WITH_MEALS = "day_care_centre_with_meals"
    DAY_CARE_CENTRE_WITHOUT_MEALS = "day_care_centre_without_meals"
    PASTORAL_APARTMENT = "pastoral_apartment"
    CARE_SERVICE_STATION = "care_service_station"
    ELDERLY_CANTEEN = "elderly_canteen"
    FAMILY_CARE_BED = "family_care_bed"


class OperatingModel(str, Enum):
    PUBLIC_BUILT_PUBLIC_RUN = "public_built_public_run"
    PUBLIC_BUILT_PRIVATE_RUN = "public_built_private_run"
    PRIVATE_BUILT_PUBLIC_SUBSIDISED = "private_built_public_subsidised"
    PRIVATE = "private"


class AdmissionKind(str, Enum):
    CENTRALISED_SUPPORT = "centralised_support"   # lives in the institution (集中供养)
    DAY_CARE = "day_care"                         # lives at home, cared for by day
    FAMILY_BED = "family_bed"                     # lives at home in a bed the facility runs


class HomeServiceKind(str, Enum):
    """Services a facility brings to elders who live at home (seeds 003/004: 助餐、助浴、
    助洁、助医、陪护), ordered through the orders service."""

    MEALS = "meals"
    BATHING = "bathing"
    CLEANING = "cleaning"
    MEDICAL_HELP = "medical_help"
    ACCOMPANIMENT = "accompaniment"


@dataclass(frozen=True)
class HomeServiceOffer:
    """One home service a facility offers and how many orders of it it can take a day."""

    service_kind: HomeServiceKind
    daily_capacity: int


class FacilityStatus(str, Enum):
    OPEN = "open"
    SUSPENDED = "suspended"
    MERGED = "merged"
    CLOSED = "closed"


_K = FacilityKind
_RESIDENTIAL = frozenset({_K.COUNTY_SUPPORT_CENTRE, _K.TOWNSHIP_NURSING_HOME, _K.REGIONAL_CARE_CENTRE,
                          _K.PASTORAL_APARTMENT})
# Which admissions a kind of facility can take. Happiness homes are mutual-aid homes where
# villagers live together and also take day visitors; canteens only serve meals.
ADMISSIONS_BY_KIND: dict[FacilityKind, frozenset[AdmissionKind]] = {
    **{kind: frozenset({AdmissionKind.CENTRALISED_SUPPORT, AdmissionKind.DAY_CARE, AdmissionKind.FAMILY_BED})
       for kind in _RESIDENTIAL},
    _K.HAPPINESS_HOME: frozenset({AdmissionKind.CENTRALISED_SUPPORT, AdmissionKind.DAY_CARE}),
    _K.DAY_CARE_CENTRE_WITH_MEALS: frozenset({AdmissionKind.DAY_CARE}),
    _K.DAY_CARE_CENTRE_WITHOUT_MEALS: frozenset({AdmissionKind.DAY_CARE}),
    _K.CARE_SERVICE_STATION: frozenset({AdmissionKind.DAY_CARE, AdmissionKind.FAMILY_BED}),
    _K.FAMILY_CARE_BED: frozenset({AdmissionKind.FAMILY_BED}),
    _K.ELDERLY_CANTEEN: frozenset(),
}


@dataclass(frozen=True)
class Resident:
    """An elder admitted and not yet discharged; each one takes one bed or place."""

    elder_id: str
    admission_kind: AdmissionKind
    admitted_on: date


@dataclass(frozen=True)
class KnownElder:
    """What facilities knows of an elder, from the registry's events (never its database)."""

    elder_id: str
    division_code: str
    deceased: bool = False
    died_on: date | None = None
    merged_into: str | None = None


@dataclass(frozen=True)
class Residence:
    """Where an elder currently holds an admission (any facility), and since when."""

    elder_id: str
    facility_id: str
    admission_kind: AdmissionKind
    since: date


@dataclass(frozen=True)
class FacilityState:
    """One facility as of the events applied so far (``version`` of them).

    ``last_changed_on`` is the effective date of the latest event: a new fact may not be
    dated before it, so the effective-date order of the stream is its recorded order and
    "as of a date" answers equal what was decided then. ``stars_awarded`` holds every
    level whose one-time award was granted, and ``highest_stars`` the highest level ever
    held; both survive downgrades, so an award is paid only for a level above any reached
    before (``facility._star_award``).
    """

    facility_id: str
    version: int = 0
    status: FacilityStatus | None = None
    name: str = ""
    division_code: str = ""
    kind: FacilityKind | None = None
    operating_model: OperatingModel | None = None
    operator: str = ""
    capacity: int = 0
    services: tuple[str, ...] = ()
    home_services: tuple[HomeServiceOffer, ...] = ()
    opened_on: date | None = None
    stars: int | None = None
    rated_on: date | None = None
    assessor: str | None = None
    stars_awarded: frozenset[int] = frozenset()
    highest_stars: int = 0
    subsidy_years: frozenset[int] = frozenset()
    residents: tuple[Resident, ...] = ()
    suspended_since: date | None = None
    merged_into: str | None = None
    absorbed: tuple[str, ...] = ()
    closed_on: date | None = None
    last_changed_on: date | None = None

    @classmethod
    def initial(cls, facility_id: str) -> "FacilityState":
        return cls(facility_id=facility_id)

    @property
    def exists(self) -> bool:
        return self.status is not None

    @property
    def in_operation(self) -> bool:
        return self.status is FacilityStatus.OPEN

    @property
    def occupancy(self) -> int:
        return len(self.residents)

    @property
    def free_places(self) -> int:
        return max(self.capacity - self.occupancy, 0)

    def resident(self, elder_id: str) -> Resident | None:
        return next((r for r in self.residents if r.elder_id == elder_id), None)


_DIVISION_CODE = re.compile(r"^\d{12}$")


def is_division_code(value: object) -> bool:
    return isinstance(value, str) and bool(_DIVISION_CODE.match(value))


def is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())
