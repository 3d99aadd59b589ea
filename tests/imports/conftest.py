"""The imports and registry services in real nameko containers over real RabbitMQ, with
SQLite databases and a clock pinned to the ledger files' TODAY."""
import base64
import time

import eventlet
import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import func, select

from tests.counting import written_events
from kernel import migrate
from kernel.db import create_service_engine
from kernel.schema import events as events_table
from services.imports.service import ImportsService
from services.registry.service import RegistryService
from tests.imports.ledger_files import TODAY

CLERK = {"department": "civil_affairs", "user": "clerk-1", "role": "county_coordinator"}
COUNTY = "410928000000"


def wait_for(predicate, timeout=120.0, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        eventlet.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


class System:
    def __init__(self, config, urls, rpc, factory):
        self.config, self.urls, self.rpc, self.factory = config, urls, rpc, factory
        self.importer = None

    def start_importer(self):
        self.importer = self.factory(ImportsService, self.config)
        self.importer.start()
        return self.importer

    def events(self, service):
        engine = create_service_engine(self.urls[service])
        with engine.connect() as conn:
            count = conn.execute(written_events()).scalar()
        engine.dispose()
        return count

    def upload(self, content, filename="台账.xlsx", mapping=None):
        return self.rpc.imports.open_import({"filename": filename, "jurisdiction": COUNTY, "mapping": mapping,
                                             "content_base64": base64.b64encode(content).decode()}, CLERK)

    def until(self, import_id, status, timeout=300.0):
        return wait_for(lambda: (lambda v: v if v["status"] == status else None)(
            self.rpc.imports.get_import(import_id)), timeout, f"import {status}")


@pytest.fixture
def system(rabbit_config, tmp_path, container_factory):
    urls = {name: f"sqlite:///{tmp_path / (name + '.db')}" for name in ("registry", "imports")}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    config = {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(), "RELAY": {"poll_interval": 0.2},
              "REGISTRY": {"status_review_interval_seconds": 3600}, "IMPORTS": {"work_interval_seconds": 0.2},
              "max_workers": 10}
    registry = container_factory(RegistryService, config)
    registry.start()
    with ClusterRpcProxy(config, timeout=120) as rpc:
        result = System(config, urls, rpc, container_factory)
        result.start_importer()
        yield result
