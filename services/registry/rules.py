"""Loading the registry's configured rules: the jurisdiction policy file and the division
table. Loaded once per process and checked at start-up, so a bad file stops the service
with a message naming the file and the entry — not the first command that needs it."""
from __future__ import annotations

from functools import lru_cache

import yaml
from nameko.extensions import DependencyProvider

from contracts import CATALOGUE
from kernel.config import REPOSITORY_ROOT, repository_path
from kernel.errors import PolicyError
from services.registry.adapters.divisions import DEFAULT_DIVISION_FILES, DivisionTable
from services.registry.adapters.projections import ElderDirectory
from services.registry.domain import PolicyBook
from services.registry.handlers import RegistryContext

DEFAULT_POLICY_FILE = REPOSITORY_ROOT / "policies" / "jurisdictions.yml"


@lru_cache(maxsize=8)
def load_policy_book(path: str) -> PolicyBook:
    try:
        with open(repository_path(path), encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc}", field="POLICY_FILE") from exc
    try:
        return PolicyBook.from_dict(data or {})
    except PolicyError as exc:
        raise PolicyError(f"{path}: {exc.message}", field=exc.field) from exc


@lru_cache(maxsize=8)
def load_division_table(paths: tuple[str, ...]) -> DivisionTable:
    return DivisionTable.from_files(repository_path(p) for p in paths)


def policy_file(config) -> str:
    return str(config.get("POLICY_FILE") or DEFAULT_POLICY_FILE)


def division_files(config) -> tuple[str, ...]:
    configured = config.get("DIVISION_FILES")
    if not configured:
        return tuple(str(p) for p in DEFAULT_DIVISION_FILES)
    return tuple(configured.split() if isinstance(configured, str) else configured)


def registry_context(config) -> RegistryContext:
    return RegistryContext(CATALOGUE, load_policy_book(policy_file(config)),
                           load_division_table(division_files(config)))


def registry_projections(config):
    return [ElderDirectory(CATALOGUE, lambda: load_policy_book(policy_file(config)))]


class RegistryRules(DependencyProvider):
    """Hands each worker the registry context (catalogue, policy book, division table)."""

    def setup(self):
        self.context = registry_context(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.context
