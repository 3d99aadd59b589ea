"""The subsidies service's configured rules: the subsidy policy file (programmes and rule
versions). Loaded once per process and checked at start-up, so a bad file stops the service
with a message naming the file and the entry."""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from contracts import CATALOGUE
from kernel.config import REPOSITORY_ROOT
from kernel.policy_files import load_policy_file
from services.subsidies.adapters.projections import LedgerProjection, RunsProjection
from services.subsidies.domain import SubsidyRuleBook
from services.subsidies.handlers import SubsidiesContext

DEFAULT_SUBSIDY_POLICY_FILE = REPOSITORY_ROOT / "policies" / "subsidies.yml"


def load_subsidy_rules(path: str) -> SubsidyRuleBook:
    return load_policy_file(path, SubsidyRuleBook.from_dict, "SUBSIDY_POLICY_FILE")


def subsidies_context(config) -> SubsidiesContext:
    path = str(config.get("SUBSIDY_POLICY_FILE") or DEFAULT_SUBSIDY_POLICY_FILE)
    return SubsidiesContext(CATALOGUE, load_subsidy_rules(path))


def subsidies_projections(config):
    return [RunsProjection(), LedgerProjection()]


class SubsidiesRules(DependencyProvider):
    """Hands each worker the subsidies context (catalogue, rule book)."""

    def setup(self):
        self.context = subsidies_context(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.context
