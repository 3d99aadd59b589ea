"""With the real facilities service: an admission under centralised support (backdated)
switches the elder to the centralised amounts and the next run back-pays the month already
paid; a star rating in Sanmenxia becomes a one-time award paid by Sanmenxia's run. Real
containers, real RabbitMQ; subsidies on SQLite and PostgreSQL."""
from datetime import date

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from kernel import migrate
from kernel.providers import find_database
from services.facilities.service import FacilitiesService
from services.registry.service import RegistryService
from services.subsidies.service import SubsidiesService
from tests.registry.test_service import wait_for
from tests.subsidies.test_service import CLERK, DIVISION_FILES, TODAY, VILLAGE, knows, register

SANMENXIA = "411202100201"


@pytest.fixture
def county(rabbit_config, database_url, tmp_path, container_factory):
    urls = {"registry": f"sqlite:///{tmp_path / 'registry.db'}", "subsidies": database_url,
            "facilities": f"sqlite:///{tmp_path / 'facilities.db'}"}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    config = {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(), "DIVISION_FILES": DIVISION_FILES,
              "RELAY": {"poll_interval": 0.1}, "REGISTRY": {"status_review_interval_seconds": 3600}}
    containers = {}
    for service_class in (SubsidiesService, FacilitiesService, RegistryService):    # consumers first
        containers[service_class.name] = container_factory(service_class, config)
        containers[service_class.name].start()
    with ServiceRpcProxy("registry", config) as registry, ServiceRpcProxy("subsidies", config) as subsidies, \
            ServiceRpcProxy("facilities", config) as facilities:
        subsidies.clock = find_database(containers["subsidies"]).clock
        yield registry, subsidies, facilities


def open_facility(facilities, facility_id, division):
    facilities.open_facility({
        "facility_id": facility_id, "name": f"{facility_id} 敬老院", "division_code": division,
        "kind": "township_nursing_home", "operating_model": "public_built_public_run", "operator": "乡政府",
        "capacity": 10, "services": ["meals", "beds"], "effective_date": "2026-01-01"}, CLERK)


def test_an_admission_through_facilities_is_back_paid_and_a_star_award_is_paid_once(county):
    registry, subsidies, facilities = county
    register(registry)
    wait_for(lambda: knows(subsidies, "elder-1", "2026-06", "care_subsidy", 20000), message="subsidies to learn")
    assert subsidies.start_run({"jurisdiction": "1405", "month": "2026-06"}, CLERK)["disbursed_fen"] == 20000 + 79300
    open_facility(facilities, "yc-home", VILLAGE)
    wait_for(lambda: _admit(facilities), message="facilities to learn of elder-1 from the registry")
    wait_for(lambda: knows(subsidies, "elder-1", "2026-06", "care_subsidy", 48700), message="the admission in subsidies")
    open_facility(facilities, "smx-home", SANMENXIA)
    facilities.rate_facility({"facility_id": "smx-home", "stars": 3, "assessor": "三门峡民政局",
                              "effective_date": "2026-06-01"}, CLERK)

    subsidies.clock.set_today(date(2026, 7, 2))
    july = subsidies.start_run({"jurisdiction": "1405", "month": "2026-07"}, CLERK)
    assert july["disbursed_fen"] == 48700 + 91500                          # centralised, semi-disabled
    assert july["adjusted_fen"] == (48700 - 20000) + (91500 - 79300)        # June back-paid
    wait_for(lambda: subsidies.unpaid_grants("4112"), message="the star award to reach subsidies")
    [grant] = subsidies.unpaid_grants("411200000000")
    assert (grant["facility_id"], grant["programme"], grant["amount_fen"]) == ("smx-home", "star_award", 3000000)
    sanmenxia = subsidies.start_run({"jurisdiction": "4112", "month": "2026-07"}, CLERK)
    assert (sanmenxia["disbursements"], sanmenxia["disbursed_fen"]) == (1, 3000000)
    assert subsidies.unpaid_grants("4112") == []
    subsidies.clock.set_today(date(2026, 8, 3))
    assert subsidies.start_run({"jurisdiction": "4112", "month": "2026-08"}, CLERK)["disbursed_fen"] == 0


def _admit(facilities) -> bool:
    try:
        facilities.admit_elder({"facility_id": "yc-home", "elder_id": "elder-1", "admission_kind": "centralised_support",
                                "effective_date": "2026-06-01"}, CLERK)
        return True
    except Exception:  # noqa: BLE001 - facilities has not heard of the elder yet
        return False
