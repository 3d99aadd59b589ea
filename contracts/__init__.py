"""Public event contracts of every service: type string with version, marshmallow schema,
description. Consumers import the catalogue from here, never another service's package."""
from kernel.catalogue import EventCatalogue

from contracts import audit, registry, visits
from contracts import facilities
from contracts import notifications


def full_catalogue() -> EventCatalogue:
    """Every public event type of every service."""
    catalogue = EventCatalogue()
    for module in (audit, registry, visits, facilities, notifications):
        catalogue.merge(module.catalogue())
    return catalogue


CATALOGUE = full_catalogue()
