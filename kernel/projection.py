"""Rebuilding a projection: drop its rows and replay the service's log into it, in one
transaction (readers keep the old rows until the new ones commit)."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine

from kernel.db import transaction
from kernel.store import SqlAlchemyEventStore
from kernel.uow import Projection


def rebuild(engine: Engine, store: SqlAlchemyEventStore, projection: Projection,
            on_progress: Callable[[int], None] = lambda _n: None, batch_size: int = 10000) -> int:
    """Returns the number of events replayed. ``on_progress`` gets the count of each batch."""
    replayed = 0
    with transaction(engine) as conn:
        for table in reversed(list(projection.tables())):
            conn.execute(table.delete())
        after = 0
        while batch := store.read_all(after, batch_size, conn):
            for envelope in batch:
                if envelope.type in projection.handles:
                    projection.apply(conn, envelope)
            after = batch[-1].position
            replayed += len(batch)
            on_progress(len(batch))
    return replayed
