"""Checking registrations without writing: what ``register_elder`` would answer for each of
a batch (the ledger import's dry run), and which recorded elders each may duplicate.

The same path as the command: the ``register_elder`` schema, the division table, the elder's
stream and ``decide`` with the policy book — only the append is left out, so the dry run's
rules cannot drift from the command's.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select

from kernel.errors import EldercareError, ValidationError
from kernel.likeness import HOUSEHOLD_NAME, LikenessIndex, Person, normalised_id
from kernel.validation import load_or_refuse
from services.registry.adapters.tables import elders
from services.registry.domain import decide
from services.registry.handlers import RegistryContext, _check_places, load_elder
from services.registry.schemas import COMMAND_SCHEMAS

MAX_BATCH = 1000


def check_registrations(conn, store, ctx: RegistryContext, payloads: list, today: date) -> list[dict]:
    """For each payload, in order: ``errors`` ({field: [messages]}, empty when it would be
    accepted), ``existing`` (the elder already holding its resident ID, if any) and
    ``similar`` (recorded elders it probably duplicates: ``[{elder_id, reason}]``)."""
    holders = _holders(conn, [p.get("resident_id") for p in payloads if isinstance(p, dict)])
    similar = _similar(conn, store, ctx, payloads)
    answers = []
    for index, payload in enumerate(payloads):
        resident_id = normalised_id(payload.get("resident_id")) if isinstance(payload, dict) and \
            isinstance(payload.get("resident_id"), str) else None
        holder = holders.get(resident_id)
        answers.append({"errors": _problems(conn, store, ctx, payload, today),
                        "existing": holder, "similar": similar.get(index, [])})
    return answers


def _problems(conn, store, ctx: RegistryContext, payload, today: date) -> dict:
    try:
        command = load_or_refuse(COMMAND_SCHEMAS["register_elder"], payload)
        _check_places(ctx.divisions, command)
        decide(load_elder(_StoreReader(store, conn), command.elder_id, ctx.catalogue), command, ctx.policies, today)
    except ValidationError as error:
        return error.errors
    except EldercareError as error:
        return {error.field or "_schema": [error.message]}
    return {}


def _holders(conn, resident_ids) -> dict[str, str]:
    wanted = sorted({normalised_id(r) for r in resident_ids if isinstance(r, str)})
    found = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(select(elders.c.resident_id, elders.c.elder_id).where(
            elders.c.resident_id.in_(wanted[start:start + 500]), elders.c.record_status != "merged"))
        found.update({row.resident_id: row.elder_id for row in rows})
    return found


def _as_person(ref, payload) -> Person | None:
    if not isinstance(payload, dict):
        return None
    values = {name: payload.get(name) for name in ("resident_id", "name", "birth_date", "division_code",
                                                   "household_id")}
    if not all(isinstance(value, str) for value in values.values()):
        return None
    return Person(ref, values["resident_id"], values["name"], values["birth_date"], values["division_code"],
                  values["household_id"])


def _similar(conn, store, ctx, payloads) -> dict[int, list[dict]]:
    """Recorded elders of the batch's counties that each payload probably duplicates."""
    people = [p for p in (_as_person(i, payload) for i, payload in enumerate(payloads)) if p is not None]
    index = LikenessIndex(people)
    by_village_name = defaultdict(list)
    for person in people:
        by_village_name[(person.village_code, person.name.strip())].append(person)
    counties = sorted({p.village_code[:6] for p in people if len(p.village_code) == 12})
    found: dict[int, list[dict]] = defaultdict(list)
    for county in counties:
        rows = conn.execute(select(elders.c.elder_id, elders.c.resident_id, elders.c.name, elders.c.birth_date,
                                   elders.c.division_code).where(elders.c.county_code == county,
                                                                 elders.c.record_status == "active"))
        for row in rows:
            recorded = Person(row.elder_id, row.resident_id, row.name, row.birth_date, row.division_code, "")
            for person, reason in index.probable(recorded):
                found[person.ref].append({"elder_id": row.elder_id, "reason": reason})
            namesakes = by_village_name.get((row.division_code, row.name.strip()), ())
            if namesakes:
                # Households are in the record, not the directory: read the few namesakes' streams.
                household = load_elder(_StoreReader(store, conn), row.elder_id, ctx.catalogue).household_id
                for person in namesakes:
                    already = any(m["elder_id"] == row.elder_id for m in found[person.ref])
                    if not already and person.household_id.strip() == (household or "").strip() \
                            and normalised_id(person.resident_id) != normalised_id(row.resident_id):
                        found[person.ref].append({"elder_id": row.elder_id, "reason": HOUSEHOLD_NAME})
    return found


class _StoreReader:
    """``load_elder``'s source, reading inside the check's connection."""

    def __init__(self, store, conn):
        self.store, self.conn = store, conn

    def read_stream(self, elder_id):
        return self.store.read_stream(elder_id, self.conn)
