"""A deployment without an SMS gateway or mail server (issue 24): said once at start and by
``delivery_readiness`` (``eldercare status``), not a warning per delivery, and not a
``contact_unreachable`` alert for every family member whose only channel is SMS."""
from datetime import timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select
from structlog.testing import capture_logs

from tests.counting import written_events
from kernel import migrate
from kernel.db import create_service_engine
from kernel.logging import configure_logging
from kernel.providers import find_database
from kernel.schema import events as events_table
from services.notifications.service import NotificationsService
from tests.notifications.test_service import (CLERK, VILLAGE_COMMITTEE, FakeRegistry, FakeVisits, register_elder,
                                              report_risk, wait_for)


@pytest.fixture
def system(rabbit_config, tmp_path, container_factory):
    urls = {name: f"sqlite:///{tmp_path / (name + '.db')}" for name in ("notifications", "visits", "registry")}
    migrate.upgrade("notifications", urls["notifications"])
    for producer in ("visits", "registry"):
        migrate.upgrade("kernel-only", urls[producer])
    config = {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": "2026-11-23", "RELAY": {"poll_interval": 0.1},
              "NOTIFICATIONS": {"sweep_interval_seconds": 3600, "delivery_interval_seconds": 0.2,
                                "sms_gateway_url": None, "smtp_host": None}}
    import kombu

    from kernel.topology import declare_archive
    with kombu.Connection(rabbit_config["AMQP_URI"]) as connection:   # as `eldercare topology` does
        declare_archive(connection.default_channel, "notifications")
    service = container_factory(NotificationsService, config)
    configure_logging("notifications")       # before capturing: a later configure would replace it
    with capture_logs() as start_lines:
        service.start()
    for producer in (FakeVisits, FakeRegistry):
        container_factory(producer, config).start()

    class System:
        engine = create_service_engine(urls["notifications"])
        clock = find_database(service).clock
        started = start_lines

        def publish(self, source, *args):
            with ServiceRpcProxy(source, config) as producer:
                producer.publish(*args)

        def event_count(self, event_type):
            with self.engine.connect() as conn:
                return conn.execute(written_events()
                                    .where(events_table.c.type == event_type)).scalar()

    running = System()
    with ServiceRpcProxy("notifications", config) as rpc:
        running.rpc = rpc
        yield running
    running.engine.dispose()


def test_a_missing_sms_gateway_is_said_once_not_per_delivery_nor_as_an_alert_per_family(system):
    said = [line for line in system.started if "not configured" in line["event"]]
    assert sorted(line["channel"] for line in said) == ["email", "sms"]
    assert {line["log_level"] for line in said} == {"warning"}
    system.rpc.set_party_contacts({"party": VILLAGE_COMMITTEE, "channels": [
        {"channel": "inbox", "address": VILLAGE_COMMITTEE}]}, CLERK)
    register_elder(system)                   # the son's phone: SMS is his only channel
    with capture_logs() as lines:
        report_risk(system, "risk-1", kind="home_safety_hazard")   # village committee + family
        wait_for(lambda: system.rpc.inbox(VILLAGE_COMMITTEE), message="the village committee's inbox")
        failed = "notifications.delivery_failed.v1"
        for attempt in (1, 2, 3):            # national policy: 3 attempts, 30 s and 120 s apart
            wait_for(lambda: system.event_count(failed) >= attempt, message=f"SMS attempt {attempt} failed")
            system.clock.offset += timedelta(seconds=130)
    kinds = sorted(alert["kind"] for alert in system.rpc.list_alerts({}))
    assert kinds == ["home_safety_hazard"], kinds
    assert not [line for line in lines if line["log_level"] in ("warning", "error")], \
        [line["event"] for line in lines if line["log_level"] in ("warning", "error")]
    readiness = system.rpc.delivery_readiness()
    assert sorted(readiness["unconfigured_channels"]) == ["email", "sms"]
    assert "SMS_GATEWAY_URL" in readiness["unconfigured_channels"]["sms"]
    assert readiness["unreachable_parties"] == 0
