"""Public event contracts of every service: type string with version, marshmallow schema,
description. Consumers import the catalogue from here, never another service's package."""
from kernel.catalogue import EventCatalogue

from contracts import registry, visits


def full_catalogue() -> EventCatalogue:
    """Every public event type of every service."""
    catalogue = EventCatalogue()
    for module in (registry, visits):
        catalogue.merge(module.catalogue())
    return catalogue


CATALOGUE = full_catalogue()
