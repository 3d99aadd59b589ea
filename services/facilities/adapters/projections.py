"""Projections of the facilities log, kept in the append's transaction and rebuildable
from the log (``eldercare rebuild facilities``).

Both work a page of events at a time (``apply_many``): the directory loads the rows of the
facilities the page touches, folds the page into them in memory and writes them back; the
residence log turns the page into new stays and ended stays. Folding the wire payloads
directly (rather than each facility's whole stream, as the registry's directory does)
keeps a replay linear in the number of events — admissions make facility streams long.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import String, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from kernel.db import insert_many
from kernel.envelope import Envelope
from kernel.uow import apply_page_to_projections
from services.facilities.adapters.tables import facilities, residences
from services.facilities.domain import EVENT_TYPES

CHUNK = 500   # ids per IN (...) list


def _opened(row: dict | None, envelope: Envelope) -> dict:
    data = envelope.data
    return {"facility_id": envelope.subject, "name": data["name"], "division_code": data["division_code"],
            "county_code": data["division_code"][:6], "township_code": data["division_code"][:9],
            "kind": data["kind"], "operating_model": data["operating_model"], "operator": data["operator"],
            "services": ",".join(data["services"]), "status": "open", "capacity": data["capacity"],
            "occupancy": 0, "stars": None, "opened_on": data["effective_date"], "closed_on": None,
            "merged_into": None}


def _details_changed(row: dict, envelope: Envelope) -> dict:
    changes = dict(envelope.data["changes"])
    if "services" in changes:
        changes["services"] = ",".join(changes["services"])
    return {**row, **changes}


def _set(**fields: Callable[[dict], object]):
    """A row change that sets each field from the event's payload."""
    return lambda row, envelope: {**row, **{name: get(envelope.data) for name, get in fields.items()}}


def _occupancy(delta: int):
    return lambda row, envelope: {**row, "occupancy": row["occupancy"] + delta}


ROW_CHANGES: dict[str, Callable[[dict | None, Envelope], dict]] = {
    "facilities.facility_opened.v1": _opened,
    "facilities.facility_details_changed.v1": _details_changed,
    "facilities.capacity_changed.v1": _set(capacity=lambda d: d["capacity"]),
    "facilities.star_rating_awarded.v1": _set(stars=lambda d: d["stars"]),
    "facilities.star_rating_changed.v1": _set(stars=lambda d: d["stars"]),
    "facilities.facility_suspended.v1": _set(status=lambda d: "suspended"),
    "facilities.facility_reinstated.v1": _set(status=lambda d: "open"),
    "facilities.facility_merged.v1": _set(status=lambda d: "merged", merged_into=lambda d: d["merged_into"],
                                          occupancy=lambda d: 0),
    "facilities.facility_absorbed.v1": _set(capacity=lambda d: d["capacity"]),
    "facilities.facility_closed.v1": _set(status=lambda d: "closed", closed_on=lambda d: d["effective_date"]),
    "facilities.elder_admitted.v1": _occupancy(+1),
    "facilities.elder_transferred.v1": _occupancy(+1),
    "facilities.elder_discharged.v1": _occupancy(-1),
    "facilities.elder_transferred_out.v1": _occupancy(-1),
}


def _chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _ids_table(ids: list[str]):
    return func.unnest(bindparam("ids", ids, type_=ARRAY(String))).table_valued("id").render_derived(name="ids")


# PostgreSQL: the ids as one array joined to the primary key (an index probe each). An IN
# list of hundreds of values is planned as a scan of the whole table, and a rebuild — one
# transaction rewriting rows page after page — leaves every old version in that scan.
def _rows_of(conn: Connection, ids: list[str]):
    if conn.dialect.name == "postgresql":
        listed = _ids_table(ids)
        yield from conn.execute(select(facilities).join(listed, facilities.c.facility_id == listed.c.id))
        return
    for chunk in _chunks(ids):
        yield from conn.execute(select(facilities).where(facilities.c.facility_id.in_(chunk)))


def _delete_rows(conn: Connection, ids: list[str]) -> None:
    if conn.dialect.name == "postgresql":
        listed = _ids_table(ids)
        conn.execute(delete(facilities).where(facilities.c.facility_id == listed.c.id))
        return
    for chunk in _chunks(ids):
        conn.execute(delete(facilities).where(facilities.c.facility_id.in_(chunk)))


class FacilityDirectory:
    """One row per facility: what search and the statistics read."""

    name = "facility_directory"
    handles = frozenset(EVENT_TYPES)

    def tables(self):
        return [facilities]

    def apply(self, conn: Connection, envelope: Envelope) -> None:
        self.apply_many(conn, [envelope])

    def apply_many(self, conn: Connection, envelopes: Sequence[Envelope]) -> None:
        touched = list(dict.fromkeys(envelope.subject for envelope in envelopes))
        rows = {row.facility_id: dict(row._mapping) for row in _rows_of(conn, touched)}
        for envelope in envelopes:
            change = ROW_CHANGES.get(envelope.type)
            row = rows.get(envelope.subject)
            if change is not None:
                row = change(row, envelope)
            if row is not None:       # grant events change nothing here but the version
                rows[envelope.subject] = {**row, "version": envelope.sequence}
        _delete_rows(conn, touched)
        insert_many(conn, facilities, [rows[facility_id] for facility_id in touched if facility_id in rows])


class ResidenceLog:
    """Every stay of every elder: current residents (``left_on`` empty) and the history."""

    name = "residences"
    handles = frozenset({"facilities.elder_admitted.v1", "facilities.elder_transferred.v1",
                         "facilities.elder_discharged.v1"})

    def tables(self):
        return [residences]

    def apply(self, conn: Connection, envelope: Envelope) -> None:
        self.apply_many(conn, [envelope])

    def apply_many(self, conn: Connection, envelopes: Sequence[Envelope]) -> None:
        """Stays begun in this page are built in memory (and ended there if the page ends
        them); stays begun earlier are ended with one UPDATE per stay, before the new
        rows are inserted, so the one-current-stay index holds at every step."""
        begun: dict[str, dict] = {}          # elder id → the open stay begun in this page
        new_rows: list[dict] = []
        ended: dict[str, tuple[str, str]] = {}   # elder id → (left on, reason) of a stay already stored
        for envelope in envelopes:
            data = envelope.data
            if envelope.type != "facilities.elder_admitted.v1":
                reason = data["reason"]
                if envelope.type == "facilities.elder_transferred.v1":
                    reason = f"transferred to {envelope.subject}: {reason}"
                stay = begun.pop(data["elder_id"], None)
                if stay is not None:
                    stay.update(left_on=data["effective_date"], left_reason=reason)
                else:
                    ended[data["elder_id"]] = (data["effective_date"], reason)
            if envelope.type != "facilities.elder_discharged.v1":
                row = {"stay_id": envelope.id, "elder_id": data["elder_id"], "facility_id": envelope.subject,
                       "admission_kind": data["admission_kind"], "admitted_on": data["effective_date"],
                       "left_on": None, "left_reason": None}
                begun[data["elder_id"]] = row
                new_rows.append(row)
        insert_many(conn, residences, self._taken_out(conn, ended) + new_rows)

    @staticmethod
    def _taken_out(conn: Connection, ended: dict[str, tuple[str, str]]) -> list[dict]:
        """Remove the stored current stays that ``ended`` ends and return them ended, to be
        inserted again with the page's new stays: one statement per chunk of elders, where
        an UPDATE per stay costs a round trip each on PostgreSQL."""
        rows = []
        for elder_ids in _chunks(list(ended)):
            taken = conn.execute(delete(residences).where(residences.c.elder_id.in_(elder_ids),
                                                          residences.c.left_on.is_(None))
                                 .returning(*residences.c))
            for row in taken:
                left_on, reason = ended[row.elder_id]
                rows.append({**row._mapping, "left_on": left_on, "left_reason": reason})
        return rows


class FacilityReadModel:
    """The directory and the residence log kept — and rebuilt — in one pass over the log."""

    name = "facility_read_model"
    handles = FacilityDirectory.handles | ResidenceLog.handles

    def __init__(self):
        self.parts = (FacilityDirectory(), ResidenceLog())

    def tables(self):
        return [table for part in self.parts for table in part.tables()]

    def apply(self, conn: Connection, envelope: Envelope) -> None:
        self.apply_many(conn, [envelope])

    def apply_many(self, conn: Connection, envelopes: Sequence[Envelope]) -> None:
        apply_page_to_projections(conn, self.parts, envelopes)
