"""Survey campaigns, pure: given these events, when this command, then these events (or the
refusal, naming the field)."""
from datetime import date

import pytest

from kernel.errors import CommandRejected, ConflictError, NotFoundError, ValidationError
from services.surveys import domain as d

TODAY = date(2026, 11, 23)
FIELDS = frozenset({"name", "phone", "address"})
VILLAGES = {"410928101201": 4, "410928101202": 2, "410928102201": 1}


def opened(deadline=date(2026, 12, 3)):
    command = d.OpenCampaign("c1", "410928", "2026 年冬季摸底排查", deadline, ("name", "phone"))
    [event] = d.decide_open(d.Campaign("c1"), command, [], VILLAGES, FIELDS, TODAY)
    return d.fold("c1", [event])


def survey(state, elder, village, outcome="confirmed", fields=(), on=TODAY, already=False, today=TODAY):
    return d.decide_survey(state, d.RecordSurvey("c1", elder, village, outcome, fields, on, "cadre-1"), already, today)


def test_open_lists_each_village_with_its_elders():
    state = opened()
    assert (state.status, state.villages, state.opened_on) == ("open", VILLAGES, TODAY)


@pytest.mark.parametrize("deadline, open_campaigns, fields, error, field", [
    (TODAY, [], ("name",), ValidationError, "deadline"),
    (date(2026, 1, 1), [], ("name",), ValidationError, "deadline"),
    (date(2026, 12, 3), [], ("supporters",), ValidationError, "fields_to_confirm"),
    (date(2026, 12, 3), [("c0", "4109")], ("name",), ConflictError, "jurisdiction"),       # the city encloses it
    (date(2026, 12, 3), [("c0", "410928101")], ("name",), ConflictError, "jurisdiction"),  # one of its townships
])
def test_a_campaign_is_refused_naming_the_field(deadline, open_campaigns, fields, error, field):
    command = d.OpenCampaign("c1", "410928", "排查", deadline, fields)
    with pytest.raises(error) as refused:
        d.decide_open(d.Campaign("c1"), command, open_campaigns, VILLAGES, FIELDS, TODAY)
    assert refused.value.field == field


def test_another_countys_open_campaign_does_not_overlap():
    command = d.OpenCampaign("c1", "410928", "排查", date(2026, 12, 3), ("name",))
    assert d.decide_open(d.Campaign("c1"), command, [("c0", "410927")], VILLAGES, FIELDS, TODAY)


def test_a_survey_is_recorded_once_and_a_correction_names_its_fields():
    state = opened()
    [event] = survey(state, "e1", "410928101201", "corrected", ("phone",))
    state = d.evolve(state, event)
    assert state.surveyed == {"410928101201": 1} and state.outcomes == {"corrected": 1}
    with pytest.raises(ConflictError):
        survey(state, "e1", "410928101201", already=True)
    with pytest.raises(ValidationError) as no_change:
        survey(state, "e2", "410928101201", "corrected", ())
    assert "corrections" in no_change.value.errors
    with pytest.raises(ValidationError) as future:
        survey(state, "e2", "410928101201", on=date(2026, 11, 24))
    assert "surveyed_on" in future.value.errors
    with pytest.raises(NotFoundError):
        survey(state, "e9", "410928999201")


def test_villages_behind_schedule_only_after_half_the_time_and_each_once():
    state = opened()                                       # 10 days
    for elder in ("a", "b", "c"):
        state = d.evolve(state, survey(state, elder, "410928101201")[0])
    assert d.behind_schedule(state, date(2026, 11, 27)) == []               # 40% of the time gone
    late = d.behind_schedule(state, date(2026, 11, 28))                      # 50%: 3/4 done is on time
    assert late == [("410928101202", 0, 2), ("410928102201", 0, 1)]
    for village, done, total in late:
        state = d.evolve(state, d.VillageReportedLate("c1", village, done, total, f"al-{village}"))
    assert d.behind_schedule(state, date(2026, 11, 28)) == []                # reported once
    assert d.behind_schedule(state, date(2026, 12, 4)) == [("410928101201", 3, 4)]   # past the deadline


def test_close_reports_the_figures_and_a_closed_campaign_takes_no_survey():
    state = opened()
    state = d.evolve(state, survey(state, "a", "410928101201")[0])
    state = d.evolve(state, survey(state, "b", "410928101201", "not_found")[0])
    [closed] = d.decide_close(state, 2, date(2026, 12, 3))
    assert (closed.surveyed, closed.confirmed, closed.not_found, closed.not_surveyed, closed.newly_found) == \
        (2, 1, 1, 5, 2)
    state = d.evolve(state, closed)
    with pytest.raises(CommandRejected):
        survey(state, "c", "410928101201")
    with pytest.raises(CommandRejected):
        d.decide_close(state, 0, TODAY)
