"""What visits knows of each elder, learnt from registry events (never from the registry's
database). One row per elder, updated in the consumer's transaction with the inbox record."""
from __future__ import annotations

import json

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from kernel.envelope import Envelope
from services.visits.adapters.tables import elder_profiles

HARD_UP_STATUSES = ("dibao", "tekun", "poverty_registered")


def _hard_up(support_status: dict) -> bool:
    return any(support_status.get(name) for name in HARD_UP_STATUSES)


def _supporters(items) -> str:
    return json.dumps([{"supporter_id": s["supporter_id"], "name": s["name"], "phone": s.get("phone")}
                       for s in items], ensure_ascii=False)


def apply_registry_event(conn: Connection, envelope: Envelope) -> dict | None:
    """Update the elder's profile; returns it (a dict) or None if visits never heard of them."""
    data, kind, elder_id = envelope.data, envelope.type, envelope.subject
    if kind == "registry.elder_registered.v1":
        conn.execute(insert(elder_profiles), {
            "elder_id": elder_id, "name": data["name"], "division_code": data["division_code"],
            "phone": data.get("phone"), "supporters": _supporters(data["supporters"]), "left_behind": False,
            "key_target": False, "hard_up": _hard_up(data["support_status"]), "record_status": "active",
            "died_on": None})
        return load_profile(conn, elder_id)
    profile = load_profile(conn, elder_id)
    if profile is None:
        return None
    changes = _changes(kind, data, profile)
    if changes:
        conn.execute(update(elder_profiles).where(elder_profiles.c.elder_id == elder_id).values(**changes))
        profile.update(changes)
    return profile


def _changes(kind: str, data: dict, profile: dict) -> dict:
    if kind == "registry.elder_details_corrected.v1":
        corrected = data["changes"]
        changes = {k: corrected[k] for k in ("name", "division_code", "phone") if k in corrected}
        if "supporters" in corrected:
            changes["supporters"] = _supporters(corrected["supporters"])
        if "support_status" in corrected:
            changes["hard_up"] = _hard_up(corrected["support_status"])
        return changes
    if kind == "registry.supporter_left.v1":
        known = [s for s in json.loads(profile["supporters"]) if s["supporter_id"] != data["supporter_id"]]
        return {"supporters": _supporters(known + [data])}
    if kind == "registry.support_status_changed.v1":
        return {"hard_up": _hard_up(data["support_status"])}
    if kind == "registry.elder_moved.v1":
        return {"division_code": data["division_code"]}
    if kind == "registry.elder_died.v1":
        return {"record_status": "deceased", "died_on": data["effective_date"]}
    if kind == "registry.record_merged_into.v1":
        return {"record_status": "merged"}
    if kind == "registry.record_unmerged.v1":
        return {"record_status": "active"}
    if kind in ("registry.became_left_behind.v1", "registry.ceased_left_behind.v1"):
        return {"left_behind": kind == "registry.became_left_behind.v1"}
    if kind == "registry.key_target_changed.v1":
        return {"key_target": data["is_key_target"]}
    return {}


def load_profile(conn: Connection, elder_id: str) -> dict | None:
    row = conn.execute(select(elder_profiles).where(elder_profiles.c.elder_id == elder_id)).first()
    return dict(row._mapping) if row else None


def target_classes(profile: dict) -> frozenset[str]:
    """The classes the elder is in today; policy decides which of them owe visits."""
    if profile["record_status"] != "active":
        return frozenset()
    classes = set()
    if profile["left_behind"]:
        classes.add("general")
        if profile["key_target"]:
            classes.add("key_target")
    if profile["hard_up"]:
        classes.add("special_hardship")
    return frozenset(classes)
