"""Run a service's Alembic migrations: the kernel branch plus the service's own branch.

On Kubernetes every new pod runs ``eldercare migrate <service>`` as an init container, so
two pods of a rolling update can migrate the same database at once. On PostgreSQL the
upgrade therefore holds a session advisory lock per service: the second waits, then finds
the schema up to date. SQLite is one process per file (and locks the file itself).
"""
from __future__ import annotations

from contextlib import contextmanager

import structlog
from alembic import command
from alembic.config import Config

from kernel.config import REPOSITORY_ROOT
from kernel.db import advisory_lock, normalise_url

log = structlog.get_logger(__name__)

KERNEL_MIGRATIONS = REPOSITORY_ROOT / "kernel" / "migrations"


def alembic_config(service: str, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(KERNEL_MIGRATIONS))
    locations = [KERNEL_MIGRATIONS / "versions"]
    service_versions = REPOSITORY_ROOT / "services" / service / "migrations" / "versions"
    if service_versions.is_dir():
        locations.append(service_versions)
    config.set_main_option("version_locations", " ".join(str(p) for p in locations))
    config.set_main_option("path_separator", "space")
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return config


def upgrade(service: str, database_url: str) -> None:
    """Bring ``service``'s database to the newest schema (idempotent; one migrator at a
    time per database on PostgreSQL)."""
    with migration_lock(service, database_url):
        command.upgrade(alembic_config(service, database_url), "heads")


@contextmanager
def migration_lock(service: str, database_url: str):
    url = normalise_url(database_url)
    if not url.startswith("postgresql"):
        yield
        return
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool
    engine = create_engine(url, poolclass=NullPool)
    try:
        with advisory_lock(engine, f"eldercare-migrate:{service}", wait=False) as held:
            if held:
                yield
                return
        log.info("another migrator holds the lock; waiting for it", service=service)
        with advisory_lock(engine, f"eldercare-migrate:{service}", wait=True):
            yield
    finally:
        engine.dispose()
