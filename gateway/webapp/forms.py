"""What a form sends, as the command the service takes, and the service's refusal put back
next to the field it names. The browser holds no business rule: the checks are the
services' own (the resident ID, the division, the visit date), shown where they apply."""
from __future__ import annotations

from gateway.webapp.app import flatten

# Form field → the command field it fills (dotted, as marshmallow names a nested error).
REGISTER_FIELDS = {
    "name": "name", "resident_id": "resident_id", "sex": "sex", "birth_date": "birth_date",
    "division_code": "division_code", "household_id": "household_id", "address": "address", "phone": "phone",
    "self_care_level": "self_care_level", "effective_date": "effective_date",
    "supporter_name": "supporters.0.name", "supporter_relationship": "supporters.0.relationship",
    "supporter_phone": "supporters.0.phone", "supporter_whereabouts": "supporters.0.whereabouts",
    "supporter_left_on": "supporters.0.left_on",
}
VISIT_FIELDS = {
    "visitor_id": "visitor_id", "mode": "mode", "visited_on": "visited_on", "services": "services",
    "finding_living_conditions": "findings.living_conditions", "finding_health": "findings.health",
    "finding_care_by_children": "findings.care_by_children", "finding_home_safety": "findings.home_safety",
    "finding_needs": "findings.needs", "risk_kind": "risks.0.kind", "risk_severity": "risks.0.severity",
    "risk_description": "risks.0.description",
}
FINDINGS = ("living_conditions", "health", "care_by_children", "home_safety", "needs")


def text(form, name: str) -> str | None:
    value = (form.get(name) or "").strip()
    return value or None


def registration(form, elder_id: str) -> dict:
    body = {"elder_id": elder_id, "lives_alone": form.get("lives_alone") == "yes", "supporters": []}
    for field in ("name", "resident_id", "sex", "birth_date", "division_code", "household_id", "address", "phone",
                  "self_care_level", "effective_date"):
        body[field] = text(form, field)
    body = {k: v for k, v in body.items() if v is not None}
    if text(form, "supporter_name"):
        body["supporters"] = [{
            "supporter_id": "s1", "name": text(form, "supporter_name"),
            "relationship": text(form, "supporter_relationship"), "phone": text(form, "supporter_phone"),
            "whereabouts": text(form, "supporter_whereabouts"), "left_on": text(form, "supporter_left_on")}]
    return body


def visit(form, visit_id: str) -> dict:
    body = {"visit_id": visit_id, "visitor_id": text(form, "visitor_id"), "mode": text(form, "mode"),
            "visited_on": text(form, "visited_on"), "services": form.getlist("services"),
            "findings": {topic: text(form, f"finding_{topic}") for topic in FINDINGS if text(form, f"finding_{topic}")},
            "risks": []}
    if text(form, "risk_kind"):
        body["risks"] = [{"kind": text(form, "risk_kind"), "severity": text(form, "risk_severity"),
                          "description": text(form, "risk_description") or ""}]
    return {k: v for k, v in body.items() if v is not None}


def field_errors(error, fields: dict[str, str]) -> dict[str, list[str]]:
    """The refusal's messages by form field; what names no field of the form goes under
    ``_`` and is shown at the top, so nothing the service said is lost."""
    by_command_field = {v: k for k, v in fields.items()}
    errors = getattr(error, "errors", None) or {error.field or "_": [error.message]}
    shown: dict[str, list[str]] = {}
    for name, messages in flatten(errors).items():
        form_field = by_command_field.get(name) or by_command_field.get(name.rsplit(".", 1)[0]) or "_"
        if form_field == "_" and name != "_":
            messages = [f"{name}: {m}" for m in messages]
        shown.setdefault(form_field, []).extend(str(m) for m in messages)
    return shown


def all_messages(error, fields: dict[str, str] | None = None) -> list[str]:
    """Every message of the refusal in one list, for a form that shows them in one place."""
    return [m for ms in field_errors(error, fields or {}).values() for m in ms]
