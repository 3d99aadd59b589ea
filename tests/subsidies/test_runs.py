"""Runs through the handlers against a real database (SQLite and PostgreSQL): facts learnt
from registry and facilities events, monthly runs, idempotent re-runs, adjustments after
backdated facts, bitemporal entitlement, payment file and summaries."""
import csv
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.counting import written_events
from kernel.errors import CommandRejected, NotFoundError, ValidationError
from kernel.hashchain import verify_log
from kernel.projection import rebuild
from kernel.schema import events as events_table
from services.subsidies.adapters.payment_file import division_summary, payment_file_csv, yuan
from services.subsidies.adapters.tables import ledger
from services.subsidies.domain import Month
from services.subsidies.handlers import entitlement_as_of
from tests.subsidies.support import (JINCHENG_OTHER_VILLAGE, SANMENXIA_VILLAGE, Subsidies, admitted, assessed, died,
                                     moved, registered, star_award)


@pytest.fixture
def subsidies(database_url):
    system = Subsidies.create(database_url, today=date(2026, 6, 3))
    yield system
    system.engine.dispose()


def _event_count(system) -> int:
    with system.engine.connect() as conn:
        return conn.execute(written_events()).scalar()


def test_a_monthly_run_pays_each_elder_once_and_a_rerun_changes_nothing(subsidies):
    subsidies.learn(registered("elder-1", "2026-01-05"), registered("elder-2", "2026-01-05", level="fully_disabled"),
                    registered("elder-3", "2026-01-05", division=SANMENXIA_VILLAGE))
    first = subsidies.run("2026-06")
    assert first["changed"] is True and first["status"] == "completed"
    assert (first["beneficiaries"], first["disbursements"]) == (2, 4)
    assert first["disbursed_fen"] == 20000 + 30000 + 2 * 79300
    assert subsidies.total("elder-1", "2026-06", "care_subsidy") == 20000
    assert subsidies.total("elder-3") == 0                      # Sanmenxia: not Jincheng's run
    events = _event_count(subsidies)
    again = subsidies.run("2026-06")
    assert again["changed"] is False and again["disbursed_fen"] == first["disbursed_fen"]
    assert _event_count(subsidies) == events
    assert verify_log(subsidies.engine).ok


def test_moving_into_a_facility_switches_the_next_month_to_the_centralised_amount(subsidies):
    subsidies.learn(registered("elder-1", "2026-01-05"))
    subsidies.run("2026-06")
    subsidies.clock.set_today(date(2026, 7, 2))
    subsidies.learn(admitted("elder-1", "2026-06-20"))
    subsidies.run("2026-07")
    assert subsidies.total("elder-1", "2026-07", "care_subsidy") == 48700
    assert subsidies.total("elder-1", "2026-06", "care_subsidy") == 20000   # June was dispersed on the 1st


def test_a_backdated_assessment_is_back_paid_in_the_next_run_and_nothing_paid_is_edited(subsidies):
    subsidies.learn(registered("elder-1", "2026-01-05"))
    subsidies.run("2026-05", today=date(2026, 5, 3))
    subsidies.run("2026-06", today=date(2026, 6, 3))
    paid_before = subsidies.entries("elder-1")
    subsidies.clock.set_today(date(2026, 7, 1))
    subsidies.learn(assessed("elder-1", "2026-05-01", "fully_disabled"))
    result = subsidies.run("2026-07")
    assert result["adjustments"] == 2 and result["adjusted_fen"] == 2 * 10000
    adjustments = [e for e in subsidies.entries("elder-1") if e["kind"] == "adjustment"]
    by_period = {a["period"]: a for a in adjustments}
    may_disbursement = next(e for e in paid_before if e["period"] == "2026-05" and e["programme"] == "care_subsidy")
    assert by_period["2026-05"]["corrects"] == may_disbursement["entry_id"]
    assert subsidies.entries("elder-1")[:len(paid_before)] == paid_before
    for month in ("2026-05", "2026-06", "2026-07"):
        assert subsidies.total("elder-1", month, "care_subsidy") == 30000
    assert subsidies.run("2026-07")["changed"] is False


def test_a_death_recorded_late_is_clawed_back(subsidies):
    subsidies.learn(registered("elder-1", "2026-01-05"))
    for month, today in (("2026-04", date(2026, 4, 2)), ("2026-05", date(2026, 5, 2)), ("2026-06", date(2026, 6, 2))):
        subsidies.run(month, today=today)
    subsidies.clock.set_today(date(2026, 7, 2))
    subsidies.learn(died("elder-1", "2026-04-10"))
    result = subsidies.run("2026-07")
    assert result["disbursements"] == 0
    assert result["adjusted_fen"] == -2 * (20000 + 79300)        # May and June taken back
    assert subsidies.total("elder-1", "2026-04") == 20000 + 79300   # paid for the month of death
    assert subsidies.total("elder-1", "2026-05") == subsidies.total("elder-1", "2026-06") == 0


def test_a_late_registration_is_back_paid_for_months_that_had_runs(subsidies):
    subsidies.learn(registered("elder-1", "2026-01-05"))
    subsidies.run("2026-05", today=date(2026, 5, 3))
    subsidies.clock.set_today(date(2026, 6, 3))
    subsidies.learn(registered("elder-2", "2026-03-05"))     # registered in March, learnt in June
    subsidies.run("2026-06")
    assert subsidies.total("elder-2", "2026-05") == 20000 + 79300
    assert [e["kind"] for e in subsidies.entries("elder-2") if e["period"] == "2026-05"] == ["adjustment"] * 2


def test_unchanged_elders_are_not_recomputed_but_a_changed_one_is(subsidies, monkeypatch):
    from services.subsidies import handlers
    recomputed = []
    original = handlers.review_elder

    def spy(spec, elder_id, history, ledger, past_months, *args, **kwargs):
        if past_months:
            recomputed.append(elder_id)
        return original(spec, elder_id, history, ledger, past_months, *args, **kwargs)

    monkeypatch.setattr(handlers, "review_elder", spy)
    subsidies.learn(*[registered(f"elder-{n}", "2026-01-05") for n in range(5)])
    subsidies.run("2026-05", today=date(2026, 5, 3), page_size=2)       # several pages
    subsidies.clock.set_today(date(2026, 6, 3))
    subsidies.learn(moved("elder-3", "2026-05-01", JINCHENG_OTHER_VILLAGE), assessed("elder-4", "2026-05-01", "full_self_care"))
    result = subsidies.run("2026-06", page_size=2)
    assert sorted(recomputed) == ["elder-3", "elder-4"]
    assert (result["disbursements"], result["adjustments"]) == (10, 1)
    assert subsidies.total("elder-4", "2026-05", "care_subsidy") == 10000


def test_entitlement_as_known_then_and_as_known_now(subsidies):
    subsidies.learn(registered("elder-1", "2026-01-05"))
    subsidies.run("2026-06")
    known_in_june = subsidies.clock.now()
    subsidies.clock.set_today(date(2026, 7, 2))
    subsidies.learn(assessed("elder-1", "2026-06-01", "fully_disabled"))
    then = entitlement_as_of(subsidies.engine.connect, subsidies.ctx, "elder-1", Month(2026, 6), known_in_june)
    now = entitlement_as_of(subsidies.engine.connect, subsidies.ctx, "elder-1", Month(2026, 6), None)

    def care(answer):
        return next(e for e in answer["entitlements"] if e["programme"] == "care_subsidy")
    assert care(then)["amount_fen"] == 20000 and care(then)["facts"]["self_care_level"] == "semi_disabled"
    assert care(now)["amount_fen"] == 30000 and care(now)["facts"]["self_care_level"] == "fully_disabled"
    assert then["recorded_fen"] == then["due_fen"]                # the run paid what was believed then
    assert now["recorded_fen"] < now["due_fen"]                   # the July run has not adjusted yet
    with pytest.raises(NotFoundError):
        entitlement_as_of(subsidies.engine.connect, subsidies.ctx, "nobody", Month(2026, 6), None)


def test_refusals_write_nothing(subsidies):
    subsidies.learn(registered("elder-1", "2026-01-05"))
    events = _event_count(subsidies)
    with pytest.raises(ValidationError):
        subsidies.run("2026-07")                                     # the future (today is June)
    with pytest.raises(CommandRejected):
        subsidies.run("2026-06", jurisdiction="4109")                # Puyang: no subsidy policy
    with pytest.raises(ValidationError):
        subsidies.run("2026-06", jurisdiction="14a5")
    assert _event_count(subsidies) == events


def test_facility_grants_are_paid_once_in_the_jurisdictions_run(subsidies):
    subsidies.learn(star_award("home-9", "2026-05-20"))
    first = subsidies.run("2026-06", jurisdiction="4112")
    assert first["disbursed_fen"] == 3000000
    subsidies.clock.set_today(date(2026, 7, 2))
    assert subsidies.run("2026-07", jurisdiction="4112")["disbursed_fen"] == 0


def test_payment_file_summary_and_rebuild(subsidies):
    subsidies.learn(registered("elder-1", "2026-01-05"), registered("elder-2", "2026-01-05", division=JINCHENG_OTHER_VILLAGE))
    subsidies.run("2026-06")
    run_id = "subsidy-run:1405:2026-06"
    with subsidies.engine.connect() as conn:
        text, rows, total = payment_file_csv(conn, run_id)
        summary = division_summary(conn, run_id, "1405")
    records = list(csv.DictReader(io.StringIO(text)))
    assert rows == 4 and total == 2 * (20000 + 79300)
    assert {r["amount_yuan"] for r in records} == {"200.00", "793.00"}
    assert all(len(r["rule_hash"]) == 64 and r["account"] == "" and r["month"] == "2026-06" for r in records)
    assert [s["division_code"] for s in summary] == ["140522000000"]
    assert summary[0]["total_fen"] == total and summary[0]["total_yuan"] == "1986.00"
    assert yuan(-5) == "-0.05" and yuan(123456) == "1234.56"
    with subsidies.engine.connect() as conn:
        before = [dict(r._mapping) for r in conn.execute(select(ledger).order_by(ledger.c.entry_id))]
    from services.subsidies.rules import subsidies_projections
    for projection in subsidies_projections({}):
        rebuild(subsidies.engine, subsidies.store, projection)
    with subsidies.engine.connect() as conn:
        assert [dict(r._mapping) for r in conn.execute(select(ledger).order_by(ledger.c.entry_id))] == before


def test_a_float_amount_in_a_facility_grant_is_refused_naming_the_field(subsidies):
    type_, subject, data = star_award("home-9", "2026-05-20")
    data["amount_fen"] = 3000000.0
    with pytest.raises(ValidationError) as refused:
        subsidies.learn((type_, subject, data))
    # Refused by the event's contract (its integers are strict) before the subsidies rules see it.
    assert [key for key in refused.value.errors if key.endswith("amount_fen")], refused.value.errors
    assert subsidies.run("2026-06", jurisdiction="4112")["disbursed_fen"] == 0
