"""What subsidies believes about an elder, as a history of facts with two times each.

Every fact has the local date it takes effect (``effective_date``) and the instant
subsidies learnt it (``recorded_at``). ``facts_on(history, day, known_at)`` folds the facts
recorded by ``known_at`` that are in effect on ``day``: "what did we believe on date X
about month M" is ``facts_on(history, M.first_day, X)``.

Rules that need explaining:

- Facts apply in effective-date order (ties in recording order), so a backdated fact
  recorded today changes the past, which is what produces back-pay and claw-back.
- A correction of the record (``Corrected``) says the registered value was wrong all
  along: it applies from the registration, whatever its own effective date.
- A record merged into another stops being a beneficiary from the merge's date (the
  survivor carries on); unmerging restores it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Iterable, Sequence

CENTRALISED_ADMISSION = "centralised_support"   # facilities' admission kind for 集中供养


@dataclass(frozen=True)
class SupportStatus:
    dibao: bool = False
    tekun: bool = False
    poverty_registered: bool = False

    def has_any(self, names: Iterable[str]) -> bool:
        return any(getattr(self, name) for name in names)


@dataclass(frozen=True, kw_only=True)
class Fact:
    effective_date: date
    recorded_at: datetime
    seq: int = 0                 # recording order, the tie-break between same-day facts


@dataclass(frozen=True, kw_only=True)
class Registered(Fact):
    birth_date: date
    division_code: str
    self_care_level: str
    support_status: SupportStatus


@dataclass(frozen=True, kw_only=True)
class Corrected(Fact):
    birth_date: date | None = None
    division_code: str | None = None
    self_care_level: str | None = None
    support_status: SupportStatus | None = None


@dataclass(frozen=True, kw_only=True)
class SelfCareAssessed(Fact):
    level: str


@dataclass(frozen=True, kw_only=True)
class SupportStatusChanged(Fact):
    support_status: SupportStatus


@dataclass(frozen=True, kw_only=True)
class Moved(Fact):
    division_code: str


@dataclass(frozen=True, kw_only=True)
class Died(Fact):
    pass


@dataclass(frozen=True, kw_only=True)
class MergedInto(Fact):
    survivor_id: str


@dataclass(frozen=True, kw_only=True)
class Unmerged(Fact):
    pass


@dataclass(frozen=True, kw_only=True)
class EnteredFacility(Fact):
    facility_id: str
    admission_kind: str


@dataclass(frozen=True, kw_only=True)
class LeftFacility(Fact):
    facility_id: str


@dataclass(frozen=True, kw_only=True)
class MealsCounted(Fact):
    """Orders delivered the elder a meal: ``meals`` delivered in ``month`` (YYYY-MM) so far.
    Not a state in effect from a day: a month's count is the highest recorded for it."""

    month: str
    meals: int


def meals_in(history: Sequence[Fact], month_label: str, known_at: datetime | None = None) -> int:
    """Meals delivered to the elder in the month, as recorded by ``known_at`` (default: all)."""
    return max((f.meals for f in history if isinstance(f, MealsCounted) and f.month == month_label
                and (known_at is None or f.recorded_at <= known_at)), default=0)


@dataclass(frozen=True)
class ElderFacts:
    elder_id: str
    birth_date: date
    division_code: str
    self_care_level: str
    support_status: SupportStatus
    alive: bool = True
    active: bool = True          # False while merged into another record
    facility_id: str | None = None
    admission_kind: str | None = None

    @property
    def support_mode(self) -> str:
        """Centralised when living in an institution under centralised support; day care
        and family beds serve an elder who lives at home (dispersed)."""
        return "centralised" if self.admission_kind == CENTRALISED_ADMISSION else "dispersed"

    def age_on(self, day: date) -> int:
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))

    @property
    def can_receive(self) -> bool:
        return self.alive and self.active


def _apply(state: ElderFacts, fact: Fact) -> ElderFacts:
    if isinstance(fact, Corrected):
        changes = {name: getattr(fact, name) for name in ("birth_date", "division_code", "self_care_level",
                                                           "support_status") if getattr(fact, name) is not None}
        return replace(state, **changes)
    if isinstance(fact, SelfCareAssessed):
        return replace(state, self_care_level=fact.level)
    if isinstance(fact, SupportStatusChanged):
        return replace(state, support_status=fact.support_status)
    if isinstance(fact, Moved):
        return replace(state, division_code=fact.division_code)
    if isinstance(fact, Died):
        return replace(state, alive=False)
    if isinstance(fact, MergedInto):
        return replace(state, active=False)
    if isinstance(fact, Unmerged):
        return replace(state, active=True)
    if isinstance(fact, EnteredFacility):
        return replace(state, facility_id=fact.facility_id, admission_kind=fact.admission_kind)
    if isinstance(fact, LeftFacility):
        if fact.facility_id != state.facility_id:
            return state          # a discharge from a stay a transfer already ended
        return replace(state, facility_id=None, admission_kind=None)
    return state


def facts_on(elder_id: str, history: Sequence[Fact], day: date, known_at: datetime | None = None) -> ElderFacts | None:
    """The elder as known at ``known_at`` (default: everything recorded), on ``day``;
    ``None`` when not registered (as far as we knew) by then."""
    known = [f for f in history if known_at is None or f.recorded_at <= known_at]
    registrations = sorted((f for f in known if isinstance(f, Registered) and f.effective_date <= day),
                           key=lambda f: (f.effective_date, f.seq))
    if not registrations:
        return None
    first = registrations[0]
    state = ElderFacts(elder_id, first.birth_date, first.division_code, first.self_care_level, first.support_status)
    for fact in sorted((f for f in known if isinstance(f, Corrected)), key=lambda f: f.seq):
        state = _apply(state, fact)
    for fact in sorted((f for f in known if not isinstance(f, (Registered, Corrected, MealsCounted))
                        and f.effective_date <= day),
                       key=lambda f: (f.effective_date, f.seq)):
        state = _apply(state, fact)
    return state


def divisions_of(history: Sequence[Fact]) -> set[str]:
    """Every division the elder was ever recorded in (a run looks at each)."""
    codes = set()
    for fact in history:
        code = getattr(fact, "division_code", None)
        if code:
            codes.add(code)
    return codes
