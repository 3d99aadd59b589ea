"""The subsidies service end to end: real registry and subsidies containers, a test-only
"facilities" producer (its own log and outbox relay, like the real one), real databases
(subsidies on SQLite and PostgreSQL), real RabbitMQ between them. A registry change and a
facility admission, both backdated, reach subsidies through the broker and the next
monthly run adjusts the months already paid."""
import csv
import io
from datetime import date

import pytest
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select

from tests.counting import written_events
from contracts import CATALOGUE
from demo.residents import make_resident_id, order_code
from kernel import migrate
from kernel.clock import start_of_local_day
from kernel.db import create_service_engine
from kernel.envelope import Actor, PendingEvent
from kernel.errors import CommandRejected, ConflictError, NotFoundError, ValidationError
from kernel.hashchain import verify_log
from kernel.providers import LoggingContext, OutboxRelayRunner, ServiceDatabase, find_database
from kernel.schema import events as events_table
from services.registry.service import RegistryService
from services.subsidies.service import SubsidiesService
from tests.registry.test_service import wait_for

VILLAGE = "140522100201"
DIVISION_FILES = "data/divisions/base.csv data/divisions/demo.csv tests/subsidies/jincheng_divisions.csv"
TODAY = date(2026, 6, 3)
CLERK = {"department": "civil_affairs", "user": "clerk-1", "role": "county_coordinator"}
FINANCE = {"department": "finance", "user": "cashier-1", "role": "department_officer"}


class FacilitiesStandIn:
    """Publishes admissions exactly as the facilities service does: appended to its own log
    (source ``facilities``), published by its outbox relay."""

    name = "facilities"
    db = ServiceDatabase(CATALOGUE)
    relay = OutboxRelayRunner(poll_interval=0.1)
    log = LoggingContext()

    @rpc
    def admit(self, elder_id, facility_id, effective_date, admission_kind="centralised_support"):
        data = {"facility_id": facility_id, "effective_date": effective_date, "elder_id": elder_id,
                "division_code": VILLAGE, "facility_kind": "township_nursing_home", "admission_kind": admission_kind}
        with self.db.unit_of_work() as uow:
            version = uow.stream_version(facility_id)
            uow.append([PendingEvent(facility_id, "facilities.elder_admitted.v1", data,
                                     start_of_local_day(date.fromisoformat(effective_date)),
                                     Actor("civil_affairs", "home-admin", "county_coordinator"), VILLAGE)],
                       {facility_id: version})


@pytest.fixture
def county(rabbit_config, database_url, tmp_path, container_factory):
    urls = {"registry": f"sqlite:///{tmp_path / 'registry.db'}", "subsidies": database_url,
            "facilities": f"sqlite:///{tmp_path / 'facilities.db'}"}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    config = {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(), "DIVISION_FILES": DIVISION_FILES,
              "RELAY": {"poll_interval": 0.1}, "REGISTRY": {"status_review_interval_seconds": 3600}}
    containers = {}
    for service_class in (SubsidiesService, RegistryService, FacilitiesStandIn):
        containers[service_class.name] = container_factory(service_class, config)
        containers[service_class.name].start()
    with ServiceRpcProxy("registry", config) as registry, ServiceRpcProxy("subsidies", config) as subsidies, \
            ServiceRpcProxy("facilities", config) as facilities:
        subsidies.clock = find_database(containers["subsidies"]).clock
        subsidies.url = database_url
        yield registry, subsidies, facilities


def register(registry, elder_id="elder-1", sequence=0, level="semi_disabled"):
    born = date(1941, 3, 9)
    registry.register_elder({
        "elder_id": elder_id, "resident_id": make_resident_id("140522", born, order_code(sequence, "female"), "female"),
        "name": "王秀英", "sex": "female", "birth_date": born.isoformat(), "division_code": VILLAGE,
        "household_id": f"h-{elder_id}", "address": "一组3号", "self_care_level": level,
        "support_status": {"tekun": True}, "effective_date": "2026-01-05"}, CLERK)


def knows(subsidies, elder_id, month, programme, amount):
    try:
        answer = subsidies.entitlement_as_of(elder_id, month)
    except NotFoundError:
        return False
    return any(e["programme"] == programme and e["amount_fen"] == amount for e in answer["entitlements"])


def _events(url):
    engine = create_service_engine(url)
    with engine.connect() as conn:
        count = conn.execute(written_events()).scalar()
    engine.dispose()
    return count


def test_a_registry_and_a_facility_change_reach_subsidies_and_the_next_run_adjusts(county):
    registry, subsidies, facilities = county
    register(registry)
    wait_for(lambda: knows(subsidies, "elder-1", "2026-05", "care_subsidy", 20000), message="subsidies to learn of elder-1")
    may = subsidies.start_run({"jurisdiction": "140500000000", "month": "2026-05"}, CLERK)
    june = subsidies.start_run({"jurisdiction": "1405", "month": "2026-06"}, CLERK)
    known_in_june = subsidies.clock.now().isoformat()      # the service's (pinned) clock
    assert (may["disbursed_fen"], june["disbursed_fen"]) == (20000 + 79300, 20000 + 79300)
    events = _events(subsidies.url)
    assert subsidies.start_run({"jurisdiction": "1405", "month": "2026-06"}, CLERK)["changed"] is False
    assert _events(subsidies.url) == events

    # Backdated: fully disabled since May; admitted under centralised support on 1 June.
    registry.assess_self_care({"elder_id": "elder-1", "level": "fully_disabled", "assessor": "county team",
                               "effective_date": "2026-05-01"}, CLERK)
    facilities.admit("elder-1", "home-1", "2026-06-01")
    wait_for(lambda: knows(subsidies, "elder-1", "2026-06", "care_subsidy", 97300),
             message="the assessment and the admission to reach subsidies")
    subsidies.clock.set_today(date(2026, 7, 2))
    july = subsidies.start_run({"jurisdiction": "1405", "month": "2026-07"}, CLERK)
    assert july["disbursed_fen"] == 97300 + 91500              # centralised, fully disabled
    assert july["adjustments"] == 3
    assert july["adjusted_fen"] == (30000 - 20000) + (97300 - 20000) + (91500 - 79300)

    file = subsidies.payment_file({"jurisdiction": "1405", "month": "2026-07"})
    rows = list(csv.DictReader(io.StringIO(file["csv"])))
    back_pay = {(r["month"], r["programme"]): r for r in rows if r["kind"] == "adjustment"}
    assert back_pay[("2026-05", "care_subsidy")]["amount_yuan"] == "100.00"
    assert back_pay[("2026-06", "care_subsidy")]["corrects"]            # references the June disbursement
    assert file["total_yuan"] == "2883.00"                        # 1,888 paid + 995 back-pay
    [division] = subsidies.division_summary({"jurisdiction": "1405", "month": "2026-07"})["divisions"]
    assert division["division_code"] == "140522000000" and division["total_fen"] == file["total_fen"]

    # What was believed when June was paid, and what is known now.
    then = subsidies.entitlement_as_of("elder-1", "2026-06", known_in_june)
    assert then["due_fen"] == 20000 + 79300 == then["recorded_fen"]
    assert subsidies.entitlement_as_of("elder-1", "2026-06")["recorded_fen"] == 97300 + 91500
    assert verify_log(create_service_engine(subsidies.url)).ok


def test_approval_payment_and_closing_with_their_refusals(county):
    registry, subsidies, _ = county
    register(registry)
    wait_for(lambda: knows(subsidies, "elder-1", "2026-06", "care_subsidy", 20000), message="subsidies to learn")
    key = {"jurisdiction": "1405", "month": "2026-06"}
    subsidies.start_run(key, CLERK)
    with pytest.raises(CommandRejected) as not_finance:
        subsidies.approve_run(key, CLERK)
    assert not_finance.value.field == "actor.department"
    with pytest.raises(ConflictError):
        subsidies.mark_paid({**key, "paid_on": "2026-06-03", "payment_reference": "bank-1"}, FINANCE)
    assert subsidies.approve_run(key, FINANCE)["status"] == "approved"
    assert subsidies.mark_paid({**key, "paid_on": "2026-06-03", "payment_reference": "bank-1"}, FINANCE)["status"] == "paid"
    assert subsidies.close_month(key, FINANCE)["closed"] is True
    with pytest.raises(CommandRejected) as closed:
        subsidies.start_run(key, CLERK)
    assert closed.value.field == "month"
    with pytest.raises(ValidationError) as future:
        subsidies.start_run({"jurisdiction": "1405", "month": "2026-07"}, CLERK)
    assert future.value.field == "month"
    with pytest.raises(CommandRejected) as no_policy:
        subsidies.start_run({"jurisdiction": "4109", "month": "2026-06"}, CLERK)
    assert no_policy.value.field == "jurisdiction"
    with pytest.raises(ValidationError) as bad_month:
        subsidies.start_run({"jurisdiction": "1405", "month": "2026-13"}, CLERK)
    assert bad_month.value.field == "month"
    [run] = subsidies.list_runs({"jurisdiction": "1405"})
    assert (run["status"], run["closed"], run["approved_by"]) == ("paid", True, "cashier-1")
