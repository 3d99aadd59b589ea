"""Read-side queries over the facilities projections (search, statistics, residents)."""
from __future__ import annotations

from kernel.divisions import significant_prefix as _significant_prefix
from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from services.facilities.adapters.tables import facilities, residences

IN_OPERATION = ("open", "suspended")


def significant_prefix(division_code: str | None) -> str:
    return _significant_prefix(division_code) if division_code else ""


def _in_division(division_code: str | None):
    prefix = significant_prefix(division_code)
    return facilities.c.division_code.startswith(prefix) if prefix else True


def search(conn: Connection, query: dict) -> list[dict]:
    conditions = [_in_division(query["division_code"])]
    if query["kind"]:
        conditions.append(facilities.c.kind == query["kind"])
    if query["status"] == "in_operation":
        conditions.append(facilities.c.status.in_(IN_OPERATION))
    elif query["status"] != "any":
        conditions.append(facilities.c.status == query["status"])
    if query["min_stars"]:
        conditions.append(facilities.c.stars >= query["min_stars"])
    if query["with_free_places"]:
        conditions.append(facilities.c.occupancy < facilities.c.capacity)
    statement = (select(facilities).where(and_(*conditions)).order_by(facilities.c.facility_id)
                 .limit(query["limit"]).offset(query["offset"]))
    return [dict(row._mapping) for row in conn.execute(statement)]


def statistics(conn: Connection, division_code: str | None) -> dict:
    """Facilities in operation under a division, by kind: count, beds, residents, occupancy
    rate, and how many hold each star rating (``unrated`` for none)."""
    in_scope = and_(_in_division(division_code), facilities.c.status.in_(IN_OPERATION))
    by_kind = conn.execute(
        select(facilities.c.kind, func.count().label("facilities"),
               func.sum(facilities.c.capacity).label("beds"), func.sum(facilities.c.occupancy).label("residents"),
               func.sum(case((facilities.c.status == "suspended", 1), else_=0)).label("suspended"))
        .where(in_scope).group_by(facilities.c.kind).order_by(facilities.c.kind)).all()
    stars = conn.execute(select(facilities.c.kind, facilities.c.stars, func.count().label("n"))
                         .where(in_scope).group_by(facilities.c.kind, facilities.c.stars)).all()
    kinds = {row.kind: _figures(row.facilities, row.beds, row.residents, row.suspended) for row in by_kind}
    for row in stars:
        kinds[row.kind]["stars"][str(row.stars) if row.stars else "unrated"] = row.n
    total = _figures(sum(k["facilities"] for k in kinds.values()), sum(k["beds"] for k in kinds.values()),
                     sum(k["residents"] for k in kinds.values()), sum(k["suspended"] for k in kinds.values()))
    for figures in kinds.values():
        for level, n in figures["stars"].items():
            total["stars"][level] = total["stars"].get(level, 0) + n
    return {"division_code": division_code or "", "by_kind": kinds, "total": total}


def _figures(count, beds, residents, suspended) -> dict:
    beds, residents = int(beds or 0), int(residents or 0)
    return {"facilities": int(count), "suspended": int(suspended or 0), "beds": beds, "residents": residents,
            "occupancy_rate": round(residents / beds, 4) if beds else None, "stars": {}}


def residents_of(conn: Connection, facility_id: str) -> list[dict]:
    statement = (select(residences.c.elder_id, residences.c.admission_kind, residences.c.admitted_on)
                 .where(residences.c.facility_id == facility_id, residences.c.left_on.is_(None))
                 .order_by(residences.c.admitted_on, residences.c.elder_id))
    return [dict(row._mapping) for row in conn.execute(statement)]


def stays_of(conn: Connection, elder_id: str) -> list[dict]:
    statement = (select(residences).where(residences.c.elder_id == elder_id)
                 .order_by(residences.c.admitted_on, residences.c.left_on.is_(None)))
    return [dict(row._mapping) for row in conn.execute(statement)]


def facility_ids_in_operation(conn: Connection, after: str = "", limit: int = 1000) -> list[str]:
    return list(conn.execute(select(facilities.c.facility_id)
                             .where(facilities.c.status == "open", facilities.c.facility_id > after)
                             .order_by(facilities.c.facility_id).limit(limit)).scalars())
