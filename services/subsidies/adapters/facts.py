"""The fact history: registry and facilities events → rows of ``fact_history`` (and the
facility grants), and rows → domain facts. Subsidies never reads another service's
database; everything it knows of an elder arrived as a consumed event."""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from kernel.envelope import Envelope, format_time
from kernel.errors import ValidationError
from services.subsidies.adapters.tables import elder_divisions, elders, fact_history, facility_grants
from services.subsidies.domain import (Corrected, Died, EnteredFacility, FacilityGrant, Fact, LeftFacility,
                                       MealsCounted, MergedInto, Moved, Registered, SelfCareAssessed, SupportStatus,
                                       SupportStatusChanged, Unmerged)

FACILITY_GRANT_EVENTS = {"facilities.star_award_granted.v1": "star_award",
                         "facilities.operating_subsidy_eligible.v1": "facility_operating_subsidy"}
CORRECTABLE = ("birth_date", "division_code", "self_care_level", "support_status")
_STATUS_KEYS = ("dibao", "tekun", "poverty_registered")


def _status(data: dict) -> dict:
    return {key: bool(data.get(key)) for key in _STATUS_KEYS}


def fact_of_event(envelope: Envelope) -> tuple[str, str, dict] | None:
    """(elder_id, kind, data) for an event that changes a fact subsidies uses, else None."""
    data, kind = envelope.data, envelope.type.split(".")[1]
    if envelope.type == "registry.elder_registered.v1":
        return envelope.subject, kind, {"birth_date": data["birth_date"], "division_code": data["division_code"],
                                        "self_care_level": data["self_care_level"],
                                        "support_status": _status(data["support_status"])}
    if envelope.type == "registry.elder_details_corrected.v1":
        changes = {name: data["changes"][name] for name in CORRECTABLE if name in data["changes"]}
        if "support_status" in changes:
            changes["support_status"] = _status(changes["support_status"])
        return (envelope.subject, kind, changes) if changes else None
    if envelope.type == "registry.self_care_assessed.v1":
        return envelope.subject, kind, {"level": data["level"]}
    if envelope.type == "registry.support_status_changed.v1":
        return envelope.subject, kind, {"support_status": _status(data["support_status"])}
    if envelope.type == "registry.elder_moved.v1":
        return envelope.subject, kind, {"division_code": data["division_code"]}
    if envelope.type == "registry.record_merged_into.v1":
        return envelope.subject, kind, {"survivor_id": data["survivor_id"]}
    if envelope.type in ("registry.elder_died.v1", "registry.record_unmerged.v1"):
        return envelope.subject, kind, {}
    if envelope.type in ("facilities.elder_admitted.v1", "facilities.elder_transferred.v1"):
        return data["elder_id"], "entered_facility", {"facility_id": data["facility_id"],
                                                      "admission_kind": data["admission_kind"]}
    if envelope.type == "facilities.elder_discharged.v1":
        return data["elder_id"], "left_facility", {"facility_id": data["facility_id"]}
    if envelope.type == "orders.meal_delivered.v1":
        return data["elder_id"], "meal_delivered", {"month": data["month"], "meals": data["meals_in_month"]}
    return None


def record_fact(conn: Connection, envelope: Envelope, recorded_at: datetime) -> str | None:
    """Append the event's fact to the elder's history (in the consumer's transaction) and
    bump the elder's fact version; returns the elder id, or None if nothing was relevant."""
    if envelope.type in FACILITY_GRANT_EVENTS:
        _record_grant(conn, envelope, recorded_at)
        return None
    found = fact_of_event(envelope)
    if found is None:
        return None
    elder_id, kind, data = found
    conn.execute(insert(fact_history), {
        "elder_id": elder_id, "event_id": envelope.id, "kind": kind,
        "effective_date": envelope.data.get("effective_date") or envelope.data["delivered_on"],
        "recorded_at": format_time(recorded_at), "source_recorded_time": format_time(envelope.recorded_time),
        "data": json.dumps(data, sort_keys=True, ensure_ascii=False)})
    bumped = conn.execute(update(elders).where(elders.c.elder_id == elder_id)
                          .values(facts_version=elders.c.facts_version + 1)).rowcount
    if not bumped:
        conn.execute(insert(elders), {"elder_id": elder_id, "facts_version": 1})
    division = data.get("division_code")
    if division and conn.execute(select(elder_divisions.c.elder_id).where(
            elder_divisions.c.division_code == division, elder_divisions.c.elder_id == elder_id)).first() is None:
        conn.execute(insert(elder_divisions), {"division_code": division, "elder_id": elder_id})
    return elder_id


def _record_grant(conn: Connection, envelope: Envelope, recorded_at: datetime) -> None:
    data = envelope.data
    amount = data["amount_fen"]
    # The contract's Integer field lets 20000.0 through; money here is never a float. A
    # ValidationError parks the event at once (retrying cannot fix it) with this message.
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationError({"data.amount_fen": [
            f"{envelope.type} {envelope.id}: money must be integer fen, got {amount!r}"]})
    conn.execute(insert(facility_grants), {
        "grant_id": envelope.id, "facility_id": data["facility_id"], "programme": FACILITY_GRANT_EVENTS[envelope.type],
        "division_code": data["division_code"], "effective_date": data["effective_date"],
        "amount_fen": data["amount_fen"], "policy_source": data["policy_source"][:255],
        "recorded_at": format_time(recorded_at)})


def _support_status(value: dict | None) -> SupportStatus | None:
    return None if value is None else SupportStatus(**{k: bool(value.get(k)) for k in _STATUS_KEYS})


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def fact_from_row(row) -> Fact:
    data = json.loads(row.data)
    common = {"effective_date": date.fromisoformat(row.effective_date),
              "recorded_at": datetime.fromisoformat(row.recorded_at.replace("Z", "+00:00")), "seq": row.fact_id}
    kind = row.kind
    if kind == "elder_registered":
        return Registered(**common, birth_date=_date(data["birth_date"]), division_code=data["division_code"],
                          self_care_level=data["self_care_level"], support_status=_support_status(data["support_status"]))
    if kind == "elder_details_corrected":
        return Corrected(**common, birth_date=_date(data.get("birth_date")), division_code=data.get("division_code"),
                         self_care_level=data.get("self_care_level"),
                         support_status=_support_status(data.get("support_status")))
    if kind == "self_care_assessed":
        return SelfCareAssessed(**common, level=data["level"])
    if kind == "support_status_changed":
        return SupportStatusChanged(**common, support_status=_support_status(data["support_status"]))
    if kind == "elder_moved":
        return Moved(**common, division_code=data["division_code"])
    if kind == "elder_died":
        return Died(**common)
    if kind == "record_merged_into":
        return MergedInto(**common, survivor_id=data["survivor_id"])
    if kind == "record_unmerged":
        return Unmerged(**common)
    if kind == "entered_facility":
        return EnteredFacility(**common, facility_id=data["facility_id"], admission_kind=data["admission_kind"])
    if kind == "left_facility":
        return LeftFacility(**common, facility_id=data["facility_id"])
    if kind == "meal_delivered":
        return MealsCounted(**common, month=data["month"], meals=data["meals"])
    raise ValueError(f"fact_history row {row.fact_id} has unknown kind {kind!r}")


_HISTORY_COLUMNS = (fact_history.c.fact_id, fact_history.c.elder_id, fact_history.c.kind,
                    fact_history.c.effective_date, fact_history.c.recorded_at, fact_history.c.data)


def load_histories(conn: Connection, elder_ids: Sequence[str]) -> dict[str, list[Fact]]:
    """The fact histories of several elders in one query."""
    found: dict[str, list[Fact]] = {elder_id: [] for elder_id in elder_ids}
    if not elder_ids:
        return found
    rows = conn.execute(select(*_HISTORY_COLUMNS).where(fact_history.c.elder_id.in_(list(elder_ids)))
                        .order_by(fact_history.c.elder_id, fact_history.c.fact_id))
    for row in rows:
        found[row.elder_id].append(fact_from_row(row))
    return found


def grant_from_row(row) -> FacilityGrant:
    return FacilityGrant(row.grant_id, row.facility_id, row.programme, row.division_code,
                         date.fromisoformat(row.effective_date), row.amount_fen, row.policy_source)
