"""What the visits RPCs answer with: plain dicts, dates as ISO strings."""
from __future__ import annotations

from services.visits.domain import ElderPlan, VisitorState


def visitor_view(state: VisitorState) -> dict:
    return {"visitor_id": state.visitor_id, "name": state.name, "phone": state.phone, "role": state.role,
            "organisation": state.organisation, "village_codes": list(state.village_codes),
            "active": state.active, "version": state.version}


def plan_view(plan: ElderPlan) -> dict:
    return {
        "elder_id": plan.elder_id, "name": plan.name, "division_code": plan.division_code,
        "classes": sorted(plan.classes), "visitor_id": plan.visitor_id,
        "notice_id": plan.notices[-1] if plan.notices else None,
        "tracking_from": plan.tracking_from.isoformat(), "version": plan.version,
        "obligation_history": [{"from": d.isoformat(), "classes": sorted(c)} for d, c in plan.memberships],
        "visits": [{"visit_id": v.visit_id, "visitor_id": v.visitor_id, "visited_on": v.visited_on.isoformat(),
                    "mode": v.mode, "services": list(v.services), "risks": [r.kind for r in v.risks]}
                   for v in sorted(plan.visits.values(), key=lambda v: (v.visited_on, v.visit_id))],
        "periods": [{"period": p.label, "due": p.due.isoformat(), "target_class": p.target_class,
                     "required": p.required, "outcome": p.outcome}
                    for p in sorted(plan.periods.values(), key=lambda p: (p.due, p.kind))],
    }
