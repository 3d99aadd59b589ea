"""The unit of work: one database transaction holding the event append, the inbox record
and every projection update of one command or one consumed event."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

import structlog
from sqlalchemy.engine import Connection, Engine

from kernel.clock import SystemClock
from kernel.db import transaction
from kernel.envelope import Envelope, PendingEvent

log = structlog.get_logger(__name__)
T = TypeVar("T")


class Projection(Protocol):
    """A read model kept in the service's own database, updated in the append's transaction."""

    name: str
    handles: frozenset[str]   # event types it applies; others are skipped

    def apply(self, conn: Connection, envelope: Envelope) -> None: ...
    def tables(self) -> Sequence: ...
    # Optional: def apply_many(self, conn, envelopes) -> None — one call per page of events
    # (appends, consumed batches, rebuilds); same effect as apply() on each in order.


@dataclass
class UnitOfWork:
    conn: Connection
    store: object
    clock: SystemClock
    projections: Sequence[Projection] = ()
    appended: list[Envelope] = field(default_factory=list)

    def append(self, pending: Sequence[PendingEvent], expected_versions: Mapping[str, int]) -> list[Envelope]:
        """Append to the log and apply the new events to this service's own projections."""
        envelopes = self.store.append(self.conn, pending, expected_versions, self.clock.now())
        apply_page_to_projections(self.conn, self.projections, envelopes)
        self.appended.extend(envelopes)
        return envelopes

    def read_stream(self, stream_id: str, **when) -> list[Envelope]:
        return self.store.read_stream(stream_id, self.conn, **when)

    def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        return self.store.read_streams(stream_ids, self.conn)

    def stream_version(self, stream_id: str) -> int:
        return self.store.stream_version(stream_id, self.conn)

    def now(self) -> datetime:
        return self.clock.now()


def apply_page_to_projections(conn: Connection, projections: Iterable[Projection],
                              envelopes: Sequence[Envelope]) -> None:
    """Each projection gets the envelopes it handles, in order: through ``apply_many`` when
    it has one (one statement for the page), else one ``apply`` per envelope."""
    for projection in projections:
        relevant = [envelope for envelope in envelopes if envelope.type in projection.handles]
        if not relevant:
            continue
        apply_many = getattr(projection, "apply_many", None)
        if apply_many is not None:
            apply_many(conn, relevant)
        else:
            for envelope in relevant:
                projection.apply(conn, envelope)


@contextmanager
def unit_of_work(engine: Engine, store, clock, projections=(), on_commit: Callable[[list[Envelope]], None] | None = None,
                 before_commit: Callable[["UnitOfWork"], None] | None = None):
    """Open a transaction; commit if the block succeeds, roll everything back if it raises.
    ``before_commit`` runs in the transaction when the block appended events (it may refuse)."""
    with transaction(engine) as conn:
        uow = UnitOfWork(conn, store, clock, projections)
        yield uow
        if before_commit and uow.appended:
            before_commit(uow)
    if on_commit and uow.appended:
        on_commit(uow.appended)


CONCURRENCY_ATTEMPTS = 10


def retry_on_concurrency(run: Callable[[], "T"], attempts: int = CONCURRENCY_ATTEMPTS) -> "T":
    """Run a unit of work again when another writer committed to the same stream between our
    read and our append. Safe because deciding is pure: the retry decides on the new state.
    The caller sees ``ConcurrencyError`` only if that keeps happening."""
    import random
    import time

    from kernel.errors import ConcurrencyError

    for attempt in range(1, attempts + 1):
        try:
            return run()
        except ConcurrencyError:
            if attempt == attempts:
                raise
            log.info("concurrent change to the same stream; deciding again", attempt=attempt)
            time.sleep(random.uniform(0, 0.01 * attempt))   # spread the losers of one round
