"""Property-based: for random histories of registry and facilities facts (many backdated,
learnt month after month between runs of two jurisdictions), the sum of every
disbursement and adjustment of each elder, programme and month equals the entitlement
recomputed from the final history; and running a month again changes nothing."""
import tempfile
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.counting import written_events
from kernel.schema import events as events_table
from services.subsidies.adapters.facts import load_histories
from services.subsidies.domain import Month, elder_entitlements
from tests.subsidies.support import (JINCHENG_OTHER_VILLAGE, JINCHENG_VILLAGE, RULES, SANMENXIA_VILLAGE, Subsidies,
                                     admitted, assessed, died, discharged, moved, registered, status_changed)

MONTHS = [Month(2026, m) for m in range(1, 8)]
ELDERS = ("elder-a", "elder-b", "elder-c")
LEVELS = ("full_self_care", "semi_disabled", "fully_disabled")
DIVISIONS = (JINCHENG_VILLAGE, JINCHENG_OTHER_VILLAGE, SANMENXIA_VILLAGE)


@st.composite
def fact(draw, month_index: int):
    """One fact learnt during month ``month_index``, effective up to three months earlier."""
    elder = draw(st.sampled_from(ELDERS))
    back = draw(st.integers(0, min(3, month_index)))
    effective = MONTHS[month_index - back].first_day + timedelta(days=draw(st.integers(0, 27)))
    on = effective.isoformat()
    kind = draw(st.sampled_from(("register", "assess", "status", "admit", "discharge", "move", "die")))
    if kind == "register":
        return registered(elder, on, born=draw(st.sampled_from(("1941-03-09", "1946-06-15", "1950-01-01"))),
                          division=draw(st.sampled_from(DIVISIONS)), level=draw(st.sampled_from(LEVELS)),
                          dibao=draw(st.booleans()), tekun=draw(st.booleans()))
    if kind == "assess":
        return assessed(elder, on, draw(st.sampled_from(LEVELS)))
    if kind == "status":
        return status_changed(elder, on, dibao=draw(st.booleans()), tekun=draw(st.booleans()))
    if kind == "admit":
        return admitted(elder, on, facility_id=draw(st.sampled_from(("home-1", "home-2"))),
                        kind=draw(st.sampled_from(("centralised_support", "day_care"))))
    if kind == "discharge":
        return discharged(elder, on, facility_id=draw(st.sampled_from(("home-1", "home-2"))))
    if kind == "move":
        return moved(elder, on, draw(st.sampled_from(DIVISIONS)))
    return died(elder, on)


@st.composite
def histories(draw):
    """Per month: the facts learnt before that month's runs."""
    return [draw(st.lists(fact(index), max_size=4)) for index in range(len(MONTHS))]


def _event_count(system) -> int:
    with system.engine.connect() as conn:
        return conn.execute(written_events()).scalar()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.booleans())
def test_disbursements_plus_adjustments_equal_the_entitlement_from_the_final_history(learnt, small_pages):
    with tempfile.TemporaryDirectory() as directory:
        system = Subsidies.create(f"sqlite:///{Path(directory) / 'subsidies.db'}", today=date(2026, 1, 2))
        try:
            for month, facts in zip(MONTHS, learnt):
                system.clock.set_today(month.first_day + timedelta(days=1))
                system.learn(*facts)
                for jurisdiction in ("1405", "4112"):
                    system.run(month.label, jurisdiction, page_size=1 if small_pages else 1000)
            with system.engine.connect() as conn:
                final = load_histories(conn, ELDERS)
            for elder_id in ELDERS:
                for month in MONTHS:
                    due = {e.programme: e.amount_fen for e in elder_entitlements(elder_id, final[elder_id], month, RULES)}
                    paid = {}
                    for entry in system.entries(elder_id):
                        if entry["period"] == month.label:
                            paid[entry["programme"]] = paid.get(entry["programme"], 0) + entry["amount_fen"]
                    assert {p: v for p, v in paid.items() if v} == due, (elder_id, month.label)
            events = _event_count(system)
            for jurisdiction in ("1405", "4112"):
                assert system.run(MONTHS[-1].label, jurisdiction)["changed"] is False
            assert _event_count(system) == events
        finally:
            system.engine.dispose()
