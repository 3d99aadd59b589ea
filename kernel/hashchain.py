"""Verify a service log's hash chain and name the first bad position.

Each row's hash covers its canonical contents including ``previous_hash`` and
``position``, so an edited payload changes the hash, a removed row leaves a gap and a
broken link, and swapped rows break the links and the position order.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from kernel.envelope import GENESIS_HASH
from kernel.schema import events as events_table
from kernel.store import row_hash


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_position: int | None = None
    problem: str | None = None
    head_hash: str = GENESIS_HASH

    def __str__(self) -> str:
        if self.ok:
            return f"chain intact: {self.checked} events, head {self.head_hash[:16]}…"
        return f"chain broken at position {self.first_bad_position}: {self.problem}"


def verify_rows(rows: Iterable) -> ChainReport:
    """Rows of the ``events`` table in position order (SQLAlchemy rows, or mappings with the
    same keys, e.g. from an export)."""
    expected_position, previous_hash, checked = 1, GENESIS_HASH, 0
    for row in rows:
        row = getattr(row, "_mapping", row)
        position = row["position"]
        if position != expected_position:
            problem = ("rows out of order" if position < expected_position else
                       f"gap: position {expected_position} is missing (row removed?)")
            return ChainReport(False, checked, expected_position if position > expected_position
                               else position, f"{problem}; found position {position}", previous_hash)
        if row_hash(row) != row["hash"]:
            return ChainReport(False, checked, position,
                               "contents do not match the stored hash (row edited)", previous_hash)
        if row["previous_hash"] != previous_hash:
            return ChainReport(False, checked, position,
                               "previous_hash does not match the hash of the row before "
                               "(row removed, inserted or reordered)", previous_hash)
        previous_hash, expected_position, checked = row["hash"], expected_position + 1, checked + 1
    return ChainReport(True, checked, head_hash=previous_hash)


def verify_log(engine: Engine, batch_size: int = 20000) -> ChainReport:
    """Stream the whole log of one service database through ``verify_rows``."""
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(
            select(events_table).order_by(events_table.c.position))
        return verify_rows(result)
