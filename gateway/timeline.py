"""The elder's cross-agency timeline, and the access log of their personal record."""
from __future__ import annotations

from nameko.exceptions import MethodNotFound, RpcTimeout, UnknownService

from contracts.services import SERVICES
from gateway.auth import Principal

# Every service whose log answers for an elder (the catalogue says which have elder_events).
TIMELINE_SOURCES = tuple(name for name, service in SERVICES.items() if "elder_events" in service.rpc)


def timeline(rpc, elder_id: str) -> dict:
    """Every service's events about the elder, merged in the order they took effect. A
    service that does not answer is named, not silently left out. Every service is asked
    before any answer is awaited, so the slowest one sets the time, not their sum."""
    items, unavailable, asked = [], [], {}
    for source in TIMELINE_SOURCES:
        try:
            asked[source] = rpc[source].elder_events.call_async(elder_id)
        except (UnknownService, RpcTimeout, MethodNotFound) as exc:
            unavailable.append({"service": source, "reason": type(exc).__name__})
    for source, reply in asked.items():
        try:
            items += reply.result()
        except (UnknownService, RpcTimeout, MethodNotFound) as exc:
            unavailable.append({"service": source, "reason": type(exc).__name__})
    items.sort(key=lambda e: (e["time"], e["recorded_time"], e["source"], e["position"]))
    return {"elder_id": elder_id, "items": items, "sources_unavailable": unavailable}


def record_read(db, elder_id: str, principal: Principal, route: str, purpose: str | None, break_glass: bool,
                rpc, unmasked: frozenset[str] = frozenset()) -> None:
    """Append the access event (who, what, why, which purpose-bound fields in clear) to the
    gateway's own log; a break-the-glass read also raises an alert to the record's owner (the
    elder's village committee and civil affairs route it, by the notifications policy)."""
    from gateway import privacy
    privacy.record_read(db, elder_id, principal, route, purpose, break_glass, unmasked)
    if break_glass:
        elder = rpc["registry"].get_elder(elder_id)
        rpc["notifications"].report_alert({
            "kind": "break_glass_read", "division_code": elder["division_code"], "severity": "medium",
            "summary": f"{principal.user} ({principal.department}, {principal.jurisdiction}) read this elder's "
                       f"record from outside its jurisdiction: {purpose or 'no purpose given'}",
            "elder_id": elder_id, "incident_key": f"break_glass:{elder_id}:{principal.user}:{route}"},
            principal.actor())
