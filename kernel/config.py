"""Configuration: one ``config.yml`` (nameko's format, ``${ENV_VAR:default}`` substitution),
read by the services through nameko and by command-line tools through ``load_config``."""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
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


def gateway_base_url(config: dict) -> str:
    """Where a person on this machine reaches the gateway: ``GATEWAY.public_url`` when set
    (behind a proxy or TLS), else ``WEB_SERVER_ADDRESS`` with a wildcard host (``0.0.0.0``,
    ``::``) read as this machine."""
    public = (config.get("GATEWAY") or {}).get("public_url")
    if public:
        return str(public).rstrip("/")
    address = str(config.get("WEB_SERVER_ADDRESS") or "0.0.0.0:8000")
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{port or 8000}"


def broker_management_url(config: dict) -> str:
    """The RabbitMQ management UI of the broker ``AMQP_URI`` names (its conventional port)."""
    from urllib.parse import urlsplit
    return f"http://{urlsplit(amqp_uri(config)).hostname or '127.0.0.1'}:15672"


_ENV_REFERENCE = re.compile(r"\$\{([^}:\s]+)")
_SECRET_KEY = re.compile(r"password|secret|api_key|apikey|credential|master_key$|_token$", re.IGNORECASE)


@dataclass(frozen=True)
class EffectiveSetting:
    key: str                    # dotted path, e.g. NOTIFICATIONS.sms_gateway_url
    value: object               # as the services see it, secrets masked
    variables: tuple[str, ...]  # the environment variables it reads
    from_environment: bool      # one of them is set


def setting_variables(path: str | os.PathLike | None = None) -> dict[str, tuple[str, ...]]:
    """Each leaf setting of the config file (dotted path) and the environment variables its
    ``${VAR:default}`` reads, from the file's text (nothing substituted)."""
    path = Path(path or os.environ.get("ELDERCARE_CONFIG", DEFAULT_CONFIG_FILE))
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader) or {}
    found: dict[str, tuple[str, ...]] = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}{key}" if not prefix else f"{prefix}.{key}")
        else:
            found[prefix] = tuple(_ENV_REFERENCE.findall(str(node)))
    walk(raw, "")
    return found


def mask_secrets(key: str, value):
    """Passwords in URLs (``amqp://user:***@host``) and values of secret-named keys."""
    if value is None:
        return None
    if _SECRET_KEY.search(key):
        return "***" if value != "" else ""        # an unset secret says so
    if isinstance(value, str):
        value = re.sub(r"(//[^/:@\s]+:)[^@/\s]+@", r"\1***@", value)
        return re.sub(r"([?&](?:token|key|secret|password|api_key|access_token)=)[^&\s]+", r"\1***", value,
                      flags=re.IGNORECASE)
    return value


def effective_settings(config: dict, path: str | os.PathLike | None = None) -> list[EffectiveSetting]:
    variables = setting_variables(path)
    rows = []
    for key, names in variables.items():
        value = config
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        rows.append(EffectiveSetting(key, mask_secrets(key, value), names,
                                     any(name in os.environ for name in names)))
    return rows
