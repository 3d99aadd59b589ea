"""Loading the registry's configured rules: the jurisdiction policy file and the division
table. Loaded once per process and checked at start-up, so a bad file stops the service
with a message naming the file and the entry — not the first command that needs it."""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from contracts import CATALOGUE
from contracts.privacy import PrivacyPolicy
from kernel.config import REPOSITORY_ROOT
from kernel.divisions import configured_division_table
from kernel.policy_files import load_policy_file
from services.registry.adapters.projections import ElderDirectory
from services.registry.domain import PolicyBook
from services.registry.handlers import RegistryContext

DEFAULT_POLICY_FILE = REPOSITORY_ROOT / "policies" / "jurisdictions.yml"


def load_policy_book(path: str) -> PolicyBook:
    return load_policy_file(path, PolicyBook.from_dict, "POLICY_FILE")


def policy_file(config) -> str:
    return str(config.get("POLICY_FILE") or DEFAULT_POLICY_FILE)


def registry_context(config) -> RegistryContext:
    return RegistryContext(CATALOGUE, load_policy_book(policy_file(config)), configured_division_table(config),
                           PrivacyPolicy.load((config.get("PRIVACY") or {}).get("policy_file")))


def registry_projections(config):
    return [ElderDirectory(CATALOGUE, lambda: load_policy_book(policy_file(config)))]


class RegistryRules(DependencyProvider):
    """Hands each worker the registry context (catalogue, policy book, division table)."""

    def setup(self):
        self.context = registry_context(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.context
