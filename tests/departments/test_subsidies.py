"""A poverty registration reaches subsidies as the registry's fact: the poverty office's
command changes the registry's support status (its change_support_status), subsidies
consumes the registry's support_status_changed, and the next monthly run pays a programme
whose rule requires poverty_registered — with back-pay for the month the registration
took effect before. (No shipped rule names poverty_registered yet: this county's does.)"""
from datetime import date

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from demo.residents import make_resident_id, order_code
from kernel import migrate
from kernel.errors import NotFoundError
from services.departments.service import DepartmentsService
from services.registry.service import RegistryService
from services.subsidies.service import SubsidiesService
from tests.registry.test_service import wait_for

VILLAGE = "140522100201"
DIVISION_FILES = "data/divisions/base.csv data/divisions/demo.csv tests/subsidies/jincheng_divisions.csv"
TODAY = date(2026, 6, 3)
CLERK = {"department": "civil_affairs", "user": "clerk-1", "role": "county_coordinator"}
POVERTY = {"department": "poverty_alleviation", "user": "fp-1", "role": "department_officer"}
RULES = """subsidy_rules:
  - programme: meal_subsidy
    jurisdiction: "1405"
    effective_from: "2024-01-01"
    requires_any_status: [poverty_registered]
    min_age: 80
    monthly_fen: 6000
    source: "test: a county paying the meal subsidy to poverty-registered elders 80+"
"""


@pytest.fixture
def county(rabbit_config, tmp_path, container_factory):
    classes = (RegistryService, SubsidiesService, DepartmentsService)
    urls = {cls.name: f"sqlite:///{tmp_path / (cls.name + '.db')}" for cls in classes}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    rules = tmp_path / "subsidies.yml"
    rules.write_text(RULES, encoding="utf-8")
    config = {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(), "DIVISION_FILES": DIVISION_FILES,
              "SUBSIDY_POLICY_FILE": str(rules), "RELAY": {"poll_interval": 0.1},
              "REGISTRY": {"status_review_interval_seconds": 3600}}
    for cls in classes:
        container_factory(cls, config).start()
    with ClusterRpcProxy(config, timeout=60) as rpc:
        born = date(1941, 3, 9)
        rpc.registry.register_elder({
            "elder_id": "elder-1", "resident_id": make_resident_id("140522", born, order_code(0, "female"), "female"),
            "name": "王秀英", "sex": "female", "birth_date": born.isoformat(), "division_code": VILLAGE,
            "household_id": "h-1", "address": "一组3号", "effective_date": "2026-01-05"}, CLERK)
        yield rpc


def meal_due(rpc, month: str) -> int:
    try:
        answer = rpc.subsidies.entitlement_as_of("elder-1", month)
    except NotFoundError:
        return -1                                  # not known to subsidies yet
    return sum(e["amount_fen"] for e in answer["entitlements"] if e["programme"] == "meal_subsidy")


def test_a_poverty_registration_changes_the_next_runs_amounts(county):
    rpc = county
    wait_for(lambda: meal_due(rpc, "2026-05") == 0, message="subsidies to learn of elder-1")
    may = rpc.subsidies.start_run({"jurisdiction": "1405", "month": "2026-05"}, CLERK)
    assert may["disbursed_fen"] == 0
    rpc.departments.register_poverty({"elder_id": "elder-1", "effective_date": "2026-05-01", "reason": "因病致贫"},
                                     POVERTY)
    wait_for(lambda: meal_due(rpc, "2026-06") == 6000, message="the registration to reach subsidies")
    june = rpc.subsidies.start_run({"jurisdiction": "1405", "month": "2026-06"}, CLERK)
    assert (june["disbursed_fen"], june["adjusted_fen"]) == (6000, 6000)      # June, and May paid back
