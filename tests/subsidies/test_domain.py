"""Subsidies domain, given / when / then: rule versions, the bitemporal fact history,
entitlements from the seed amounts, runs and their refusals."""
from datetime import date, datetime, timezone

import pytest

from kernel.errors import CommandRejected, ConflictError, PolicyError, ValidationError
from services.subsidies.domain import (AdjustmentComputed, ApproveRun, CloseMonth, Died, DisbursementComputed,
                                       EnteredFacility, FacilityGrant, LedgerEntry, MarkPaid, Month, Registered,
                                       RunApproved, RunPaid, RunSpec, RunStarted, SelfCareAssessed, StartRun,
                                       SubsidyRuleBook, SupportStatus, decide, elder_entitlements, facts_on, fold,
                                       monthly_share, review_elder, review_grant, run_id_for)
from tests.subsidies.support import JINCHENG_VILLAGE, RULES, SANMENXIA_VILLAGE

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(day: str, hour: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=timezone.utc)


def registered(on="2026-01-05", level="semi_disabled", tekun=True, dibao=False, born=date(1941, 3, 9),
               division=JINCHENG_VILLAGE, recorded=None, seq=1):
    return Registered(effective_date=date.fromisoformat(on), recorded_at=recorded or at(on), seq=seq,
                      birth_date=born, division_code=division, self_care_level=level,
                      support_status=SupportStatus(dibao=dibao, tekun=tekun))


def due(history, month, programme=None, known_at=None):
    owed = elder_entitlements("elder-1", history, Month.parse(month), RULES, known_at)
    return sum(e.amount_fen for e in owed if programme in (None, e.programme))


# -- policy -----------------------------------------------------------------------------
def rule(**overrides):
    entry = {"programme": "meal_subsidy", "jurisdiction": "1405", "effective_from": "2024-01-01",
             "source": "Jincheng 2024", "requires_any_status": ["dibao"], "min_age": 80, "monthly_fen": 6000}
    entry.update(overrides)
    return entry


def test_the_shipped_policy_loads_with_a_content_hash_per_version():
    assert {v.programme for v in RULES.versions} == {"care_subsidy", "basic_living", "meal_subsidy",
                                                     "institution_resident_subsidy", "facility_operating_subsidy",
                                                     "star_award"}
    assert all(len(v.content_hash) == 64 for v in RULES.versions)
    assert len({v.content_hash for v in RULES.versions}) == len(RULES.versions)


def test_the_content_hash_changes_with_the_amount_and_not_with_key_order():
    one = SubsidyRuleBook.from_dict({"subsidy_rules": [rule()]}).versions[0]
    reordered = SubsidyRuleBook.from_dict({"subsidy_rules": [dict(reversed(list(rule().items())))]}).versions[0]
    other = SubsidyRuleBook.from_dict({"subsidy_rules": [rule(monthly_fen=6001)]}).versions[0]
    assert one.content_hash == reordered.content_hash != other.content_hash


def test_float_money_in_policy_is_refused_naming_the_entry_and_field():
    with pytest.raises(PolicyError) as refused:
        SubsidyRuleBook.from_dict({"subsidy_rules": [rule(), rule(jurisdiction="4112", monthly_fen=60.0)]})
    assert refused.value.field == "subsidy_rules[1].monthly_fen"
    assert "integer fen" in refused.value.message and "60.0" in refused.value.message
    with pytest.raises(PolicyError) as nested:
        SubsidyRuleBook.from_dict({"subsidy_rules": [{
            "programme": "care_subsidy", "jurisdiction": "1405", "effective_from": "2024-01-01", "source": "x",
            "monthly_fen_by_mode_and_level": {"dispersed": {"semi_disabled": 200.5}}}]})
    assert nested.value.field == "subsidy_rules[0].monthly_fen_by_mode_and_level.dispersed.semi_disabled"


def test_overlapping_rule_versions_are_refused_naming_both_entries():
    with pytest.raises(PolicyError) as refused:
        SubsidyRuleBook.from_dict({"subsidy_rules": [rule(), rule(monthly_fen=7000)]})
    assert "subsidy_rules[1]" in refused.value.message and "subsidy_rules[0]" in refused.value.message
    assert refused.value.field == "subsidy_rules[1].effective_from"
    # A later version of the same programme, or another jurisdiction, is not an overlap.
    SubsidyRuleBook.from_dict({"subsidy_rules": [rule(), rule(effective_from="2025-01-01"), rule(jurisdiction="4112")]})


@pytest.mark.parametrize("bad, field", [
    ({"programme": "free_money"}, "subsidy_rules[0].programme"),
    ({"monthly_fen": -5}, "subsidy_rules[0].monthly_fen"),
    ({"monthly_fen": True}, "subsidy_rules[0].monthly_fen"),
    ({"jurisdiction": "14051"}, "subsidy_rules[0].jurisdiction"),
    ({"effective_from": "2024-13-01"}, "subsidy_rules[0].effective_from"),
    ({"min_age": 80.5}, "subsidy_rules[0].min_age"),
    ({"requires_any_status": ["rich"]}, "subsidy_rules[0].requires_any_status"),
    ({"as_granted": True}, "subsidy_rules[0].amounts"),
    ({"colour": "red"}, "subsidy_rules[0].colour"),
])
def test_bad_policy_entries_name_the_field(bad, field):
    with pytest.raises(PolicyError) as refused:
        SubsidyRuleBook.from_dict({"subsidy_rules": [rule(**bad)]})
    assert refused.value.field == field


def test_a_yearly_amount_is_paid_in_monthly_fen_that_sum_exactly_to_the_year():
    for yearly in (1098000, 951600, 951601, 1, 11, 100007):
        shares = [monthly_share(yearly, m) for m in range(1, 13)]
        assert sum(shares) == yearly
        assert max(shares) - min(shares) <= 1
    assert monthly_share(1098000, 5) == 91500 and monthly_share(951600, 5) == 79300


# -- worked examples (seed 004 amounts) ---------------------------------------------------------
def test_a_semi_disabled_dispersed_elder_in_jincheng_gets_200_yuan_care_subsidy():
    history = [registered()]
    assert due(history, "2026-03", "care_subsidy") == 20000
    assert due(history, "2026-03", "basic_living") == 79300        # 9,516 yuan a year, dispersed


def test_moving_into_a_facility_under_centralised_support_switches_to_487_yuan():
    history = [registered(), EnteredFacility(effective_date=date(2026, 4, 10), recorded_at=at("2026-04-10"), seq=2,
                                             facility_id="home-1", admission_kind="centralised_support")]
    assert due(history, "2026-04", "care_subsidy") == 20000        # facts of the 1st of the month
    assert due(history, "2026-05", "care_subsidy") == 48700
    assert due(history, "2026-05", "basic_living") == 91500        # 10,980 a year, centralised


def test_day_care_does_not_make_support_centralised():
    history = [registered(), EnteredFacility(effective_date=date(2026, 4, 1), recorded_at=at("2026-04-01"), seq=2,
                                             facility_id="centre-1", admission_kind="day_care")]
    assert due(history, "2026-05", "care_subsidy") == 20000


def test_the_meal_subsidy_starts_the_month_after_the_80th_birthday_for_dibao_families():
    history = [registered(born=date(1946, 6, 15), dibao=True, tekun=False, level="full_self_care")]
    assert due(history, "2026-06", "meal_subsidy") == 0
    assert due(history, "2026-07", "meal_subsidy") == 6000
    assert due([registered(born=date(1930, 1, 1), dibao=False, tekun=False)], "2026-07") == 0


def test_sanmenxia_pays_institution_residents_by_self_care_level_only_when_resident():
    home = registered(division=SANMENXIA_VILLAGE, tekun=False, level="fully_disabled")
    assert due([home], "2026-05") == 0
    inside = [home, EnteredFacility(effective_date=date(2026, 4, 1), recorded_at=at("2026-04-01"), seq=2,
                                    facility_id="home-9", admission_kind="centralised_support")]
    assert due(inside, "2026-05", "institution_resident_subsidy") == 30000
    assert due(inside, "2026-05", "care_subsidy") == 0             # a Jincheng programme


def test_an_elder_who_dies_is_paid_for_the_month_of_death_and_not_after():
    history = [registered(), Died(effective_date=date(2026, 6, 15), recorded_at=at("2026-06-16"), seq=2)]
    assert due(history, "2026-06") > 0
    assert due(history, "2026-07") == 0


def test_as_known_then_versus_as_known_now():
    late_assessment = SelfCareAssessed(effective_date=date(2026, 3, 1), recorded_at=at("2026-06-01"), seq=2,
                                       level="fully_disabled")
    history = [registered(recorded=at("2026-01-05")), late_assessment]
    assert due(history, "2026-04", "care_subsidy", known_at=at("2026-05-01")) == 20000   # what we believed in May
    assert due(history, "2026-04", "care_subsidy") == 30000                               # what we know now
    assert facts_on("elder-1", history, date(2026, 4, 1), at("2026-05-01")).self_care_level == "semi_disabled"
    assert facts_on("elder-1", history, date(2025, 12, 1)) is None


# -- runs -------------------------------------------------------------------------------
SPEC = RunSpec(run_id_for("1405", Month(2026, 7)), "1405", Month(2026, 7), date(2026, 7, 3))


def test_a_run_disburses_each_programme_once_with_the_rule_hash_and_the_facts():
    events = review_elder(SPEC, "elder-1", [registered()], [], [], RULES, JINCHENG_VILLAGE)
    assert [(e.programme, e.amount_fen) for e in events] == [("basic_living", 79300), ("care_subsidy", 20000)]
    care = events[1]
    assert isinstance(care, DisbursementComputed) and care.period == "2026-07"
    assert care.rule_hash == RULES.in_force("care_subsidy", JINCHENG_VILLAGE, date(2026, 7, 1)).content_hash
    assert (care.facts.self_care_level, care.facts.support_mode, care.facts.tekun) == ("semi_disabled", "dispersed", True)


def test_a_run_does_not_pay_again_what_is_recorded_for_the_month():
    ledger = [LedgerEntry("d1", "care_subsidy", "2026-07", 20000), LedgerEntry("d2", "basic_living", "2026-07", 79300)]
    assert review_elder(SPEC, "elder-1", [registered()], ledger, [], RULES, JINCHENG_VILLAGE) == []


def test_a_death_recorded_late_is_clawed_back_referencing_the_original_disbursements():
    history = [registered(), Died(effective_date=date(2026, 5, 20), recorded_at=at("2026-07-02"), seq=2)]
    ledger = [LedgerEntry("d-jun", "care_subsidy", "2026-06", 20000), LedgerEntry("d-jun-b", "basic_living", "2026-06", 79300),
              LedgerEntry("d-may", "care_subsidy", "2026-05", 20000), LedgerEntry("d-may-b", "basic_living", "2026-05", 79300)]
    events = review_elder(SPEC, "elder-1", history, ledger, [Month(2026, 5), Month(2026, 6)], RULES, JINCHENG_VILLAGE)
    assert [(type(e), e.period, e.programme, e.amount_fen, e.corrects) for e in events] == [
        (AdjustmentComputed, "2026-06", "basic_living", -79300, ("d-jun-b",)),
        (AdjustmentComputed, "2026-06", "care_subsidy", -20000, ("d-jun",))]
    assert all(e.reason == "claw_back" and e.now_due_fen == 0 and e.rule_hash is None for e in events)


def test_a_backdated_assessment_gives_back_pay_for_the_difference():
    history = [registered(), SelfCareAssessed(effective_date=date(2026, 6, 1), recorded_at=at("2026-07-02"), seq=2,
                                              level="fully_disabled")]
    ledger = [LedgerEntry("d-jun", "care_subsidy", "2026-06", 20000), LedgerEntry("d-jun-b", "basic_living", "2026-06", 79300)]
    events = review_elder(SPEC, "elder-1", history, ledger, [Month(2026, 6)], RULES, JINCHENG_VILLAGE)
    [back_pay] = [e for e in events if isinstance(e, AdjustmentComputed)]
    assert (back_pay.amount_fen, back_pay.previously_paid_fen, back_pay.now_due_fen) == (10000, 20000, 30000)
    assert back_pay.reason == "back_pay" and back_pay.corrects == ("d-jun",)
    assert [e.amount_fen for e in events if isinstance(e, DisbursementComputed) and e.programme == "care_subsidy"] == [30000]


def test_an_elder_outside_the_jurisdiction_that_month_is_left_to_their_own_run():
    sanmenxia = registered(division=SANMENXIA_VILLAGE)
    assert review_elder(SPEC, "elder-1", [sanmenxia], [], [], RULES, SANMENXIA_VILLAGE) == []


def test_a_facility_grant_is_paid_once_from_its_month_on_where_policy_pays_it():
    grant = FacilityGrant("g-1", "home-9", "star_award", SANMENXIA_VILLAGE, date(2026, 7, 20), 3000000, "Sanmenxia")
    spec = RunSpec(run_id_for("4112", Month(2026, 7)), "4112", Month(2026, 7), date(2026, 7, 25))
    [paid] = review_grant(spec, grant, False, RULES)
    assert (paid.beneficiary_kind, paid.amount_fen, paid.reference) == ("facility", 3000000, "g-1")
    assert review_grant(spec, grant, True, RULES) == []
    jincheng = FacilityGrant("g-2", "home-1", "star_award", JINCHENG_VILLAGE, date(2026, 7, 1), 100, "x")
    assert review_grant(SPEC, jincheng, False, RULES) == []        # Jincheng's policy pays no star awards


def start(state, month=Month(2026, 7), today=date(2026, 7, 3), has_policy=True, closed_by=None):
    return decide(state, StartRun("1405", month, today, RULES.content_hash, has_policy, closed_by))


def test_run_refusals_future_month_no_policy_closed_month():
    fresh = fold("1405", Month(2026, 8), [])
    with pytest.raises(ValidationError) as future:
        start(fresh, Month(2026, 8))
    assert future.value.field == "month"
    with pytest.raises(CommandRejected) as no_policy:
        start(fold("1405", Month(2026, 7), []), has_policy=False)
    assert no_policy.value.field == "jurisdiction"
    with pytest.raises(CommandRejected) as closed:
        start(fold("1405", Month(2026, 7), []), closed_by="1405")
    assert closed.value.field == "month"


def test_a_run_is_started_once_approved_by_finance_only_then_paid_then_closed():
    state = fold("1405", Month(2026, 7), [])
    [started] = start(state)
    assert isinstance(started, RunStarted)
    state = fold("1405", Month(2026, 7), [started])
    assert start(state) == []                                       # idempotent
    with pytest.raises(ConflictError):
        decide(state, ApproveRun("finance", date(2026, 7, 3)))      # not completed yet
    from services.subsidies.domain import CompleteRun
    [completed] = decide(state, CompleteRun(date(2026, 7, 3), 1, 2, 99300, 0, 0))
    state = fold("1405", Month(2026, 7), [started, completed])
    with pytest.raises(CommandRejected) as not_finance:
        decide(state, ApproveRun("civil_affairs", date(2026, 7, 3)))
    assert not_finance.value.field == "actor.department"
    with pytest.raises(ConflictError):
        decide(state, MarkPaid(date(2026, 7, 3), date(2026, 7, 3), "bank-1"))   # not approved
    with pytest.raises(ConflictError):
        decide(state, CloseMonth(date(2026, 7, 3)))                 # not paid
    [approved] = decide(state, ApproveRun("finance", date(2026, 7, 3)))
    assert isinstance(approved, RunApproved)
    state = fold("1405", Month(2026, 7), [started, completed, approved])
    [paid] = decide(state, MarkPaid(date(2026, 7, 5), date(2026, 7, 4), "bank-1"))
    assert isinstance(paid, RunPaid)
    state = fold("1405", Month(2026, 7), [started, completed, approved, paid])
    [closed] = decide(state, CloseMonth(date(2026, 7, 31)))
    state = fold("1405", Month(2026, 7), [started, completed, approved, paid, closed])
    assert state.closed and decide(state, CloseMonth(date(2026, 7, 31))) == []
    with pytest.raises(CommandRejected):
        start(state)


def test_the_hand_written_wire_form_of_entries_equals_the_contract_dump():
    from contracts import CATALOGUE
    from services.subsidies.adapters.event_mapping import entry_wire
    history = [registered(), Died(effective_date=date(2026, 6, 15), recorded_at=at("2026-06-16"), seq=2)]
    june = RunSpec(run_id_for("1405", Month(2026, 6)), "1405", Month(2026, 6), date(2026, 6, 3), at("2026-06-03"))
    disbursements = review_elder(june, "elder-1", history, [], [], RULES, JINCHENG_VILLAGE)
    adjustments = review_elder(SPEC, "elder-1", history, [LedgerEntry("d-jul", "care_subsidy", "2026-07", 20000)],
                               [Month(2026, 7)], RULES, JINCHENG_VILLAGE)
    assert disbursements and adjustments
    for event in disbursements + adjustments:
        assert entry_wire(event) == CATALOGUE.serialize(event.TYPE, event)
        CATALOGUE.validate(event.TYPE, entry_wire(event))


def test_a_merged_record_stops_receiving_from_the_merge_and_resumes_when_unmerged():
    from services.subsidies.domain import MergedInto, Unmerged
    history = [registered(), MergedInto(effective_date=date(2026, 4, 1), recorded_at=at("2026-04-01"), seq=2,
                                        survivor_id="elder-9")]
    assert due(history, "2026-03") > 0 and due(history, "2026-04") == 0
    history.append(Unmerged(effective_date=date(2026, 6, 1), recorded_at=at("2026-06-01"), seq=3))
    assert due(history, "2026-05") == 0 and due(history, "2026-06") > 0


def test_a_correction_applies_from_the_registration_whatever_its_own_date():
    from services.subsidies.domain import Corrected
    history = [registered(born=date(1950, 1, 1), dibao=True, tekun=False),
               Corrected(effective_date=date(2026, 9, 1), recorded_at=at("2026-09-01"), seq=2,
                         birth_date=date(1940, 1, 1))]
    assert due(history, "2026-03", "meal_subsidy") == 6000           # 86, not 76, already in March
    assert due(history, "2026-03", "meal_subsidy", known_at=at("2026-08-01")) == 0   # as believed in August
