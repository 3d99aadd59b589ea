"""Throw-away infrastructure for one benchmark run: SQLite files in a temp directory,
PostgreSQL databases ``eldercare_bench_<random>_<label>`` (dropped after), a RabbitMQ vhost
created and deleted through the management API, and the seeded event log shared by the
relay, rebuild and verify benchmarks."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import quote, urlparse

from sqlalchemy.engine import Engine, make_url

from bench import workload
from kernel import migrate
from kernel.db import (  # sets PSYCOPG_WAIT_FUNC before psycopg loads
    create_service_engine,
    transaction,
)
from kernel.store import SqlAlchemyEventStore

POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("BENCH_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
RABBIT_API_URL = os.environ.get("BENCH_RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class Backend(ABC):
    """Hands out fresh, empty databases of one kind and removes them all on ``close``."""

    name: str

    @abstractmethod
    def new_url(self, label: str) -> str: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def server_version(self) -> str: ...


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, directory: str | None = None):
        self._own = directory is None
        self.directory = directory or tempfile.mkdtemp(prefix="eldercare_bench_")

    def new_url(self, label: str) -> str:
        return f"sqlite:///{os.path.join(self.directory, f'{label}_{uuid.uuid4().hex[:6]}.db')}"

    def close(self) -> None:
        if self._own:
            shutil.rmtree(self.directory, ignore_errors=True)

    def server_version(self) -> str:
        import sqlite3
        return f"SQLite {sqlite3.sqlite_version}"


class PostgresBackend(Backend):
    name = "postgresql"

    def __init__(self, admin_url: str = POSTGRES_ADMIN_URL):
        import psycopg
        self._psycopg = psycopg
        self.admin = make_url(admin_url)
        self.prefix = f"eldercare_bench_{uuid.uuid4().hex[:8]}"
        self._created: list[str] = []
        self._conninfo = (f"host={self.admin.host or '127.0.0.1'} port={self.admin.port or 5432} "
                          f"user={self.admin.username or 'postgres'} dbname={self.admin.database or 'postgres'}"
                          + (f" password={self.admin.password}" if self.admin.password else ""))
        with psycopg.connect(self._conninfo, autocommit=True) as conn:  # fail early if unreachable
            self._version = conn.execute("SHOW server_version").fetchone()[0]

    def new_url(self, label: str) -> str:
        name = f"{self.prefix}_{label}_{len(self._created)}"
        with self._psycopg.connect(self._conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return self.admin.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        with self._psycopg.connect(self._conninfo, autocommit=True) as conn:
            for name in self._created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.clear()

    def server_version(self) -> str:
        return f"PostgreSQL {self._version}"


def open_backend(name: str) -> Backend:
    if name == "sqlite":
        return SqliteBackend()
    if name in ("postgresql", "postgres", "pg"):
        return PostgresBackend()
    raise ValueError(f"unknown backend {name!r} (sqlite, postgresql)")


# -- RabbitMQ -----------------------------------------------------------------------
@contextmanager
def throwaway_vhost(amqp_url: str = AMQP_URL, api_url: str = RABBIT_API_URL):
    """A fresh vhost (management API), yielded as an AMQP URI; deleted afterwards."""
    from nameko.testing.rabbit import Client

    client = Client(api_url)
    parts = urlparse(amqp_url)
    vhost = f"eldercare_bench_{uuid.uuid4().hex[:10]}"
    client.create_vhost(vhost)
    try:
        client.set_vhost_permissions(vhost, parts.username or "guest", ".*", ".*", ".*")
        yield parts._replace(path="/" + quote(vhost, safe="")).geturl()
    finally:
        client.delete_vhost(vhost)


def rabbit_version(api_url: str = RABBIT_API_URL) -> str:
    try:
        from nameko.testing.rabbit import Client
        return f"RabbitMQ {Client(api_url)._get('overview')['rabbitmq_version']}"
    except Exception:  # noqa: BLE001 - only for the report header
        return "RabbitMQ ?"


# -- the seeded log -------------------------------------------------------------------
@dataclass
class EventLog:
    """A migrated service database holding ``events`` valid, hash-chained events."""

    url: str
    engine: Engine
    store: SqlAlchemyEventStore
    events: int = 0
    notes: list[str] = field(default_factory=list)

    def dispose(self) -> None:
        self.engine.dispose()


def new_service_database(backend: Backend, label: str, service: str = workload.SOURCE) -> tuple[str, Engine]:
    url = backend.new_url(label)
    migrate.upgrade(service, url)
    return url, create_service_engine(url)


def seed_log(backend: Backend, n: int, batch_size: int = 1000, streams_per_batch: int = 10,
             stream_count: int = 1000) -> EventLog:
    """Append ``n`` events through the kernel (the only way to get a valid hash chain)."""
    url, engine = new_service_database(backend, "log")
    store = SqlAlchemyEventStore(engine, workload.SOURCE, workload.bench_catalogue())
    versions: dict[str, int] = {}
    for batch in workload.plan_batches(n, batch_size, streams_per_batch, stream_count):
        streams = {stream for stream, _ in batch}
        with transaction(engine) as conn:
            store.append(conn, [workload.pending(s, d) for s, d in batch],
                         {s: versions.get(s, 0) for s in streams})
        for stream, _ in batch:
            versions[stream] = versions.get(stream, 0) + 1
    return EventLog(url, engine, store, n)
