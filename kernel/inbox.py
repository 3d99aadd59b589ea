"""The idempotent inbox: ``(consumer, event id)`` recorded in the consumer's own transaction."""
from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from kernel.clock import utc_now
from kernel.envelope import Envelope, format_time
from kernel.schema import inbox


def already_consumed(conn: Connection, consumer: str, event_id: str) -> bool:
    return conn.execute(select(inbox.c.event_id).where(
        inbox.c.consumer == consumer, inbox.c.event_id == event_id)).first() is not None


def record_consumed(conn: Connection, consumer: str, envelope: Envelope) -> None:
    conn.execute(insert(inbox).values(
        consumer=consumer, event_id=envelope.id, source=envelope.source,
        stream_id=envelope.subject, sequence=envelope.sequence, position=envelope.position,
        processed_at=format_time(utc_now())))


def consumed_count(conn: Connection, consumer: str) -> int:
    from sqlalchemy import func
    return conn.execute(select(func.count()).select_from(inbox).where(inbox.c.consumer == consumer)).scalar()
