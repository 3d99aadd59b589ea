"""Alert rules, read as: given these events, when this command, then these events."""
from __future__ import annotations

from datetime import timedelta

import pytest

from kernel.errors import CommandRejected, ConflictError, EldercareError, NotFoundError, ValidationError
from services.notifications.domain import (AcknowledgeAlert, AlertAcknowledged, AlertClosed, AlertEscalated,
                                           AlertRaised, AlertRepeated, AlertRouted, AlertUnacknowledgedAtTop,
                                           CloseAlert, EscalateAlert, RaiseAlert, RerouteAlert, Route, decide, fold)
from tests.notifications.support import T0, VILLAGE, book, policy_entry

ALERT = "al-1"
BOOK = book()
SON = "supporter:elder-1:son"
VILLAGE_COMMITTEE = f"village_committee:{VILLAGE}"
TOWNSHIP = f"township:{VILLAGE[:9]}"
COUNTY = f"county_civil_affairs:{VILLAGE[:6]}"
POLICE = f"department:public_security:{VILLAGE[:6]}"


def raise_(kind="infringement", at=T0, **overrides) -> RaiseAlert:
    fields = dict(kind=kind, incident_key=f"risk:elder-1:{kind}", division_code=VILLAGE, severity="high",
                  summary="bruises; neighbour saw the son's friend take the pension card", elder_id="elder-1",
                  cause_type="visits.risk_reported.v1", cause_id="ev-1", family=(SON,))
    return RaiseAlert(ALERT, at, **{**fields, **overrides})


class Scenario:
    def __init__(self, events, routing=BOOK):
        self.history, self.routing = list(events), routing
        self.state = fold(ALERT, self.history)

    def when(self, command) -> "Scenario":
        self.error, self.events = None, None
        try:
            self.events = decide(self.state, command, self.routing)
        except EldercareError as error:
            self.error = error
        return self

    def then(self, *expected) -> "Scenario":
        assert self.error is None, f"refused: {self.error!r}"
        assert self.events == list(expected)
        return self

    def then_refused(self, error_type, field) -> EldercareError:
        assert isinstance(self.error, error_type), f"expected {error_type.__name__}, got {self.error!r} / {self.events}"
        assert self.error.field == field
        return self.error


def given(*events, routing=BOOK) -> Scenario:
    return Scenario(events, routing)


def raised(kind="infringement", at=T0) -> list:
    """The events of raising the alert (the ``given`` of most scenarios)."""
    return decide(fold(ALERT, []), raise_(kind, at), BOOK)


def escalated(at, from_level, to_level, missed, minutes) -> list:
    party = {"township": TOWNSHIP, "county_civil_affairs": COUNTY}[to_level]
    return [AlertEscalated(ALERT, from_level=from_level, to_level=to_level, missed_deadline=missed,
                           ack_deadline=at + timedelta(minutes=minutes), escalated_at=at),
            AlertRouted(ALERT, level=to_level, routes=(Route(party, "responsible"),), reason="escalated",
                        policy_ref="national@2017-12-08", routed_at=at)]


# --- raising and routing ----------------------------------------------------------------

def test_raising_routes_to_the_village_committee_the_departments_and_informs_the_family():
    given().when(raise_()).then(
        AlertRaised(ALERT, kind="infringement", incident_key="risk:elder-1:infringement", elder_id="elder-1",
                    division_code=VILLAGE, severity="high", summary=raise_().summary,
                    cause_type="visits.risk_reported.v1", cause_id="ev-1", level="village_committee",
                    ack_deadline=T0 + timedelta(minutes=60), policy_ref="national@2017-12-08", raised_at=T0),
        AlertRouted(ALERT, level="village_committee", reason="raised", policy_ref="national@2017-12-08",
                    routed_at=T0, routes=(Route(VILLAGE_COMMITTEE, "responsible"), Route(POLICE, "responsible"),
                                          Route(f"department:justice:{VILLAGE[:6]}", "responsible"),
                                          Route(SON, "informed"))))


def test_a_kind_without_family_action_does_not_inform_the_family():
    events = given().when(raise_("visit_overdue")).events
    assert events[1].routes == (Route(VILLAGE_COMMITTEE, "responsible"),)


def test_an_urgent_kind_has_its_own_deadline():
    assert given().when(raise_("smoke_alarm")).events[0].ack_deadline == T0 + timedelta(minutes=10)


def test_the_same_incident_again_while_open_is_counted_not_raised_twice():
    later = T0 + timedelta(minutes=5)
    given(*raised()).when(raise_(at=later, cause_id="ev-2", summary="again")).then(
        AlertRepeated(ALERT, occurrences=2, summary="again", cause_id="ev-2", repeated_at=later))


def test_raising_a_closed_alert_again_is_a_conflict():
    history = raised() + decide(fold(ALERT, raised()), CloseAlert(ALERT, T0, VILLAGE_COMMITTEE, "civil_affairs",
                                                                  "resolved"), BOOK)
    given(*history).when(raise_()).then_refused(ConflictError, "alert_id")


@pytest.mark.parametrize("overrides, field", [
    ({"kind": "alien_abduction"}, "kind"), ({"severity": "dire"}, "severity"),
    ({"division_code": "4109"}, "division_code"), ({"summary": "  "}, "summary"), ({"incident_key": ""}, "incident_key"),
])
def test_a_malformed_alert_is_refused_naming_the_field(overrides, field):
    error = given().when(raise_(**overrides)).then_refused(ValidationError, field)
    assert field in error.errors


# --- escalation -------------------------------------------------------------------------

def test_nothing_escalates_before_the_deadline():
    given(*raised()).when(EscalateAlert(ALERT, T0 + timedelta(minutes=59))).then()


def test_each_missed_deadline_is_one_step_up_the_chain_then_the_alert_stays_visibly_open():
    history = raised()
    first = T0 + timedelta(minutes=61)
    step1 = escalated(first, "village_committee", "township", T0 + timedelta(minutes=60), 120)
    given(*history).when(EscalateAlert(ALERT, first)).then(*step1)
    # The township gets its whole window from when it was told.
    given(*history, *step1).when(EscalateAlert(ALERT, first + timedelta(minutes=119))).then()
    second = first + timedelta(minutes=120)
    step2 = escalated(second, "township", "county_civil_affairs", first + timedelta(minutes=120), 240)
    given(*history, *step1).when(EscalateAlert(ALERT, second)).then(*step2)
    third = second + timedelta(minutes=240)
    given(*history, *step1, *step2).when(EscalateAlert(ALERT, third)).then(
        AlertUnacknowledgedAtTop(ALERT, level="county_civil_affairs", missed_deadline=third, detected_at=third))
    top = given(*history, *step1, *step2, AlertUnacknowledgedAtTop(ALERT, "county_civil_affairs", third, third))
    top.when(EscalateAlert(ALERT, third + timedelta(days=3))).then()
    assert top.state.status == "open" and top.state.top_deadline_missed


def test_an_acknowledged_alert_does_not_escalate():
    ack = AlertAcknowledged(ALERT, party=VILLAGE_COMMITTEE, level="village_committee", note=None, acknowledged_at=T0)
    given(*raised(), ack).when(EscalateAlert(ALERT, T0 + timedelta(days=5))).then()


# --- acknowledgement and closure ---------------------------------------------------------

def test_after_escalation_the_lower_level_can_still_acknowledge():
    step1 = escalated(T0 + timedelta(minutes=61), "village_committee", "township", T0 + timedelta(minutes=60), 120)
    at = T0 + timedelta(minutes=70)
    scenario = given(*raised(), *step1).when(AcknowledgeAlert(ALERT, at, VILLAGE_COMMITTEE, "civil_affairs", "on it"))
    scenario.then(AlertAcknowledged(ALERT, party=VILLAGE_COMMITTEE, level="township", note="on it",
                                    acknowledged_at=at))


def test_the_escalated_level_can_acknowledge_and_the_lower_one_no_longer_can_after_that():
    step1 = escalated(T0 + timedelta(minutes=61), "village_committee", "township", T0 + timedelta(minutes=60), 120)
    ack = AlertAcknowledged(ALERT, party=TOWNSHIP, level="township", note=None, acknowledged_at=T0)
    given(*raised(), *step1).when(AcknowledgeAlert(ALERT, T0, TOWNSHIP, "civil_affairs")).then(ack)
    given(*raised(), *step1, ack).when(AcknowledgeAlert(ALERT, T0, VILLAGE_COMMITTEE, "civil_affairs")) \
        .then_refused(ConflictError, "alert_id")


def test_a_department_acknowledges_for_itself():
    given(*raised()).when(AcknowledgeAlert(ALERT, T0, POLICE, "public_security")).then(
        AlertAcknowledged(ALERT, party=POLICE, level="village_committee", note=None, acknowledged_at=T0))


@pytest.mark.parametrize("party, department, field, words", [
    (TOWNSHIP, "civil_affairs", "party", "was not sent to"),                 # not (yet) routed there
    (SON, "civil_affairs", "party", "informed"),                            # family is told, not responsible
    (POLICE, "health", "party", "belongs to public_security"),              # answering for another department
])
def test_acknowledging_as_a_party_it_was_not_sent_to_is_refused(party, department, field, words):
    error = given(*raised()).when(AcknowledgeAlert(ALERT, T0, party, department)).then_refused(CommandRejected, field)
    assert words in error.message


def test_acknowledging_an_unknown_alert_is_not_found():
    given().when(AcknowledgeAlert(ALERT, T0, VILLAGE_COMMITTEE, "civil_affairs")).then_refused(NotFoundError, "alert_id")


def test_closing_needs_an_outcome():
    for outcome in (None, "", "sorted"):
        error = given(*raised()).when(CloseAlert(ALERT, T0, VILLAGE_COMMITTEE, "civil_affairs", outcome)) \
            .then_refused(ValidationError, "outcome")
        assert "outcome" in error.errors


def test_closing_an_open_alert_acknowledges_it_first():
    given(*raised()).when(CloseAlert(ALERT, T0, VILLAGE_COMMITTEE, "civil_affairs", "resolved", "son came home")).then(
        AlertAcknowledged(ALERT, party=VILLAGE_COMMITTEE, level="village_committee", note="acknowledged on closing",
                          acknowledged_at=T0),
        AlertClosed(ALERT, party=VILLAGE_COMMITTEE, outcome="resolved", note="son came home", closed_at=T0))


def test_a_closed_alert_takes_no_more_answers():
    closed = decide(fold(ALERT, raised()), CloseAlert(ALERT, T0, VILLAGE_COMMITTEE, "civil_affairs", "false_alarm"),
                    BOOK)
    given(*raised(), *closed).when(AcknowledgeAlert(ALERT, T0, POLICE, "public_security")) \
        .then_refused(CommandRejected, "alert_id")
    given(*raised(), *closed).when(EscalateAlert(ALERT, T0 + timedelta(days=9))).then()


# --- policy changes --------------------------------------------------------------------

def test_an_open_alert_is_rerouted_when_a_new_policy_version_takes_effect():
    new = policy_entry(effective_from="2026-12-01")
    new["kinds"]["infringement"]["departments"] = ["public_security", "justice", "civil_affairs"]
    routing = book(policy_entry(), new)
    history = decide(fold(ALERT, []), raise_(), routing)
    given(*history, routing=routing).when(RerouteAlert(ALERT, T0 + timedelta(days=5), family=(SON,))).then()
    at = T0 + timedelta(days=10)
    scenario = given(*history, routing=routing).when(RerouteAlert(ALERT, at, family=(SON,)))
    scenario.then(AlertRouted(ALERT, level="village_committee", reason="policy_changed",
                              policy_ref="national@2026-12-01", routed_at=at,
                              routes=(Route(f"department:civil_affairs:{VILLAGE[:6]}", "responsible"),)))
    given(*history, *scenario.events, routing=routing).when(RerouteAlert(ALERT, at, family=(SON,))).then()


def test_after_a_policy_change_the_next_escalation_uses_the_new_deadlines():
    new = policy_entry(jurisdiction=VILLAGE[:6], effective_from="2026-12-01",
                       ack_within_minutes={"village_committee": 30, "township": 45, "county_civil_affairs": 90})
    routing = book(policy_entry(), new)
    history = decide(fold(ALERT, []), raise_(), routing)
    at = T0 + timedelta(days=10)
    events = given(*history, routing=routing).when(EscalateAlert(ALERT, at)).events
    assert events[0].ack_deadline == at + timedelta(minutes=45)
    assert events[1].policy_ref == f"{VILLAGE[:6]}@2026-12-01"
