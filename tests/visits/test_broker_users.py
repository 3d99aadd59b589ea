"""Each service its own broker user (issue 25): the permission set of
``contracts.broker_permissions``, applied through the management API to the test's vhost.
A service cannot publish to another's exchange, nor onto a queue through the default
exchange, nor read another's queue; with every process on its own user, the topology is
declared, RPC answers and registry events reach visits."""
import secrets
import uuid
from datetime import date
from urllib.parse import unquote, urlsplit

import amqp
import kombu
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from typer.testing import CliRunner

from cli.app import app
from cli.broker import ManagementApi, amqp_uri_for, apply_users, delete_users
from contracts.broker_permissions import TOPOLOGY_USER, all_permissions
from kernel import migrate
from services.registry.service import RegistryService
from services.visits.service import VisitsService
from tests.registry.test_service import CLERK, registration
from tests.visits.test_service import _has_plan, wait_for

TODAY = date(2026, 11, 23)


@pytest.fixture
def broker_users(rabbit_config, request):
    """user → AMQP URI on the test's vhost, each with the permissions a deployment gives it."""
    api = ManagementApi(request.config.getoption("RABBIT_API_URI"))
    base = rabbit_config["AMQP_URI"]
    vhost = unquote(urlsplit(base).path[1:])
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    passwords = {p.user: secrets.token_urlsafe(16) for p in all_permissions()}
    passwords[TOPOLOGY_USER] = secrets.token_urlsafe(16)
    users = apply_users(api, vhost, passwords, prefix)
    yield {user: amqp_uri_for(base, prefix + user, password) for user, password in passwords.items()}
    delete_users(api, users)


def refused(uri, act) -> bool:
    with kombu.Connection(uri) as connection:
        channel = connection.channel()
        try:
            act(channel)
        except amqp.exceptions.AccessRefused:
            return True
    return False


def publish(exchange, key):
    return lambda channel: channel.basic_publish_confirm(amqp.Message(b"{}"), exchange=exchange, routing_key=key)


@pytest.fixture
def deployed(broker_users, rabbit_config, tmp_path, container_factory):
    """Topology declared by the topology user, registry and visits each on its own user."""
    result = CliRunner().invoke(app, ["topology"], env={"AMQP_URI": broker_users[TOPOLOGY_USER]})
    assert result.exit_code == 0, result.output
    urls = {"registry": f"sqlite:///{tmp_path / 'registry.db'}", "visits": f"sqlite:///{tmp_path / 'visits.db'}"}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    config = {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(),
              "RELAY": {"poll_interval": 0.1}, "REGISTRY": {"status_review_interval_seconds": 3600},
              "VISITS": {"period_close_interval_seconds": 3600}}
    containers = [container_factory(service_class, {**config, "AMQP_URI": broker_users[f"eldercare-{service_class.name}"]})
                  for service_class in (VisitsService, RegistryService)]
    for container in containers:
        container.start()
    yield {**config, "AMQP_URI": broker_users["eldercare-gateway"]}     # an RPC client's user
    for container in containers:     # before their users are deleted
        container.stop()


def test_a_service_cannot_publish_to_another_services_exchange_or_read_its_queues(deployed, broker_users):
    visits = broker_users["eldercare-visits"]
    assert refused(visits, publish("registry.events", "registry.elder_died.v1.410928"))
    # The forgery of issue 25 went through the default exchange, straight onto the queue.
    assert refused(visits, publish("", "visits.on_registry_event"))
    assert refused(visits, publish("", "notifications.on_visits_event"))
    # Its own exchange takes only its own event types' routing keys (topic permissions).
    assert refused(visits, publish("visits.events", "registry.elder_died.v1.410928"))
    assert not refused(visits, publish("visits.events", "visits.visit_overdue.v1.410928"))
    assert refused(visits, lambda channel: channel.basic_get("registry.on_facility_event"))
    assert refused(broker_users["eldercare-registry"], lambda channel: channel.basic_get("visits.on_registry_event"))
    assert not refused(visits, lambda channel: channel.basic_get("visits.on_registry_event.dead"))
    # Parking and the consumer's own replays go through its own parking exchange.
    assert not refused(visits, publish("visits.parked", "visits.on_registry_event.dead"))
    assert refused(visits, publish("registry.parked", "registry.on_facility_event"))


def test_rpc_and_events_work_with_every_service_on_its_own_user(deployed):
    with ServiceRpcProxy("registry", deployed) as registry, ServiceRpcProxy("visits", deployed) as visits:
        registry.register_elder(registration("elder-1", left_on="2025-12-01"), CLERK)
        wait_for(lambda: _has_plan(visits, "elder-1"), message="the registry's event applied by visits")
        assert visits.get_plan("elder-1")["classes"] == ["general", "key_target"]
