"""Finding every event about one subject in a service's log, read-only: the events of its
own stream, and events of other streams whose payload names it (an admission on a
facility's stream, an alert, a disbursement)."""
from __future__ import annotations

import json

from sqlalchemy import literal_column, or_, select
from sqlalchemy.engine import Engine

from kernel.personal import open_text
from kernel.schema import ELDER_ID_OF_PAYLOAD, events


def events_about(engine: Engine, elder_id: str) -> list[dict]:
    """The elder's own stream and every event whose payload names them (``elder_id``), in
    log order: two index lookups (the stream; ``ix_events_payload_elder_id``), not a scan."""
    named = literal_column(ELDER_ID_OF_PAYLOAD[engine.dialect.name])
    statement = (select(events).where(or_(events.c.stream_id == elder_id, named == elder_id))
                 .order_by(events.c.position))
    with engine.connect() as conn:
        return [_plain(dict(r._mapping), conn) for r in conn.execute(statement)]


def find_event(engine: Engine, event_id: str) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(select(events).where(events.c.event_id == event_id)).first()
        return _plain(dict(row._mapping), conn) if row else None


def _plain(row: dict, conn) -> dict:
    """A stored row as the audit tool and the gateway's timeline show it (personal values
    opened, or ``[erased]``; ``hash`` is the stored row's, over the sealed payload)."""
    actor = json.loads(row["actor"])
    return {"source": row["source"], "position": row["position"], "type": row["type"], "time": row["time"],
            "recorded_time": row["recorded_time"], "stream_id": row["stream_id"], "event_id": row["event_id"],
            "actor": f"{actor['department']}/{actor['user']}", "hash": row["hash"], "causation_id": row["causation_id"],
            "data": open_text(conn, row["data"], row["event_id"], row["type"])}


def run_events(engine: Engine, run_id: str) -> list[dict]:
    """Every event carrying a subsidy run's id: started, its entries, completed, approved,
    paid, closed."""
    needle = json.dumps(run_id, ensure_ascii=False)
    with engine.connect() as conn:
        rows = conn.execute(select(events).where(events.c.data.contains(f'"run_id":{needle}'))
                            .order_by(events.c.position)).all()
        return [_plain(dict(r._mapping), conn) for r in rows]


def corrections_of(engine: Engine, event_id: str) -> list[dict]:
    needle = json.dumps(event_id)
    with engine.connect() as conn:
        rows = conn.execute(select(events).where(events.c.data.contains(needle),
                                                 events.c.type.like("%adjustment%")).order_by(events.c.position)).all()
        return [e for e in (_plain(dict(r._mapping), conn) for r in rows) if event_id in e["data"].get("corrects", [])]


def facts_behind(engine: Engine, elder_id: str, in_effect_on: str, recorded_by: str) -> list[dict]:
    """The events about the elder that were in effect on ``in_effect_on`` (a local date) and
    recorded by ``recorded_by`` (UTC ISO): what an amount computed then depended on."""
    from datetime import date

    from kernel.clock import start_of_local_day
    from kernel.envelope import format_time
    boundary = format_time(start_of_local_day(date.fromisoformat(in_effect_on)))
    return [e for e in events_about(engine, elder_id)
            if e["time"] <= boundary and e["recorded_time"] <= recorded_by]
