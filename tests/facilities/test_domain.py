"""The facilities rules, read as: given these events, when this command, then these events."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from contracts import CATALOGUE
from kernel.envelope import Actor, Envelope
from kernel.errors import (CommandRejected, ConcurrencyError, ConflictError, EldercareError, NotFoundError,
                           PolicyError, ValidationError)
from kernel.store import InMemoryEventStore
from services.facilities.adapters.event_mapping import event_from_envelope, to_pending
from services.facilities.domain import (
    AdmissionKind, AdmitElder, AssessOperatingSubsidy, CapacityChanged, ChangeCapacity, ChangeDetails,
    Circumstances, CloseFacility, DischargeElder, ElderAdmitted, ElderDischarged, ElderTransferred,
    ElderTransferredOut, FacilityAbsorbed, FacilityClosed, FacilityDetailsChanged, FacilityKind, FacilityMerged,
    FacilityOpened, FacilityReinstated, FacilityStatus, FacilitySuspended, GrantPolicyBook, KnownElder,
    MergeFacility, OpenFacility, OperatingModel, OperatingSubsidyEligible, RateFacility, ReinstateFacility,
    Residence, StarAwardGranted, StarRatingAwarded, StarRatingChanged, SuspendFacility, TransferElder, decide,
    evolve_all, fold, fold_as_of)

HOME = "home-1"
OTHER = "home-2"
SANMENXIA_VILLAGE = "411202100201"       # under 4112: award and subsidy policy apply
PUYANG_VILLAGE = "410928101201"          # no facility grant policy
OPENED_ON = date(2023, 3, 1)
TODAY = date(2026, 11, 23)
SOURCE = "Sanmenxia 2023 (seed 003)"

BOOK = GrantPolicyBook.from_dict({
    "operating_subsidies": [{"jurisdiction": "4112", "effective_from": "2023-01-01", "source": SOURCE,
                             "annual_fen_by_kind": {"happiness_home": 2_000_000,
                                                    "day_care_centre_with_meals": 2_000_000}}],
    "star_awards": [{"jurisdiction": "4112", "effective_from": "2023-01-01", "source": SOURCE,
                     "fen_by_stars": {1: 1_000_000, 2: 2_000_000, 3: 3_000_000, 4: 4_000_000, 5: 5_000_000}}],
})


def opened(facility_id: str = HOME, *, capacity: int = 2, kind: FacilityKind = FacilityKind.HAPPINESS_HOME,
           division_code: str = SANMENXIA_VILLAGE, on: date = OPENED_ON) -> FacilityOpened:
    return FacilityOpened(facility_id=facility_id, effective_date=on, name=f"{facility_id} 幸福院",
                          division_code=division_code, kind=kind,
                          operating_model=OperatingModel.PUBLIC_BUILT_PUBLIC_RUN, operator="村委会",
                          capacity=capacity, services=("meals", "beds"))


def admitted(elder_id: str, on: date = date(2024, 1, 10), facility_id: str = HOME,
             kind: AdmissionKind = AdmissionKind.CENTRALISED_SUPPORT) -> ElderAdmitted:
    return ElderAdmitted(facility_id=facility_id, effective_date=on, elder_id=elder_id,
                         division_code=SANMENXIA_VILLAGE, facility_kind=FacilityKind.HAPPINESS_HOME,
                         admission_kind=kind)


def rated(stars: int, on: date, previous: int | None = None):
    if previous is None:
        return StarRatingAwarded(facility_id=HOME, effective_date=on, stars=stars, assessor="民政局")
    return StarRatingChanged(facility_id=HOME, effective_date=on, stars=stars, previous_stars=previous,
                             assessor="民政局")


def award(stars: int, on: date) -> StarAwardGranted:
    return StarAwardGranted(facility_id=HOME, effective_date=on, division_code=SANMENXIA_VILLAGE, stars=stars,
                            amount_fen=stars * 1_000_000, policy_jurisdiction="4112", policy_source=SOURCE)


def elder(elder_id: str = "elder-1", **overrides) -> KnownElder:
    return KnownElder(**{"elder_id": elder_id, "division_code": SANMENXIA_VILLAGE, **overrides})


class Scenario:
    def __init__(self, events):
        self.history = list(events)
        self.states = {}
        for event in self.history:
            self.states.setdefault(event.facility_id, None)
        self.states = {fid: fold(fid, [e for e in self.history if e.facility_id == fid]) for fid in self.states}

    def state(self, facility_id: str = HOME):
        return self.states.get(facility_id) or fold(facility_id, [])

    def when(self, command, *, today: date = TODAY, other: str | None = None, **circumstances) -> "Scenario":
        self.error, self.events = None, None
        context = Circumstances(today, BOOK, other=self.state(other) if other else None, **circumstances)
        try:
            self.events = decide(self.state(command.facility_id), command, context)
        except EldercareError as error:
            self.error = error
        return self

    def then(self, *expected) -> "Scenario":
        assert self.error is None, f"refused: {self.error!r}"
        assert self.events == list(expected)
        return self

    def then_refused(self, error_type: type, field: str | None) -> EldercareError:
        assert self.events is None, f"decided {self.events!r}"
        assert type(self.error) is error_type, f"expected {error_type.__name__}, got {self.error!r}"
        assert self.error.field == field, self.error
        return self.error


def given(*events) -> Scenario:
    return Scenario(events)


def admit(elder_id: str = "elder-1", on: date = date(2024, 2, 1), facility_id: str = HOME,
          kind: AdmissionKind = AdmissionKind.CENTRALISED_SUPPORT) -> AdmitElder:
    return AdmitElder(facility_id, on, elder_id, kind)


# --- opening and details ---------------------------------------------------------------

def test_open_a_facility():
    command = OpenFacility(HOME, OPENED_ON, "home-1 幸福院", SANMENXIA_VILLAGE, FacilityKind.HAPPINESS_HOME,
                           OperatingModel.PUBLIC_BUILT_PUBLIC_RUN, "村委会", 2, ("meals", "beds"))
    given().when(command).then(opened())


def test_opening_twice_is_a_conflict():
    command = OpenFacility(HOME, OPENED_ON, "x", SANMENXIA_VILLAGE, FacilityKind.HAPPINESS_HOME,
                           OperatingModel.PRIVATE, "y", 2)
    given(opened()).when(command).then_refused(ConflictError, "facility_id")


def test_opening_with_bad_values_names_every_field():
    command = OpenFacility(HOME, OPENED_ON, " ", "4112", "castle", "feudal", "", -1, ("",))
    error = given().when(command).then_refused(ValidationError, "name")
    assert set(error.errors) == {"name", "division_code", "kind", "operating_model", "operator", "capacity",
                                 "services"}


def test_future_dates_are_refused():
    given(opened()).when(admit(on=date(2026, 11, 24)), elder=elder()).then_refused(CommandRejected, "effective_date")


def test_commands_on_an_unknown_facility_are_not_found():
    given().when(SuspendFacility("nowhere", TODAY, "fire")).then_refused(NotFoundError, "facility_id")


def test_nothing_may_be_backdated_before_the_latest_fact():
    given(opened(), rated(3, date(2024, 5, 1))).when(
        SuspendFacility(HOME, date(2024, 4, 30), "repairs")).then_refused(CommandRejected, "effective_date")


def test_change_details_records_only_what_changed():
    command = ChangeDetails(HOME, date(2024, 1, 1), {"operator": "某养老公司", "name": "home-1 幸福院",
                                                     "operating_model": "public_built_private_run"}, "outsourced")
    given(opened()).when(command).then(FacilityDetailsChanged(
        facility_id=HOME, effective_date=date(2024, 1, 1), reason="outsourced",
        changes={"operator": "某养老公司", "operating_model": OperatingModel.PUBLIC_BUILT_PRIVATE_RUN}))


def test_change_details_refuses_other_fields_and_no_change():
    given(opened()).when(ChangeDetails(HOME, TODAY, {"capacity": 9}, "x")).then_refused(CommandRejected,
                                                                                        "changes.capacity")
    given(opened()).when(ChangeDetails(HOME, TODAY, {"operator": "村委会"}, "x")).then_refused(CommandRejected,
                                                                                             "changes")
    given(opened()).when(ChangeDetails(HOME, TODAY, {"operator": "x"}, " ")).then_refused(ValidationError, "reason")


# --- capacity and admissions --------------------------------------------------------------

def test_capacity_cannot_fall_below_the_residents():
    history = given(opened(capacity=3), admitted("a"), admitted("b"))
    history.when(ChangeCapacity(HOME, TODAY, 1, "fire safety")).then_refused(CommandRejected, "capacity")
    history.when(ChangeCapacity(HOME, TODAY, 2, "fire safety")).then(CapacityChanged(
        facility_id=HOME, effective_date=TODAY, capacity=2, previous_capacity=3, reason="fire safety"))


def test_admit_an_elder():
    given(opened()).when(admit(), elder=elder()).then(admitted("elder-1", date(2024, 2, 1)))


def test_admission_refused_when_full():
    given(opened(capacity=1), admitted("a")).when(admit(), elder=elder()).then_refused(CommandRejected, "facility_id")


@pytest.mark.parametrize("ending, field", [
    (FacilitySuspended(facility_id=HOME, effective_date=date(2024, 1, 20), reason="repairs"), "facility_id"),
    (FacilityClosed(facility_id=HOME, effective_date=date(2024, 1, 20), reason="gone"), "facility_id"),
])
def test_admission_refused_when_suspended_or_closed(ending, field):
    error = given(opened(), ending).when(admit(), elder=elder()).then_refused(CommandRejected, field)
    assert str(ending.effective_date) in error.message


def test_admission_refused_when_merged():
    merged = FacilityMerged(facility_id=HOME, effective_date=date(2024, 1, 20), merged_into=OTHER,
                            moved_elder_ids=(), reason="consolidation")
    error = given(opened(), merged).when(admit(), elder=elder()).then_refused(CommandRejected, "facility_id")
    assert OTHER in error.message


def test_admission_refused_for_an_unknown_elder():
    given(opened()).when(admit(), elder=None).then_refused(NotFoundError, "elder_id")


def test_admission_refused_for_a_deceased_elder():
    error = given(opened()).when(admit(), elder=elder(deceased=True, died_on=date(2024, 1, 5))).then_refused(
        CommandRejected, "elder_id")
    assert "2024-01-05" in error.message


def test_admission_refused_for_a_merged_record():
    given(opened()).when(admit(), elder=elder(merged_into="elder-9")).then_refused(CommandRejected, "elder_id")


def test_admission_refused_when_resident_elsewhere_or_here():
    elsewhere = Residence("elder-1", OTHER, AdmissionKind.DAY_CARE, date(2024, 1, 1))
    error = given(opened()).when(admit(), elder=elder(), residence=elsewhere).then_refused(CommandRejected, "elder_id")
    assert OTHER in error.message
    here = replace(elsewhere, facility_id=HOME)
    given(opened(), admitted("elder-1")).when(admit(), elder=elder(), residence=here).then_refused(
        ConflictError, "elder_id")


def test_admission_refused_before_the_elder_last_left_a_facility():
    given(opened()).when(admit(on=date(2024, 2, 1)), elder=elder(),
                         elder_last_moved_on=date(2024, 3, 1)).then_refused(CommandRejected, "effective_date")


def test_admission_kind_must_suit_the_facility():
    given(opened(kind=FacilityKind.DAY_CARE_CENTRE_WITH_MEALS)).when(
        admit(), elder=elder()).then_refused(CommandRejected, "admission_kind")
    given(opened(kind=FacilityKind.ELDERLY_CANTEEN)).when(
        admit(kind=AdmissionKind.DAY_CARE), elder=elder()).then_refused(CommandRejected, "admission_kind")


def test_discharge_frees_the_place_and_refuses_strangers():
    history = given(opened(capacity=1), admitted("a"))
    history.when(DischargeElder(HOME, TODAY, "a", "went home")).then(ElderDischarged(
        facility_id=HOME, effective_date=TODAY, elder_id="a", division_code=SANMENXIA_VILLAGE,
        facility_kind=FacilityKind.HAPPINESS_HOME, admission_kind=AdmissionKind.CENTRALISED_SUPPORT,
        reason="went home"))
    assert evolve_all(history.state(), history.events).free_places == 1
    history.when(DischargeElder(HOME, TODAY, "b", "x")).then_refused(NotFoundError, "elder_id")


def test_transfer_moves_a_resident_between_streams():
    history = given(opened(), admitted("a"), opened(OTHER, capacity=1))
    history.when(TransferElder(HOME, TODAY, "a", OTHER, "needs nursing"), other=OTHER).then(
        ElderTransferredOut(facility_id=HOME, effective_date=TODAY, elder_id="a", division_code=SANMENXIA_VILLAGE,
                            facility_kind=FacilityKind.HAPPINESS_HOME,
                            admission_kind=AdmissionKind.CENTRALISED_SUPPORT, to_facility_id=OTHER,
                            reason="needs nursing"),
        ElderTransferred(facility_id=OTHER, effective_date=TODAY, elder_id="a", division_code=SANMENXIA_VILLAGE,
                         facility_kind=FacilityKind.HAPPINESS_HOME, admission_kind=AdmissionKind.CENTRALISED_SUPPORT,
                         from_facility_id=HOME, from_division_code=SANMENXIA_VILLAGE, reason="needs nursing"))


def test_transfer_refused_when_destination_full_missing_or_itself():
    history = given(opened(), admitted("a"), opened(OTHER, capacity=1), admitted("b", facility_id=OTHER))
    history.when(TransferElder(HOME, TODAY, "a", OTHER, "x"), other=OTHER).then_refused(CommandRejected,
                                                                                       "to_facility_id")
    history.when(TransferElder(HOME, TODAY, "a", "nowhere", "x"), other="nowhere").then_refused(NotFoundError,
                                                                                               "to_facility_id")
    history.when(TransferElder(HOME, TODAY, "a", HOME, "x")).then_refused(CommandRejected, "to_facility_id")


# --- the race for the last bed ---------------------------------------------------------------

def test_two_admissions_for_the_last_bed_one_conflicts_then_is_refused_as_full():
    """Both decide on the same state (both see one free bed); the store's optimistic
    concurrency lets the first append through and refuses the second; deciding again on
    the new state refuses it as full."""
    store = InMemoryEventStore("facilities", CATALOGUE)
    actor = Actor("civil_affairs", "t", "county_coordinator")

    def append(events, expected_version):
        store.append(None, [to_pending(e, CATALOGUE, actor=actor, jurisdiction=SANMENXIA_VILLAGE,
                                       correlation_id=None, causation_id=None) for e in events],
                     {HOME: expected_version})

    def current():
        return fold(HOME, [event_from_envelope(e, CATALOGUE) for e in store.read_stream(HOME)])

    append([opened(capacity=2), admitted("a")], 0)
    state = current()
    first = decide(state, admit("b"), Circumstances(TODAY, BOOK, elder=elder("b")))
    second = decide(state, admit("c"), Circumstances(TODAY, BOOK, elder=elder("c")))
    append(first, state.version)
    with pytest.raises(ConcurrencyError):
        append(second, state.version)
    with pytest.raises(CommandRejected) as refused:
        decide(current(), admit("c"), Circumstances(TODAY, BOOK, elder=elder("c")))
    assert refused.value.field == "facility_id" and "full" in refused.value.message
    assert [r.elder_id for r in current().residents] == ["a", "b"]


# --- merging and closing -----------------------------------------------------------------

def test_merge_moves_the_residents_to_the_survivor():
    on = date(2025, 6, 1)
    history = given(opened(capacity=3), admitted("a"), admitted("b", kind=AdmissionKind.DAY_CARE),
                    opened(OTHER, capacity=2), admitted("c", facility_id=OTHER))
    history.when(MergeFacility(HOME, on, OTHER, "15 → 7 homes", survivor_capacity=4), other=OTHER).then(
        FacilityMerged(facility_id=HOME, effective_date=on, merged_into=OTHER, moved_elder_ids=("a", "b"),
                       reason="15 → 7 homes"),
        FacilityAbsorbed(facility_id=OTHER, effective_date=on, absorbed_facility_id=HOME, capacity=4,
                         previous_capacity=2, reason="15 → 7 homes"),
        *[ElderTransferred(facility_id=OTHER, effective_date=on, elder_id=elder_id, division_code=SANMENXIA_VILLAGE,
                           facility_kind=FacilityKind.HAPPINESS_HOME, admission_kind=kind, from_facility_id=HOME,
                           from_division_code=SANMENXIA_VILLAGE, reason="merger: 15 → 7 homes")
          for elder_id, kind in (("a", AdmissionKind.CENTRALISED_SUPPORT), ("b", AdmissionKind.DAY_CARE))])
    merged = evolve_all(history.state(HOME), [e for e in history.events if e.facility_id == HOME])
    survivor = evolve_all(history.state(OTHER), [e for e in history.events if e.facility_id == OTHER])
    assert merged.status is FacilityStatus.MERGED and merged.residents == ()
    assert [r.elder_id for r in survivor.residents] == ["c", "a", "b"] and survivor.capacity == 4


def test_merge_refused_when_the_residents_do_not_fit():
    history = given(opened(capacity=3), admitted("a"), admitted("b"), opened(OTHER, capacity=2),
                    admitted("c", facility_id=OTHER))
    history.when(MergeFacility(HOME, TODAY, OTHER, "x"), other=OTHER).then_refused(CommandRejected,
                                                                                  "survivor_capacity")
    history.when(MergeFacility(HOME, TODAY, HOME, "x")).then_refused(CommandRejected, "survivor_id")


def test_merge_refused_into_a_closed_facility():
    closed = FacilityClosed(facility_id=OTHER, effective_date=date(2024, 5, 1), reason="x")
    given(opened(), opened(OTHER), closed).when(MergeFacility(HOME, TODAY, OTHER, "x"), other=OTHER).then_refused(
        CommandRejected, "survivor_id")


def test_close_refused_while_residents_remain_then_accepted():
    given(opened(), admitted("a")).when(CloseFacility(HOME, TODAY, "x")).then_refused(CommandRejected, "facility_id")
    given(opened()).when(CloseFacility(HOME, TODAY, "dilapidated")).then(
        FacilityClosed(facility_id=HOME, effective_date=TODAY, reason="dilapidated"))
    closed = FacilityClosed(facility_id=HOME, effective_date=TODAY, reason="x")
    given(opened(), closed).when(CloseFacility(HOME, TODAY, "x")).then_refused(CommandRejected, "facility_id")


def test_suspend_and_reinstate():
    on = date(2025, 1, 1)
    suspended = FacilitySuspended(facility_id=HOME, effective_date=on, reason="repairs")
    given(opened()).when(SuspendFacility(HOME, on, "repairs")).then(suspended)
    given(opened(), suspended).when(SuspendFacility(HOME, on, "again")).then_refused(CommandRejected, "facility_id")
    given(opened()).when(ReinstateFacility(HOME, on, "x")).then_refused(CommandRejected, "facility_id")
    given(opened(), suspended).when(ReinstateFacility(HOME, on, "repaired")).then(
        FacilityReinstated(facility_id=HOME, effective_date=on, reason="repaired"))


# --- star ratings and awards --------------------------------------------------------------

def test_first_rating_grants_the_level_award():
    on = date(2024, 6, 30)
    given(opened()).when(RateFacility(HOME, on, 3, "民政局")).then(rated(3, on), award(3, on))


def test_award_paid_once_per_level_never_again_after_downgrade_and_re_award():
    history = given(opened(), rated(3, date(2024, 1, 1)), award(3, date(2024, 1, 1)),
                    rated(2, date(2024, 6, 1), previous=3), award(2, date(2024, 6, 1)))
    on = date(2025, 1, 1)
    history.when(RateFacility(HOME, on, 3, "民政局")).then(rated(3, on, previous=2))
    history.when(RateFacility(HOME, on, 4, "民政局")).then(rated(4, on, previous=2), award(4, on))


def test_a_downgrade_and_a_re_award_pay_nothing_only_a_level_above_any_held_before_does():
    """Seed 003 awards reaching a star level: 3★ → 2★ reaches nothing (main paid the 2★ award)."""
    first = date(2024, 1, 1)
    rated_three = given(opened(), rated(3, first), award(3, first))
    rated_three.when(RateFacility(HOME, date(2024, 6, 1), 2, "民政局")).then(rated(2, date(2024, 6, 1), previous=3))
    downgraded = given(opened(), rated(3, first), award(3, first), rated(2, date(2024, 6, 1), previous=3))
    on = date(2025, 1, 1)
    downgraded.when(RateFacility(HOME, on, 3, "民政局")).then(rated(3, on, previous=2))
    downgraded.when(RateFacility(HOME, on, 4, "民政局")).then(rated(4, on, previous=2), award(4, on))
    # A level first held before the award programme began was reached then, not now.
    unfunded = given(opened(), rated(3, date(2022, 6, 1)), rated(2, date(2022, 9, 1), previous=3))
    unfunded.when(RateFacility(HOME, on, 3, "民政局")).then(rated(3, on, previous=2))


def test_no_award_where_no_policy_covers_the_facility():
    given(opened(division_code=PUYANG_VILLAGE)).when(RateFacility(HOME, TODAY, 5, "民政局")).then(rated(5, TODAY))


def test_rating_refuses_bad_levels_and_no_change():
    given(opened()).when(RateFacility(HOME, TODAY, 6, "x")).then_refused(ValidationError, "stars")
    given(opened()).when(RateFacility(HOME, TODAY, 2, " ")).then_refused(ValidationError, "assessor")
    given(opened(), rated(2, date(2024, 1, 1))).when(RateFacility(HOME, TODAY, 2, "x")).then_refused(
        CommandRejected, "stars")


def test_star_rating_as_of_a_date():
    events = [opened(), rated(3, date(2023, 5, 1)), award(3, date(2023, 5, 1)),
              rated(4, date(2023, 9, 1), previous=3), award(4, date(2023, 9, 1))]
    assert fold_as_of(HOME, events, date(2023, 4, 30)).stars is None
    assert fold_as_of(HOME, events, date(2023, 6, 30)).stars == 3
    assert fold_as_of(HOME, events, date(2023, 9, 1)).stars == 4
    assert not fold_as_of(HOME, events, date(2023, 2, 28)).exists
    assert fold(HOME, events).stars_awarded == {3, 4}


# --- operating subsidy -------------------------------------------------------------------

def test_operating_subsidy_once_a_year_for_eligible_kinds():
    on = date(2025, 3, 1)
    eligible = OperatingSubsidyEligible(facility_id=HOME, effective_date=on, division_code=SANMENXIA_VILLAGE,
                                        year=2025, kind=FacilityKind.HAPPINESS_HOME, amount_fen=2_000_000,
                                        policy_jurisdiction="4112", policy_source=SOURCE)
    given(opened()).when(AssessOperatingSubsidy(HOME, on, 2025)).then(eligible)
    given(opened(), eligible).when(AssessOperatingSubsidy(HOME, on, 2025)).then_refused(ConflictError, "year")
    given(opened(kind=FacilityKind.TOWNSHIP_NURSING_HOME)).when(AssessOperatingSubsidy(HOME, on, 2025)).then_refused(
        CommandRejected, "kind")
    given(opened()).when(AssessOperatingSubsidy(HOME, on, 2024)).then_refused(CommandRejected, "year")
    suspended = FacilitySuspended(facility_id=HOME, effective_date=on, reason="x")
    given(opened(), suspended).when(AssessOperatingSubsidy(HOME, on, 2025)).then_refused(CommandRejected,
                                                                                        "facility_id")


# --- policy data ---------------------------------------------------------------------------

def test_policy_inherits_from_the_enclosing_jurisdiction_and_follows_effective_dates():
    book = GrantPolicyBook.from_dict({"star_awards": [
        {"jurisdiction": "", "effective_from": "2020-01-01", "fen_by_stars": {5: 1}, "source": "national"},
        {"jurisdiction": "4112", "effective_from": "2023-01-01", "fen_by_stars": {5: 5_000_000}, "source": "a"},
        {"jurisdiction": "4112", "effective_from": "2025-01-01", "fen_by_stars": {5: 6_000_000}, "source": "b"},
    ]})
    assert book.star_award(SANMENXIA_VILLAGE, date(2022, 12, 31)).source == "national"
    assert book.star_award(SANMENXIA_VILLAGE, date(2024, 1, 1)).fen_by_stars[5] == 5_000_000
    assert book.star_award(SANMENXIA_VILLAGE, date(2025, 1, 1)).fen_by_stars[5] == 6_000_000
    assert book.star_award(PUYANG_VILLAGE, date(2025, 1, 1)).source == "national"
    assert book.operating_subsidy(SANMENXIA_VILLAGE, date(2025, 1, 1)) is None


@pytest.mark.parametrize("entry, field", [
    ({"jurisdiction": "41x", "effective_from": "2023-01-01", "fen_by_stars": {1: 1}, "source": "s"},
     "star_awards[0].jurisdiction"),
    ({"jurisdiction": "41", "effective_from": "soon", "fen_by_stars": {1: 1}, "source": "s"},
     "star_awards[0].effective_from"),
    ({"jurisdiction": "41", "effective_from": "2023-01-01", "fen_by_stars": {1: 100.5}, "source": "s"},
     "star_awards[0].fen_by_stars"),
    ({"jurisdiction": "41", "effective_from": "2023-01-01", "fen_by_stars": {6: 1}, "source": "s"},
     "star_awards[0].fen_by_stars"),
    ({"jurisdiction": "41", "effective_from": "2023-01-01", "fen_by_stars": {1: 1}}, "star_awards[0].source"),
])
def test_bad_policy_data_names_the_entry_and_field(entry, field):
    with pytest.raises(PolicyError) as refused:
        GrantPolicyBook.from_dict({"star_awards": [entry]})
    assert refused.value.field == field


def test_the_shipped_policy_file_loads_with_sanmenxia_figures():
    from services.facilities.rules import DEFAULT_POLICY_FILE, load_grant_policies
    book = load_grant_policies(str(DEFAULT_POLICY_FILE))
    on = date(2024, 1, 1)
    assert book.operating_subsidy(SANMENXIA_VILLAGE, on).annual_fen_by_kind[FacilityKind.HAPPINESS_HOME] == 2_000_000
    assert dict(book.star_award(SANMENXIA_VILLAGE, on).fen_by_stars) == {
        1: 1_000_000, 2: 2_000_000, 3: 3_000_000, 4: 4_000_000, 5: 5_000_000}


# --- the wire ------------------------------------------------------------------------------

def test_every_event_round_trips_through_its_contract():
    on = date(2025, 6, 1)
    events = [opened(), rated(3, on), rated(4, on, previous=3), award(4, on), admitted("a"),
              FacilityDetailsChanged(facility_id=HOME, effective_date=on, reason="r",
                                     changes={"operating_model": OperatingModel.PRIVATE, "services": ("meals",)}),
              *given(opened(), admitted("a"), opened(OTHER)).when(
                  MergeFacility(HOME, on, OTHER, "m"), other=OTHER).events]
    for event in events:
        data = CATALOGUE.serialize(event.TYPE, event)
        CATALOGUE.validate(event.TYPE, data)
        envelope = to_pending(event, CATALOGUE, actor=Actor("a", "b", "c"), jurisdiction=SANMENXIA_VILLAGE,
                              correlation_id=None, causation_id=None)
        wire = Envelope(id="x", source="facilities", type=event.TYPE, subject=event.facility_id, time=envelope.time,
                        recorded_time=datetime.now(timezone.utc), sequence=1, position=1, actor=envelope.actor,
                        jurisdiction=SANMENXIA_VILLAGE, data=data)
        assert event_from_envelope(wire, CATALOGUE) == event


# --- home services (issue 22: orders routes home-service orders by them) ----------------------

def _offer(kind, capacity):
    from services.facilities.domain import HomeServiceOffer
    return HomeServiceOffer(kind, capacity)


def test_declaring_home_services_replaces_the_offer_sorted_by_kind():
    from services.facilities.domain import DeclareHomeServices, HomeServiceKind, HomeServicesDeclared
    on = date(2026, 1, 5)
    command = DeclareHomeServices(HOME, on, (_offer("meals", 20), _offer("bathing", 2)))
    declared = HomeServicesDeclared(facility_id=HOME, effective_date=on, division_code=SANMENXIA_VILLAGE,
                                    offers=(_offer(HomeServiceKind.BATHING, 2), _offer(HomeServiceKind.MEALS, 20)))
    given(opened()).when(command).then(declared)
    assert fold(HOME, [opened(), declared]).home_services == declared.offers
    given(opened(), declared).when(command).then_refused(CommandRejected, "offers")    # nothing changes
    given(opened(), declared).when(DeclareHomeServices(HOME, on, ())).then(
        HomeServicesDeclared(facility_id=HOME, effective_date=on, division_code=SANMENXIA_VILLAGE, offers=()))


def test_home_service_refusals_name_the_offer_field():
    from services.facilities.domain import DeclareHomeServices
    on = date(2026, 1, 5)
    scenario = given(opened()).when(DeclareHomeServices(HOME, on, (_offer("massage", 2),)))
    assert scenario.then_refused(ValidationError, "offers.0.service_kind").errors == {"offers.0.service_kind": [
        "must be one of meals, bathing, cleaning, medical_help, accompaniment"]}
    scenario = given(opened()).when(DeclareHomeServices(HOME, on, (_offer("meals", 2), _offer("meals", 0))))
    assert set(scenario.then_refused(ValidationError, "offers.1.service_kind").errors) == {"offers.1.service_kind",
                                                                       "offers.1.daily_capacity"}
    closed = FacilityClosed(facility_id=HOME, effective_date=date(2025, 1, 1), reason="撤并")
    given(opened(), closed).when(DeclareHomeServices(HOME, on, (_offer("meals", 2),))).then_refused(
        CommandRejected, "facility_id")
    given().when(DeclareHomeServices(HOME, on, ())).then_refused(NotFoundError, "facility_id")
