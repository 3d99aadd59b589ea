"""The service classes the command line runs, rebuilds and replays: those the service catalogue
(``contracts.services``) names, imported on first use."""
from __future__ import annotations

import importlib

from contracts.services import PROCESSES, SERVICES


def service_class(name: str):
    module, _, attribute = PROCESSES[name].runs.partition(":")
    return getattr(importlib.import_module(module), attribute)


def projections_of(name: str, config) -> list:
    return list(service_class(name).db.projections_for(config))


def catalogue_of(name: str):
    return service_class(name).db.catalogue


__all__ = ["SERVICES", "service_class", "projections_of", "catalogue_of"]
