"""Two throw-away nameko services that exercise the kernel end to end through RabbitMQ:
``kerneltest`` appends notes (its relay publishes them), ``kernelsink`` consumes them with
the durable handler and records each in a table, in the handler's transaction."""
from nameko.rpc import rpc
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from kernel.consumer import durable_event_handler
from kernel.errors import CommandRejected
from kernel.rpc import command_rpc
from kernel.envelope import Actor, PendingEvent
from kernel.providers import LoggingContext, OutboxRelayRunner, ServiceDatabase
from tests.kernel.support import JURISDICTION, T0, test_catalogue

sink_metadata = MetaData()
notes_seen = Table(
    "notes_seen", sink_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("stream_id", String(64), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("number", Integer, nullable=False),
)

# Handlers look here to decide whether to fail; tests flip these.
FAILURES = {"poison_texts": {"poison"}, "flaky_remaining": 0}


class NoteProducer:
    name = "kerneltest"
    db = ServiceDatabase(test_catalogue())
    relay = OutboxRelayRunner(poll_interval=0.1)
    log = LoggingContext()

    @rpc
    def take_notes(self, stream_id: str, numbers: list[int], text: str = "hello",
                   event_type: str = "kerneltest.note_taken.v1", jurisdiction: str = JURISDICTION) -> int:
        with self.db.unit_of_work() as uow:
            version = uow.stream_version(stream_id)
            data = (lambda n: {"text": text, "number": n}) if event_type.endswith("note_taken.v1") \
                else (lambda n: {"reason": text})
            uow.append([PendingEvent(stream_id, event_type, data(n), T0, Actor("civil_affairs", "t", "tester"),
                                     jurisdiction) for n in numbers], {stream_id: version})
        return version + len(numbers)


class CommandTaker(NoteProducer):
    """The producer's commands as ``command_rpc``: applied once per command id."""

    name = "kernelcommands"

    @command_rpc
    def take_notes_once(self, stream_id: str, numbers: list[int], text: str = "hello") -> dict:
        if not numbers:
            raise CommandRejected("no numbers to note", field="numbers")
        with self.db.unit_of_work() as uow:
            version = uow.stream_version(stream_id)
            uow.append([PendingEvent(stream_id, "kerneltest.note_taken.v1", {"text": text, "number": n}, T0,
                                     Actor("civil_affairs", "t", "tester"), JURISDICTION) for n in numbers],
                       {stream_id: version})
        return {"stream_id": stream_id, "version": version + len(numbers)}

    @command_rpc(idempotent=True)
    def take_notes_in_steps(self, stream_id: str, numbers: list[int]) -> int:
        """One transaction per number: safe to repeat only because the caller says so."""
        for number in numbers:
            self.take_notes(stream_id, [number])
        return len(numbers)


class NoteSink:
    name = "kernelsink"
    db = ServiceDatabase(test_catalogue())
    log = LoggingContext()

    @durable_event_handler("kerneltest", ["kerneltest.note_taken.v1"])
    def on_note_taken(self, event, uow):
        if event.data["text"] in FAILURES["poison_texts"]:
            raise RuntimeError(f"cannot digest {event.data['text']!r}")
        if FAILURES["flaky_remaining"] > 0:
            FAILURES["flaky_remaining"] -= 1
            raise ConnectionError("transient failure")
        uow.conn.execute(insert(notes_seen).values(event_id=event.id, stream_id=event.subject,
                                                   sequence=event.sequence, number=event.data["number"]))

    @rpc
    def seen(self):
        with self.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(notes_seen).order_by(notes_seen.c.id))]
