"""Verify a service log's hash chain and name the first bad position.

Each row's hash covers its canonical contents including ``previous_hash`` and
``position``, so an edited payload changes the hash, a removed row leaves a gap and a
broken link, and swapped rows break the links and the position order.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from kernel.envelope import GENESIS_HASH, canonical_event_json
from kernel.store import EVENT_COLUMNS


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


PARALLEL_MIN_EVENTS = 200_000


def verify_log(engine: Engine, batch_size: int = 20000, collect_hashes: list | None = None,
               workers: int | None = None, parallel_min: int = PARALLEL_MIN_EVENTS) -> ChainReport:
    """Stream the whole log of one service database and check it: positions without gaps or
    reordering, each row's hash over its canonical text (``canonical_event_json``, the same
    function the store hashes with), each row's link to the one before. The loop reads
    plain tuples from the driver, not SQLAlchemy rows: at a million events it shows. With
    ``collect_hashes``, each verified row's chain hash is appended to it (the Merkle leaves
    of an audit come from the same scan). Large logs are checked in position ranges by
    several processes (hashing is CPU-bound); the ranges' boundary links are then checked
    here, so the findings are the same as one scan's."""
    workers = workers or os.cpu_count() or 1
    with engine.connect() as conn:
        head = conn.exec_driver_sql("SELECT max(position) FROM events").scalar() or 0
    if workers < 2 or head < parallel_min or _green_threads_patched():
        return _scan_range(engine, 1, head, batch_size, collect_hashes is not None, collect_hashes)[0]
    bounds = [(1 + head * i // workers, head * (i + 1) // workers) for i in range(workers)]
    url = engine.url.render_as_string(hide_password=False)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_scan_range_in_process, [(url, a, b, batch_size, collect_hashes is not None)
                                                        for a, b in bounds]))
    checked, previous_hash = 0, GENESIS_HASH
    for (report, first_previous, hashes), (a, _b) in zip(parts, bounds):
        if report.checked and first_previous != previous_hash:
            return ChainReport(False, checked, a, "previous_hash does not match the hash of the row before "
                                                  "(row removed, inserted or reordered)", previous_hash)
        if not report.ok:
            return ChainReport(False, checked + report.checked, report.first_bad_position, report.problem,
                               report.head_hash)
        checked += report.checked
        previous_hash = report.head_hash
        if collect_hashes is not None:
            collect_hashes.extend(hashes)
    return ChainReport(True, checked, head_hash=previous_hash)


def _green_threads_patched() -> bool:
    """Inside an eventlet-patched process (services, tests) worker processes are not safe."""
    patcher = sys.modules.get("eventlet.patcher")
    return bool(patcher and patcher.is_monkey_patched("thread"))


def _scan_range_in_process(arguments):
    from kernel.db import create_service_engine
    url, start, end, batch_size, collect = arguments
    engine = create_service_engine(url)
    try:
        hashes: list = []
        report, first_previous = _scan_range(engine, start, end, batch_size, collect, hashes)
        return report, first_previous, hashes
    finally:
        engine.dispose()


def _scan_range(engine: Engine, start: int, end: int, batch_size: int, collect: bool, hashes) -> tuple:
    """Check positions start..end. The first row's previous_hash is taken as given when
    ``start`` > 1 (the caller checks that link) and returned with the report."""
    columns = ", ".join(c.name for c in EVENT_COLUMNS)
    sha256 = hashlib.sha256
    expected_position, previous_hash, checked, first_previous = start, GENESIS_HASH if start == 1 else None, 0, None
    keep = hashes.append if collect else None
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        # A server-side cursor on PostgreSQL, so a million rows are not held in memory at once.
        cursor = driver.cursor(name="verify_log") if engine.dialect.name == "postgresql" else driver.cursor()
        try:
            cursor.execute(f"SELECT {columns} FROM events WHERE position >= {int(start)} AND position <= {int(end)} "
                           "ORDER BY position")
            while rows := cursor.fetchmany(batch_size):
                for (position, event_id, subject, sequence, type_, source, time_, recorded_time, actor, jurisdiction,
                     correlation_id, causation_id, data, row_previous_hash, row_hash_value) in rows:
                    if position != expected_position:
                        problem = ("rows out of order" if position < expected_position else
                                   f"gap: position {expected_position} is missing (row removed?)")
                        return ChainReport(False, checked, expected_position if position > expected_position
                                           else position, f"{problem}; found position {position}",
                                           previous_hash or GENESIS_HASH), first_previous
                    text = canonical_event_json(
                        actor_json=actor, causation_id=causation_id, correlation_id=correlation_id, data_json=data,
                        event_id=event_id, jurisdiction=jurisdiction, position=position,
                        previous_hash=row_previous_hash, recorded_time=recorded_time, sequence=sequence,
                        source=source, subject=subject, time=time_, type_=type_)
                    if sha256(text.encode()).hexdigest() != row_hash_value:
                        return ChainReport(False, checked, position, "contents do not match the stored hash "
                                           "(row edited)", previous_hash or GENESIS_HASH), first_previous
                    if checked == 0:
                        first_previous = row_previous_hash
                        if previous_hash is None:        # a later range: its first link is checked by the caller
                            previous_hash = row_previous_hash
                    if row_previous_hash != previous_hash:
                        return ChainReport(False, checked, position,
                                           "previous_hash does not match the hash of the row before "
                                           "(row removed, inserted or reordered)", previous_hash), first_previous
                    if keep is not None:
                        keep(row_hash_value)
                    previous_hash, expected_position, checked = row_hash_value, expected_position + 1, checked + 1
        finally:
            cursor.close()
    if expected_position <= end:
        return ChainReport(False, checked, expected_position, f"gap: position {expected_position} is missing "
                           "(row removed?)", previous_hash or GENESIS_HASH), first_previous
    return ChainReport(True, checked, head_hash=previous_hash or GENESIS_HASH), first_previous
