"""The whole system behind the gateway: registry, visits, facilities, notifications and the
gateway itself in real nameko containers on one vhost, real SQLite databases, a token
keyring in the test's directory, and a clock pinned to TODAY."""
import os
from datetime import date

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from gateway.auth import Keyring, Principal
from gateway.service import GatewayService
from kernel import migrate
from kernel.providers import find_database
from services.accounts.service import AccountsService
from services.departments.service import DepartmentsService
from services.facilities.service import FacilitiesService
from services.imports.service import ImportsService
from services.orders.service import OrdersService
from services.surveys.service import SurveysService
from services.notifications.service import NotificationsService
from services.registry.service import RegistryService
from services.subsidies.service import SubsidiesService
from services.visits.service import VisitsService
from tests.accounts.support import SECRET_KEY

TODAY = date(2026, 11, 23)
COUNTY = "410928000000"
TOWNSHIP = "410928101000"
VILLAGE = "410928101201"
OTHER_VILLAGE = "410928101202"
OTHER_TOWNSHIP_VILLAGE = "410928102201"
METRICS_TOKEN = "test-metrics-scrape-token"       # GATEWAY.metrics_token: what a Prometheus scrape sends
METRICS_HEADERS = {"Authorization": f"Bearer {METRICS_TOKEN}"}
SERVICES = (RegistryService, VisitsService, FacilitiesService, NotificationsService, SubsidiesService, AccountsService,
            ImportsService, SurveysService, DepartmentsService, OrdersService, GatewayService)


@pytest.fixture
def system(rabbit_config, web_config, tmp_path, container_factory):
    urls = {cls.name: f"sqlite:///{tmp_path / (cls.name + '.db')}" for cls in SERVICES}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    keyring_path = tmp_path / "tokens.yml"
    keyring = Keyring(keyring_path)
    keyring.rotate()
    config = {**rabbit_config, **web_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(),
              "RELAY": {"poll_interval": 0.1}, "REGISTRY": {"status_review_interval_seconds": 3600},
              "VISITS": {"period_close_interval_seconds": 3600},
              "NOTIFICATIONS": {"sweep_interval_seconds": 3600, "delivery_interval_seconds": 3600},
              # The session's keys (tests/conftest.py): the relays sign, the logs are sealed.
              "CHECKPOINTS": {"interval_seconds": 3600, "key_dir": os.environ["CHECKPOINT_KEY_DIR"]},
              # The fuzzer presents bad tokens hundreds of times from one address (its ignored_auth
              # check); the throttle itself is tested with its own limits in test_edges.py.
              "GATEWAY": {"token_keyring": str(keyring_path), "rpc_timeout_seconds": 5, "metrics_token": METRICS_TOKEN,
                          "auth_failures_per_client": 100_000, "auth_failures_per_account": 100_000},
              "IMPORTS": {"work_interval_seconds": 0.2}, "ACCOUNTS": {"secret_key": SECRET_KEY}}
    containers = {}
    for cls in SERVICES:
        containers[cls.name] = container_factory(cls, config)
        containers[cls.name].start()

    class System:
        pass

    system = System()
    system.config, system.keyring, system.containers, system.urls = config, keyring, containers, urls
    system.token = lambda user="clerk", department="civil_affairs", role="county_coordinator", jurisdiction=COUNTY: \
        keyring.issue(Principal(user, department, role, jurisdiction))
    system.clock = lambda service: find_database(containers[service]).clock
    with ServiceRpcProxy("visits", config) as visits:
        system.visits = visits
        yield system


def bearer(system, **who) -> dict:
    """The header a client sends a token in (never the address: addresses end up in logs)."""
    return {"Authorization": f"Bearer {system.token(**who)}"}


@pytest.fixture
def api(system, web_session):
    """``api(method, path, token=..., **kwargs)`` → response; token defaults to a county coordinator."""
    def call(method, path, token=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token is not False:
            headers["Authorization"] = f"Bearer {token or system.token()}"
        return web_session.request(method, path, headers=headers, **kwargs)
    return call
