"""Domain events ↔ the wire: dataclasses become contract payloads and back.

The contract schemas (``contracts.notifications``) validate; this module only picks each
event's stream, time and jurisdiction and turns nested dicts into the domain's values.
"""
from __future__ import annotations

from datetime import datetime

from kernel.catalogue import EventCatalogue
from kernel.divisions import is_ascii_digits
from kernel.envelope import Actor, Envelope, PendingEvent
from services.notifications.domain import (ALERT_EVENT_CLASSES, DELIVERY_EVENT_CLASSES, DEVICE_EVENT_CLASSES,
                                           EVENT_TYPES, REFERRAL_EVENT_CLASSES, ChannelAddress, PartyContactsSet,
                                           Route, device_stream)

# The field that holds when each event happened (it becomes the envelope's ``time``).
_TIME_FIELDS = ("raised_at", "routed_at", "repeated_at", "escalated_at", "detected_at", "acknowledged_at",
                "closed_at", "requested_at", "attempted_at", "delivered_at", "failed_at", "created_at",
                "accepted_at", "taken_at", "occurred_at", "resumed_at", "set_at")

_VALUES = {
    "routes": lambda items: tuple(Route(**item) for item in items),
    "channels": lambda items: tuple(ChannelAddress(**item) for item in items),
}


def party_stream(party: str) -> str:
    return f"party:{party}"


def stream_of(event) -> str:
    if isinstance(event, ALERT_EVENT_CLASSES):
        return event.alert_id
    if isinstance(event, DELIVERY_EVENT_CLASSES):
        return event.delivery_id
    if isinstance(event, REFERRAL_EVENT_CLASSES):
        return event.referral_id
    if isinstance(event, DEVICE_EVENT_CLASSES):
        return device_stream(event.device_id)
    if isinstance(event, PartyContactsSet):
        return party_stream(event.party)
    raise TypeError(f"no stream for {type(event).__name__}")


def time_of(event) -> datetime:
    for name in _TIME_FIELDS:
        value = getattr(event, name, None)
        if isinstance(value, datetime):
            return value
    raise TypeError(f"{type(event).__name__} has no time field")


def jurisdiction_of_party(party: str, fallback: str) -> str:
    """``township:410928101`` → ``410928101000``; family parties take ``fallback``."""
    place = party.rsplit(":", 1)[-1]
    return place.ljust(12, "0") if is_ascii_digits(place) and len(place) <= 12 else fallback


def to_pending(event, catalogue: EventCatalogue, *, actor: Actor, jurisdiction: str,
               correlation_id: str | None = None, causation_id: str | None = None) -> PendingEvent:
    return PendingEvent(stream_id=stream_of(event), type=event.TYPE, data=catalogue.serialize(event.TYPE, event),
                        time=time_of(event), actor=actor, jurisdiction=jurisdiction,
                        correlation_id=correlation_id, causation_id=causation_id)


# Decoded events by event id. Events never change and ids are unique; a sweep reads a page
# of streams to decide and the projections read them again, so most decodes are repeats
# (and events this process just appended are remembered as decided). Bounded by clearing.
_decoded: dict[str, object] = {}
_DECODED_LIMIT = 200_000


def remember(envelopes, events) -> None:
    """Cache the domain events just appended under their envelopes' ids."""
    if len(_decoded) >= _DECODED_LIMIT:
        _decoded.clear()
    for envelope, event in zip(envelopes, events):
        _decoded[envelope.id] = event


def event_from_envelope(envelope: Envelope, catalogue: EventCatalogue):
    event = _decoded.get(envelope.id)
    if event is None:
        if len(_decoded) >= _DECODED_LIMIT:
            _decoded.clear()
        event = _decoded[envelope.id] = _decode(envelope, catalogue)
    return event


def _decode(envelope: Envelope, catalogue: EventCatalogue):
    values = catalogue.deserialize(envelope.type, envelope.data)
    return EVENT_TYPES[envelope.type](**{name: _VALUES.get(name, lambda v: v)(value)
                                         for name, value in values.items()})
