"""The visits service's configured rules: the visit-frequency policy file and the division
table. Loaded once per process and checked at start-up, so a bad file stops the service
with a message naming the file and the entry."""
from __future__ import annotations

from functools import lru_cache

import yaml
from nameko.extensions import DependencyProvider

from contracts import CATALOGUE
from kernel.config import REPOSITORY_ROOT, repository_path
from kernel.divisions import configured_division_table
from kernel.errors import PolicyError
from services.visits.adapters.projections import VisitLedger, VisitPlanDirectory
from services.visits.domain import VisitPolicyBook
from services.visits.handlers import VisitsContext

DEFAULT_VISIT_POLICY_FILE = REPOSITORY_ROOT / "policies" / "visits.yml"


@lru_cache(maxsize=8)
def load_visit_policies(path: str) -> VisitPolicyBook:
    try:
        with open(repository_path(path), encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"cannot read visit policy file {path}: {exc}", field="VISIT_POLICY_FILE") from exc
    try:
        return VisitPolicyBook.from_dict(data or {})
    except PolicyError as exc:
        raise PolicyError(f"{path}: {exc.message}", field=exc.field) from exc


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
