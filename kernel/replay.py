"""Replay a service's log into a scratch database and compare the projections it builds
with the live ones: every difference (drift) by table and key. Read-only on the live side."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from kernel import migrate
from kernel.db import create_service_engine, insert_many, transaction
from kernel.projection import rebuild
from kernel.schema import events as events_table
from kernel.store import SqlAlchemyEventStore

COPY_PAGE = 5000


@dataclass(frozen=True)
class Drift:
    table: str
    key: tuple
    kind: str                 # "missing in live" | "not in the replay" | "different"
    columns: dict             # column → [live, replayed] (for "different")

    def to_dict(self) -> dict:
        return {"table": self.table, "key": list(self.key), "kind": self.kind, "columns": self.columns}


def replay_and_compare(service: str, live: Engine, projections, catalogue, scratch_dir: str | None = None) -> tuple[int, list[Drift]]:
    """Returns (events replayed, drifts)."""
    with tempfile.TemporaryDirectory(dir=scratch_dir, prefix=f"replay_{service}_") as directory:
        url = f"sqlite:///{Path(directory) / 'scratch.db'}"
        migrate.upgrade(service, url)
        scratch = create_service_engine(url)
        try:
            copied = _copy_log(live, scratch)
            store = SqlAlchemyEventStore(scratch, service, catalogue)
            drifts = []
            for projection in projections:
                rebuild(scratch, store, projection)
                for table in projection.tables():
                    drifts += _compare(table, live, scratch)
            return copied, drifts
        finally:
            scratch.dispose()


def _copy_log(live: Engine, scratch: Engine) -> int:
    from kernel.schema import personal_keys
    with live.connect() as conn:
        keys = [dict(r._mapping) for r in conn.execute(select(personal_keys))]
    if keys:
        with transaction(scratch) as conn:   # the replay opens the same personal values as the live log
            insert_many(conn, personal_keys, keys)
    copied, after = 0, 0
    while True:
        with live.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                select(events_table).where(events_table.c.position > after)
                .order_by(events_table.c.position).limit(COPY_PAGE))]
        if not rows:
            return copied
        with transaction(scratch) as conn:
            insert_many(conn, events_table, rows)
        copied, after = copied + len(rows), rows[-1]["position"]


def _keyed(engine: Engine, table) -> dict[tuple, dict]:
    key_columns = [c.name for c in table.primary_key.columns]
    with engine.connect() as conn:
        return {tuple(row._mapping[c] for c in key_columns): dict(row._mapping)
                for row in conn.execute(select(table))}


def _compare(table, live: Engine, scratch: Engine) -> list[Drift]:
    live_rows, replayed_rows = _keyed(live, table), _keyed(scratch, table)
    drifts = []
    for key in sorted(set(live_rows) | set(replayed_rows), key=str):
        if key not in live_rows:
            drifts.append(Drift(table.name, key, "missing in live", {}))
        elif key not in replayed_rows:
            drifts.append(Drift(table.name, key, "not in the replay", {}))
        else:
            changed = {c: [_plain(live_rows[key][c]), _plain(replayed_rows[key][c])]
                       for c in live_rows[key] if _plain(live_rows[key][c]) != _plain(replayed_rows[key][c])}
            if changed:
                drifts.append(Drift(table.name, key, "different", changed))
    return drifts


def _plain(value):
    return bytes(value).hex() if isinstance(value, (bytes, memoryview)) else value
