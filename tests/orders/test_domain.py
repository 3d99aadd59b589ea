"""Home-service orders, pure: given these facts, when this command, then these events."""
from datetime import date, datetime, timedelta, timezone

import pytest

from kernel.errors import CommandRejected, ConflictError, NotFoundError, PolicyError, ValidationError
from services.orders import domain as d

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 23)
VILLAGE = "410928101201"
POLICY = d.DeadlinePolicy.from_dict({"acceptance_deadlines": [
    {"jurisdiction": "", "effective_from": "2024-01-01", "source": "national",
     "accept_within_minutes": {k: 120 for k in d.SERVICE_KINDS}},
    {"jurisdiction": "410928", "effective_from": "2025-01-01", "source": "county",
     "accept_within_minutes": {**{k: 1440 for k in d.SERVICE_KINDS}, "meals": 30}}]})
ELDER = d.KnownElder("e1", VILLAGE)
SAME_VILLAGE = d.Candidate("f-village", VILLAGE, 2, 0)
SAME_TOWNSHIP = d.Candidate("f-township", "410928101000", 5, 0)
OTHER_TOWNSHIP = d.Candidate("f-county", "410928102201", 9, 0)
OTHER_COUNTY = d.Candidate("f-far", "410927101201", 99, 0)
ALL = [OTHER_COUNTY, OTHER_TOWNSHIP, SAME_TOWNSHIP, SAME_VILLAGE]


def place(**overrides):
    return d.PlaceOrder(**{"order_id": "o1", "elder_id": "e1", "service_kind": "meals", "service_date": TODAY,
                           "caller": "family", **overrides})


def placed(candidates=ALL, **overrides):
    events = d.decide_place(d.Order("o1"), place(**overrides), ELDER, candidates, POLICY, NOW, TODAY)
    return events, d.fold("o1", events)


def test_an_order_goes_to_the_same_village_first_then_township_then_county():
    events, state = placed()
    assert events[0].accept_by == NOW + timedelta(minutes=30)          # the county's meal deadline
    assert events[0].deadline_policy == "order_deadlines@410928@2025-01-01"
    assert (events[1].facility_id, events[1].nearness) == ("f-village", "village")
    assert (state.status, state.facility_id) == ("offered", "f-village")
    full_village = d.Candidate("f-village", VILLAGE, 2, 2)
    assert placed([full_village, SAME_TOWNSHIP, OTHER_TOWNSHIP])[1].facility_id == "f-township"
    assert placed([OTHER_TOWNSHIP, OTHER_COUNTY])[1].nearness == "county"
    with pytest.raises(CommandRejected) as none_near:                  # never beyond the county
        placed([OTHER_COUNTY])
    assert none_near.value.field == "service_kind"


def test_equally_near_facilities_share_the_load_then_the_lowest_id_wins():
    busy, idle = d.Candidate("a", "410928101000", 5, 4), d.Candidate("b", "410928101000", 5, 1)
    assert d.route(VILLAGE, [busy, idle])[0].facility_id == "b"
    twin = d.Candidate("a", "410928101000", 5, 1)
    assert d.route(VILLAGE, [idle, twin])[0].facility_id == "a"


def test_two_declines_reach_the_third_facility_and_a_third_decline_leaves_it_unrouted_once():
    events, state = placed()
    candidates = [SAME_VILLAGE, SAME_TOWNSHIP, OTHER_TOWNSHIP]
    for expected in ("f-township", "f-county"):
        step = d.decide_decline(state, d.DeclineOrder("o1", state.facility_id, "厨师请假"), candidates)
        events += step
        state = d.fold("o1", events)
        assert (state.status, state.facility_id) == ("offered", expected)
    assert state.declined_by == ("f-village", "f-township")
    last = d.decide_decline(state, d.DeclineOrder("o1", "f-county", "满员"), candidates)
    assert isinstance(last[-1], d.OrderUnaccepted) and last[-1].reason == "no_facility_accepted"
    assert last[-1].declined_by == ("f-village", "f-township", "f-county")
    state = d.fold("o1", events + last)
    assert state.status == "unrouted" and state.unaccepted
    assert d.decide_overdue(state, NOW + timedelta(days=1)) == []      # raised once, not again at the deadline


def test_an_unaccepted_order_is_raised_once_at_its_deadline():
    events, state = placed()
    assert d.decide_overdue(state, NOW + timedelta(minutes=29)) == []
    raised = d.decide_overdue(state, NOW + timedelta(minutes=30))
    assert [(e.reason, e.facility_id) for e in raised] == [("deadline_passed", "f-village")]
    state = d.fold("o1", events + raised)
    assert state.status == "offered" and d.decide_overdue(state, NOW + timedelta(hours=5)) == []
    accepted = d.decide_accept(state, d.AcceptOrder("o1", "f-village"))  # late, but still accepted
    assert d.fold("o1", events + raised + accepted).status == "accepted"
    declined = d.decide_decline(state, d.DeclineOrder("o1", "f-village", "满员"), [SAME_VILLAGE])
    assert [type(e) for e in declined] == [d.OrderDeclined]            # nobody left, but raised already
    assert d.fold("o1", events + raised + declined).status == "unrouted"


def test_accept_then_complete_counts_the_meal_for_the_month():
    events, state = placed()
    with pytest.raises(CommandRejected) as early:                      # completion before acceptance
        d.decide_complete(state, d.CompleteOrder("o1", "f-village", TODAY), 0, TODAY)
    assert early.value.field == "order_id"
    with pytest.raises(CommandRejected) as other:
        d.decide_accept(state, d.AcceptOrder("o1", "f-township"))
    assert other.value.field == "facility_id"
    events += d.decide_accept(state, d.AcceptOrder("o1", "f-village"))
    state = d.fold("o1", events)
    with pytest.raises(ConflictError):
        d.decide_accept(state, d.AcceptOrder("o1", "f-village"))
    done = d.decide_complete(state, d.CompleteOrder("o1", "f-village", TODAY, "热饭送到"), 3, TODAY)
    assert [type(e) for e in done] == [d.OrderCompleted, d.MealDelivered]
    assert (done[1].month, done[1].meals_in_month) == ("2026-11", 4)
    state = d.fold("o1", events + done)
    assert state.status == "completed"
    with pytest.raises(ConflictError):
        d.decide_complete(state, d.CompleteOrder("o1", "f-village", TODAY), 4, TODAY)


def test_a_bath_is_completed_without_a_meal_fact():
    events, state = placed(service_kind="bathing")
    events += d.decide_accept(state, d.AcceptOrder("o1", "f-village"))
    done = d.decide_complete(d.fold("o1", events), d.CompleteOrder("o1", "f-village", TODAY), 0, TODAY)
    assert [type(e) for e in done] == [d.OrderCompleted]


@pytest.mark.parametrize("overrides, elder, error, field", [
    ({"service_kind": "massage"}, ELDER, ValidationError, "service_kind"),
    ({"caller": "neighbour"}, ELDER, ValidationError, "caller"),
    ({}, None, NotFoundError, "elder_id"),
    ({}, d.KnownElder("e1", VILLAGE, "deceased"), CommandRejected, "elder_id"),
    ({}, d.KnownElder("e1", VILLAGE, "merged"), CommandRejected, "elder_id"),
    ({"service_date": TODAY - timedelta(days=1)}, ELDER, CommandRejected, "service_date"),
    ({"preferred_facility_id": "f-nowhere"}, ELDER, CommandRejected, "facility_id"),
])
def test_bad_orders_are_refused_naming_the_field(overrides, elder, error, field):
    with pytest.raises(error) as refused:
        d.decide_place(d.Order("o1"), place(**overrides), elder, ALL, POLICY, NOW, TODAY)
    assert refused.value.field == field


def test_a_chosen_facility_is_offered_if_it_has_a_place():
    events, state = placed(preferred_facility_id="f-county")
    assert (state.facility_id, state.nearness) == ("f-county", "chosen")
    with pytest.raises(CommandRejected) as full:
        placed([d.Candidate("f-county", "410928102201", 1, 1)], preferred_facility_id="f-county")
    assert full.value.field == "facility_id"


def test_decline_and_accept_refusals():
    with pytest.raises(NotFoundError):
        d.decide_accept(d.Order("nope"), d.AcceptOrder("nope", "f"))
    _, state = placed()
    with pytest.raises(ValidationError) as blank:
        d.decide_decline(state, d.DeclineOrder("o1", "f-village", " "), ALL)
    assert blank.value.field == "reason"
    with pytest.raises(CommandRejected) as wrong:
        d.decide_decline(state, d.DeclineOrder("o1", "f-township", "忙"), ALL)
    assert wrong.value.field == "facility_id"


def test_the_deadline_policy_is_checked_when_loaded():
    with pytest.raises(PolicyError) as missing:
        d.DeadlinePolicy.from_dict({"acceptance_deadlines": [
            {"jurisdiction": "", "effective_from": "2024-01-01", "source": "x", "accept_within_minutes": {"meals": 5}}]})
    assert missing.value.field == "acceptance_deadlines[0].accept_within_minutes"
    with pytest.raises(PolicyError) as zero:
        d.DeadlinePolicy.from_dict({"acceptance_deadlines": [
            {"jurisdiction": "", "effective_from": "2024-01-01", "source": "x",
             "accept_within_minutes": {**{k: 5 for k in d.SERVICE_KINDS}, "bathing": 0.5}}]})
    assert zero.value.field == "acceptance_deadlines[0].accept_within_minutes.bathing"
    assert POLICY.in_force("610330101201", TODAY).jurisdiction == ""      # inherited from the national version


def test_the_shipped_policy_file_loads():
    from kernel.policy_files import load_policy_file
    policy = load_policy_file("policies/orders.yml", d.DeadlinePolicy.from_dict, "ORDERS.policy_file")
    assert policy.in_force(VILLAGE, TODAY).minutes["medical_help"] == 60


def test_the_domain_and_the_contracts_name_the_same_codes():
    from contracts import orders
    from services.facilities.domain import HomeServiceKind
    assert d.SERVICE_KINDS == orders.SERVICE_KINDS == tuple(k.value for k in HomeServiceKind)
    assert d.CALLERS == orders.CALLERS and d.UNACCEPTED_REASONS == orders.UNACCEPTED_REASONS
    assert {name for name, _ in d.NEARNESS} | {"chosen"} == set(orders.NEARNESS)


def test_a_facility_that_stops_gives_up_what_it_was_offered_or_owes_from_today_on():
    events, offered = placed()
    stopped = d.decide_facility_stopped(offered, "f-village", "机构已关闭", ALL, TODAY)
    assert [type(e) for e in stopped] == [d.OrderDeclined, d.OrderOffered] and stopped[1].facility_id == "f-township"
    assert d.decide_facility_stopped(offered, "f-township", "机构已关闭", ALL, TODAY) == []      # not its order
    events += d.decide_accept(offered, d.AcceptOrder("o1", "f-village"))
    accepted = d.fold("o1", events)
    assert [type(e) for e in d.decide_facility_stopped(accepted, "f-village", "机构已关闭", ALL, TODAY)] == \
        [d.OrderDeclined, d.OrderOffered]
    later = TODAY + timedelta(days=1)                 # its day is past: it may have been delivered
    assert d.decide_facility_stopped(accepted, "f-village", "机构已关闭", ALL, later) == []
    alone = d.decide_facility_stopped(accepted, "f-village", "机构已关闭", [SAME_VILLAGE], TODAY)
    assert [type(e) for e in alone] == [d.OrderDeclined, d.OrderUnaccepted]
    done = d.fold("o1", events + d.decide_complete(accepted, d.CompleteOrder("o1", "f-village", TODAY), 0, TODAY))
    assert d.decide_facility_stopped(done, "f-village", "机构已关闭", ALL, TODAY) == []
