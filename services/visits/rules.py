"""The visits service's configured rules: the visit-frequency policy file and the division
table. Loaded once per process and checked at start-up, so a bad file stops the service
with a message naming the file and the entry."""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from contracts import CATALOGUE
from kernel.config import REPOSITORY_ROOT
from kernel.divisions import configured_division_table
from kernel.policy_files import load_policy_file
from services.visits.adapters.projections import VisitLedger, VisitPlanDirectory
from services.visits.domain import VisitPolicyBook
from services.visits.handlers import VisitsContext

DEFAULT_VISIT_POLICY_FILE = REPOSITORY_ROOT / "policies" / "visits.yml"


def load_visit_policies(path: str) -> VisitPolicyBook:
    return load_policy_file(path, VisitPolicyBook.from_dict, "VISIT_POLICY_FILE")


def visits_context(config) -> VisitsContext:
    path = str(config.get("VISIT_POLICY_FILE") or DEFAULT_VISIT_POLICY_FILE)
    return VisitsContext(CATALOGUE, load_visit_policies(path), configured_division_table(config))


def visits_projections(config):
    return [VisitPlanDirectory(CATALOGUE), VisitLedger()]


class VisitsRules(DependencyProvider):
    """Hands each worker the visits context (catalogue, visit policy, division table)."""

    def setup(self):
        self.context = visits_context(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.context
