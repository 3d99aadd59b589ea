"""Loading the facilities service's configured rules: the grant policy file. Loaded once
per process and checked at start-up, so a bad file stops the service with a message
naming the file and the entry — not the first command that needs it."""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from contracts import CATALOGUE
from kernel.config import REPOSITORY_ROOT
from kernel.policy_files import load_policy_file
from services.facilities.adapters.projections import FacilityReadModel
from services.facilities.domain import GrantPolicyBook
from services.facilities.handlers import FacilitiesContext

DEFAULT_POLICY_FILE = REPOSITORY_ROOT / "policies" / "facilities.yml"


def load_grant_policies(path: str) -> GrantPolicyBook:
    return load_policy_file(path, GrantPolicyBook.from_dict, "FACILITIES.policy_file")


def policy_file(config) -> str:
    return str((config.get("FACILITIES") or {}).get("policy_file") or DEFAULT_POLICY_FILE)


def facilities_context(config) -> FacilitiesContext:
    return FacilitiesContext(CATALOGUE, load_grant_policies(policy_file(config)))


def facilities_projections(_config=None):
    return [FacilityReadModel()]


class FacilitiesRules(DependencyProvider):
    """The configured grant policy, loaded and checked when the service starts."""

    def setup(self):
        self.context = facilities_context(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.context
