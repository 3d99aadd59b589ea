"""Rebuilding a projection: drop its rows and replay the service's log into it, in one
transaction (readers keep the old rows until the new ones commit)."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine

from kernel.db import transaction
from kernel.store import SqlAlchemyEventStore
from kernel.uow import Projection, apply_page_to_projections


def rebuild(engine: Engine, store: SqlAlchemyEventStore, projection: Projection,
            on_progress: Callable[[int], None] = lambda _n: None, batch_size: int = 10000) -> int:
    """Returns the number of events replayed. ``on_progress`` gets the count of each batch.
    A projection may offer ``apply_many(conn, envelopes)`` (same effect as applying each in
    order) so a replay writes a page of rows per statement instead of one per event."""
    replayed = 0
    with transaction(engine) as conn:
        for table in reversed(list(projection.tables())):
            conn.execute(table.delete())
        after = 0
        while batch := store.read_all(after, batch_size, conn):
            apply_page_to_projections(conn, [projection], batch)
            after = batch[-1].position
            replayed += len(batch)
            on_progress(len(batch))
    return replayed
