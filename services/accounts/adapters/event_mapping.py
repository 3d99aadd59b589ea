"""Domain events ↔ the wire for the accounts log (the contract schemas validate)."""
from __future__ import annotations

from datetime import datetime

from kernel.catalogue import EventCatalogue
from kernel.envelope import Actor, Envelope, PendingEvent
from services.accounts.domain import EVENT_TYPES


def event_from_envelope(envelope: Envelope, catalogue: EventCatalogue):
    return EVENT_TYPES[envelope.type](**catalogue.deserialize(envelope.type, envelope.data))


def to_pending(event, catalogue: EventCatalogue, *, actor: Actor, jurisdiction: str, now: datetime,
               correlation_id: str | None = None, causation_id: str | None = None) -> PendingEvent:
    return PendingEvent(stream_id=event.person_id, type=event.TYPE, data=catalogue.serialize(event.TYPE, event),
                        time=now, actor=actor, jurisdiction=jurisdiction, correlation_id=correlation_id,
                        causation_id=causation_id)
