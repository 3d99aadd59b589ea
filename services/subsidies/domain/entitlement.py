"""Entitlement: what a beneficiary is owed for a month under the rules in force, and why.

An elder's month is decided by the facts in effect on its first day (see ``facts``) and
the rule versions in force that day for the elder's division (household registration).
Facility grants (operating subsidy, star award) are owed at the amount the facilities
service granted, where a subsidies rule version says the jurisdiction pays them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Sequence

from .facts import ElderFacts, Fact, facts_on, meals_in
from contracts.month import Month
from .policy import ELDER_PROGRAMMES, RuleVersion, SubsidyRuleBook


@dataclass(frozen=True)
class FactsUsed:
    as_of: date
    known_at: str | None
    division_code: str
    self_care_level: str | None = None
    support_mode: str | None = None
    age: int | None = None
    dibao: bool | None = None
    tekun: bool | None = None
    facility_id: str | None = None
    grant_id: str | None = None
    grant_policy_source: str | None = None
    meals_delivered: int | None = None       # a per-meal rule: the meals it paid for


@dataclass(frozen=True)
class Entitlement:
    beneficiary_id: str
    beneficiary_kind: str          # "elder" | "facility"
    programme: str
    period: Month
    amount_fen: int
    rule: RuleVersion
    facts: FactsUsed
    division_code: str
    reference: str = ""            # the grant id, for facility grants


@dataclass(frozen=True)
class FacilityGrant:
    grant_id: str
    facility_id: str
    programme: str                 # facility_operating_subsidy | star_award
    division_code: str
    effective_date: date
    amount_fen: int
    policy_source: str


def _qualifies(rule: RuleVersion, facts: ElderFacts, age: int) -> bool:
    if rule.requires_any_status and not facts.support_status.has_any(rule.requires_any_status):
        return False
    if rule.support_modes and facts.support_mode not in rule.support_modes:
        return False
    return rule.min_age is None or age >= rule.min_age


def entitlements_for(facts: ElderFacts | None, month: Month, rules: SubsidyRuleBook,
                     known_at: datetime | None = None, meals: int = 0) -> list[Entitlement]:
    """Every programme that owes the elder something for ``month`` (amounts > 0);
    ``meals``: meals delivered to the elder that month (per-meal rules pay by them)."""
    if facts is None or not facts.can_receive:
        return []
    day = month.first_day
    age = facts.age_on(day)
    used = FactsUsed(day, known_at.isoformat() if known_at else None, facts.division_code, facts.self_care_level,
                     facts.support_mode, age, facts.support_status.dibao, facts.support_status.tekun,
                     facts.facility_id)
    owed = []
    for programme in ELDER_PROGRAMMES:
        rule = rules.in_force(programme, facts.division_code, day)
        if rule is None or not _qualifies(rule, facts, age):
            continue
        amount = rule.monthly_amount(month, facts.support_mode, facts.self_care_level, meals)
        if amount > 0:
            facts_used = replace(used, meals_delivered=meals) if rule.form == "per_meal_fen" else used
            owed.append(Entitlement(facts.elder_id, "elder", programme, month, amount, rule, facts_used,
                                    facts.division_code))
    return owed


def elder_entitlements(elder_id: str, history: Sequence[Fact], month: Month, rules: SubsidyRuleBook,
                       known_at: datetime | None = None) -> list[Entitlement]:
    """What was due for ``month`` as the facts were known at ``known_at`` (default: now)."""
    return entitlements_for(facts_on(elder_id, history, month.first_day, known_at), month, rules, known_at,
                            meals_in(history, month.label, known_at))


def grant_entitlement(grant: FacilityGrant, month: Month, rules: SubsidyRuleBook) -> Entitlement | None:
    """The grant, paid in ``month``, if a rule version pays this programme in the facility's
    division on the grant's date."""
    rule = rules.in_force(grant.programme, grant.division_code, grant.effective_date)
    if rule is None or grant.amount_fen <= 0:
        return None
    used = FactsUsed(grant.effective_date, None, grant.division_code, facility_id=grant.facility_id,
                     grant_id=grant.grant_id, grant_policy_source=grant.policy_source)
    return Entitlement(grant.facility_id, "facility", grant.programme, month, grant.amount_fen, rule, used,
                       grant.division_code, reference=grant.grant_id)
