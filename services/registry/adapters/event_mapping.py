"""Domain events ↔ the wire: dataclasses become contract payloads and back.

The contract schemas (``contracts.registry``) do the validation; this module only turns
nested plain dicts into the domain's value objects and enums.
"""
from __future__ import annotations

from kernel.catalogue import EventCatalogue
from kernel.clock import start_of_local_day
from kernel.envelope import Actor, Envelope, PendingEvent
from services.registry.domain import (EVENT_TYPES, Carer, Contact, DetailsCorrected, ElderEvent,
                                      SelfCareLevel, Supporter, SupportStatus)


def _optional(build):
    return lambda value: None if value is None else build(value)


VALUE_OBJECTS = {
    "contacts": lambda items: tuple(Contact(**item) for item in items),
    "supporters": lambda items: tuple(Supporter(**item) for item in items),
    "carer": _optional(lambda item: Carer(**item)),
    "new_supporter": _optional(lambda item: Supporter(**item)),
    "support_status": lambda item: SupportStatus(**item),
    "previous_support_status": lambda item: SupportStatus(**item),
    "self_care_level": SelfCareLevel,
    "level": SelfCareLevel,
    "previous_level": SelfCareLevel,
    "income_sources": tuple,
    "reasons": tuple,
    "departments": tuple,
    "previous_reasons": tuple,
}


def to_domain_values(data: dict) -> dict:
    """Plain dicts and strings → the domain's value objects and enums, by field name."""
    return {name: VALUE_OBJECTS.get(name, lambda v: v)(value) for name, value in data.items()}


# Decoded events by event id. Events never change and ids are unique, and every command
# folds its elder's stream twice (to decide, then for the directory), so most decodes of a
# stream's older events are repeats. Bounded by clearing: a miss only costs a decode.
_decoded: dict[str, ElderEvent] = {}
_DECODED_LIMIT = 200_000


def forget_decoded() -> None:
    """After an erasure: decoded events hold the personal values as they were read."""
    _decoded.clear()


def event_from_envelope(envelope: Envelope, catalogue: EventCatalogue) -> ElderEvent:
    event = _decoded.get(envelope.id)
    if event is None:
        if len(_decoded) >= _DECODED_LIMIT:
            _decoded.clear()
        event = _decoded[envelope.id] = _decode(envelope, catalogue)
    return event


def _decode(envelope: Envelope, catalogue: EventCatalogue) -> ElderEvent:
    event_class = EVENT_TYPES[envelope.type]
    values = to_domain_values(catalogue.deserialize(envelope.type, envelope.data))
    if event_class is DetailsCorrected:
        values["changes"] = to_domain_values(values["changes"])
    return event_class(**values)


def to_pending(event: ElderEvent, catalogue: EventCatalogue, *, actor: Actor, jurisdiction: str,
               correlation_id: str | None, causation_id: str | None) -> PendingEvent:
    """The effective date becomes the envelope's ``time`` (start of that local day)."""
    return PendingEvent(stream_id=event.elder_id, type=event.TYPE,
                        data=catalogue.serialize(event.TYPE, event),
                        time=start_of_local_day(event.effective_date), actor=actor,
                        jurisdiction=jurisdiction, correlation_id=correlation_id,
                        causation_id=causation_id)
