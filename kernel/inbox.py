"""The idempotent inbox: ``(consumer, event id)`` recorded in the consumer's own transaction."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from kernel.clock import utc_now
from kernel.db import insert_many
from kernel.envelope import format_time
from kernel.schema import inbox


def consumed_count(conn: Connection, consumer: str) -> int:
    return conn.execute(select(func.count()).select_from(inbox).where(inbox.c.consumer == consumer)).scalar()


def consumed_among(conn: Connection, consumer: str, event_ids) -> set[str]:
    """The ids among ``event_ids`` that ``consumer`` has already recorded (one query)."""
    event_ids = list(dict.fromkeys(event_ids))
    if not event_ids:
        return set()
    return set(conn.execute(select(inbox.c.event_id).where(
        inbox.c.consumer == consumer, inbox.c.event_id.in_(event_ids))).scalars())


def record_many(conn: Connection, consumer: str, envelopes) -> None:
    """Record several consumed events in one statement (ids must be new and distinct)."""
    if not envelopes:
        return
    processed_at = format_time(utc_now())
    rows = [{"consumer": consumer, "event_id": e.id, "source": e.source, "stream_id": e.subject,
             "sequence": e.sequence, "position": e.position, "processed_at": processed_at}
            for e in envelopes]
    insert_many(conn, inbox, rows)
