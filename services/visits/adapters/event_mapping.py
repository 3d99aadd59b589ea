"""Domain events ↔ the wire for the visits log (the contract schemas validate)."""
from __future__ import annotations

from kernel.catalogue import EventCatalogue
from kernel.clock import start_of_local_day
from kernel.envelope import Actor, Envelope, PendingEvent
from services.visits.domain import EVENT_TYPES, Findings, Recipient, Risk

VALUE_OBJECTS = {
    "findings": lambda item: Findings(**item),
    "risks": lambda items: tuple(Risk(**item) for item in items),
    "recipients": lambda items: tuple(Recipient(**item) for item in items),
    "services": tuple, "classes": tuple, "previous_classes": tuple, "village_codes": tuple,
    "visit_ids": tuple, "differences": tuple,
}


def event_from_envelope(envelope: Envelope, catalogue: EventCatalogue):
    values = catalogue.deserialize(envelope.type, envelope.data)
    return EVENT_TYPES[envelope.type](**{k: VALUE_OBJECTS.get(k, lambda v: v)(v) for k, v in values.items()})


def stream_id_of(event) -> str:
    return getattr(event, "elder_id", None) or event.visitor_id


def to_pending(event, catalogue: EventCatalogue, *, actor: Actor, jurisdiction: str,
               correlation_id: str | None = None, causation_id: str | None = None) -> PendingEvent:
    """The effective date becomes the envelope's ``time`` (start of that local day)."""
    return PendingEvent(stream_id=stream_id_of(event), type=event.TYPE, data=catalogue.serialize(event.TYPE, event),
                        time=start_of_local_day(event.effective_date), actor=actor, jurisdiction=jurisdiction,
                        correlation_id=correlation_id, causation_id=causation_id)
