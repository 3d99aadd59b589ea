"""Finding every event about one subject in a service's log, read-only: the events of its
own stream, and events of other streams whose payload names it (an admission on a
facility's stream, an alert, a disbursement)."""
from __future__ import annotations

import json

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine

from kernel.schema import events


def events_about(engine: Engine, elder_id: str) -> list[dict]:
    # Payloads are canonical JSON (no spaces), so the text test is exact; the parse below
    # drops any event that merely contains the id inside some other field's text.
    needle = json.dumps(elder_id, ensure_ascii=False)
    statement = (select(events).where(or_(events.c.stream_id == elder_id,
                                          events.c.data.contains(f'"elder_id":{needle}')))
                 .order_by(events.c.position))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(statement)]
    found = []
    for row in rows:
        data = json.loads(row["data"])
        if row["stream_id"] == elder_id or data.get("elder_id") == elder_id:
            actor = json.loads(row["actor"])
            found.append({"source": row["source"], "position": row["position"], "type": row["type"],
                          "time": row["time"], "recorded_time": row["recorded_time"], "stream_id": row["stream_id"],
                          "actor": f"{actor['department']}/{actor['user']}", "hash": row["hash"],
                          "event_id": row["event_id"], "causation_id": row["causation_id"], "data": data})
    return found
