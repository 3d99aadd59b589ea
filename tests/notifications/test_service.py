"""The notifications service end to end: real nameko containers, real RabbitMQ, real
databases (SQLite and PostgreSQL), a real local HTTP SMS gateway and a real SMTP server.

Stand-in ``visits`` and ``registry`` services publish their events the way the real ones
do — appended to their own log and relayed by the kernel's outbox relay — so the path
broker → durable handler → alert → delivery is the production one.
"""
import json
import subprocess
import sys
import threading
import time
from datetime import timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import eventlet
import pytest
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select

from tests.counting import written_events
from contracts import CATALOGUE
from kernel import migrate
from kernel.clock import start_of_local_day
from kernel.db import create_service_engine
from kernel.envelope import Actor, PendingEvent
from kernel.errors import CommandRejected, NotFoundError, ValidationError
from kernel.providers import OutboxRelayRunner, ServiceDatabase, find_database
from kernel.schema import events as events_table
from services.notifications.adapters.tables import elder_contacts
from services.notifications.service import NotificationsService

VILLAGE = "410928101201"
TOWNSHIP = f"township:{VILLAGE[:9]}"
VILLAGE_COMMITTEE = f"village_committee:{VILLAGE}"
CLERK = {"department": "civil_affairs", "user": "clerk-1", "role": "township_officer"}
DOCTOR = {"department": "health", "user": "dr-zhao", "role": "department_officer"}
VISITS_ACTOR = Actor("civil_affairs", "visitor-7", "village_worker")


def wait_for(predicate, timeout=30.0, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        eventlet.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


class _Producer:
    """Appends an event to its own log; its relay publishes it, as a real service's does."""

    db = ServiceDatabase(CATALOGUE)
    relay = OutboxRelayRunner(poll_interval=0.1)

    @rpc
    def publish(self, stream_id, event_type, data, effective_date, jurisdiction=VILLAGE):
        from datetime import date
        with self.db.unit_of_work() as uow:
            uow.append([PendingEvent(stream_id, event_type, data, start_of_local_day(date.fromisoformat(effective_date)),
                                     VISITS_ACTOR, jurisdiction)], {stream_id: uow.stream_version(stream_id)})


class FakeVisits(_Producer):
    name = "visits"


class FakeRegistry(_Producer):
    name = "registry"


class SmsGateway(BaseHTTPRequestHandler):
    """A local SMS gateway: records each JSON POST; answers with the status the test sets."""

    received: list = []
    status = 200

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(body)
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"id": f"msg-{len(type(self).received)}"}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def sms_gateway():
    SmsGateway.received, SmsGateway.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), SmsGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sms", SmsGateway
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_server(tmp_path):
    """aiosmtpd in its own process (asyncio and eventlet's patching do not mix), delivering to a maildir."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    maildir = tmp_path / "maildir"
    process = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                                "-c", "aiosmtpd.handlers.Mailbox", str(maildir)])
    def accepting():
        with socket.socket() as client:
            return client.connect_ex(("127.0.0.1", port)) == 0
    wait_for(accepting, 15, "the SMTP server to listen")
    yield port, maildir
    process.terminate()
    process.wait(10)


def mails(maildir: Path) -> list:
    return [message_from_bytes(p.read_bytes()) for p in sorted((maildir / "new").glob("*"))] \
        if (maildir / "new").exists() else []


@pytest.fixture
def system(rabbit_config, database_url, tmp_path, container_factory, sms_gateway, smtp_server):
    urls = {"notifications": database_url, "visits": f"sqlite:///{tmp_path / 'visits.db'}",
            "registry": f"sqlite:///{tmp_path / 'registry.db'}"}
    migrate.upgrade("notifications", urls["notifications"])
    for producer in ("visits", "registry"):
        migrate.upgrade("kernel-only", urls[producer])     # the stand-ins need only the kernel's tables
    config = {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": "2026-11-23", "RELAY": {"poll_interval": 0.1},
              "NOTIFICATIONS": {"sweep_interval_seconds": 3600, "delivery_interval_seconds": 0.2,
                                "sms_gateway_url": sms_gateway[0], "smtp_host": "127.0.0.1",
                                "smtp_port": smtp_server[0]}}
    service = container_factory(NotificationsService, config)
    service.start()                   # declares its queues before anything is published
    for producer in (FakeVisits, FakeRegistry):
        container_factory(producer, config).start()

    class System:
        gateway, smtp_port, maildir = sms_gateway[1], smtp_server[0], smtp_server[1]
        engine = create_service_engine(database_url)
        clock = find_database(service).clock

        def __init__(self):
            self.proxy_cm = ServiceRpcProxy("notifications", config)
            self.rpc = self.proxy_cm.start()

        def publish(self, source, *args):
            with ServiceRpcProxy(source, config) as producer:
                producer.publish(*args)

        def event_count(self, event_type=None):
            statement = written_events()
            if event_type is not None:
                statement = statement.where(events_table.c.type == event_type)
            with self.engine.connect() as conn:
                return conn.execute(statement).scalar()

        def open_alerts(self, **filters):
            return self.rpc.list_alerts(filters)

        def sms_to(self, phone):
            return [m for m in self.gateway.received if m["to"] == phone]

    running = System()
    yield running
    running.proxy_cm.stop()
    running.engine.dispose()


def register_elder(system, elder_id="elder-1"):
    system.publish("registry", elder_id, "registry.elder_registered.v1", {
        "elder_id": elder_id, "effective_date": "2026-01-05", "resident_id": "41092819410309002X",
        "name": "王秀英", "sex": "female", "birth_date": "1941-03-09", "division_code": VILLAGE,
        "household_id": f"{VILLAGE}-0001", "address": "城关镇东关村一组3号", "phone": None, "contacts": [],
        "supporters": [{"supporter_id": "s1", "name": "李强", "relationship": "son", "phone": "13800000001",
                        "whereabouts": "广东省东莞市", "left_on": "2025-12-20", "returned_on": None}],
        "carer": None, "income_sources": ["pension"],
        "support_status": {"dibao": False, "tekun": False, "poverty_registered": False}, "health": None,
        "self_care_level": "full_self_care", "lives_alone": True}, "2026-01-05")

    def known():
        with system.engine.connect() as conn:
            return conn.execute(select(elder_contacts.c.name).where(elder_contacts.c.elder_id == elder_id)).scalar()
    wait_for(known, message="the registration to reach notifications")


def report_risk(system, risk_id, kind="infringement", severity="high", elder_id="elder-1"):
    system.publish("visits", elder_id, "visits.risk_reported.v1", {
        "elder_id": elder_id, "effective_date": "2026-11-22", "risk_id": risk_id, "visit_id": f"v-{risk_id}",
        "visitor_id": "visitor-7", "division_code": VILLAGE, "kind": kind, "severity": severity,
        "description": "pension card taken by a lodger; elder frightened"}, "2026-11-22")


def test_a_risk_finding_becomes_an_sms_then_escalates_by_email_when_nobody_acknowledges(system):
    system.rpc.set_party_contacts({"party": VILLAGE_COMMITTEE, "channels": [{"channel": "sms", "address": "13900000001"}]},
                                  CLERK)
    system.rpc.set_party_contacts({"party": TOWNSHIP, "channels": [{"channel": "email", "address": "town@example.org"}]},
                                  CLERK)
    register_elder(system)
    report_risk(system, "risk-1")

    # The village committee and the son each get an SMS at the gateway.
    village_sms = wait_for(lambda: system.sms_to("13900000001"), message="the village committee's SMS")
    wait_for(lambda: system.sms_to("13800000001"), message="the supporter's SMS")
    [alert] = system.open_alerts(kind="infringement")
    assert alert["level"] == "village_committee" and alert["occurrences"] == 1
    assert alert["alert_id"] in village_sms[0]["text"] and "pension card" in village_sms[0]["text"]
    # Public security and justice have no channel on record: each raises an alert to the village.
    unreachable = wait_for(lambda: system.open_alerts(kind="contact_unreachable"))
    assert {a["incident_key"] for a in unreachable} >= {"unreachable:department:public_security:410928",
                                                        "unreachable:department:justice:410928"}

    # A second visitor reports the same kind of risk: the same alert, counted.
    report_risk(system, "risk-2")
    wait_for(lambda: system.rpc.get_alert(alert["alert_id"])["occurrences"] == 2, message="the repeat")
    assert len(system.open_alerts(kind="infringement")) == 1

    # Nobody acknowledges: a day later the sweep escalates to the township, which gets an e-mail.
    assert system.rpc.sweep()["escalated"] == 0
    system.clock.offset += timedelta(hours=25)
    assert system.rpc.sweep()["escalated"] >= 1
    escalated = system.rpc.get_alert(alert["alert_id"])
    assert escalated["level"] == "township"
    assert TOWNSHIP in [r["party"] for r in escalated["routes"]]
    mail = wait_for(lambda: [m for m in mails(system.maildir) if alert["alert_id"] in m["Subject"]],
                    message="the township's e-mail")[0]
    assert mail["To"] == "town@example.org" and "Acknowledge as township:410928101" in mail.get_payload()
    history = [e["type"] for e in system.rpc.history(alert["alert_id"])]
    assert history.count("notifications.alert_escalated.v1") == 1

    # The son was informed, not made responsible; the township acknowledges and closes.
    with pytest.raises(CommandRejected) as refused:
        system.rpc.acknowledge_alert({"alert_id": alert["alert_id"], "party": "supporter:elder-1:s1"}, CLERK)
    assert refused.value.field == "party"
    acknowledged = system.rpc.acknowledge_alert({"alert_id": alert["alert_id"], "party": TOWNSHIP,
                                                 "note": "officer on the way"}, CLERK)
    assert acknowledged["status"] == "acknowledged" and acknowledged["acknowledged_by"] == TOWNSHIP
    system.clock.offset += timedelta(days=5)
    assert system.rpc.get_alert(alert["alert_id"])["level"] == "township"   # acknowledged: no more escalation
    system.rpc.sweep()
    assert system.rpc.get_alert(alert["alert_id"])["level"] == "township"
    closed = system.rpc.close_alert({"alert_id": alert["alert_id"], "party": TOWNSHIP, "outcome": "referred",
                                     "note": "police took the report"}, CLERK)
    assert closed["status"] == "closed" and not system.open_alerts(kind="infringement")


def test_bad_input_names_the_field_and_writes_nothing(system):
    system.rpc.set_party_contacts({"party": VILLAGE_COMMITTEE, "channels": [{"channel": "inbox", "address": VILLAGE_COMMITTEE}]},
                                  CLERK)
    report_risk(system, "risk-1", kind="critical_illness")
    [alert] = wait_for(lambda: system.open_alerts(kind="critical_illness"), message="the alert")
    wait_for(lambda: system.rpc.inbox(VILLAGE_COMMITTEE), message="the inbox message")
    before = system.event_count()
    with pytest.raises(NotFoundError) as refused:
        system.rpc.acknowledge_alert({"alert_id": "al-nobody", "party": VILLAGE_COMMITTEE}, CLERK)
    assert refused.value.field == "alert_id"
    with pytest.raises(CommandRejected) as refused:
        system.rpc.acknowledge_alert({"alert_id": alert["alert_id"], "party": TOWNSHIP}, CLERK)
    assert refused.value.field == "party" and "was not sent to" in refused.value.message
    with pytest.raises(CommandRejected) as refused:   # the health bureau answers for itself
        system.rpc.acknowledge_alert({"alert_id": alert["alert_id"], "party": "department:health:410928"}, CLERK)
    assert refused.value.field == "party"
    with pytest.raises(ValidationError) as refused:
        system.rpc.close_alert({"alert_id": alert["alert_id"], "party": VILLAGE_COMMITTEE}, CLERK)
    assert "outcome" in refused.value.errors
    with pytest.raises(ValidationError) as refused:
        system.rpc.close_alert({"alert_id": alert["alert_id"], "party": VILLAGE_COMMITTEE, "outcome": ""}, CLERK)
    assert "outcome" in refused.value.errors
    with pytest.raises(ValidationError) as refused:
        system.rpc.acknowledge_alert({"alert_id": alert["alert_id"], "party": VILLAGE_COMMITTEE},
                                     {"department": "Bakery!", "user": "x", "role": "admin"})
    assert "department" in refused.value.errors
    assert system.event_count() == before
    doctor = system.rpc.acknowledge_alert({"alert_id": alert["alert_id"], "party": "department:health:410928"}, DOCTOR)
    assert doctor["acknowledged_by"] == "department:health:410928"


def test_a_failing_sms_gateway_is_retried_then_the_inbox_takes_the_message(system):
    system.gateway.status = 503
    system.rpc.set_party_contacts({"party": VILLAGE_COMMITTEE, "channels": [
        {"channel": "sms", "address": "13900000001"}, {"channel": "inbox", "address": VILLAGE_COMMITTEE}]}, CLERK)
    report_risk(system, "risk-1", kind="home_safety_hazard")     # no department, no family: one delivery
    # The gateway sees an SMS before the service records the failure and its retry time; the
    # clock moves on only once the failure is recorded, or the retry is timed from the moved clock.
    failed = "notifications.delivery_failed.v1"
    wait_for(lambda: len(system.sms_to("13900000001")) == 1, message="the first SMS attempt")
    wait_for(lambda: system.event_count(failed) == 1, message="the first attempt's failure recorded")
    for attempt in (2, 3):       # national policy: 3 attempts on a channel, 30 s and 120 s apart
        system.clock.offset += timedelta(seconds=130)
        wait_for(lambda: len(system.sms_to("13900000001")) == attempt, message=f"SMS attempt {attempt}")
        wait_for(lambda: system.event_count(failed) >= attempt, message=f"attempt {attempt}'s failure recorded")
    system.clock.offset += timedelta(seconds=700)
    [message] = wait_for(lambda: system.rpc.inbox(VILLAGE_COMMITTEE), message="the fallback to the inbox")
    assert "home safety hazard" in message["subject"]
    assert len(system.sms_to("13900000001")) == 3
    [delivery] = [e for e in system.rpc.history(f"party:{VILLAGE_COMMITTEE}")]    # the contacts were set once
    assert delivery["type"] == "notifications.party_contacts_set.v1"


def test_device_alarms_dedup_and_silent_devices_raise_an_alert(system):
    alarm = {"device_id": "band-9", "device_kind": "smart_bracelet", "alarm": "bracelet_fall", "elder_id": "elder-1",
             "division_code": VILLAGE}
    first = system.rpc.receive_device_alarm(alarm)
    assert first["severity"] == "critical" and first["kind"] == "bracelet_fall"
    again = system.rpc.receive_device_alarm(alarm)
    assert again["alert_id"] == first["alert_id"] and again["occurrences"] == 2
    with pytest.raises(ValidationError) as refused:
        system.rpc.receive_device_alarm({**alarm, "alarm": "smoke_alarm"})
    assert "alarm" in refused.value.errors
    assert system.rpc.device_heartbeat({k: alarm[k] for k in ("device_id", "device_kind", "elder_id", "division_code")}) \
        == {"device_id": "band-9", "resumed": False}
    system.clock.offset += timedelta(minutes=100)
    assert system.rpc.sweep()["devices_silent"] == 0
    system.clock.offset += timedelta(minutes=30)       # bracelet allowance: 120 minutes
    assert system.rpc.sweep()["devices_silent"] == 1
    assert system.rpc.sweep()["devices_silent"] == 0
    [silent] = system.open_alerts(kind="heartbeat_missing")
    assert "band-9" in silent["summary"]
    resumed = system.rpc.device_heartbeat({k: alarm[k] for k in ("device_id", "device_kind", "elder_id", "division_code")})
    assert resumed["resumed"] is True
    types = [e["type"] for e in system.rpc.history("device:band-9")]
    assert types == ["notifications.device_alarm_received.v1"] * 2 + ["notifications.heartbeat_missing.v1",
                                                                      "notifications.heartbeat_resumed.v1"]


def test_referrals_between_departments_and_the_overdue_ledger(system):
    created = system.rpc.create_referral({"to_department": "health", "division_code": VILLAGE,
                                          "request": "assess the elder's heart condition"}, CLERK)
    assert created["due_on"] == "2026-11-30" and created["status"] == "created"
    referral = created["referral_id"]
    with pytest.raises(CommandRejected) as refused:
        system.rpc.accept_referral({"referral_id": referral}, CLERK)
    assert refused.value.field == "department"
    system.rpc.accept_referral({"referral_id": referral, "note": "Dr Zhao"}, DOCTOR)
    assert [r["referral_id"] for r in system.rpc.list_referrals({"department": "health", "side": "owing"})] == [referral]
    assert system.rpc.list_referrals({"department": "health", "side": "owed"}) == []
    system.clock.offset += timedelta(days=8)
    assert system.rpc.sweep()["referrals_overdue"] == 1
    [overdue] = system.rpc.list_referrals({"status": "overdue", "division_code": "410928000000"})
    assert overdue["referral_id"] == referral
    system.rpc.record_referral_action({"referral_id": referral, "action": "home visit, medication adjusted"}, DOCTOR)
    with pytest.raises(ValidationError) as refused:
        system.rpc.close_referral({"referral_id": referral}, CLERK)
    assert "outcome" in refused.value.errors
    closed = system.rpc.close_referral({"referral_id": referral, "outcome": "resolved"}, CLERK)
    assert closed["status"] == "closed" and system.rpc.list_referrals({"status": "open"}) == []
