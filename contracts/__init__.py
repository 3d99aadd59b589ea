"""Public event contracts of every service: type string with version, marshmallow schema,
description. Consumers import the catalogue from here, never another service's package."""
from kernel.catalogue import EventCatalogue

from contracts import accounts, audit, gateway, registry, visits
from contracts import facilities
from contracts import notifications
from contracts import subsidies
from contracts import imports
from contracts import surveys
from contracts import departments
from contracts import orders


def full_catalogue() -> EventCatalogue:
    """Every public event type of every service."""
    catalogue = EventCatalogue()
    for module in (accounts, audit, gateway, registry, visits, facilities, notifications, subsidies, imports,
                   surveys, departments, orders):
        catalogue.merge(module.catalogue())
    return catalogue


CATALOGUE = full_catalogue()
