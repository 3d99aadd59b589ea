"""Home-service orders end to end: the orders, registry, facilities and notifications
services in real nameko containers over real RabbitMQ, orders on SQLite and PostgreSQL.
Orders learns elders from the registry's events and facilities' home services from
facilities' events; an unaccepted order reaches notifications as an event."""
from __future__ import annotations

import re
import time
from datetime import date, timedelta

import eventlet
import pytest
import yaml
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.app import app
from demo.residents import make_resident_id, order_code
from kernel import migrate
from kernel.checkpoints import CHECKPOINT_EVENT
from kernel.db import create_service_engine
from kernel.errors import CommandRejected, ConflictError, NotFoundError, ValidationError
from kernel.hashchain import verify_log
from kernel.providers import find_database
from kernel.schema import events as events_table
from services.facilities.service import FacilitiesService
from services.notifications.service import NotificationsService
from services.orders.adapters.tables import home_offers, order_elders
from services.orders.service import OrdersService
from services.registry.service import RegistryService

TODAY = date(2026, 11, 23)
CLERK = {"department": "civil_affairs", "user": "clerk-1", "role": "county_coordinator"}
HOME = "410928101201"            # the elder's village
NEIGHBOUR = "410928101202"       # same township
ELSEWHERE = "410928102201"       # another township of the county


def wait_for(predicate, timeout=20.0, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        eventlet.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


class System:
    def __init__(self, rpc, orders_url, clocks):
        self.rpc, self.clocks = rpc, clocks
        self.engine = create_service_engine(orders_url)

    def register(self, elder_id: str, n: int = 0, village: str = HOME) -> None:
        born = date(1940, 5, 1) + timedelta(days=n)
        self.rpc.registry.register_elder({
            "elder_id": elder_id, "resident_id": make_resident_id("410928", born, order_code(n, "female"), "female"),
            "name": f"王秀{n}", "sex": "female", "birth_date": born.isoformat(), "division_code": village,
            "household_id": f"H-{elder_id}", "address": "一组", "effective_date": "2026-01-05"}, CLERK)
        wait_for(lambda: self.elder_status(elder_id) == "active", message=f"orders to learn of {elder_id}")

    def elder_status(self, elder_id: str):
        with self.engine.connect() as conn:
            return conn.execute(select(order_elders.c.record_status).where(order_elders.c.elder_id == elder_id)).scalar()

    def facility(self, facility_id: str, village: str, offers: dict) -> None:
        self.rpc.facilities.open_facility({
            "facility_id": facility_id, "name": f"{facility_id} 照料中心", "division_code": village,
            "kind": "day_care_centre_with_meals", "operating_model": "public_built_public_run", "operator": "村委会",
            "capacity": 10, "effective_date": "2026-01-01"}, CLERK)
        answer = self.rpc.facilities.declare_home_services({
            "facility_id": facility_id, "effective_date": "2026-01-02",
            "offers": [{"service_kind": k, "daily_capacity": n} for k, n in offers.items()]}, CLERK)
        assert {o["service_kind"]: o["daily_capacity"] for o in answer["home_services"]} == offers
        wait_for(lambda: self.offers_of(facility_id) == len(offers), message=f"orders to learn {facility_id}'s offer")

    def offers_of(self, facility_id: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(home_offers)
                                .where(home_offers.c.facility_id == facility_id)).scalar()

    def events(self, order_id: str | None = None) -> list[str]:
        query = select(events_table.c.type).where(events_table.c.type != CHECKPOINT_EVENT) \
            .order_by(events_table.c.position)
        if order_id:
            query = query.where(events_table.c.stream_id == order_id)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def place(self, **overrides):
        return self.rpc.orders.place_order({"elder_id": "e1", "service_kind": "meals", "caller": "family",
                                            "service_date": TODAY.isoformat(), **overrides}, CLERK)

    def act(self, method: str, order: dict, facility_id: str, **extra):
        return getattr(self.rpc.orders, method)({"order_id": order["order_id"], "facility_id": facility_id,
                                                 **extra}, CLERK)


@pytest.fixture
def system(rabbit_config, database_url, tmp_path, container_factory):
    classes = (RegistryService, FacilitiesService, NotificationsService, OrdersService)
    urls = {cls.name: f"sqlite:///{tmp_path / (cls.name + '.db')}" for cls in classes}
    urls["orders"] = database_url
    for service, url in urls.items():
        migrate.upgrade(service, url)
    config = {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(), "RELAY": {"poll_interval": 0.1},
              "REGISTRY": {"status_review_interval_seconds": 3600},
              "NOTIFICATIONS": {"sweep_interval_seconds": 3600, "delivery_interval_seconds": 3600},
              "ORDERS": {"overdue_check_interval_seconds": 3600},
              "CHECKPOINTS": {"interval_seconds": 3600}}
    # Consumers first: orders and notifications declare their queues before anyone publishes.
    containers = {cls.name: container_factory(cls, config) for cls in reversed(classes)}
    for container in containers.values():
        container.start()
    with ClusterRpcProxy(config, timeout=60) as rpc:
        system = System(rpc, database_url, {name: find_database(c).clock for name, c in containers.items()})
        system.config = config
        system.register("e1")
        system.facility("f-village", HOME, {"meals": 1, "bathing": 2})
        system.facility("f-township", NEIGHBOUR, {"meals": 5})
        system.facility("f-county", ELSEWHERE, {"meals": 5, "cleaning": 1})
        yield system
        system.engine.dispose()


def test_an_order_two_facilities_decline_reaches_the_third_and_is_recorded_once(system):
    order = system.place(note="中午一份软饭")
    assert (order["status"], order["facility_id"], order["nearness"]) == ("offered", "f-village", "village")
    order = system.act("decline_order", order, "f-village", reason="厨师请假")
    assert (order["facility_id"], order["nearness"]) == ("f-township", "township")
    order = system.act("decline_order", order, "f-township", reason="送餐车坏了")
    assert (order["facility_id"], order["nearness"]) == ("f-county", "county")
    assert order["declined_by"] == ["f-village", "f-township"]
    with pytest.raises(CommandRejected) as early:                   # completion before acceptance
        system.act("complete_order", order, "f-county")
    assert early.value.field == "order_id"
    system.act("accept_order", order, "f-county")
    with pytest.raises(ConflictError):
        system.act("accept_order", order, "f-county")
    done = system.act("complete_order", order, "f-county", note="已送达")
    assert (done["status"], done["delivered_on"]) == ("completed", TODAY.isoformat())
    assert system.events(order["order_id"]) == [
        "orders.order_placed.v1", "orders.order_offered.v1", "orders.order_declined.v1", "orders.order_offered.v1",
        "orders.order_declined.v1", "orders.order_offered.v1", "orders.order_accepted.v1",
        "orders.order_completed.v1", "orders.meal_delivered.v1"]
    listed = system.rpc.orders.facility_orders({"facility_id": "f-county"})
    assert [(o["order_id"], o["status"]) for o in listed] == [(order["order_id"], "completed")]
    assert system.rpc.orders.facility_orders({"facility_id": "f-village"}) == []
    assert system.rpc.orders.meals_delivered({"month": "2026-11", "division_code": "410928000000"}) == [
        {"elder_id": "e1", "month": "2026-11", "division_code": HOME, "meals": 1}]
    # The declined places are free again: the village facility's one meal a day takes the next order.
    assert system.place()["facility_id"] == "f-village"
    assert system.place()["facility_id"] == "f-township"          # the village's one place is taken
    assert verify_log(system.engine).ok


def test_an_unaccepted_order_escalates_once(system):
    order = system.place(service_kind="bathing", caller="device")
    assert system.rpc.orders.raise_overdue() == 0                     # not yet: a day to accept a bath
    system.clocks["orders"].offset += timedelta(hours=25)
    assert system.rpc.orders.raise_overdue() == 1
    assert system.rpc.orders.raise_overdue() == 0                     # once
    assert system.rpc.orders.get_order(order["order_id"])["unaccepted"] is True

    def alerts():
        return system.rpc.notifications.list_alerts({"kind": "home_service_unaccepted",
                                                     "division_code": "410928000000"})
    wait_for(lambda: len(alerts()) == 1, message="notifications to raise the alert")
    alert = alerts()[0]
    assert alert["elder_id"] == "e1" and alert["division_code"] == HOME
    assert system.events(order["order_id"]).count("orders.order_unaccepted.v1") == 1
    # Declined by the only facility offering baths: no facility left, raised already, not again.
    declined = system.act("decline_order", order, "f-village", reason="浴室维修")
    assert (declined["status"], declined["facility_id"]) == ("unrouted", None)
    assert system.events(order["order_id"]).count("orders.order_unaccepted.v1") == 1
    eventlet.sleep(0.5)
    assert len(alerts()) == 1


def test_every_facility_declining_raises_the_order_at_once(system):
    order = system.place(service_kind="cleaning")
    assert order["facility_id"] == "f-county"
    order = system.act("decline_order", order, "f-county", reason="人手不足")
    assert (order["status"], order["unaccepted"]) == ("unrouted", True)
    wait_for(lambda: len(system.rpc.notifications.list_alerts({"kind": "home_service_unaccepted",
                                                               "division_code": "410928000000"})) == 1,
             message="the alert")
    assert system.rpc.orders.raise_overdue() == 0


def test_orders_a_suspended_facility_still_owes_go_to_the_next_nearest(system):
    waiting = system.place()                                                  # offered to it, meals
    later = system.place(service_kind="bathing", service_date=(TODAY + timedelta(days=1)).isoformat())
    system.act("accept_order", later, "f-village")                            # accepted for tomorrow
    earlier = system.place(service_kind="bathing")
    system.act("accept_order", earlier, "f-village")                          # accepted for today
    system.clocks["orders"].offset += timedelta(hours=25)                     # orders' today: tomorrow
    system.rpc.facilities.suspend_facility({"facility_id": "f-village", "effective_date": TODAY.isoformat(),
                                            "reason": "厨房整修"}, CLERK)
    wait_for(lambda: system.rpc.orders.get_order(waiting["order_id"])["facility_id"] == "f-township",
             message="the waiting order to move")
    moved = system.rpc.orders.get_order(waiting["order_id"])
    assert (moved["status"], moved["declined_by"]) == ("offered", ["f-village"])
    # Nobody else bathes elders: tomorrow's bath is unrouted and raised, not left with a closed door.
    wait_for(lambda: system.rpc.orders.get_order(later["order_id"])["status"] == "unrouted",
             message="the accepted order to leave the facility")
    assert system.rpc.orders.get_order(later["order_id"])["unaccepted"] is True
    wait_for(lambda: len(system.rpc.notifications.list_alerts({"kind": "home_service_unaccepted",
                                                               "division_code": "410928000000"})) == 1,
             message="the alert")
    # A bath of an earlier day may have been given: it stays the facility's to complete.
    assert system.rpc.orders.get_order(earlier["order_id"])["status"] == "accepted"
    assert system.act("complete_order", earlier, "f-village", delivered_on=TODAY.isoformat())["status"] == "completed"
    assert system.place(service_date=(TODAY + timedelta(days=1)).isoformat())["facility_id"] == "f-township"


def test_bad_orders_are_refused_naming_the_field_and_write_nothing(system):
    system.register("e2", 1)
    system.rpc.registry.record_death({"elder_id": "e2", "effective_date": "2026-11-20"}, CLERK)
    wait_for(lambda: system.elder_status("e2") == "deceased", message="orders to learn of the death")
    before = system.events()
    cases = [
        ({"service_kind": "massage"}, ValidationError, "service_kind"),
        ({"caller": "stranger"}, ValidationError, "caller"),
        ({"elder_id": "nobody"}, NotFoundError, "elder_id"),
        ({"elder_id": "e2"}, CommandRejected, "elder_id"),
        ({"facility_id": "f-township", "service_kind": "bathing"}, CommandRejected, "facility_id"),
        ({"service_date": "2026-11-22"}, CommandRejected, "service_date"),
        ({"service_kind": "medical_help"}, CommandRejected, "service_kind"),    # nobody offers it
    ]
    for overrides, error, field in cases:
        with pytest.raises(error) as refused:
            system.place(**overrides)
        assert refused.value.field == field, (overrides, refused.value)
    order = system.place()
    with pytest.raises(CommandRejected) as wrong:
        system.act("accept_order", order, "f-county")
    assert wrong.value.field == "facility_id"
    with pytest.raises(NotFoundError) as unknown:
        system.rpc.orders.accept_order({"order_id": "nope", "facility_id": "f-village"}, CLERK)
    assert unknown.value.field == "order_id"
    with pytest.raises(ValidationError) as float_capacity:
        system.rpc.facilities.declare_home_services({"facility_id": "f-village", "effective_date": "2026-01-03",
                                                     "offers": [{"service_kind": "meals", "daily_capacity": 1.5}]},
                                                    CLERK)
    assert set(float_capacity.value.errors) == {"offers.0.daily_capacity"}
    assert system.events()[len(before):] == ["orders.order_placed.v1", "orders.order_offered.v1"]


def test_the_command_line_places_lists_and_completes(system, tmp_path):
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"AMQP_URI": system.config["AMQP_URI"]}))

    def eldercare(*args):
        return CliRunner().invoke(app, ["--config", str(config), "order", *args])
    placed = eldercare("place", "e1", "meals", "--caller", "elder")
    assert placed.exit_code == 0, placed.output
    assert "f-village (village)" in placed.output
    order_id = re.search(r"ord-[0-9a-f]{20}", placed.output).group(0)
    assert order_id in eldercare("list", "--facility", "f-village").output
    early = eldercare("complete", order_id, "--facility", "f-village")
    assert early.exit_code == 1 and "after accepting" in early.output
    assert eldercare("accept", order_id, "--facility", "f-village").exit_code == 0
    assert "completed" in eldercare("complete", order_id, "--facility", "f-village").output
    unknown = eldercare("place", "e1", "massage")
    assert unknown.exit_code == 1 and "service_kind" in unknown.output
