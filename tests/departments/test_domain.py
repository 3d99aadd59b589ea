"""The departments' rules, pure: given a record's events, when a command, then its events
(or a refusal naming the field)."""
from datetime import date

import pytest

from contracts.departments_rpc import OWNERS
from kernel.errors import CommandRejected, ConflictError, NotFoundError, ValidationError
from services.departments import domain as d

TODAY = date(2026, 11, 23)
ELDER = d.ElderFacts("e1", "active", "410928101201", date(1950, 3, 1), "h1")
YOUNG = d.ElderFacts("e2", "active", "410928101201", date(1970, 3, 1), "h2")
DEAD = d.ElderFacts("e3", "deceased", "410928101201", date(1940, 3, 1), "h3")


METHOD = {d.RecordHealthCheck: "record_health_check", d.EnrolPension: "enrol_pension",
          d.ChangePensionStatus: "change_pension_status", d.RegisterPoverty: "register_poverty",
          d.EndPovertyRegistration: "end_poverty_registration", d.OpenCase: "open_case",
          d.GiveLegalAid: "give_legal_aid", d.CloseCase: "close_case",
          d.RecordCulturalService: "record_cultural_service"}


def run(record_id, commands, elder=ELDER):
    """Decide and apply each command in turn (each owned as OWNERS says); the last one's events."""
    state, events = d.fold(record_id, []), []
    for command in commands:
        events = d.decide(state, command, elder, OWNERS[METHOD[type(command)]], TODAY)
        for event in events:
            state = d.evolve(state, event)
    return state, events


def check(day=date(2026, 5, 1), **kw):
    return d.RecordHealthCheck("health", day, examiner="村医李", **kw)


def test_a_health_check_of_an_elder_over_65_records_its_findings_and_risk():
    state, events = run("health:e1", [check(findings=(d.Finding("hypertension", "160/100"),),
                                            risk_severity="high", risk_summary="血压控制差")])
    assert isinstance(events[0], d.HealthCheckRecorded)
    assert (events[0].age, events[0].year, events[0].risk_severity) == (76, 2026, "high")
    assert state.years_checked == {2026} and state.department == "health"


def test_one_check_a_year_for_65_plus_only():
    with pytest.raises(ConflictError) as twice:
        run("health:e1", [check(), check(date(2026, 6, 1))])
    assert twice.value.field == "effective_date"
    _state, events = run("health:e1", [check(date(2025, 5, 1)), check()])
    assert events[0].year == 2026
    with pytest.raises(CommandRejected) as young:
        run("health:e2", [check()], elder=YOUNG)
    assert young.value.field == "elder_id"


def test_a_risk_needs_findings():
    with pytest.raises(ValidationError) as bad:
        run("health:e1", [check(risk_severity="high")])
    assert "findings" in bad.value.errors


def test_only_the_owning_department_writes():
    with pytest.raises(CommandRejected) as other:
        run("health:e1", [d.RecordHealthCheck("civil_affairs", date(2026, 5, 1), examiner="x")])
    assert other.value.field == "department"
    opened = d.OpenCase("public_security", date(2026, 11, 1), case_id="c1", kind="fraud", summary="电信诈骗")
    with pytest.raises(CommandRejected) as not_owner:                 # justice may not close police's case
        run("case:c1", [opened, d.CloseCase("justice", date(2026, 11, 2), outcome="resolved")])
    assert not_owner.value.field == "department"
    # legal aid is justice's in any case
    state, events = run("case:c1", [opened, d.GiveLegalAid("justice", date(2026, 11, 2), aid="legal_advice")])
    assert state.legal_aid == 1 and state.department == "public_security"


def test_a_deceased_or_unknown_elder_gets_no_new_record():
    enrol = d.EnrolPension("human_resources_social_security", TODAY, scheme="urban_rural_residents")
    with pytest.raises(CommandRejected) as dead:
        run("pension:e3", [enrol], elder=DEAD)
    assert dead.value.field == "elder_id"
    with pytest.raises(NotFoundError):
        run("pension:e9", [enrol], elder=None)


def test_pension_received_in_fen_then_suspended():
    hr = "human_resources_social_security"
    enrol = d.EnrolPension(hr, date(2026, 1, 1), scheme="urban_rural_residents")
    receive = d.ChangePensionStatus(hr, date(2026, 2, 1), status="receiving", monthly_amount_fen=18800, reason="达龄")
    state, events = run("pension:e1", [enrol, receive])
    assert (state.status, events[0].monthly_amount_fen, events[0].previous_status) == ("receiving", 18800, "enrolled")
    for amount in (188.5, None, True):
        with pytest.raises(ValidationError) as bad:
            run("pension:e1", [enrol, d.ChangePensionStatus(hr, date(2026, 2, 1), status="receiving",
                                                             monthly_amount_fen=amount, reason="x")])
        assert "monthly_amount_fen" in bad.value.errors
    suspend = d.ChangePensionStatus(hr, date(2026, 3, 1), status="suspended", monthly_amount_fen=None, reason="核查")
    state, _ = run("pension:e1", [enrol, receive, suspend])
    assert state.status == "suspended"
    with pytest.raises(ValidationError) as earlier:
        run("pension:e1", [enrol, receive, d.ChangePensionStatus(hr, date(2026, 1, 15), status="suspended",
                                                                 monthly_amount_fen=None, reason="x")])
    assert "effective_date" in earlier.value.errors


def test_poverty_registration_and_its_end():
    office = "poverty_alleviation"
    register = d.RegisterPoverty(office, date(2026, 3, 1), reason="因病致贫")
    state, events = run("poverty:e1", [register])
    assert (state.status, events[0].household_id) == ("registered", "h1")
    with pytest.raises(ConflictError):
        run("poverty:e1", [register, register])
    state, _ = run("poverty:e1", [register, d.EndPovertyRegistration(office, date(2026, 9, 1), reason="lifted_out")])
    assert (state.status, state.closed_on) == ("ended", date(2026, 9, 1))


def test_nothing_takes_effect_in_the_future():
    with pytest.raises(ValidationError) as future:
        run("culture:e1", [d.RecordCulturalService("culture", date(2026, 12, 1), service="performance",
                                                   provider="乡文化站")])
    assert "effective_date" in future.value.errors


def test_a_case_opens_and_closes_once_with_its_referral():
    opened = d.OpenCase("justice", date(2026, 11, 1), case_id="c2", kind="supporter_neglect", summary="子女拒不赡养",
                        referral_id="rf-1")
    closed = d.CloseCase("justice", date(2026, 11, 20), outcome="supporter_ordered")
    state, events = run("case:c2", [opened, closed])
    assert (state.status, events[0].referral_id, events[0].case_id) == ("closed", "rf-1", "c2")
    with pytest.raises(CommandRejected):
        run("case:c2", [opened, closed, closed])


def test_culture_and_the_aging_office_both_record_cultural_services():
    day = date(2026, 10, 1)
    state, events = run("culture:e1", [d.RecordCulturalService("culture", day, service="performance", provider="文化站"),
                                       d.RecordCulturalService("aging_office", day, service="elder_association_activity",
                                                               provider="老年协会")])
    assert events[0].department == "aging_office" and state.version == 2


LINE = d.PaymentLine("entry-1", "run-1", "4109", "e1", "elder", "410928101201", 20000)


def test_a_payment_is_issued_once_and_again_only_after_its_account_changed():
    events, held = d.decide_issue(LINE, d.Payment("entry-1"), None, "f1", TODAY)
    assert (events, held) == ([], "no payee account")
    [issued], _ = d.decide_issue(LINE, d.Payment("entry-1"), 1, "f1", TODAY)
    assert (issued.attempt, issued.account_version, issued.amount_fen) == (1, 1, 20000)
    payment = d.evolve_payment(d.Payment("entry-1"), issued)
    assert d.decide_issue(LINE, payment, 1, "f2", TODAY) == ([], None)            # awaiting the bank
    failed = d.decide_return(payment, "e1", LINE.division_code, "run-1", 20000, "f1", "failed", "销户", None, 1, TODAY)
    assert (type(failed), failed.next) == (d.PaymentFailed, "alert")
    payment = d.evolve_payment(payment, failed)
    assert d.decide_issue(LINE, payment, 1, "f2", TODAY)[1] == "failed; waiting for a corrected payee account"
    [again], _ = d.decide_issue(LINE, payment, 2, "f2", TODAY)
    assert (again.attempt, again.file_id) == (2, "f2")
    with pytest.raises(ConflictError):
        d.decide_return(payment, "e1", LINE.division_code, "run-1", 20000, "f1", "paid", "", None, 2, TODAY)


def test_a_failure_after_the_account_changed_is_reissued_and_negatives_are_not_paid():
    payment = d.Payment("entry-1", "issued", 1, "f1", 1)
    failed = d.decide_return(payment, "e1", LINE.division_code, "run-1", 20000, "f1", "failed", "", None, 2, TODAY)
    assert failed.next == "reissue"
    from dataclasses import replace
    assert d.decide_issue(replace(LINE, amount_fen=-500), d.Payment("entry-1"), 1, "f1", TODAY)[1].startswith(
        "not a payment")
    with pytest.raises(ValidationError):                                          # not in that file
        d.decide_return(payment, "e1", LINE.division_code, "run-1", 20000, "f9", "paid", "", None, 1, TODAY)
