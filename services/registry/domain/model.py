"""Value objects and the state of one elder's record in the information ledger (信息台账).

The state is rebuilt from events (see ``elder.evolve``); nothing here performs I/O.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from kernel.resident_id import birth_date_of, check_character, sex_of
from kernel.resident_id import problems as _resident_id_problems


class SelfCareLevel(str, Enum):
    """Self-care ability (自理能力), the three levels that subsidies are paid on."""

    FULL_SELF_CARE = "full_self_care"
    SEMI_DISABLED = "semi_disabled"
    FULLY_DISABLED = "fully_disabled"


class RecordStatus(str, Enum):
    ACTIVE = "active"
    DECEASED = "deceased"
    MERGED = "merged"


SEXES = ("male", "female")


@dataclass(frozen=True)
class Contact:
    name: str
    relationship: str
    phone: str


@dataclass(frozen=True)
class Supporter:
    """A person legally obliged to support the elder (赡养人).

    A supporter is away while ``left_on`` is set: returning clears ``left_on`` and sets
    ``returned_on``; leaving again sets ``left_on`` and clears ``returned_on``.
    """

    supporter_id: str
    name: str
    relationship: str
    phone: str | None = None
    whereabouts: str | None = None
    left_on: date | None = None
    returned_on: date | None = None

    @property
    def is_away(self) -> bool:
        return self.left_on is not None


@dataclass(frozen=True)
class Carer:
    """The relative or other capable person a supporter entrusted with care (委托照料)."""

    name: str
    relationship: str
    phone: str


@dataclass(frozen=True)
class SupportStatus:
    """Social-assistance statuses: low-income (低保), extreme poverty (特困), registered poor (建档立卡)."""

    dibao: bool = False
    tekun: bool = False
    poverty_registered: bool = False

    @property
    def hard_up(self) -> bool:
        return bool(self.statuses)

    @property
    def statuses(self) -> frozenset[str]:
        """The names of the statuses held, as policies list them."""
        held = {"dibao": self.dibao, "tekun": self.tekun, "poverty_registered": self.poverty_registered}
        return frozenset(name for name, is_held in held.items() if is_held)


SUPPORT_STATUS_NAMES = frozenset({"dibao", "tekun", "poverty_registered"})
# The facilities contract's admission kind for living in the institution (集中供养).
CENTRALISED_ADMISSION = "centralised_support"


def anniversary(start: date, years: int) -> date:
    """The date ``years`` after ``start``; 29 February falls on 1 March in common years.

    Matches ``age_on``: someone born on 29 February becomes a year older on 1 March.
    """
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return date(start.year + years, 3, 1)


def age_in_years(birth_date: date, on: date) -> int:
    """Completed years of age on ``on``."""
    birthday_not_reached = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(birthday_not_reached)


@dataclass(frozen=True)
class ElderState:
    """One elder's record as of the events applied so far (``version`` of them).

    Fact fields come from fact events; ``left_behind_since``, ``is_key_target`` and
    ``key_target_reasons`` only from derived status events; ``status_as_of`` is the date of
    the latest derived event, below which no new derived event may be dated (so that
    replaying in effective-date order keeps them in the order they were decided).
    ``last_changed_on`` maps each subject of facts ("supporter:<id>", "self_care_level",
    "details:<field>", "record", ...) to the date of its latest change: a fact may not be
    backdated before it, or replay order would differ from decision order.
    """

    elder_id: str
    version: int = 0
    record_status: RecordStatus | None = None
    resident_id: str = ""
    name: str = ""
    sex: str = ""
    birth_date: date | None = None
    division_code: str = ""
    household_id: str = ""
    address: str = ""
    phone: str | None = None
    contacts: tuple[Contact, ...] = ()
    supporters: tuple[Supporter, ...] = ()
    carer: Carer | None = None
    income_sources: tuple[str, ...] = ()
    support_status: SupportStatus = SupportStatus()
    health: str | None = None
    self_care_level: SelfCareLevel = SelfCareLevel.FULL_SELF_CARE
    lives_alone: bool = False
    hospitalised: bool = False
    hospital: str | None = None
    died_on: date | None = None
    merged_into: str | None = None
    absorbed_duplicates: tuple[str, ...] = ()
    left_behind_since: date | None = None
    is_key_target: bool = False
    key_target_reasons: tuple[str, ...] = ()
    registered_on: date | None = None
    facility_id: str | None = None          # where facilities reports the elder admitted
    admission_kind: str | None = None
    in_facility_since: date | None = None
    status_as_of: date | None = None
    erased_on: date | None = None           # personal data erased: the record takes no more commands
    consents: dict[str, tuple[str, ...]] = field(default_factory=dict)   # scope → departments named
    last_changed_on: dict[str, date] = field(default_factory=dict)

    @classmethod
    def initial(cls, elder_id: str) -> "ElderState":
        """The state of an elder not yet registered."""
        return cls(elder_id=elder_id)

    @property
    def is_registered(self) -> bool:
        return self.record_status is not None

    @property
    def is_active(self) -> bool:
        return self.record_status is RecordStatus.ACTIVE

    @property
    def is_left_behind(self) -> bool:
        return self.left_behind_since is not None

    @property
    def support_mode(self) -> str:
        """Centralised support (lives in an institution) or dispersed (at home, even when
        a day-care centre or a family bed serves them): the care subsidy differs."""
        return "centralised" if self.admission_kind == CENTRALISED_ADMISSION else "dispersed"

    @property
    def all_supporters_away(self) -> bool:
        """True when there is at least one supporter and none of them is at the elder's side."""
        return bool(self.supporters) and all(s.is_away for s in self.supporters)

    def supporter(self, supporter_id: str) -> Supporter | None:
        return next((s for s in self.supporters if s.supporter_id == supporter_id), None)

    def age_on(self, on: date) -> int:
        """Completed years of age on ``on``."""
        if self.birth_date is None:
            raise ValueError(f"elder {self.elder_id} has no birth date")
        return age_in_years(self.birth_date, on)

    def last_change_of(self, subject: str) -> date | None:
        return self.last_changed_on.get(subject)


# --- Rules on single values, shared by registration and correction -----------------------

_DIVISION_CODE = re.compile(r"^\d{12}$")
_PHONE = re.compile(r"^\+?\d[\d\- ]{4,19}$")


def resident_id_problems(resident_id: object) -> list[str]:
    """Why ``resident_id`` is not a well-formed 18-character resident identity number."""
    return _resident_id_problems(resident_id)


def resident_id_identity_problems(resident_id: str, birth_date: date, sex: str) -> list[str]:
    """Why a well-formed ``resident_id`` disagrees with the birth date or sex on the record."""
    problems = []
    if _birth_date_in(resident_id) != birth_date:
        problems.append(f"encodes birth date {_birth_date_in(resident_id)}, the record says {birth_date}")
    if sex in SEXES and sex_of(resident_id) != sex:
        problems.append(f"encodes sex {sex_of(resident_id)}, the record says {sex}")
    return problems


def resident_id_check_character(first_17_digits: str) -> str:
    """The check character that completes a resident identity number."""
    return check_character(first_17_digits)


def _birth_date_in(number: str) -> date | None:
    try:
        return birth_date_of(number)
    except ValueError:
        return None


def is_division_code(value: object) -> bool:
    return isinstance(value, str) and bool(_DIVISION_CODE.match(value))


def is_phone(value: object) -> bool:
    return isinstance(value, str) and bool(_PHONE.match(value))


def is_text(value: object) -> bool:
    """A non-blank string."""
    return isinstance(value, str) and bool(value.strip())
