"""Run a service's Alembic migrations: the kernel branch plus the service's own branch."""
from __future__ import annotations

from alembic import command
from alembic.config import Config

from kernel.config import REPOSITORY_ROOT
from kernel.db import normalise_url

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
    """Bring ``service``'s database to the newest schema (idempotent)."""
    command.upgrade(alembic_config(service, database_url), "heads")


def current_heads(service: str, database_url: str) -> list[str]:
    from alembic.script import ScriptDirectory
    return list(ScriptDirectory.from_config(alembic_config(service, database_url)).get_heads())
