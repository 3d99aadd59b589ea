"""Domain events ↔ the wire for the subsidies log (the contract schemas validate)."""
from __future__ import annotations

from kernel.catalogue import EventCatalogue
from kernel.clock import start_of_local_day
from kernel.envelope import Actor, Envelope, PendingEvent
from services.subsidies.domain import EVENT_TYPES, EntryEvent, payments_stream_for
from contracts.month import Month


def run_event_from_envelope(envelope: Envelope, catalogue: EventCatalogue):
    values = catalogue.deserialize(envelope.type, envelope.data)
    return EVENT_TYPES[envelope.type](**values)


_FACTS = ("known_at", "division_code", "self_care_level", "support_mode", "age", "dibao", "tekun", "facility_id",
          "grant_id", "grant_policy_source", "meals_delivered")


def _facts_wire(facts) -> dict | None:
    if facts is None:
        return None
    return {"as_of": facts.as_of.isoformat(), **{name: getattr(facts, name) for name in _FACTS}}


def entry_wire(event: EntryEvent) -> dict:
    """The wire form of a disbursement or adjustment, written out by hand: a run serialises
    one per beneficiary × programme and marshmallow's dump was a quarter of a run's time.
    Equal to ``catalogue.serialize`` (a test holds them together), and the store still
    validates every payload against the contract on append."""
    wire = {"run_id": event.run_id, "jurisdiction": event.jurisdiction, "month": event.month,
            "effective_date": event.effective_date.isoformat(), "beneficiary_id": event.beneficiary_id,
            "beneficiary_kind": event.beneficiary_kind, "programme": event.programme, "period": event.period,
            "division_code": event.division_code, "reference": event.reference, "amount_fen": event.amount_fen,
            "rule_version": event.rule_version, "rule_hash": event.rule_hash, "facts": _facts_wire(event.facts)}
    if event.TYPE == "subsidies.adjustment_computed.v1":
        wire.update(reason=event.reason, previously_paid_fen=event.previously_paid_fen,
                    now_due_fen=event.now_due_fen, corrects=list(event.corrects))
    return wire


def to_pending(event, catalogue: EventCatalogue, *, actor: Actor, correlation_id: str | None = None,
               causation_id: str | None = None) -> PendingEvent:
    """Run events go to the run's stream under the jurisdiction; entries to the run's
    payments stream under the beneficiary's division (the routing partition)."""
    if isinstance(event, EntryEvent):
        stream_id = payments_stream_for(event.jurisdiction, Month.parse(event.month))
        jurisdiction, data = event.division_code, entry_wire(event)
    else:
        stream_id, jurisdiction = event.run_id, event.jurisdiction.ljust(12, "0")
        data = catalogue.serialize(event.TYPE, event)
    return PendingEvent(stream_id=stream_id, type=event.TYPE, data=data,
                        time=start_of_local_day(event.effective_date), actor=actor, jurisdiction=jurisdiction,
                        correlation_id=correlation_id, causation_id=causation_id)
