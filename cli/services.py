"""Which services exist, where their nameko class is, and which projections they can
rebuild. The one place the command line learns about services."""
from __future__ import annotations

import importlib

SERVICE_CLASSES = {
    "registry": "services.registry.service:RegistryService",
    "visits": "services.visits.service:VisitsService",
    "audit": "services.audit.service:AuditWitnessService",
    "notifications": "services.notifications.service:NotificationsService",
    "facilities": "services.facilities.service:FacilitiesService",
    "subsidies": "services.subsidies.service:SubsidiesService",
}


def service_class(name: str):
    module, _, attribute = SERVICE_CLASSES[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def projections_of(name: str, config) -> list:
    return list(service_class(name).db.projections_for(config))


def catalogue_of(name: str):
    return service_class(name).db.catalogue
