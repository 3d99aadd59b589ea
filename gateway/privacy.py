"""Personal data at the gateway: views by role, purpose-bound unmasked reads, and an access
event for every attempt (``policies/privacy.yml`` through ``contracts.privacy``).

- **Views**: an elder's record is cut per role: each sensitive field the role's view does
  not show reads ``***``. The resident ID and health details are shown, even to a role whose
  view has them, only in a read that asks for them (``unmask=resident_id,health``) and names
  a purpose from the role's list (``purpose=case_review``).
- **Every attempt is logged** in the gateway's own log: reads (``gateway.record_read.v2``,
  with the fields unmasked), refusals — outside the jurisdiction, a purpose the role may not
  name, a field the view keeps masked — (``gateway.access_refused.v1``), and each elder a list
  read returned (``gateway.record_listed.v1``: searches, overdue lists, alerts, payment files).
  ``access_history`` is an elder's, in log order, for the auditor.
"""
from __future__ import annotations

import csv
import io
from datetime import date

from contracts.privacy import MASK, SENSITIVE_FIELDS, PrivacyPolicy, PrivacyVersion
from gateway.auth import Principal
from kernel.envelope import Actor, PendingEvent
from kernel.errors import NotPermittedError, ValidationError
from kernel.ids import new_stream_id
from kernel.trace import events_about

READ_EVENT = "gateway.record_read.v2"
REFUSED_EVENT = "gateway.access_refused.v1"
LISTED_EVENT = "gateway.record_listed.v1"
ACCESS_EVENTS = ("gateway.record_read.v1", READ_EVENT, REFUSED_EVENT, LISTED_EVENT)
# Shown only in a read that asks for them with a purpose (PIPL art. 28: sensitive information).
PURPOSE_BOUND = frozenset({"resident_id", "health"})
# Routes whose answer is an elder's record, cut to the caller's view.
RECORD_ROUTES = frozenset({"get_elder", "get_elder_as_of"})
# Routes answering lists that carry personal data: each elder they return is an access event.
LIST_ROUTES = frozenset({"search_elders", "list_overdue", "list_alerts", "payment_file", "list_referrals",
                         "list_plans"})


def unmask_request(text: str | None) -> frozenset[str]:
    fields = frozenset(part.strip() for part in (text or "").split(",") if part.strip())
    unknown = sorted(fields - set(SENSITIVE_FIELDS))
    if unknown:
        raise ValidationError({"unmask": [f"not a sensitive field: {', '.join(unknown)} "
                                          f"(known: {', '.join(SENSITIVE_FIELDS)})"]})
    return fields


def check_unmask(version: PrivacyVersion, principal: Principal, fields: frozenset[str], purpose: str | None) -> None:
    """An unmasked read names a purpose the role may name, and only fields the role's view
    can show (a ``consent`` field: the record then shows it only as the elder's consent says)."""
    if not fields:
        return
    version.check_purpose(principal.role, purpose)
    hidden = sorted(field for field in fields if version.views.get(principal.role, {}).get(field)
                    not in ("visible", "consent"))
    if hidden:
        raise NotPermittedError(f"role {principal.role} may not see {', '.join(hidden)} unmasked",
                                field="unmask")


# Fields of the record shown or masked with a sensitive field of the view.
ALONGSIDE = {"hospital": "health"}
HEALTH_CONSENT = "share_health_with_departments"


def cut_to_view(record: dict, version: PrivacyVersion, role: str, unmasked: frozenset[str],
                department: str | None = None) -> dict:
    """``record`` as ``role`` (of ``department``) sees it: fields its view masks, and
    purpose-bound fields not asked for, read ``***`` (supporters' and carers' names, phones
    and whereabouts). A ``consent`` field shows as the elder's recorded consent says."""
    result = dict(record)
    consented = tuple((record.get("consents") or {}).get(HEALTH_CONSENT, ()))
    for field in (*SENSITIVE_FIELDS, *ALONGSIDE):
        value = result.get(field)
        if value in (None, "", []):
            continue
        category = ALONGSIDE.get(field, field)
        shown = (version.visible(role, category, department, consented)
                 and (category not in PURPOSE_BOUND or category in unmasked))
        if not shown:
            result[field] = _masked(value)
    return result


def _masked(value):
    def person(item):
        return {k: (MASK if k in ("name", "phone", "whereabouts") and v else v) for k, v in item.items()}
    if isinstance(value, list):
        return [person(item) if isinstance(item, dict) else MASK for item in value]
    if isinstance(value, dict):
        return person(value)
    return MASK


# Which view field a personal path of an event belongs to (its first key; a correction's
# changed field); a path this table does not know is treated as a health detail (shown least).
_CATEGORY = {"resident_id": "resident_id", "name": "name", "visitor_name": "name", "phone": "phone",
             "visitor_phone": "phone", "address": "address", "health": "health", "hospital": "health",
             "findings": "health", "risks": "health", "description": "health", "differences": "health",
             "supporters": "supporters", "whereabouts": "supporters", "recipients": "supporters",
             "contacts": "contacts", "carer": "carer", "channels": "phone"}


def _category(path: tuple) -> str:
    steps = [step for step in path if step not in ("changes", "*")]
    return _CATEGORY.get(steps[0], "health") if steps else "health"


def cut_timeline(answer: dict, version: PrivacyVersion, role: str, unmasked: frozenset[str]) -> dict:
    """The timeline's events with the personal fields the role may not see (as in
    ``cut_to_view``) masked, by each event's contract."""
    from contracts import CATALOGUE
    from kernel.personal import redacted

    def shown(path):
        field = _category(path)
        return version.visible(role, field) and (field not in PURPOSE_BOUND or field in unmasked)

    items = []
    for item in answer.get("items", []):
        try:
            paths = CATALOGUE.contract(item["type"]).personal_paths
        except Exception:               # noqa: BLE001 - a type from a newer contract: shown as the service sent it
            paths = ()
        hidden = [path for path in paths if not shown(path)]
        items.append({**item, "data": redacted(item["data"], hidden, MASK)} if hidden else item)
    return {**answer, "items": items}


def elders_in(answer) -> list[str]:
    """The elders a list answer names (``elder_id``; an elder beneficiary; a payment file's rows)."""
    found: dict[str, None] = {}

    def walk(value):
        if isinstance(value, dict):
            if isinstance(value.get("elder_id"), str):
                found[value["elder_id"]] = None
            if value.get("beneficiary_kind") == "elder" and isinstance(value.get("beneficiary_id"), str):
                found[value["beneficiary_id"]] = None
            if isinstance(value.get("csv"), str):
                for row in csv.DictReader(io.StringIO(value["csv"])):
                    walk(row)
            for item in value.values():
                if isinstance(item, (dict, list)):
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(answer)
    return list(found)


def _who(principal: Principal) -> dict:
    return {"user": principal.user, "department": principal.department, "role": principal.role,
            "caller_jurisdiction": principal.jurisdiction}


def _append(db, events: list[tuple[str, str, dict]], principal: Principal) -> None:
    actor = Actor(principal.department, principal.user, principal.role)
    with db.unit_of_work() as uow:
        streams = {stream for stream, _type, _data in events}
        uow.append([PendingEvent(stream_id=stream, type=type_, data=data, time=uow.now(), actor=actor,
                                 jurisdiction=principal.jurisdiction) for stream, type_, data in events],
                   {stream: uow.stream_version(stream) for stream in streams})


def record_read(db, elder_id: str, principal: Principal, route: str, purpose: str | None, break_glass: bool,
                unmasked: frozenset[str]) -> None:
    _append(db, [(elder_id, READ_EVENT, {"elder_id": elder_id, **_who(principal), "route": route,
                                         "purpose": purpose, "break_glass": break_glass,
                                         "unmasked": sorted(unmasked)})], principal)


def record_refused(db, elder_id: str | None, principal: Principal, route: str, purpose: str | None,
                   error) -> None:
    """A refused attempt is an access event too (written although the read itself was refused)."""
    stream = elder_id or f"refused-{new_stream_id()}"
    _append(db, [(stream, REFUSED_EVENT, {"elder_id": elder_id, **_who(principal), "route": route,
                                          "purpose": purpose, "reason": str(getattr(error, "message", error)),
                                          "field": getattr(error, "field", None)})], principal)


def record_listed(db, answer, principal: Principal, route: str, purpose: str | None) -> int:
    """Each elder a list answer returned, one event each on one stream per list read (found
    by the elder through the log's index on the payload's ``elder_id``)."""
    elder_ids = elders_in(answer)
    if not elder_ids:
        return 0
    stream = f"list-{new_stream_id()}"
    _append(db, [(stream, LISTED_EVENT, {"elder_id": elder_id, **_who(principal), "route": route,
                                         "purpose": purpose, "listed_with": len(elder_ids)})
                 for elder_id in elder_ids], principal)
    return len(elder_ids)


def access_history(engine, elder_id: str) -> list[dict]:
    """Who read, listed or was refused this elder's record, when and why, in log order."""
    history = []
    for event in events_about(engine, elder_id):
        if event["type"] not in ACCESS_EVENTS:
            continue
        data = event["data"]
        outcome = {REFUSED_EVENT: "refused", LISTED_EVENT: "listed"}.get(event["type"], "read")
        history.append({"recorded_time": event["recorded_time"], "outcome": outcome,
                        **{k: data.get(k) for k in ("user", "department", "role", "route", "purpose")},
                        "break_glass": bool(data.get("break_glass")), "unmasked": data.get("unmasked", []),
                        "reason": data.get("reason")})
    return history


def policy_in_force(policy: PrivacyPolicy, today: date) -> PrivacyVersion:
    return policy.in_force(today)
