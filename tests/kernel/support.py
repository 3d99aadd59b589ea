"""A tiny event catalogue and helpers for kernel tests (no service involved)."""
from datetime import datetime, timedelta, timezone

from marshmallow import Schema, fields

from kernel.catalogue import EventCatalogue
from kernel.envelope import Actor, PendingEvent

JURISDICTION = "410928101201"
ACTOR = Actor(department="civil_affairs", user="tester", role="county_coordinator")
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class NoteTakenSchema(Schema):
    text = fields.String(required=True)
    number = fields.Integer(required=True)


class NoteDroppedSchema(Schema):
    reason = fields.String(required=True)


def test_catalogue() -> EventCatalogue:
    catalogue = EventCatalogue()
    catalogue.register("kerneltest.note_taken.v1", NoteTakenSchema, "a note was taken")
    catalogue.register("kerneltest.note_dropped.v1", NoteDroppedSchema, "a note was dropped")
    return catalogue


test_catalogue.__test__ = False


def note(stream_id: str, number: int, text: str = "hello", *, days: int = 0, **extra) -> PendingEvent:
    return PendingEvent(stream_id=stream_id, type="kerneltest.note_taken.v1",
                        data={"text": text, "number": number}, time=T0 + timedelta(days=days),
                        actor=ACTOR, jurisdiction=extra.pop("jurisdiction", JURISDICTION), **extra)
