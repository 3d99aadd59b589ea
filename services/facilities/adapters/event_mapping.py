"""Domain events ↔ the wire. The contract schemas (``contracts.facilities``) validate; this
module only turns plain strings into the domain's enums and lists into tuples."""
from __future__ import annotations

from kernel.catalogue import EventCatalogue
from kernel.clock import start_of_local_day
from kernel.envelope import Actor, Envelope, PendingEvent
from services.facilities.domain import (EVENT_TYPES, AdmissionKind, FacilityDetailsChanged, FacilityEvent,
                                        FacilityKind, HomeServiceOffer, OperatingModel)


def _offers(value) -> tuple:
    """Offers as loaded (dicts) → the domain's value objects; the domain checks each."""
    return tuple(HomeServiceOffer(o.get("service_kind"), o.get("daily_capacity")) if isinstance(o, dict) else o
                 for o in value)

VALUE_OBJECTS = {
    "kind": FacilityKind,
    "facility_kind": FacilityKind,
    "operating_model": OperatingModel,
    "admission_kind": AdmissionKind,
    "services": tuple,
    "moved_elder_ids": tuple,
    "offers": _offers,
}


def to_domain_values(data: dict) -> dict:
    """Plain strings and lists → the domain's enums and tuples, by field name."""
    return {name: VALUE_OBJECTS[name](value) if name in VALUE_OBJECTS and value is not None else value
            for name, value in data.items()}


def event_from_envelope(envelope: Envelope, catalogue: EventCatalogue) -> FacilityEvent:
    event_class = EVENT_TYPES[envelope.type]
    values = to_domain_values(catalogue.deserialize(envelope.type, envelope.data))
    if event_class is FacilityDetailsChanged:
        values["changes"] = to_domain_values(values["changes"])
    return event_class(**values)


def to_pending(event: FacilityEvent, catalogue: EventCatalogue, *, actor: Actor, jurisdiction: str,
               correlation_id: str | None, causation_id: str | None) -> PendingEvent:
    """The effective date becomes the envelope's ``time`` (start of that local day)."""
    return PendingEvent(stream_id=event.facility_id, type=event.TYPE, data=catalogue.serialize(event.TYPE, event),
                        time=start_of_local_day(event.effective_date), actor=actor, jurisdiction=jurisdiction,
                        correlation_id=correlation_id, causation_id=causation_id)
