"""``events_about``: the elder's stream and every event naming them in its payload, found
through ``ix_events_payload_elder_id`` (migration k0005) rather than by scanning the log —
the timeline's read at county scale (issue 8: 1M elders, 10M events)."""
from marshmallow import Schema, fields
from sqlalchemy import text

from kernel import migrate
from kernel.catalogue import EventCatalogue
from kernel.db import create_service_engine, transaction
from kernel.envelope import PendingEvent
from kernel.schema import ELDER_ID_OF_PAYLOAD
from kernel.store import SqlAlchemyEventStore
from kernel.trace import events_about
from tests.kernel.support import ACTOR, JURISDICTION, T0


class AdmittedSchema(Schema):
    elder_id = fields.String(required=True)
    note = fields.String(load_default="")


class ReviewedSchema(Schema):
    reviewer = fields.Dict(required=True)
    note = fields.String(required=True)


def _catalogue():
    catalogue = EventCatalogue()
    catalogue.register("tracetest.admitted.v1", AdmittedSchema, "an elder was admitted")
    catalogue.register("tracetest.reviewed.v1", ReviewedSchema, "a review")
    return catalogue


def _event(stream_id, event_type, data):
    return PendingEvent(stream_id, event_type, data, T0, ACTOR, JURISDICTION)


def _plan(conn, dialect, elder_id):
    named = ELDER_ID_OF_PAYLOAD[dialect]
    query = f"SELECT * FROM events WHERE stream_id = :e OR {named} = :e ORDER BY position"
    if dialect == "sqlite":
        return " ".join(row[-1] for row in conn.execute(text(f"EXPLAIN QUERY PLAN {query}"), {"e": elder_id}))
    conn.execute(text("SET enable_seqscan = off"))     # a handful of rows: make the planner show its index
    return " ".join(row[0] for row in conn.execute(text(f"EXPLAIN {query}"), {"e": elder_id}))


def test_events_about_an_elder_come_from_their_stream_and_the_payload_index(database_url):
    migrate.upgrade("tracetest", database_url)
    engine = create_service_engine(database_url)
    store = SqlAlchemyEventStore(engine, "tracetest", _catalogue())
    with transaction(engine) as conn:
        store.append(conn, [
            _event("elder-1", "tracetest.admitted.v1", {"elder_id": "elder-1"}),          # own stream
            _event("facility-1", "tracetest.admitted.v1", {"elder_id": "elder-1"}),       # names the elder
            _event("facility-1", "tracetest.admitted.v1", {"elder_id": "elder-10"}),      # another elder
            _event("facility-2", "tracetest.admitted.v1", {"elder_id": "elder-2", "note": '"elder_id":"elder-1"'}),
            _event("review-1", "tracetest.reviewed.v1", {"reviewer": {"elder_id": "elder-1"}, "note": "nested"}),
        ], {"elder-1": 0, "facility-1": 0, "facility-2": 0, "review-1": 0})
    found = events_about(engine, "elder-1")
    assert [(e["stream_id"], e["position"]) for e in found] == [("elder-1", 1), ("facility-1", 2)]
    assert [e["stream_id"] for e in events_about(engine, "elder-2")] == ["facility-2"]
    with engine.connect() as conn:
        plan = _plan(conn, engine.dialect.name, "elder-1")
    assert "ix_events_payload_elder_id" in plan, plan
    engine.dispose()
