"""The meal subsidy paid per meal delivered (issue 22): orders' ``meal_delivered`` facts are
counted per elder and month, a ``per_meal_fen`` rule pays for each meal of an entitled elder
(80+, low-income), and meals recorded after a month's run are back-paid by the next run."""
import uuid
from datetime import date, datetime, timezone

import pytest

from contracts import CATALOGUE
from kernel.envelope import Envelope
from kernel.errors import PolicyError
from services.subsidies.domain import SubsidyRuleBook
from services.subsidies.handlers import observe_event
from tests.subsidies.support import CLERK, JINCHENG_VILLAGE, Subsidies, registered

PER_MEAL = SubsidyRuleBook.from_dict({"subsidy_rules": [{
    "programme": "meal_subsidy", "jurisdiction": "1405", "effective_from": "2024-01-01", "source": "per-meal test",
    "requires_any_status": ["dibao"], "min_age": 80, "per_meal_fen": 500}]})


@pytest.fixture
def subsidies(sqlite_url):
    system = Subsidies.create(sqlite_url, today=date(2026, 6, 20), rules=PER_MEAL)
    yield system
    system.engine.dispose()


def meal(system, elder_id: str, on: str, count: int) -> None:
    data = {"order_id": f"o-{uuid.uuid4().hex[:8]}", "elder_id": elder_id, "division_code": JINCHENG_VILLAGE,
            "facility_id": "canteen-1", "delivered_on": on, "month": on[:7], "meals_in_month": count}
    CATALOGUE.validate("orders.meal_delivered.v1", data)
    system.clock.advance(seconds=1)
    with system.uow() as uow:
        observe_event(uow, Envelope(id=str(uuid.uuid4()), source="orders", type="orders.meal_delivered.v1",
                                    subject=data["order_id"], time=datetime.now(timezone.utc),
                                    recorded_time=system.clock.now(), sequence=1, position=1, actor=CLERK,
                                    jurisdiction=JINCHENG_VILLAGE, data=data))


def test_meals_are_paid_per_meal_and_later_meals_back_paid(subsidies):
    subsidies.learn(registered("elder-1", "2026-01-05", dibao=True, tekun=False),            # born 1941: 85
                    registered("young", "2026-01-05", born="1956-03-09", dibao=True, tekun=False))
    for count in (1, 2, 3):
        meal(subsidies, "elder-1", f"2026-06-0{count}", count)
    meal(subsidies, "young", "2026-06-01", 1)
    subsidies.run("2026-06")
    assert subsidies.total("elder-1", "2026-06", "meal_subsidy") == 1500
    assert subsidies.total("young") == 0                                                    # not 80
    [entry] = subsidies.entries("elder-1")
    meal(subsidies, "elder-1", "2026-06-25", 4)
    meal(subsidies, "elder-1", "2026-06-25", 4)              # the same count again: nothing more
    meal(subsidies, "elder-1", "2026-06-28", 5)
    subsidies.clock.set_today(date(2026, 7, 3))
    subsidies.run("2026-07")
    assert subsidies.total("elder-1", "2026-06", "meal_subsidy") == 2500                    # 5 meals in June
    assert subsidies.total("elder-1", "2026-07", "meal_subsidy") == 0                       # none yet in July
    back_pay = [e for e in subsidies.entries("elder-1") if e["entry_id"] != entry["entry_id"]]
    assert [(e["period"], e["amount_fen"]) for e in back_pay] == [("2026-06", 1000)]


@pytest.mark.parametrize("entry, field", [
    ({"per_meal_fen": 5.5}, "subsidy_rules[0].per_meal_fen"),
    ({"programme": "care_subsidy", "per_meal_fen": 500}, "subsidy_rules[0].per_meal_fen"),
])
def test_bad_per_meal_rules_are_refused_naming_the_field(entry, field):
    rule = {"programme": "meal_subsidy", "jurisdiction": "1405", "effective_from": "2024-01-01", "source": "x", **entry}
    with pytest.raises(PolicyError) as refused:
        SubsidyRuleBook.from_dict({"subsidy_rules": [rule]})
    assert refused.value.field == field
