"""Domain events ↔ the wire for the subsidies log (the contract schemas validate)."""
from __future__ import annotations

from kernel.catalogue import EventCatalogue
from kernel.clock import start_of_local_day
from kernel.envelope import Actor, Envelope, PendingEvent
from services.subsidies.domain import EVENT_TYPES, EntryEvent, payments_stream_for
from services.subsidies.domain.month import Month


def run_event_from_envelope(envelope: Envelope, catalogue: EventCatalogue):
    values = catalogue.deserialize(envelope.type, envelope.data)
    return EVENT_TYPES[envelope.type](**values)


def to_pending(event, catalogue: EventCatalogue, *, actor: Actor, correlation_id: str | None = None,
               causation_id: str | None = None) -> PendingEvent:
    """Run events go to the run's stream under the jurisdiction; entries to the run's
    payments stream under the beneficiary's division (the routing partition)."""
    if isinstance(event, EntryEvent):
        stream_id = payments_stream_for(event.jurisdiction, Month.parse(event.month))
        jurisdiction = event.division_code
    else:
        stream_id, jurisdiction = event.run_id, event.jurisdiction.ljust(12, "0")
    return PendingEvent(stream_id=stream_id, type=event.TYPE, data=catalogue.serialize(event.TYPE, event),
                        time=start_of_local_day(event.effective_date), actor=actor, jurisdiction=jurisdiction,
                        correlation_id=correlation_id, causation_id=causation_id)
