"""The registry's rules, read as: given these events, when this command, then these events."""
from __future__ import annotations

from dataclasses import fields, replace
from datetime import date

import pytest

from kernel.errors import CommandRejected, ConflictError, EldercareError, NotFoundError, ValidationError
from services.registry.domain import (
    EVENT_TYPES, AssessSelfCare, BecameLeftBehind, Carer, CarerEntrusted, CeasedLeftBehind,
    ChangeSupportStatus, Contact, CorrectDetails, DetailsCorrected, DuplicateAbsorbed, DuplicateReleased,
    ElderDied, ElderMoved, ElderRegistered, ElderState, EntrustCarer, EvaluateStatus, KeyTargetChanged,
    MergeRecords, PolicyBook, RecordDeath, RecordHospitalDischarge, RecordHospitalisation,
    RecordMergedInto, RecordMove, RecordStatus, RecordSupporterLeft, RecordSupporterReturned,
    RecordUnmerged, RegisterElder, SelfCareAssessed, SelfCareLevel, Supporter, SupporterLeft,
    SupporterReturned, SupportStatus, SupportStatusChanged, UnmergeRecords, decide, decide_survivor_side,
    derive_status, evolve, fold, fold_as_of, next_review_date, resident_id_check_character)

ELDER = "elder-1"
VILLAGE = "410928100201"
REGISTERED_ON = date(2024, 1, 2)
BORN = date(1950, 3, 15)
SON = Supporter(supporter_id="son", name="王强", relationship="son", phone="13800000001")
DAUGHTER = Supporter(supporter_id="daughter", name="王芳", relationship="daughter", phone="13800000002")

BOOK = PolicyBook.from_dict({"status_policies": [{
    "jurisdiction": "", "effective_from": "2017-12-29", "months_away": 6, "advanced_age": 80,
    "hard_up_statuses": ["dibao", "tekun", "poverty_registered"],
    "disabled_levels": ["semi_disabled", "fully_disabled"], "living_alone_is_key": True,
    "source": "民发〔2017〕193号",
}]})


def resident_id(birth_date: date = BORN, sex: str = "male", address_code: str = "410928") -> str:
    sequence = "013" if sex == "male" else "024"
    first_17 = f"{address_code}{birth_date:%Y%m%d}{sequence}"
    return first_17 + resident_id_check_character(first_17)


def register(**overrides) -> RegisterElder:
    fields = dict(
        elder_id=ELDER, effective_date=REGISTERED_ON, resident_id=resident_id(), name="王大山",
        sex="male", birth_date=BORN, division_code=VILLAGE, household_id="H-001",
        address="濮阳县某村3组", phone="03930000000",
        contacts=(Contact(name="李婶", relationship="neighbour", phone="13900000000"),),
        supporters=(SON,), carer=None, income_sources=("pension",), support_status=SupportStatus(),
        health="hypertension", self_care_level=SelfCareLevel.FULL_SELF_CARE, lives_alone=False)
    return RegisterElder(**{**fields, **overrides})


def field_names(cls) -> list[str]:
    return [f.name for f in fields(cls)]


def registered(**overrides) -> ElderRegistered:
    command = register(**overrides)
    return ElderRegistered(**{name: getattr(command, name) for name in field_names(ElderRegistered)})


def left(supporter: Supporter, on: date, whereabouts: str = "广州") -> SupporterLeft:
    return SupporterLeft(elder_id=ELDER, effective_date=on, supporter_id=supporter.supporter_id,
                         name=supporter.name, relationship=supporter.relationship, phone=supporter.phone,
                         whereabouts=whereabouts)


def became_left_behind(on: date, away_since: date) -> BecameLeftBehind:
    return BecameLeftBehind(elder_id=ELDER, effective_date=on, supporters_away_since=away_since,
                            reason="<any>")


def key_target(on: date, reasons: tuple[str, ...], previous: tuple[str, ...] = ()) -> KeyTargetChanged:
    return KeyTargetChanged(elder_id=ELDER, effective_date=on, is_key_target=bool(reasons),
                            reasons=reasons, previous_reasons=previous)


def ceased(on: date) -> CeasedLeftBehind:
    return CeasedLeftBehind(elder_id=ELDER, effective_date=on, reason="<any>")


def ignoring_reason_text(events: list) -> list:
    """Status reasons are prose for people; tests compare them separately."""
    return [replace(event, reason="<any>") if isinstance(event, (BecameLeftBehind, CeasedLeftBehind))
            else event for event in events]


class Scenario:
    def __init__(self, events, elder_id: str = ELDER):
        self.history = list(events)
        self.state = fold(elder_id, self.history)

    def when(self, command, today: date) -> "Scenario":
        self.error, self.events = None, None
        try:
            self.events = decide(self.state, command, BOOK, today)
        except EldercareError as error:
            self.error = error
        return self

    def then(self, *expected) -> "Scenario":
        assert self.error is None, f"refused: {self.error!r}"
        assert ignoring_reason_text(self.events) == list(expected)
        assert derive_status(fold(self.state.elder_id, self.history + self.events), BOOK, self.today_of()) == []
        return self

    def then_refused(self, error_type: type, field: str | None) -> EldercareError:
        assert isinstance(self.error, error_type), f"expected {error_type.__name__}, got {self.error!r}"
        assert self.error.field == field
        return self.error

    def today_of(self) -> date:
        return max(event.effective_date for event in self.history + self.events)


def given(*events) -> Scenario:
    return Scenario(events)


# --- registration ---------------------------------------------------------------------

def test_registering_records_every_detail():
    given().when(register(), today=REGISTERED_ON).then(registered())


def test_registering_an_elder_whose_supporters_are_long_gone_makes_them_left_behind_from_registration():
    away = replace(SON, left_on=date(2023, 1, 10), whereabouts="深圳")

    given().when(register(supporters=(away,)), today=REGISTERED_ON).then(
        registered(supporters=(away,)), became_left_behind(REGISTERED_ON, away_since=date(2023, 1, 10)))


def test_registering_twice_is_a_conflict():
    given(registered()).when(register(), today=REGISTERED_ON).then_refused(ConflictError, "elder_id")


@pytest.mark.parametrize("overrides, bad_fields", [
    ({"resident_id": resident_id()[:17] + "0" if resident_id()[17] != "0" else resident_id()[:17] + "1"},
     {"resident_id"}),
    ({"resident_id": "41092819500315"}, {"resident_id"}),
    ({"resident_id": resident_id(birth_date=date(1951, 3, 15))}, {"resident_id"}),
    ({"sex": "female"}, {"resident_id"}),
    ({"sex": "unknown"}, {"sex"}),
    ({"name": " "}, {"name"}),
    ({"division_code": "4109"}, {"division_code"}),
    ({"phone": "call me"}, {"phone"}),
    ({"birth_date": date(2030, 1, 1), "resident_id": resident_id(birth_date=date(2030, 1, 1))}, {"birth_date"}),
    ({"self_care_level": "bedridden"}, {"self_care_level"}),
    ({"supporters": (SON, SON)}, {"supporters"}),
    ({"supporters": (replace(SON, left_on=date(2023, 1, 1), returned_on=date(2023, 6, 1)),)}, {"supporters"}),
    ({"carer": Carer(name="", relationship="niece", phone="139")}, {"carer"}),
    ({"address": "", "household_id": ""}, {"address", "household_id"}),
])
def test_registration_with_bad_details_is_refused_naming_every_bad_field(overrides, bad_fields):
    error = given().when(register(**overrides), today=REGISTERED_ON).error

    assert isinstance(error, ValidationError)
    assert set(error.errors) == bad_fields


def test_a_fact_dated_in_the_future_is_refused():
    given().when(register(effective_date=date(2024, 1, 3)), today=REGISTERED_ON).then_refused(
        CommandRejected, "effective_date")


def test_any_command_on_an_unregistered_elder_is_not_found():
    command = RecordSupporterLeft(ELDER, REGISTERED_ON, "son", "广州", None)
    given().when(command, today=REGISTERED_ON).then_refused(NotFoundError, "elder_id")


def test_a_fact_dated_before_registration_is_refused():
    command = RecordSupporterLeft(ELDER, date(2023, 12, 1), "son", "广州", None)
    given(registered()).when(command, today=REGISTERED_ON).then_refused(CommandRejected, "effective_date")


# --- becoming left-behind -------------------------------------------------------------

def test_a_supporter_leaving_changes_no_status_until_six_months_pass():
    given(registered()).when(RecordSupporterLeft(ELDER, date(2024, 1, 10), "son", "广州", None),
                             today=date(2024, 1, 10)).then(left(SON, date(2024, 1, 10)))
    given(registered(), left(SON, date(2024, 1, 10))).when(
        EvaluateStatus(ELDER, date(2024, 7, 9)), today=date(2024, 7, 9)).then()


def test_on_the_day_six_months_are_reached_the_elder_becomes_left_behind_dated_that_day():
    given(registered(), left(SON, date(2024, 1, 10))).when(
        EvaluateStatus(ELDER, date(2024, 7, 10)), today=date(2024, 7, 10)).then(
        became_left_behind(date(2024, 7, 10), away_since=date(2024, 1, 10)))


def test_a_late_evaluation_still_dates_the_status_on_the_day_it_began():
    given(registered(), left(SON, date(2024, 1, 10))).when(
        EvaluateStatus(ELDER, date(2024, 9, 1)), today=date(2024, 9, 1)).then(
        became_left_behind(date(2024, 7, 10), away_since=date(2024, 1, 10)))


def test_the_reason_names_the_supporters_and_dates():
    events = decide(fold(ELDER, [registered(), left(SON, date(2024, 1, 10))]),
                    EvaluateStatus(ELDER, date(2024, 7, 10)), BOOK, date(2024, 7, 10))

    assert "王强 (son) away since 2024-01-10" in events[0].reason
    assert "6 months reached on 2024-07-10" in events[0].reason


def test_while_one_of_two_supporters_is_at_home_the_elder_is_not_left_behind():
    given(registered(supporters=(SON, DAUGHTER)), left(SON, date(2024, 1, 10))).when(
        EvaluateStatus(ELDER, date(2025, 1, 10)), today=date(2025, 1, 10)).then()


def test_the_clock_runs_from_the_last_supporter_to_leave():
    given(registered(supporters=(SON, DAUGHTER)), left(SON, date(2024, 1, 10)),
          left(DAUGHTER, date(2024, 3, 5))).when(
        EvaluateStatus(ELDER, date(2024, 10, 1)), today=date(2024, 10, 1)).then(
        became_left_behind(date(2024, 9, 5), away_since=date(2024, 3, 5)))


def test_a_departure_recorded_seven_months_late_makes_the_elder_left_behind_at_once_with_the_past_date():
    given(registered()).when(RecordSupporterLeft(ELDER, date(2024, 2, 1), "son", "广州", None),
                             today=date(2024, 9, 1)).then(
        left(SON, date(2024, 2, 1)), became_left_behind(date(2024, 8, 1), away_since=date(2024, 2, 1)))


def test_a_new_supporter_can_be_recorded_as_they_leave():
    nephew = Supporter(supporter_id="nephew", name="王涛", relationship="nephew", phone=None)
    given(registered(supporters=())).when(
        RecordSupporterLeft(ELDER, date(2024, 2, 1), "nephew", "北京", "13700000000", new_supporter=nephew),
        today=date(2024, 2, 1)).then(
        SupporterLeft(elder_id=ELDER, effective_date=date(2024, 2, 1), supporter_id="nephew", name="王涛",
                      relationship="nephew", phone="13700000000", whereabouts="北京"))


def test_an_unknown_supporter_is_not_found_and_a_known_one_cannot_be_added_again():
    given(registered()).when(RecordSupporterLeft(ELDER, date(2024, 2, 1), "nephew", "北京", None),
                             today=date(2024, 2, 1)).then_refused(NotFoundError, "supporter_id")
    given(registered()).when(RecordSupporterLeft(ELDER, date(2024, 2, 1), "son", "北京", None, new_supporter=SON),
                             today=date(2024, 2, 1)).then_refused(ConflictError, "supporter_id")


def test_a_supporter_already_away_cannot_leave_again():
    given(registered(), left(SON, date(2024, 1, 10))).when(
        RecordSupporterLeft(ELDER, date(2024, 2, 1), "son", "北京", None), today=date(2024, 2, 1)).then_refused(
        CommandRejected, "supporter_id")


def test_a_move_of_a_supporter_cannot_be_backdated_before_their_last_recorded_move():
    given(registered(), left(SON, date(2024, 3, 1)),
          SupporterReturned(elder_id=ELDER, effective_date=date(2024, 4, 1), supporter_id="son")).when(
        RecordSupporterLeft(ELDER, date(2024, 3, 15), "son", "北京", None), today=date(2024, 5, 1)).then_refused(
        CommandRejected, "effective_date")


# --- ceasing to be left-behind ------------------------------------------------------------

LEFT_BEHIND = (registered(), left(SON, date(2024, 1, 10)), became_left_behind(date(2024, 7, 10), date(2024, 1, 10)))


def test_a_supporter_returning_ends_left_behind_status_on_the_return_date():
    given(*LEFT_BEHIND).when(RecordSupporterReturned(ELDER, date(2024, 9, 1), "son"), today=date(2024, 9, 3)).then(
        SupporterReturned(elder_id=ELDER, effective_date=date(2024, 9, 1), supporter_id="son"),
        ceased(date(2024, 9, 1)))


def test_a_return_recorded_after_the_status_began_is_dated_no_earlier_than_the_status():
    # The return happened before the status was derived; the correction cannot rewrite history.
    given(*LEFT_BEHIND).when(RecordSupporterReturned(ELDER, date(2024, 7, 1), "son"), today=date(2024, 8, 1)).then(
        SupporterReturned(elder_id=ELDER, effective_date=date(2024, 7, 1), supporter_id="son"),
        ceased(date(2024, 7, 10)))


def test_a_supporter_who_is_not_away_cannot_return():
    given(registered()).when(RecordSupporterReturned(ELDER, date(2024, 2, 1), "son"),
                             today=date(2024, 2, 1)).then_refused(CommandRejected, "supporter_id")
    given(registered()).when(RecordSupporterReturned(ELDER, date(2024, 2, 1), "nobody"),
                             today=date(2024, 2, 1)).then_refused(NotFoundError, "supporter_id")


# --- key targets -------------------------------------------------------------------------

@pytest.mark.parametrize("command, fact, reason", [
    (ChangeSupportStatus(ELDER, date(2024, 8, 1), SupportStatus(dibao=True), "approved for dibao"),
     SupportStatusChanged(elder_id=ELDER, effective_date=date(2024, 8, 1), support_status=SupportStatus(dibao=True),
                          previous_support_status=SupportStatus(), reason="approved for dibao"),
     "hard_up"),
    (AssessSelfCare(ELDER, date(2024, 8, 1), SelfCareLevel.SEMI_DISABLED, "township assessor"),
     SelfCareAssessed(elder_id=ELDER, effective_date=date(2024, 8, 1), level=SelfCareLevel.SEMI_DISABLED,
                      previous_level=SelfCareLevel.FULL_SELF_CARE, assessor="township assessor"),
     "disabled"),
    (CorrectDetails(ELDER, date(2024, 8, 1), {"lives_alone": True}, "wife passed away"),
     DetailsCorrected(elder_id=ELDER, effective_date=date(2024, 8, 1), changes={"lives_alone": True},
                      reason="wife passed away"),
     "living_alone"),
])
def test_a_left_behind_elder_becomes_a_key_target_for_each_reason(command, fact, reason):
    given(*LEFT_BEHIND).when(command, today=date(2024, 8, 2)).then(fact, key_target(date(2024, 8, 1), (reason,)))


def test_the_same_facts_make_no_key_target_of_an_elder_who_is_not_left_behind():
    given(registered()).when(ChangeSupportStatus(ELDER, date(2024, 8, 1), SupportStatus(tekun=True), "approved"),
                             today=date(2024, 8, 1)).then(
        SupportStatusChanged(elder_id=ELDER, effective_date=date(2024, 8, 1), support_status=SupportStatus(tekun=True),
                             previous_support_status=SupportStatus(), reason="approved"))


def test_a_hard_up_elder_becomes_a_key_target_the_day_they_become_left_behind():
    given(registered(support_status=SupportStatus(dibao=True), lives_alone=True), left(SON, date(2024, 1, 10))).when(
        EvaluateStatus(ELDER, date(2024, 7, 10)), today=date(2024, 7, 10)).then(
        became_left_behind(date(2024, 7, 10), date(2024, 1, 10)),
        key_target(date(2024, 7, 10), ("hard_up", "living_alone")))


def test_turning_80_while_left_behind_adds_advanced_age_on_the_birthday():
    born = date(1944, 9, 20)
    history = (registered(birth_date=born, resident_id=resident_id(birth_date=born)), *LEFT_BEHIND[1:])

    given(*history).when(EvaluateStatus(ELDER, date(2024, 9, 19)), today=date(2024, 9, 19)).then()
    given(*history).when(EvaluateStatus(ELDER, date(2024, 9, 20)), today=date(2024, 9, 20)).then(
        key_target(date(2024, 9, 20), ("advanced_age",)))
    given(*history).when(EvaluateStatus(ELDER, date(2024, 12, 1)), today=date(2024, 12, 1)).then(
        key_target(date(2024, 9, 20), ("advanced_age",)))


def test_a_change_of_reasons_is_recorded_even_while_still_a_key_target():
    history = (*LEFT_BEHIND, SupportStatusChanged(elder_id=ELDER, effective_date=date(2024, 8, 1),
                                                  support_status=SupportStatus(dibao=True),
                                                  previous_support_status=SupportStatus(), reason="approved"),
               key_target(date(2024, 8, 1), ("hard_up",)))
    given(*history).when(AssessSelfCare(ELDER, date(2024, 9, 1), SelfCareLevel.FULLY_DISABLED, "doctor"),
                         today=date(2024, 9, 1)).then(
        SelfCareAssessed(elder_id=ELDER, effective_date=date(2024, 9, 1), level=SelfCareLevel.FULLY_DISABLED,
                         previous_level=SelfCareLevel.FULL_SELF_CARE, assessor="doctor"),
        key_target(date(2024, 9, 1), ("disabled", "hard_up"), previous=("hard_up",)))


def test_losing_left_behind_status_ends_key_target_status_the_same_day():
    history = (*LEFT_BEHIND, key_target(date(2024, 7, 10), ("hard_up",)))
    given(*history).when(RecordSupporterReturned(ELDER, date(2024, 9, 1), "son"), today=date(2024, 9, 1)).then(
        SupporterReturned(elder_id=ELDER, effective_date=date(2024, 9, 1), supporter_id="son"),
        ceased(date(2024, 9, 1)), key_target(date(2024, 9, 1), (), previous=("hard_up",)))


# --- death, merge, other facts --------------------------------------------------------------

def test_death_ends_every_status_and_closes_the_record():
    history = (*LEFT_BEHIND, key_target(date(2024, 7, 10), ("hard_up",)))
    given(*history).when(RecordDeath(ELDER, date(2024, 10, 3)), today=date(2024, 10, 4)).then(
        ElderDied(elder_id=ELDER, effective_date=date(2024, 10, 3)),
        ceased(date(2024, 10, 3)), key_target(date(2024, 10, 3), (), previous=("hard_up",)))

    dead = (*history, ElderDied(elder_id=ELDER, effective_date=date(2024, 10, 3)), ceased(date(2024, 10, 3)),
            key_target(date(2024, 10, 3), (), previous=("hard_up",)))
    given(*dead).when(AssessSelfCare(ELDER, date(2024, 10, 5), SelfCareLevel.FULLY_DISABLED, "doctor"),
                      today=date(2024, 10, 5)).then_refused(CommandRejected, "elder_id")
    given(*dead).when(EvaluateStatus(ELDER, date(2025, 10, 5)), today=date(2025, 10, 5)).then()


DUPLICATE, SURVIVOR = ELDER, "elder-2"


def test_merging_a_duplicate_closes_it_and_ends_its_statuses():
    given(*LEFT_BEHIND).when(MergeRecords(DUPLICATE, date(2024, 8, 1), SURVIVOR, "same resident id"),
                             today=date(2024, 8, 1)).then(
        RecordMergedInto(elder_id=DUPLICATE, effective_date=date(2024, 8, 1), survivor_id=SURVIVOR,
                         reason="same resident id"),
        ceased(date(2024, 8, 1)))


def test_the_survivor_records_that_it_absorbed_the_duplicate():
    survivor = fold(SURVIVOR, [replace(registered(), elder_id=SURVIVOR)])
    merge = MergeRecords(DUPLICATE, date(2024, 8, 1), SURVIVOR, "same resident id")

    absorbed = decide_survivor_side(survivor, merge)

    assert absorbed == [DuplicateAbsorbed(elder_id=SURVIVOR, effective_date=date(2024, 8, 1),
                                          duplicate_id=DUPLICATE, reason="same resident id")]
    with pytest.raises(ConflictError):
        decide_survivor_side(evolve(survivor, absorbed[0]), merge)
    with pytest.raises(NotFoundError) as missing:
        decide_survivor_side(ElderState.initial(SURVIVOR), merge)
    assert missing.value.field == "survivor_id"


def test_a_record_cannot_be_merged_into_itself():
    given(registered()).when(MergeRecords(ELDER, date(2024, 8, 1), ELDER, "oops"), today=date(2024, 8, 1)).then_refused(
        CommandRejected, "survivor_id")


def test_unmerging_reopens_the_record_and_its_statuses_from_the_unmerge_date():
    merged = (*LEFT_BEHIND, RecordMergedInto(elder_id=DUPLICATE, effective_date=date(2024, 8, 1),
                                             survivor_id=SURVIVOR, reason="same resident id"),
              ceased(date(2024, 8, 1)))
    given(*merged).when(AssessSelfCare(ELDER, date(2024, 8, 2), SelfCareLevel.SEMI_DISABLED, "x"),
                        today=date(2024, 8, 2)).then_refused(CommandRejected, "elder_id")
    given(*merged).when(UnmergeRecords(DUPLICATE, date(2024, 8, 20), "different people"), today=date(2024, 8, 20)).then(
        RecordUnmerged(elder_id=DUPLICATE, effective_date=date(2024, 8, 20), survivor_id=SURVIVOR,
                       reason="different people"),
        became_left_behind(date(2024, 8, 20), date(2024, 1, 10)))

    survivor = fold(SURVIVOR, [replace(registered(), elder_id=SURVIVOR),
                               DuplicateAbsorbed(elder_id=SURVIVOR, effective_date=date(2024, 8, 1),
                                                 duplicate_id=DUPLICATE, reason="same resident id")])
    assert decide_survivor_side(survivor, UnmergeRecords(DUPLICATE, date(2024, 8, 20), "different people")) == [
        DuplicateReleased(elder_id=SURVIVOR, effective_date=date(2024, 8, 20), duplicate_id=DUPLICATE,
                          reason="different people")]


def test_only_a_merged_record_can_be_unmerged():
    given(registered()).when(UnmergeRecords(ELDER, date(2024, 8, 20), "?"), today=date(2024, 8, 20)).then_refused(
        CommandRejected, "elder_id")


def test_details_with_their_own_command_cannot_be_corrected():
    for name in ("self_care_level", "support_status", "division_code", "supporters", "carer"):
        given(registered()).when(CorrectDetails(ELDER, date(2024, 2, 1), {name: None}, "typo"),
                                 today=date(2024, 2, 1)).then_refused(CommandRejected, name)
    given(registered()).when(CorrectDetails(ELDER, date(2024, 2, 1), {"shoe_size": 42}, "typo"),
                             today=date(2024, 2, 1)).then_refused(CommandRejected, "shoe_size")


def test_correcting_the_birth_date_alone_must_agree_with_the_resident_id():
    error = given(registered()).when(CorrectDetails(ELDER, date(2024, 2, 1), {"birth_date": date(1950, 3, 16)}, "typo"),
                                     today=date(2024, 2, 1)).then_refused(ValidationError, "resident_id")
    assert "birth date" in error.errors["resident_id"][0]

    fixed = date(1950, 3, 16)
    changes = {"birth_date": fixed, "resident_id": resident_id(birth_date=fixed)}
    given(registered()).when(CorrectDetails(ELDER, date(2024, 2, 1), changes, "typo"), today=date(2024, 2, 1)).then(
        DetailsCorrected(elder_id=ELDER, effective_date=date(2024, 2, 1), changes=changes, reason="typo"))


def test_a_correction_that_changes_nothing_is_refused():
    given(registered()).when(CorrectDetails(ELDER, date(2024, 2, 1), {"name": "王大山"}, "check"),
                             today=date(2024, 2, 1)).then_refused(CommandRejected, "changes")


def test_moving_records_where_from_and_to():
    given(registered()).when(RecordMove(ELDER, date(2024, 3, 1), "410922100201", "清丰县某村", "H-9"),
                             today=date(2024, 3, 1)).then(
        ElderMoved(elder_id=ELDER, effective_date=date(2024, 3, 1), from_division_code=VILLAGE,
                   division_code="410922100201", address="清丰县某村", household_id="H-9"))


def test_entrusting_a_carer_is_recorded():
    carer = Carer(name="王婶", relationship="sister-in-law", phone="13600000000")
    given(registered()).when(EntrustCarer(ELDER, date(2024, 3, 1), carer), today=date(2024, 3, 1)).then(
        CarerEntrusted(elder_id=ELDER, effective_date=date(2024, 3, 1), carer=carer))


def test_hospital_stays_cannot_overlap_and_discharge_needs_a_stay():
    given(registered()).when(RecordHospitalDischarge(ELDER, date(2024, 3, 1)), today=date(2024, 3, 1)).then_refused(
        CommandRejected, "elder_id")
    in_hospital = fold(ELDER, [registered()])
    for event in decide(in_hospital, RecordHospitalisation(ELDER, date(2024, 3, 1), "县医院"), BOOK, date(2024, 3, 1)):
        in_hospital = evolve(in_hospital, event)
    assert in_hospital.hospitalised and in_hospital.hospital == "县医院"
    with pytest.raises(CommandRejected):
        decide(in_hospital, RecordHospitalisation(ELDER, date(2024, 3, 2), "市医院"), BOOK, date(2024, 3, 2))


# --- fold, history, review dates -------------------------------------------------------------

def test_fold_applies_backdated_facts_at_their_effective_date():
    history = [*LEFT_BEHIND, SupporterReturned(elder_id=ELDER, effective_date=date(2024, 9, 1), supporter_id="son"),
               ceased(date(2024, 9, 1)), left(DAUGHTER, date(2024, 5, 1))]  # recorded last, happened earlier

    state = fold(ELDER, history)

    assert state.version == len(history)
    assert state.left_behind_since is None
    assert state.supporter("son").returned_on == date(2024, 9, 1)


def test_fold_as_of_shows_the_record_as_it_stood_on_a_date():
    history = [*LEFT_BEHIND, SupporterReturned(elder_id=ELDER, effective_date=date(2024, 9, 1), supporter_id="son"),
               ceased(date(2024, 9, 1))]

    assert fold_as_of(ELDER, history, date(2024, 7, 9)).left_behind_since is None
    assert fold_as_of(ELDER, history, date(2024, 8, 31)).left_behind_since == date(2024, 7, 10)
    assert fold_as_of(ELDER, history, date(2024, 9, 1)).left_behind_since is None
    assert fold_as_of(ELDER, history, date(2023, 1, 1)).record_status is None


def test_replaying_in_effective_date_order_gives_the_state_the_decisions_were_made_on():
    state, recorded = fold(ELDER, []), []
    steps = [
        (register(supporters=(SON, DAUGHTER)), date(2024, 1, 2)),
        (RecordSupporterLeft(ELDER, date(2024, 3, 1), "daughter", "上海", None), date(2024, 3, 2)),
        (ChangeSupportStatus(ELDER, date(2024, 4, 1), SupportStatus(dibao=True), "approved"), date(2024, 4, 1)),
        (RecordSupporterLeft(ELDER, date(2024, 1, 20), "son", "广州", None), date(2024, 9, 15)),  # late news
        (AssessSelfCare(ELDER, date(2024, 9, 1), SelfCareLevel.SEMI_DISABLED, "doctor"), date(2024, 9, 16)),
        (RecordSupporterReturned(ELDER, date(2024, 9, 10), "son"), date(2024, 10, 1)),
    ]
    for command, today in steps:
        events = decide(state, command, BOOK, today)
        recorded += events
        for event in events:
            state = evolve(state, event)

    assert fold(ELDER, recorded) == state
    assert [type(event).__name__ for event in recorded if isinstance(event, (BecameLeftBehind, CeasedLeftBehind,
                                                                             KeyTargetChanged))] == [
        "BecameLeftBehind", "KeyTargetChanged", "KeyTargetChanged", "CeasedLeftBehind", "KeyTargetChanged"]


def test_next_review_date_is_the_pending_start_or_the_next_birthday_that_matters():
    assert next_review_date(fold(ELDER, [registered()]), BOOK) is None
    assert next_review_date(fold(ELDER, [registered(), left(SON, date(2024, 1, 10))]), BOOK) == date(2024, 7, 10)

    born = date(1944, 9, 20)
    history = [registered(birth_date=born, resident_id=resident_id(birth_date=born)), *LEFT_BEHIND[1:]]
    assert next_review_date(fold(ELDER, history), BOOK) == date(2024, 9, 20)
    assert next_review_date(fold(ELDER, history + [key_target(date(2024, 9, 20), ("advanced_age",))]), BOOK) is None


def test_a_shorter_absence_rule_taking_effect_starts_left_behind_status_on_its_first_day():
    book = PolicyBook.from_dict({"status_policies": [
        {"jurisdiction": "", "effective_from": "2017-12-29", "months_away": 6, "advanced_age": 80,
         "hard_up_statuses": ["dibao"], "disabled_levels": ["fully_disabled"], "living_alone_is_key": True,
         "source": "national"},
        {"jurisdiction": "410928", "effective_from": "2024-03-01", "months_away": 1, "advanced_age": 80,
         "hard_up_statuses": ["dibao"], "disabled_levels": ["fully_disabled"], "living_alone_is_key": True,
         "source": "hypothetical county rule"},
    ]})
    state = fold(ELDER, [registered(), left(SON, date(2024, 1, 10))])

    assert next_review_date(state, book) == date(2024, 3, 1)
    assert ignoring_reason_text(derive_status(state, book, date(2024, 3, 1))) == [
        became_left_behind(date(2024, 3, 1), date(2024, 1, 10))]


def test_every_event_type_is_catalogued_with_a_versioned_wire_type():
    assert all(wire_type.startswith("registry.") and wire_type.endswith(".v1") for wire_type in EVENT_TYPES)
    assert EVENT_TYPES["registry.became_left_behind.v1"] is BecameLeftBehind
    assert len(EVENT_TYPES) == 23
    from contracts import CATALOGUE
    assert set(EVENT_TYPES) == set(CATALOGUE.types("registry"))


def test_state_knows_the_elders_age_and_status():
    state = fold(ELDER, [registered()])

    assert state.record_status is RecordStatus.ACTIVE and state.registered_on == REGISTERED_ON
    assert state.age_on(date(2030, 3, 14)) == 79 and state.age_on(date(2030, 3, 15)) == 80
