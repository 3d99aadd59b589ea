"""Loading the facilities service's configured rules: the grant policy file. Loaded once
per process and checked at start-up, so a bad file stops the service with a message
naming the file and the entry — not the first command that needs it."""
from __future__ import annotations

from functools import lru_cache

import yaml
from nameko.extensions import DependencyProvider

from contracts import CATALOGUE
from kernel.config import REPOSITORY_ROOT, repository_path
from kernel.errors import PolicyError
from services.facilities.adapters.projections import FacilityDirectory, ResidenceLog
from services.facilities.domain import GrantPolicyBook
from services.facilities.handlers import FacilitiesContext

DEFAULT_POLICY_FILE = REPOSITORY_ROOT / "policies" / "facilities.yml"


@lru_cache(maxsize=8)
def load_grant_policies(path: str) -> GrantPolicyBook:
    try:
        with open(repository_path(path), encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"cannot read facility policy file {path}: {exc}", field="FACILITIES.policy_file") from exc
    try:
        return GrantPolicyBook.from_dict(data or {})
    except PolicyError as exc:
        raise PolicyError(f"{path}: {exc.message}", field=exc.field) from exc


def policy_file(config) -> str:
    return str((config.get("FACILITIES") or {}).get("policy_file") or DEFAULT_POLICY_FILE)


def facilities_context(config) -> FacilitiesContext:
    return FacilitiesContext(CATALOGUE, load_grant_policies(policy_file(config)))


def facilities_projections(_config=None):
    return [FacilityDirectory(), ResidenceLog()]


class FacilitiesRules(DependencyProvider):
    """The configured grant policy, loaded and checked when the service starts."""

    def setup(self):
        self.context = facilities_context(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.context
