"""Tables the kernel keeps in every service's own database.

``events`` is both the append-only log and the outbox; the relay's progress lives in
``relay_cursor`` so publishing never updates an event row. ``inbox`` records what a
consumer applied (same transaction as its effects). ``unroutable_events`` keeps what the
broker returned as unroutable, so a missing queue is a visible fault, not a silent drop.
Times are stored as canonical UTC strings (see ``envelope.format_time``): the same bytes
that are hashed, comparable as text on every backend.
"""
from sqlalchemy import (BigInteger, Column, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint)

kernel_metadata = MetaData()
CORRELATION_ID_LENGTH = 255   # nameko call ids ("service.method.<uuid>") as well as event ids

events = Table(
    "events", kernel_metadata,
    Column("position", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("stream_id", String(64), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("type", String(128), nullable=False),
    Column("source", String(32), nullable=False),
    Column("time", String(32), nullable=False),
    Column("recorded_time", String(32), nullable=False),
    Column("actor", Text, nullable=False),
    Column("jurisdiction", String(12), nullable=False),
    Column("correlation_id", String(CORRELATION_ID_LENGTH)),
    Column("causation_id", String(CORRELATION_ID_LENGTH)),
    Column("data", Text, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("stream_id", "sequence", name="uq_events_stream_sequence"),
)

relay_cursor = Table(
    "relay_cursor", kernel_metadata,
    Column("relay", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", String(32), nullable=False),
)

inbox = Table(
    "inbox", kernel_metadata,
    Column("consumer", String(128), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("stream_id", String(64), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("processed_at", String(32), nullable=False),
)
Index("ix_inbox_consumer_stream", inbox.c.consumer, inbox.c.stream_id, inbox.c.sequence)

unroutable_events = Table(
    "unroutable_events", kernel_metadata,
    Column("event_id", String(36), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("type", String(128), nullable=False),
    Column("exchange", String(128), nullable=False),
    Column("routing_key", String(255), nullable=False),
    Column("reply_code", Integer, nullable=False),
    Column("reply_text", String(255), nullable=False),
    Column("detected_at", String(32), nullable=False),
    Column("republished_at", String(32)),
)

# Events about an elder on other streams (an admission on a facility's stream, an alert, a
# disbursement) name the elder in their payload's top-level ``elder_id``. An index on that
# expression (migration k0005) lets the timeline find them without scanning the log; the
# query must spell the expression exactly as the index does.
ELDER_ID_OF_PAYLOAD = {
    "sqlite": "json_extract(data, '$.elder_id')",
    "postgresql": "((data)::jsonb ->> 'elder_id')",
}


def elder_index_ddl(dialect_name: str) -> list[str]:
    return [f"CREATE INDEX ix_events_payload_elder_id ON events ({ELDER_ID_OF_PAYLOAD[dialect_name]})"]


# Refuse UPDATE/DELETE on the log at the database itself, not only in code.
POSTGRES_APPEND_ONLY_DDL = [
    """
    CREATE OR REPLACE FUNCTION events_are_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'the events table is append-only: % refused', TG_OP;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER events_no_update_or_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only()
    """,
    """
    CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only()
    """,
]
SQLITE_APPEND_ONLY_DDL = [
    """
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the events table is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the events table is append-only: DELETE refused'); END
    """,
]


# Commands applied by the id their caller gave (kernel.commands): a request delivered again
# answers as the first time instead of acting twice. ``answer`` is NULL until it returned.
COMMAND_ID_LENGTH = 64
applied_commands = Table(
    "applied_commands", kernel_metadata,
    Column("command_id", String(COMMAND_ID_LENGTH), primary_key=True),
    Column("method", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False),       # sha256 of method and arguments
    Column("applied_at", String(32), nullable=False),
    Column("answer", Text),
)

# Checkpoints other services published about their logs, as this service received them:
# every service is a witness of the others (and the audit service of all).
held_checkpoints = Table(
    "held_checkpoints", kernel_metadata,
    Column("source", String(64), primary_key=True),
    Column("tree_size", Integer, primary_key=True),
    Column("root_hash", String(64), nullable=False),
    Column("sealed_at", String(40), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", Text, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("received_at", String(40), nullable=False),
    # The checkpoint event's own position and chain hash in the source's log (k0007).
    Column("event_position", BigInteger),
    Column("event_hash", String(64)),
)


def append_only_ddl(dialect_name: str) -> list[str]:
    return {"postgresql": POSTGRES_APPEND_ONLY_DDL, "sqlite": SQLITE_APPEND_ONLY_DDL}.get(dialect_name, [])


# The data key of each person whose personal fields this service's log holds (kernel.personal),
# wrapped by a master key kept outside the database. Erasing the person sets ``wrapped`` to NULL
# (and records the erasure event): their sealed values can never be opened again.
personal_keys = Table(
    "personal_keys", kernel_metadata,
    Column("person_id", String(128), primary_key=True),
    Column("master_key_id", String(32)),
    Column("wrapped", Text),
    Column("erased_at", String(32)),
    Column("erasure", String(64)),       # the event id (or reason) that erased the person
)
