"""Configuration: one ``config.yml`` (nameko's format, ``${ENV_VAR:default}`` substitution),
read by the services through nameko and by command-line tools through ``load_config``."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import yaml

from kernel.errors import EldercareError

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_FILE = REPOSITORY_ROOT / "config.yml"
class ConfigError(EldercareError):
    code = "config_error"


def load_config(path: str | os.PathLike | None = None) -> dict:
    path = Path(path or os.environ.get("ELDERCARE_CONFIG", DEFAULT_CONFIG_FILE))
    if not path.exists():
        raise ConfigError(f"configuration file {path} not found (set ELDERCARE_CONFIG)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # nameko 2.14's CLI module imports pkg_resources
        from nameko.cli.main import setup_yaml_parser
    setup_yaml_parser()   # ${VAR:default} substitution, registered on yaml.SafeLoader
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


def database_url(config: dict, service: str) -> str:
    try:
        url = config["DATABASES"][service]
    except KeyError:
        raise ConfigError(f"no database URL for service {service!r}: set DATABASES.{service} "
                          f"in config.yml or {service.upper()}_DATABASE_URL") from None
    url = resolve_sqlite_path(str(url))
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    try:
        make_url(url)
    except ArgumentError:
        raise ConfigError(f"DATABASES.{service} ({service.upper()}_DATABASE_URL) is not a database URL: "
                          f"{url!r}; e.g. sqlite:///var/{service}.db or postgresql://user@host/{service}") from None
    return url


def repository_path(path) -> Path:
    """Relative paths in configuration are relative to the repository, not to whatever
    working directory a process was started in."""
    path = Path(str(path))
    return path if path.is_absolute() else REPOSITORY_ROOT / path


def resolve_sqlite_path(url: str) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite:///:memory:":
        return prefix + str(repository_path(url[len(prefix):]))
    return url


def amqp_uri(config: dict) -> str:
    return config.get("AMQP_URI") or "amqp://guest:guest@127.0.0.1:5672/"


def setting(config: dict, section: str, key: str, default):
    return (config.get(section) or {}).get(key, default)
