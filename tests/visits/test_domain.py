"""Visit plans, given / when / then: obligations from policy, records, periods, conflicts."""
from datetime import date

import pytest

from kernel.errors import CommandRejected, ConflictError, NotFoundError, PolicyError, ValidationError
from services.visits.domain import (AssignVisitor, ClosePeriods, ElderRelocated, Findings, ObligationChanged,
                                    ObserveElder, OverdueResolved, PeriodMet, PlanOpened, ReassignmentNeeded,
                                    Recipient, RecordVisit, Risk, RiskReported, VisitConflictFlagged,
                                    VisitOverdue, VisitPolicyBook, VisitRecorded, decide, evolve, fold,
                                    parse_period, periods_ending_between)

PUYANG_VILLAGE = "410928100201"
PUYANG_OTHER_VILLAGE = "410928100202"
JINCHENG_VILLAGE = "140521100201"
INNER_MONGOLIA_VILLAGE = "150121100201"

POLICIES = VisitPolicyBook.from_dict({"visit_policies": [
    {"jurisdiction": "", "effective_from": "2017-12-08", "source": "national",
     "requirements": {"general": {"period": "month", "visits": 1}, "key_target": {"period": "month", "visits": 1}}},
    {"jurisdiction": "4109", "effective_from": "2023-01-01", "source": "Puyang",
     "requirements": {"key_target": {"period": "month", "visits": 2}}},
    {"jurisdiction": "15", "effective_from": "2018-06-01", "source": "Inner Mongolia",
     "requirements": {"general": {"period": "quarter", "visits": 1}, "key_target": {"period": "quarter", "visits": 1}}},
    {"jurisdiction": "1405", "effective_from": "2024-01-01", "source": "Jincheng",
     "requirements": {"special_hardship": {"period": "month", "visits": 1}},
     "coverage_goals": {"special_hardship": 1.0}},
]})


def given(*events, elder_id="elder-1"):
    return fold(elder_id, events)


def opened(division=PUYANG_VILLAGE, on=date(2026, 1, 5)):
    return PlanOpened("elder-1", on, "王秀英", division)


def obligation(classes, on, previous=()):
    return ObligationChanged("elder-1", on, tuple(classes), tuple(previous), "registry")


def observe(classes, on, division=PUYANG_VILLAGE, today=None, villages=None):
    return ObserveElder("elder-1", "王秀英", division, frozenset(classes), on, "registry", today or on,
                        frozenset(villages) if villages is not None else None)


def visit(visit_id, on, visitor="visitor-1", today=date(2026, 12, 31), findings=Findings(), risks=(),
          supersedes=None, reason=None, died_on=None):
    return RecordVisit("elder-1", visit_id, visitor, "home", on, ("emotional_comfort",), findings, tuple(risks),
                       today, died_on, supersedes, reason)


def recorded(visit_id, on, visitor="visitor-1", findings=Findings(), risks=()):
    return VisitRecorded("elder-1", on, visit_id, visitor, "home", ("emotional_comfort",), findings,
                         tuple(risks), None, None)


def apply(plan, events):
    for event in events:
        plan = evolve(plan, event)
    return plan


# -- policy ---------------------------------------------------------------------------
def test_a_class_the_city_does_not_mention_is_inherited_from_the_nation():
    puyang = POLICIES.resolve(PUYANG_VILLAGE, date(2026, 3, 1))
    assert puyang.requirements["general"].visits == 1 and puyang.requirements["key_target"].visits == 2
    jincheng = POLICIES.resolve(JINCHENG_VILLAGE, date(2026, 3, 1))
    assert set(jincheng.requirements) == {"general", "key_target", "special_hardship"}
    assert jincheng.coverage_goals == {"special_hardship": 1.0}


def test_the_most_demanding_class_sets_the_obligation():
    puyang = POLICIES.resolve(PUYANG_VILLAGE, date(2026, 3, 1))
    assert puyang.obligation_for({"general", "key_target"})[0] == "key_target"
    assert puyang.obligation_for({"special_hardship"}) is None      # Puyang has no such class


def test_before_a_city_version_takes_effect_the_parent_rule_applies():
    assert POLICIES.resolve(PUYANG_VILLAGE, date(2022, 12, 31)).requirements["key_target"].visits == 1


@pytest.mark.parametrize("entry, field", [
    ({"jurisdiction": "41", "effective_from": "2020-01-01", "source": "x",
      "requirements": {"general": {"period": "week", "visits": 1}}}, "visit_policies[0].requirements.general.period"),
    ({"jurisdiction": "41", "effective_from": "2020-01-01", "source": "x",
      "requirements": {"general": {"period": "month", "visits": 0}}}, "visit_policies[0].requirements.general.visits"),
    ({"jurisdiction": "41", "effective_from": "2020-01-01", "source": "x",
      "requirements": {"elderly": {"period": "month", "visits": 1}}}, "visit_policies[0].requirements.elderly"),
    ({"jurisdiction": "411", "effective_from": "2020-01-01", "source": "x",
      "requirements": {"general": {"period": "month", "visits": 1}}}, "visit_policies[0].jurisdiction"),
    ({"jurisdiction": "41", "effective_from": "2020-01-01",
      "requirements": {"general": {"period": "month", "visits": 1}}}, "visit_policies[0].source"),
])
def test_bad_policy_data_names_the_entry_and_field(entry, field):
    with pytest.raises(PolicyError) as caught:
        VisitPolicyBook.from_dict({"visit_policies": [entry]})
    assert caught.value.field == field


def test_periods():
    assert parse_period("2026-Q4").start == date(2026, 10, 1) and parse_period("2026-Q4").end == date(2026, 12, 31)
    assert parse_period("2026-02").end == date(2026, 2, 28)
    labels = [p.label for p in periods_ending_between(date(2026, 2, 28), date(2026, 6, 30))]
    assert labels == ["2026-03", "2026-Q1", "2026-04", "2026-05", "2026-06", "2026-Q2"]
    with pytest.raises(ValueError):
        parse_period("2026-13")


# -- obligations from registry facts ----------------------------------------------------
def test_becoming_left_behind_opens_the_plan_and_starts_the_obligation():
    events = decide(given(), observe({"general"}, date(2026, 1, 5)))
    assert events == [PlanOpened("elder-1", date(2026, 1, 5), "王秀英", PUYANG_VILLAGE),
                      obligation(["general"], date(2026, 1, 5))]


def test_an_elder_in_no_target_class_owes_nothing_and_opens_nothing():
    assert decide(given(), observe(set(), date(2026, 1, 5))) == []


def test_the_same_fact_twice_changes_nothing():
    plan = given(opened(), obligation(["general"], date(2026, 1, 5)))
    assert decide(plan, observe({"general"}, date(2026, 1, 5))) == []


def test_a_move_outside_the_visitors_villages_asks_for_reassignment():
    plan = given(opened(), obligation(["general"], date(2026, 1, 5)),
                 *decide(given(opened(), obligation(["general"], date(2026, 1, 5))),
                         AssignVisitor("elder-1", "visitor-1", "李明", "13800000000", frozenset({PUYANG_VILLAGE}),
                                       "notice-1", (Recipient("elder", "王秀英", None),), "0" * 64,
                                       date(2026, 1, 6)))[:1])
    events = decide(plan, observe({"general"}, date(2026, 3, 2), division=PUYANG_OTHER_VILLAGE,
                                  villages={PUYANG_VILLAGE}))
    assert events == [ElderRelocated("elder-1", date(2026, 3, 2), PUYANG_VILLAGE, PUYANG_OTHER_VILLAGE),
                      ReassignmentNeeded("elder-1", date(2026, 3, 2), "visitor-1", PUYANG_OTHER_VILLAGE,
                                         f"moved to {PUYANG_OTHER_VILLAGE}, outside the visitor's villages")]


def test_a_visitor_can_only_be_assigned_in_their_villages():
    plan = given(opened(), obligation(["general"], date(2026, 1, 5)))
    with pytest.raises(CommandRejected) as caught:
        decide(plan, AssignVisitor("elder-1", "visitor-1", "李明", "138", frozenset({PUYANG_OTHER_VILLAGE}),
                                   "notice-1", (Recipient("elder", "王秀英", None),), "0" * 64, date(2026, 1, 6)))
    assert caught.value.field == "visitor_id"


# -- closing periods ------------------------------------------------------------------
def test_a_month_with_a_visit_is_met_and_one_without_is_overdue_once():
    plan = given(opened(), obligation(["general"], date(2026, 1, 5)), recorded("v1", date(2026, 1, 20)))
    events = decide(plan, ClosePeriods("elder-1", date(2026, 3, 4)), POLICIES)
    assert [type(e) for e in events] == [PeriodMet, VisitOverdue]
    assert events[1].period == "2026-02" and events[1].days_late == 4 and events[1].required_visits == 1
    assert decide(apply(plan, events), ClosePeriods("elder-1", date(2026, 3, 10)), POLICIES) == []


def test_key_targets_in_puyang_owe_two_visits_a_month():
    plan = given(opened(), obligation(["general", "key_target"], date(2026, 1, 5)), recorded("v1", date(2026, 1, 20)))
    [overdue] = decide(plan, ClosePeriods("elder-1", date(2026, 2, 1)), POLICIES)
    assert (overdue.target_class, overdue.required_visits, overdue.visits) == ("key_target", 2, 1)


def test_inner_mongolia_owes_quarters_not_months():
    plan = given(opened(INNER_MONGOLIA_VILLAGE), obligation(["general"], date(2026, 1, 5)),
                 recorded("v1", date(2026, 2, 10)))
    events = decide(plan, ClosePeriods("elder-1", date(2026, 7, 1)), POLICIES)
    assert [(type(e), e.period) for e in events] == [(PeriodMet, "2026-Q1"), (VisitOverdue, "2026-Q2")]


def test_jincheng_special_hardship_elder_owes_monthly_even_when_not_left_behind():
    plan = given(opened(JINCHENG_VILLAGE), obligation(["special_hardship"], date(2026, 1, 5)))
    [overdue] = decide(plan, ClosePeriods("elder-1", date(2026, 2, 1)), POLICIES)
    assert overdue.target_class == "special_hardship"


def test_a_month_the_obligation_began_late_in_is_not_owed():
    plan = given(opened(on=date(2026, 1, 25)), obligation(["general"], date(2026, 1, 25)))
    events = decide(plan, ClosePeriods("elder-1", date(2026, 3, 1)), POLICIES)
    assert [e.period for e in events] == ["2026-02"]


def test_periods_before_tracking_began_are_not_invented():
    # Left-behind since 2024 (backdated), but visits learnt of it in 2026-01.
    plan = given(opened(on=date(2026, 1, 10)), obligation(["general"], date(2024, 5, 1)))
    events = decide(plan, ClosePeriods("elder-1", date(2026, 2, 2)), POLICIES)
    assert [e.period for e in events] == ["2026-01"]


def test_a_policy_change_mid_period_applies_from_the_period_it_is_in_force_at_the_due_date():
    book = VisitPolicyBook.from_dict({"visit_policies": [
        {"jurisdiction": "", "effective_from": "2017-01-01", "source": "a",
         "requirements": {"general": {"period": "quarter", "visits": 1}}},
        {"jurisdiction": "", "effective_from": "2026-02-15", "source": "b",
         "requirements": {"general": {"period": "month", "visits": 1}}},
    ]})
    plan = given(opened(on=date(2026, 1, 2)), obligation(["general"], date(2026, 1, 2)))
    events = decide(plan, ClosePeriods("elder-1", date(2026, 4, 1)), book)
    # January closes under the quarterly rule (not owed as a month); Feb and Mar are owed
    # monthly; Q1 ends under the monthly rule, so it is not owed as a quarter.
    assert [e.period for e in events] == ["2026-02", "2026-03"]


def test_a_class_change_applies_on_the_due_date():
    plan = given(opened(), obligation(["general", "key_target"], date(2026, 1, 5)),
                 obligation(["general"], date(2026, 2, 20), previous=["general", "key_target"]),
                 recorded("v1", date(2026, 2, 3)))
    [feb] = [e for e in decide(plan, ClosePeriods("elder-1", date(2026, 3, 1)), POLICIES) if e.period == "2026-02"]
    assert (type(feb), feb.target_class, feb.required_visits) == (PeriodMet, "general", 1)


def test_death_ends_the_obligation_and_its_month_is_not_owed():
    plan = given(opened(), obligation(["general"], date(2026, 1, 5)), recorded("v1", date(2026, 1, 9)),
                 obligation([], date(2026, 2, 10), previous=["general"]))
    events = decide(plan, ClosePeriods("elder-1", date(2026, 5, 1)), POLICIES)
    assert [e.period for e in events] == ["2026-01"]


# -- records --------------------------------------------------------------------------
def test_a_visit_that_finds_a_risk_reports_it_with_severity():
    plan = given(opened(), obligation(["general"], date(2026, 1, 5)))
    events = decide(plan, visit("v1", date(2026, 1, 9), risks=[Risk("critical_illness", "high", "咳血")]))
    assert [type(e) for e in events] == [VisitRecorded, RiskReported]
    assert (events[1].risk_id, events[1].severity, events[1].division_code) == ("v1:1", "high", PUYANG_VILLAGE)


def test_a_correction_supersedes_and_does_not_report_the_same_risk_twice():
    risk = Risk("home_safety_hazard", "medium", "电线老化")
    plan = given(opened(), obligation(["general"], date(2026, 1, 5)), recorded("v1", date(2026, 1, 9), risks=[risk]))
    events = decide(plan, visit("v2", date(2026, 1, 9), risks=[risk], supersedes="v1", reason="wrong mode"))
    assert [type(e) for e in events] == [VisitRecorded]
    after = apply(plan, events)
    assert set(after.visits) == {"v2"} and after.visit_ids == {"v1", "v2"}
    with pytest.raises(ConflictError):
        decide(after, visit("v3", date(2026, 1, 9), supersedes="v1", reason="again"))


def test_same_day_records_by_different_visitors_that_disagree_are_flagged_once():
    plan = given(opened(), obligation(["general"], date(2026, 1, 5)),
                 recorded("v1", date(2026, 1, 9), findings=Findings(health="good")))
    events = decide(plan, visit("v2", date(2026, 1, 9), visitor="visitor-2", findings=Findings(health="bedridden")))
    [flag] = [e for e in events if isinstance(e, VisitConflictFlagged)]
    assert flag.visit_ids == ("v1", "v2") and "findings.health" in flag.differences[0]
    agreeing = decide(plan, visit("v3", date(2026, 1, 9), visitor="visitor-2", findings=Findings(health="good")))
    assert not any(isinstance(e, VisitConflictFlagged) for e in agreeing)


def test_a_late_record_resolves_an_overdue_period():
    plan = given(opened(), obligation(["general"], date(2026, 1, 5)))
    plan = apply(plan, decide(plan, ClosePeriods("elder-1", date(2026, 2, 3)), POLICIES))
    assert plan.periods["2026-01"].outcome == "overdue"
    events = decide(plan, visit("v1", date(2026, 1, 28), today=date(2026, 2, 5)))
    assert [type(e) for e in events] == [VisitRecorded, OverdueResolved]
    assert apply(plan, events).periods["2026-01"].outcome == "resolved"


@pytest.mark.parametrize("command, error, field", [
    (visit("v9", date(2026, 2, 1), today=date(2026, 1, 31)), ValidationError, "visited_on"),
    (visit("v9", date(2026, 1, 20), died_on=date(2026, 1, 15)), CommandRejected, "visited_on"),
    (visit("v1", date(2026, 1, 20)), ConflictError, "visit_id"),
    (visit("v9", date(2026, 1, 20), supersedes="nope", reason="x"), NotFoundError, "supersedes"),
    (visit("v9", date(2026, 1, 20), supersedes="v1"), ValidationError, "correction_reason"),
])
def test_refused_records_name_the_field(command, error, field):
    plan = given(opened(), obligation(["general"], date(2026, 1, 5)), recorded("v1", date(2026, 1, 9)))
    with pytest.raises(error) as caught:
        decide(plan, command)
    problem = caught.value
    named = problem.field if problem.field else next(iter(getattr(problem, "errors", {})), None)
    assert named == field
