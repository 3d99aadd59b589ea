"""The elder directory: the registry's current view of each record, for search and for
the status timer, and the per-village counts the dashboard adds up. Rebuildable from the log
(``eldercare rebuild registry``)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from kernel.catalogue import EventCatalogue
from kernel.envelope import Envelope
from kernel.schema import events as events_table
from kernel.store import EVENT_COLUMNS, envelope_from_row
from services.registry.adapters.event_mapping import event_from_envelope
from services.registry.adapters.tables import ELDER_COUNT_COLUMNS, elder_counts, elders
from services.registry.domain import EVENT_TYPES, ElderState, PolicyBook, fold, next_review_date


def _iso(day) -> str | None:
    return day.isoformat() if day else None


def directory_row(state: ElderState, policies: PolicyBook) -> dict:
    return {
        "elder_id": state.elder_id, "resident_id": state.resident_id, "name": state.name,
        "sex": state.sex, "birth_date": _iso(state.birth_date), "division_code": state.division_code,
        "county_code": state.division_code[:6], "township_code": state.division_code[:9],
        "record_status": state.record_status.value, "left_behind": state.is_left_behind,
        "left_behind_since": _iso(state.left_behind_since), "key_target": state.is_key_target,
        "key_target_reasons": ",".join(state.key_target_reasons),
        "self_care_level": state.self_care_level.value, "lives_alone": state.lives_alone,
        "hospitalised": state.hospitalised, "supporters_total": len(state.supporters),
        "supporters_away": sum(1 for s in state.supporters if s.is_away),
        "died_on": _iso(state.died_on), "merged_into": state.merged_into,
        "next_review_on": _iso(next_review_date(state, policies)) if state.is_active else None,
        "version": state.version,
    }


def counted(row) -> Counter:
    """What one directory row adds to its village's ``elder_counts`` (the dashboard's figures)."""
    active = row["record_status"] == "active"
    key_target = active and row["key_target"]
    reasons = row["key_target_reasons"].split(",") if key_target and row["key_target_reasons"] else ()
    return Counter({"active": active, "left_behind": active and row["left_behind"], "key_target": key_target,
                    "hospitalised": active and row["hospitalised"],
                    "deceased": row["record_status"] == "deceased",
                    **{f"key_target_{reason}": True for reason in reasons}})


def add_to_counts(conn: Connection, changes: dict[str, Counter]) -> None:
    """Add each village's changes to its row (made on first use). Every writer of the
    projection holds the log's append lock, so update-then-insert cannot race. A row back at
    all zeros is deleted, so the rows do not depend on how events were batched (a replay nets
    a move in and out of a village in one batch and never makes the row)."""
    for division_code, change in changes.items():
        values = {column: int(change[column]) for column in ELDER_COUNT_COLUMNS}
        if not any(values.values()):
            continue
        village = elder_counts.c.division_code == division_code
        updated = conn.execute(update(elder_counts).where(village)
                               .values({elder_counts.c[c]: elder_counts.c[c] + v for c, v in values.items()}))
        if updated.rowcount == 0:
            conn.execute(insert(elder_counts), {"division_code": division_code, **values})
        elif any(v < 0 for v in values.values()):
            conn.execute(delete(elder_counts).where(village, *[elder_counts.c[c] == 0 for c in ELDER_COUNT_COLUMNS]))


class ElderDirectory:
    """One row per elder, rewritten from the folded stream whenever the stream grows; its
    village's counts move by the difference between the old row and the new."""

    name = "elder_directory"
    handles = frozenset(EVENT_TYPES)

    def __init__(self, catalogue: EventCatalogue, policies: Callable[[], PolicyBook]):
        self.catalogue, self.policies = catalogue, policies

    def tables(self):
        return [elders, elder_counts]

    def apply(self, conn: Connection, envelope: Envelope) -> None:
        self.apply_many(conn, [envelope])

    def apply_many(self, conn: Connection, envelopes) -> None:
        """Each elder touched is folded once, up to the last of its events in the page."""
        last_sequence: dict[str, int] = {}
        for envelope in envelopes:
            last_sequence[envelope.subject] = envelope.sequence
        before = {row.elder_id: row._mapping for row in conn.execute(self._current, {"ids": list(last_sequence)})}
        changes: dict[str, Counter] = {}
        for elder_id, sequence in last_sequence.items():
            rows = conn.execute(self._stream_upto, {"stream_id": elder_id, "sequence": sequence})
            state = fold(elder_id, [event_from_envelope(envelope_from_row(r, conn), self.catalogue) for r in rows])
            row = directory_row(state, self.policies())
            conn.execute(self._delete, {"elder_id": elder_id})
            conn.execute(self._insert, row)
            changes.setdefault(row["division_code"], Counter()).update(counted(row))
            if elder_id in before:
                changes.setdefault(before[elder_id]["division_code"], Counter()).subtract(counted(before[elder_id]))
        add_to_counts(conn, changes)

    _stream_upto = (select(*EVENT_COLUMNS)
                    .where(events_table.c.stream_id == bindparam("stream_id"),
                           events_table.c.sequence <= bindparam("sequence"))
                    .order_by(events_table.c.sequence))
    _current = select(elders.c.elder_id, elders.c.division_code, elders.c.record_status, elders.c.left_behind,
                      elders.c.key_target, elders.c.key_target_reasons, elders.c.hospitalised).where(
        elders.c.elder_id.in_(bindparam("ids", expanding=True)))
    _delete = delete(elders).where(elders.c.elder_id == bindparam("elder_id"))
    _insert = insert(elders)
