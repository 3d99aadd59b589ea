"""/metrics read against the real broker: consumer lag per consumer queue (events waiting),
parked events, consumers attached, the gateway's outbox backlog, and what a scrape says when
the broker does not answer. Only the gateway runs: nothing consumes the queues."""
import time

import amqp
import kombu
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.auth import Principal
from gateway.metrics import QueueCollector, consumer_subscriptions
from gateway.service import GatewayService
from gateway.timeline import record_read
from kernel import migrate
from kernel.providers import Database, OutboxRelayRunner, find_database
from kernel.topology import Subscription, declare
from tests.gateway.conftest import METRICS_HEADERS, METRICS_TOKEN
from tests.gateway.test_api import wait_for

QUEUE = "visits.on_registry_event"
READER = Principal("clerk", "civil_affairs", "county_coordinator", "410928000000")


@pytest.fixture
def gateway(rabbit_config, web_config, tmp_path, container_factory):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    migrate.upgrade("gateway", url)
    config = {**rabbit_config, **web_config, "DATABASES": {"gateway": url}, "RELAY": {"poll_interval": 0.1},
              "GATEWAY": {"token_keyring": str(tmp_path / "tokens.yml"), "metrics_token": METRICS_TOKEN}}
    container = container_factory(GatewayService, config)
    container.start()
    return container


def scrape(web_session) -> dict:
    """{metric name: {frozenset of label items: value}} from /metrics."""
    samples = {}
    answer = web_session.get("/metrics", headers=METRICS_HEADERS)
    assert answer.status_code == 200, answer.text
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return samples


def by_queue(samples: dict, name: str) -> dict:
    return {dict(labels)["queue"]: value for labels, value in samples.get(name, {}).items()}


def publish(channel, queue: str, count: int) -> None:
    producer = kombu.Producer(channel)
    for number in range(count):
        producer.publish({"number": number}, routing_key=queue)      # the default exchange: straight to the queue


def test_consumer_lag_is_the_number_of_events_waiting_in_each_consumer_queue(gateway, web_session):
    before = scrape(web_session)
    assert before["eldercare_consumer_lag_up"] == {frozenset(): 1.0}
    assert by_queue(before, "eldercare_consumer_lag_messages") == {}        # no queue declared yet ...
    with kombu.Connection(gateway.config["AMQP_URI"], transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        with pytest.raises(amqp.exceptions.NotFound):                        # ... and reading created none
            channel.queue_declare(queue=QUEUE, passive=True)
        channel = connection.channel()
        for subscription in consumer_subscriptions():                        # what `eldercare topology` does
            declare(channel, subscription)
        publish(channel, QUEUE, 7)
        publish(channel, f"{QUEUE}.dead", 2)
    wait_for(lambda: by_queue(scrape(web_session), "eldercare_consumer_lag_messages").get(QUEUE) == 7)
    after = scrape(web_session)
    lag = by_queue(after, "eldercare_consumer_lag_messages")
    assert set(lag) == {s.consumer for s in consumer_subscriptions()} and len(lag) > 20
    assert {queue: n for queue, n in lag.items() if n} == {QUEUE: 7}
    assert {queue: n for queue, n in by_queue(after, "eldercare_consumer_parked_messages").items() if n} == {QUEUE: 2}
    assert by_queue(after, "eldercare_consumer_queue_consumers")[QUEUE] == 0
    labels = next(dict(k) for k in after["eldercare_consumer_lag_messages"] if dict(k)["queue"] == QUEUE)
    assert labels == {"queue": QUEUE, "service": "visits", "source": "registry"}


def test_outbox_backlog_counts_the_gateways_events_not_yet_published(gateway, web_session):
    assert scrape(web_session)["eldercare_outbox_backlog_events"] == {frozenset({("service", "gateway")}): 0.0}
    relay = next(d for d in gateway.dependencies if isinstance(d, OutboxRelayRunner))
    relay.stop()                                                # appended from now on, nothing is published
    database = Database(find_database(gateway))
    for number in range(3):
        record_read(database, f"elder-{number}", READER, "get_elder", "case review", False, rpc=None)
    assert scrape(web_session)["eldercare_outbox_backlog_events"] == {frozenset({("service", "gateway")}): 3.0}


def test_a_broker_that_does_not_answer_is_reported_not_raised():
    collector = QueueCollector()
    collector.amqp_uri = "amqp://guest:guest@127.0.0.1:1//"          # nothing listens on port 1
    collector.subscriptions = (Subscription(QUEUE, "registry", ("registry.elder_registered.v1",)),)
    started = time.monotonic()
    families = {family.name: family.samples for family in collector.collect()}
    assert time.monotonic() - started < 10
    assert [sample.value for sample in families["eldercare_consumer_lag_up"]] == [0]
    assert families["eldercare_consumer_lag_messages"] == []


def test_every_service_reports_its_outbox_backlog_through_its_ping(gateway, web_session, tmp_path, container_factory):
    """Another service's backlog comes from its ping over RPC (its database is its own); a
    service that is not running is down, and has no backlog sample."""
    from nameko.standalone.rpc import ServiceRpcProxy

    from services.registry.service import RegistryService
    from tests.registry.test_service import CLERK, TODAY, registration
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrate.upgrade("registry", url)
    config = {**gateway.config, "DATABASES": {"registry": url}, "FIXED_TODAY": TODAY.isoformat(),
              "REGISTRY": {"status_review_interval_seconds": 3600}}
    registry = container_factory(RegistryService, config)
    registry.start()
    samples = scrape(web_session)
    up = {dict(labels)["service"]: value for labels, value in samples["eldercare_service_up"].items()}
    assert up == {"registry": 1.0, "visits": 0.0, "audit": 0.0, "notifications": 0.0, "facilities": 0.0,
                  "subsidies": 0.0, "accounts": 0.0, "imports": 0.0, "surveys": 0.0, "departments": 0.0,
                  "orders": 0.0}
    backlog = {dict(labels)["service"]: value for labels, value in samples["eldercare_outbox_backlog_events"].items()}
    assert backlog == {"gateway": 0.0, "registry": 0.0}

    next(d for d in registry.dependencies if isinstance(d, OutboxRelayRunner)).stop()   # nothing published now
    with ServiceRpcProxy("registry", config) as proxy:
        proxy.register_elder(registration("elder-1"), CLERK)
        proxy.register_elder(registration("elder-2", sequence=1), CLERK)
    backlog = {dict(labels)["service"]: value
               for labels, value in scrape(web_session)["eldercare_outbox_backlog_events"].items()}
    assert backlog["registry"] >= 2 and backlog["gateway"] == 0.0


def test_events_a_consumer_rejected_as_inauthentic_are_a_counter_per_service_queue_and_reason(monkeypatch):
    """Each service's ping carries its consumers' rejections (kernel.authenticity); a service
    that does not answer has no sample."""
    import gateway.metrics as metrics
    rejected = [{"queue": "visits.on_registry_event", "reason": "hash", "count": 2},
                {"queue": "visits.on_registry_event", "reason": "unsigned", "count": 1}]
    monkeypatch.setattr(metrics, "ping_services", lambda uri, names: {
        "visits": {"outbox_backlog": 0, "events_rejected": rejected}, "registry": None})
    monkeypatch.setattr(metrics, "queue_depths", lambda uri, names: {})
    collector = QueueCollector()
    collector.amqp_uri, collector.services = "amqp://guest:guest@127.0.0.1:1//", ("visits", "registry")
    [family] = [f for f in collector.collect() if f.name == "eldercare_events_rejected"]
    assert family.type == "counter"
    assert {(s.name, s.labels["reason"], s.value) for s in family.samples} == {
        ("eldercare_events_rejected_total", "hash", 2), ("eldercare_events_rejected_total", "unsigned", 1)}
    assert {s.labels["service"] for s in family.samples} == {"visits"}
