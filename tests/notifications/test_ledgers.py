"""Deliveries (retry, backoff, fallback), referrals, devices and the routing policy file:
given/when/then on the pure domain."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import yaml

import contracts.notifications as wire
from contracts.actors import DEFAULT_DEPARTMENTS
from contracts.visits import RISK_KINDS
from kernel.config import REPOSITORY_ROOT
from kernel.errors import CommandRejected, ConflictError, NotFoundError, PolicyError, ValidationError
from services.notifications import domain as d
from services.notifications.domain import (AcceptReferral, ChannelAddress, CloseReferral, CreateReferral,
                                           DeliveryAttempted, DeliveryFailed, DeliveryRequested, DeliveryState,
                                           DeliverySucceeded, MarkReferralOverdue, RecordReferralAction,
                                           RecordResult, ReferralOverdue, RequestDelivery, StartAttempt,
                                           decide_delivery, decide_referral, fold_delivery, fold_referral)
from tests.notifications.support import T0, VILLAGE, book, policy_entry

RETRY = book().policy_for(VILLAGE, date(2026, 11, 23)).retry        # 2 attempts per channel, 30 s then 120 s
SMS, INBOX = ChannelAddress("sms", "13900000001"), ChannelAddress("inbox", "village_committee:x")
DELIVERY = "dl-1"


def requested(*channels) -> list:
    return decide_delivery(DeliveryState(DELIVERY), RequestDelivery(DELIVERY, T0, "al-1", "village_committee:x",
                                                                    channels, "subject", "body"))


def run(history, *commands):
    """Apply commands in turn; returns every event decided."""
    events = list(history)
    for command in commands:
        events += decide_delivery(fold_delivery(DELIVERY, events), command)
    return events[len(history):]


def test_a_delivery_is_attempted_then_succeeds():
    events = run(requested(SMS), StartAttempt(DELIVERY, T0, RETRY), RecordResult(DELIVERY, T0, True, "HTTP 200", RETRY))
    assert [type(e) for e in events] == [DeliveryAttempted, DeliverySucceeded]
    assert events[0].attempt == 1 and events[0].channel == "sms" and events[0].address == SMS.address


def test_a_failing_channel_is_retried_with_backoff_then_the_next_channel_is_used():
    history = requested(SMS, INBOX)
    first = run(history, StartAttempt(DELIVERY, T0, RETRY), RecordResult(DELIVERY, T0, False, "HTTP 503", RETRY))
    assert first[-1].retry_at == T0 + timedelta(seconds=30) and not first[-1].final and first[-1].next_channel is None
    assert run(history + first, StartAttempt(DELIVERY, T0 + timedelta(seconds=29), RETRY)) == []   # not yet
    later = T0 + timedelta(seconds=30)
    second = run(history + first, StartAttempt(DELIVERY, later, RETRY), RecordResult(DELIVERY, later, False, "503", RETRY))
    assert second[-1].next_channel == "inbox" and second[-1].retry_at == later     # fall back at once
    third = run(history + first + second, StartAttempt(DELIVERY, later, RETRY))
    assert third[0].channel == "inbox" and third[0].attempt == 3


def test_when_every_channel_failed_the_delivery_has_failed_for_good():
    history = requested(SMS)
    events = run(history, StartAttempt(DELIVERY, T0, RETRY), RecordResult(DELIVERY, T0, False, "timeout", RETRY),
                 StartAttempt(DELIVERY, T0 + timedelta(seconds=30), RETRY),
                 RecordResult(DELIVERY, T0 + timedelta(seconds=30), False, "timeout", RETRY))
    assert events[-1].final and events[-1].retry_at is None
    assert fold_delivery(DELIVERY, history + events).status == d.FAILED
    with pytest.raises(CommandRejected):
        run(history + events, StartAttempt(DELIVERY, T0 + timedelta(hours=1), RETRY))


def test_a_party_without_any_channel_fails_at_once():
    events = requested()
    assert [type(e) for e in events] == [DeliveryRequested, DeliveryFailed]
    assert events[1].final and events[1].error == d.NO_CHANNEL


def test_an_attempt_lost_mid_send_is_recorded_as_failed_before_trying_again():
    history = requested(SMS) + run(requested(SMS), StartAttempt(DELIVERY, T0, RETRY))
    lost = run(history, StartAttempt(DELIVERY, T0 + timedelta(minutes=20), RETRY))
    assert len(lost) == 1 and isinstance(lost[0], DeliveryFailed) and "no result" in lost[0].error


def test_a_result_without_an_attempt_is_refused():
    with pytest.raises(CommandRejected) as refused:
        run(requested(SMS), RecordResult(DELIVERY, T0, True, "ok", RETRY))
    assert refused.value.field == "delivery_id"


def test_requesting_a_delivery_twice_is_a_conflict():
    with pytest.raises(ConflictError):
        run(requested(SMS), RequestDelivery(DELIVERY, T0, "al-1", "x:1", (SMS,), "s", "b"))


# --- referrals --------------------------------------------------------------------------

REFERRAL = "rf-1"


def create(**overrides) -> CreateReferral:
    fields = dict(to_department="health", division_code=VILLAGE, request="assess the elder's heart condition",
                  due_on=date(2026, 11, 30), created_by="clerk-1", alert_id="al-1", elder_id="elder-1")
    return CreateReferral(REFERRAL, T0, "civil_affairs", **{**fields, **overrides})


def referral_events(*commands):
    events = []
    for command in commands:
        events += decide_referral(fold_referral(REFERRAL, events), command)
    return events


def test_a_referral_runs_from_creation_to_closure():
    events = referral_events(create(), AcceptReferral(REFERRAL, T0, "health", "doctor assigned"),
                             RecordReferralAction(REFERRAL, T0, "health", action="home visit by Dr Zhao"),
                             CloseReferral(REFERRAL, T0, "civil_affairs", outcome="resolved"))
    assert [e.TYPE.split(".")[1] for e in events] == ["referral_created", "referral_accepted",
                                                      "referral_action_taken", "referral_closed"]
    assert fold_referral(REFERRAL, events).status == "closed"


def test_the_owing_departments_case_settles_a_referral_once():
    from services.notifications.domain.referrals import SettleReferral
    accepted = referral_events(create(to_department="justice"), AcceptReferral(REFERRAL, T0, "justice"))
    with pytest.raises(CommandRejected) as other:
        decide_referral(fold_referral(REFERRAL, accepted), SettleReferral(REFERRAL, T0, "health", outcome="resolved"))
    assert other.value.field == "department"
    [settled] = decide_referral(fold_referral(REFERRAL, accepted), SettleReferral(REFERRAL, T0, "justice",
                                                                                  outcome="resolved", note="结案"))
    assert (settled.TYPE, settled.department, settled.outcome) == ("notifications.referral_closed.v1", "justice",
                                                                   "resolved")
    assert decide_referral(fold_referral(REFERRAL, accepted + [settled]),
                           SettleReferral(REFERRAL, T0, "justice", outcome="resolved")) == []   # closed: nothing more


@pytest.mark.parametrize("command, error_type, field", [
    (AcceptReferral(REFERRAL, T0, "justice"), CommandRejected, "department"),          # not the owing department
    (RecordReferralAction(REFERRAL, T0, "health", action="x"), CommandRejected, "referral_id"),  # not accepted
    (CloseReferral(REFERRAL, T0, "health", outcome="resolved"), CommandRejected, "department"),  # only the asker closes
    (CloseReferral(REFERRAL, T0, "civil_affairs", outcome=None), ValidationError, "outcome"),
])
def test_referral_refusals_name_the_field(command, error_type, field):
    with pytest.raises(error_type) as refused:
        referral_events(create(), command)
    assert refused.value.field == field


@pytest.mark.parametrize("overrides, field", [
    ({"to_department": "civil_affairs"}, "to_department"), ({"to_department": "bakery"}, "to_department"),
    ({"due_on": date(2026, 11, 1)}, "due_on"), ({"request": " "}, "request"), ({"division_code": "41"}, "division_code"),
])
def test_a_malformed_referral_is_refused(overrides, field):
    with pytest.raises(ValidationError) as refused:
        referral_events(create(**overrides))
    assert field in refused.value.errors


def test_an_unknown_referral_is_not_found():
    with pytest.raises(NotFoundError):
        referral_events(AcceptReferral(REFERRAL, T0, "health"))


def test_a_referral_past_its_due_date_is_marked_overdue_once():
    history = referral_events(create())
    on_due_day = T0 + timedelta(days=7)                          # 2026-11-30 local: not yet late
    assert decide_referral(fold_referral(REFERRAL, history), MarkReferralOverdue(REFERRAL, on_due_day, "x")) == []
    late = T0 + timedelta(days=9)
    overdue = decide_referral(fold_referral(REFERRAL, history), MarkReferralOverdue(REFERRAL, late, "x"))
    assert overdue == [ReferralOverdue(REFERRAL, to_department="health", due_on=date(2026, 11, 30), days_late=2,
                                       detected_at=late)]
    assert decide_referral(fold_referral(REFERRAL, history + overdue), MarkReferralOverdue(REFERRAL, late, "x")) == []


# --- devices ---------------------------------------------------------------------------

def test_a_device_raises_only_its_own_alarms():
    with pytest.raises(ValidationError) as refused:
        d.receive_alarm(d.DeviceState("device:b1"), device_kind="smoke_alarm", alarm="bracelet_fall", elder_id=None,
                        division_code=VILLAGE, alert_id="al-1", at=T0)
    assert "alarm" in refused.value.errors


def test_silence_is_reported_once_and_a_heartbeat_ends_it():
    state = d.DeviceState("b1")
    kwargs = dict(device_kind="smart_bracelet", elder_id="elder-1", division_code=VILLAGE, last_seen_at=T0,
                  allowance_minutes=120, alert_id="al-1")
    assert d.detect_silence(state, at=T0 + timedelta(minutes=120), **kwargs) == []
    missing = d.detect_silence(state, at=T0 + timedelta(minutes=121), **kwargs)
    assert [type(e) for e in missing] == [d.HeartbeatMissing]
    silent = d.evolve_device(state, missing[0])
    assert d.detect_silence(silent, at=T0 + timedelta(hours=9), **kwargs) == []
    assert [type(e) for e in d.heard(silent, T0 + timedelta(hours=9))] == [d.HeartbeatResumed]
    assert d.heard(state, T0) == []


# --- policy --------------------------------------------------------------------------------

def test_the_policy_file_loads_and_routes_departments_as_the_seeds_say():
    routing = d.RoutingBook.from_dict(yaml.safe_load((REPOSITORY_ROOT / "policies" / "notifications.yml").read_text()))
    policy = routing.policy_for(VILLAGE, date(2026, 11, 23))
    assert policy.route("infringement").departments == ("public_security", "justice")
    assert policy.route("critical_illness").departments == ("health",)
    assert policy.route("major_hardship").departments == ("civil_affairs", "poverty_alleviation")
    assert routing.policy_for("140502101201", date(2026, 1, 1)).jurisdiction == "1405"
    assert routing.policy_for("140502101201", date(2023, 1, 1)).jurisdiction == ""


def test_a_place_inherits_the_nearest_enclosing_version_in_force():
    routing = book(policy_entry(), policy_entry("4109", "2026-01-01"), policy_entry("410928", "2027-01-01"))
    assert routing.policy_for(VILLAGE, date(2026, 6, 1)).ref == "4109@2026-01-01"
    assert routing.policy_for(VILLAGE, date(2027, 6, 1)).ref == "410928@2027-01-01"
    assert routing.policy_for("110101001001", date(2027, 6, 1)).ref == "national@2017-12-08"
    with pytest.raises(PolicyError):
        book(policy_entry("4109", "2026-01-01")).policy_for(VILLAGE, date(2025, 1, 1))


@pytest.mark.parametrize("mutate, where", [
    (lambda e: e["kinds"].pop("smoke_alarm"), "routing_policies[0].kinds.smoke_alarm"),
    (lambda e: e["kinds"]["infringement"].update(departments=["bakery"]), "routing_policies[0].kinds.infringement.departments"),
    (lambda e: e["kinds"]["wandering"].update(start_level="province"), "routing_policies[0].kinds.wandering.start_level"),
    (lambda e: e["ack_within_minutes"].update(township=0), "routing_policies[0].ack_within_minutes.township"),
    (lambda e: e.update(jurisdiction="123"), "routing_policies[0].jurisdiction"),
    (lambda e: e.update(effective_from="someday"), "routing_policies[0].effective_from"),
    (lambda e: e["heartbeat_allowance_minutes"].pop("smoke_alarm"), "routing_policies[0].heartbeat_allowance_minutes.smoke_alarm"),
    (lambda e: e.update(colour="red"), "routing_policies[0].colour"),
])
def test_bad_policy_data_names_the_entry_and_field(mutate, where):
    entry = policy_entry()
    mutate(entry)
    with pytest.raises(PolicyError) as refused:
        book(entry)
    assert refused.value.field == where


def test_the_domain_vocabulary_matches_the_public_contracts():
    assert d.LEVELS == wire.LEVELS and d.ALERT_KINDS == wire.ALERT_KINDS and d.CHANNELS == wire.CHANNELS
    assert d.OUTCOMES == wire.OUTCOMES and d.DEVICE_KINDS == wire.DEVICE_KINDS
    assert d.DEVICE_ALARMS == wire.DEVICE_ALARMS and d.RISK_KINDS == RISK_KINDS
    assert d.DEPARTMENTS == DEFAULT_DEPARTMENTS
    assert set(d.EVENT_TYPES) == {type_ for type_, _schema, _ in wire.EVENTS}
