"""Subsidy rules as versioned data: one version per programme × jurisdiction × effective date
(DOMAIN.md §6; the file format is described at the top of ``policies/subsidies.yml``).

Every version carries the SHA-256 of its canonical JSON (``content_hash``): each amount a
version produces records it, so an auditor can prove which rule text paid which yuan.
Money is integer fen; a float anywhere an amount is expected is refused, naming the entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Mapping

from kernel.envelope import canonical_json, sha256_hex
from kernel.errors import PolicyError
from kernel.jurisdiction import JurisdictionVersions, check_division_code, parse_date, parse_jurisdiction

from contracts.month import Month

SELF_CARE_LEVELS = ("full_self_care", "semi_disabled", "fully_disabled")
SUPPORT_MODES = ("centralised", "dispersed")
SUPPORT_STATUSES = ("dibao", "tekun", "poverty_registered")
AMOUNT_FORMS = ("monthly_fen_by_mode_and_level", "monthly_fen_by_level", "monthly_fen", "yearly_fen_by_mode",
                "as_granted", "per_meal_fen")
# Which amount forms a programme may use: a care subsidy paid "as granted" would be a typo.
PROGRAMME_FORMS = {
    "care_subsidy": ("monthly_fen_by_mode_and_level", "monthly_fen_by_level", "monthly_fen"),
    "institution_resident_subsidy": ("monthly_fen_by_level", "monthly_fen_by_mode_and_level", "monthly_fen"),
    # per_meal_fen: for each meal delivered to the elder at home that month (orders' meal_delivered)
    "meal_subsidy": ("monthly_fen", "per_meal_fen"),
    "basic_living": ("yearly_fen_by_mode", "monthly_fen"),
    "facility_operating_subsidy": ("as_granted",),
    "star_award": ("as_granted",),
}
PROGRAMMES = tuple(PROGRAMME_FORMS)
FACILITY_PROGRAMMES = ("facility_operating_subsidy", "star_award")
ELDER_PROGRAMMES = tuple(p for p in PROGRAMMES if p not in FACILITY_PROGRAMMES)
_FIELDS = {"programme", "jurisdiction", "effective_from", "source", "requires_any_status", "support_modes",
           "min_age", *AMOUNT_FORMS}


@dataclass(frozen=True)
class RuleVersion:
    programme: str
    jurisdiction: str
    effective_from: date
    source: str
    form: str
    amounts: Any                      # int | {key: int} | {mode: {level: int}} | True (as granted)
    requires_any_status: tuple[str, ...] = ()
    support_modes: tuple[str, ...] = ()
    min_age: int | None = None
    content_hash: str = ""

    @property
    def version_id(self) -> str:
        return f"{self.programme}@{self.jurisdiction or 'national'}@{self.effective_from.isoformat()}"

    def monthly_amount(self, month: Month, support_mode: str, self_care_level: str, meals: int = 0) -> int:
        """Fen owed for ``month`` (0 when the rule lists nothing for this mode/level);
        ``meals``: meals delivered to the elder that month, for a per-meal rule."""
        if self.form == "monthly_fen":
            return self.amounts
        if self.form == "per_meal_fen":
            return self.amounts * meals
        if self.form == "monthly_fen_by_level":
            return self.amounts.get(self_care_level, 0)
        if self.form == "monthly_fen_by_mode_and_level":
            return self.amounts.get(support_mode, {}).get(self_care_level, 0)
        if self.form == "yearly_fen_by_mode":
            return monthly_share(self.amounts.get(support_mode, 0), month.month)
        raise PolicyError(f"{self.version_id} pays facility grants as granted, not a monthly amount",
                          field="programme")


def monthly_share(yearly_fen: int, month_number: int) -> int:
    """Month ``m``'s share of a yearly amount: floor(y·m/12) − floor(y·(m−1)/12). Each month
    differs from y/12 by under one fen and the twelve shares sum exactly to ``yearly_fen``."""
    return yearly_fen * month_number // 12 - yearly_fen * (month_number - 1) // 12


class SubsidyRuleBook:
    """Every rule version of every programme; lookups by division code and date."""

    def __init__(self, versions: Iterable[RuleVersion]):
        versions = tuple(versions)
        self._by_programme = {
            programme: JurisdictionVersions([v for v in versions if v.programme == programme],
                                            kind=f"{programme} rule")
            for programme in PROGRAMMES}
        self.versions = versions
        # One hash for the whole book: a run records it, and a later run under a changed
        # book recomputes every past month (a backdated rule change is a retroactive change).
        self.content_hash = sha256_hex(canonical_json(sorted(v.content_hash for v in versions)))
        # A run asks the same few questions (a few hundred villages, one month) a million
        # times; the book is immutable, so the answers are kept.
        self._in_force: dict[tuple[str, str, date], RuleVersion | None] = {}

    def in_force(self, programme: str, division_code: str, on: date) -> RuleVersion | None:
        key = (programme, division_code, on)
        try:
            return self._in_force[key]
        except KeyError:
            chain = self._by_programme[programme].chain(division_code, on)
            found = self._in_force[key] = chain[0] if chain else None
            return found

    def covers(self, jurisdiction: str) -> bool:
        """Whether any version of any programme applies inside ``jurisdiction`` (a prefix):
        one enclosing it, or one for a place within it."""
        code = jurisdiction.ljust(12, "0")
        check_division_code(code)
        return any(v.jurisdiction.startswith(jurisdiction) or jurisdiction.startswith(v.jurisdiction)
                   for v in self.versions)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SubsidyRuleBook":
        """``{"subsidy_rules": [...]}``; bad data raises ``PolicyError`` naming the entry and
        field, e.g. ``subsidy_rules[2].monthly_fen_by_level.semi_disabled``."""
        if not isinstance(data, Mapping) or not isinstance(data.get("subsidy_rules"), list):
            raise PolicyError("policy data needs a list under 'subsidy_rules'", field="subsidy_rules")
        parsed, seen = [], {}
        for index, entry in enumerate(data["subsidy_rules"]):
            where = f"subsidy_rules[{index}]"
            version = _parse_rule(entry, where)
            key = (version.programme, version.jurisdiction, version.effective_from)
            if key in seen:
                raise PolicyError(
                    f"{where}: overlaps {seen[key]} — both are {version.programme} for jurisdiction "
                    f"{version.jurisdiction!r} from {version.effective_from}; give the newer one a later "
                    "effective_from", field=f"{where}.effective_from")
            seen[key] = where
            parsed.append(version)
        return cls(parsed)


def _parse_rule(entry: Any, where: str) -> RuleVersion:
    def fail(name: str, problem: str) -> PolicyError:
        return PolicyError(f"{where}.{name}: {problem}", field=f"{where}.{name}")

    if not isinstance(entry, Mapping):
        raise fail("_entry", "each subsidy rule must be a mapping")
    for name in sorted(set(entry) - _FIELDS):
        raise fail(name, "unknown field")
    for name in ("programme", "jurisdiction", "effective_from", "source"):
        if name not in entry:
            raise fail(name, "missing")
    programme = entry["programme"]
    if programme not in PROGRAMME_FORMS:
        raise fail("programme", f"unknown programme {programme!r}; use one of {', '.join(PROGRAMMES)}")
    try:
        jurisdiction = parse_jurisdiction(entry["jurisdiction"])
        effective_from = parse_date(entry["effective_from"])
    except ValueError as exc:
        name = "jurisdiction" if "prefix" in str(exc) else "effective_from"
        raise fail(name, str(exc)) from None
    if not isinstance(entry["source"], str) or not entry["source"].strip():
        raise fail("source", "must name the policy document")
    forms = [name for name in AMOUNT_FORMS if name in entry]
    if len(forms) != 1:
        raise fail("amounts", f"needs exactly one of {', '.join(AMOUNT_FORMS)}, got {forms or 'none'}")
    form = forms[0]
    if form not in PROGRAMME_FORMS[programme]:
        raise fail(form, f"{programme} is paid by {' or '.join(PROGRAMME_FORMS[programme])}")
    amounts = _parse_amounts(form, entry[form], fail)
    statuses = _parse_choices(entry.get("requires_any_status", []), SUPPORT_STATUSES, "requires_any_status", fail)
    modes = _parse_choices(entry.get("support_modes", []), SUPPORT_MODES, "support_modes", fail)
    min_age = entry.get("min_age")
    if min_age is not None and (isinstance(min_age, bool) or not isinstance(min_age, int) or not 0 < min_age < 150):
        raise fail("min_age", f"must be whole years between 1 and 149, got {min_age!r}")
    canonical = {"programme": programme, "jurisdiction": jurisdiction, "effective_from": effective_from.isoformat(),
                 "source": entry["source"], form: amounts, "requires_any_status": list(statuses),
                 "support_modes": list(modes), "min_age": min_age}
    return RuleVersion(programme, jurisdiction, effective_from, entry["source"], form, amounts, statuses, modes,
                       min_age, sha256_hex(canonical_json(canonical)))


def _fen(value: Any, name: str, fail) -> int:
    if isinstance(value, float):
        raise fail(name, f"money must be integer fen, got the float {value!r} (1 yuan = 100 fen)")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise fail(name, f"must be a whole number of fen ≥ 0, got {value!r}")
    return value


def _parse_amounts(form: str, value: Any, fail):
    if form == "as_granted":
        if value is not True:
            raise fail(form, "must be true (the amount is the one facilities granted)")
        return True
    if form in ("monthly_fen", "per_meal_fen"):
        return _fen(value, form, fail)
    keys = {"monthly_fen_by_level": SELF_CARE_LEVELS, "yearly_fen_by_mode": SUPPORT_MODES,
            "monthly_fen_by_mode_and_level": SUPPORT_MODES}[form]
    if not isinstance(value, Mapping) or not value:
        raise fail(form, f"must map {' / '.join(keys)} to amounts")
    parsed = {}
    for key, amount in value.items():
        if key not in keys:
            raise fail(f"{form}.{key}", f"unknown key; use one of {', '.join(keys)}")
        if form == "monthly_fen_by_mode_and_level":
            if not isinstance(amount, Mapping):
                raise fail(f"{form}.{key}", "must map self-care levels to fen")
            parsed[key] = {}
            for level, fen in amount.items():
                if level not in SELF_CARE_LEVELS:
                    raise fail(f"{form}.{key}.{level}", f"unknown self-care level; use one of {', '.join(SELF_CARE_LEVELS)}")
                parsed[key][level] = _fen(fen, f"{form}.{key}.{level}", fail)
        else:
            parsed[key] = _fen(amount, f"{form}.{key}", fail)
    return parsed


def _parse_choices(value: Any, allowed: tuple[str, ...], name: str, fail) -> tuple[str, ...]:
    if not isinstance(value, list) or any(item not in allowed for item in value):
        raise fail(name, f"must be a list of {', '.join(allowed)}, got {value!r}")
    return tuple(value)
