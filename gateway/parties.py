"""The notifications party a signed-in person answers for: their office. Alerts are routed,
and messages kept, by party; the API's inbox and the web app's pages both ask here."""
from __future__ import annotations


def party_of(principal) -> str:
    code = principal.jurisdiction
    if principal.role == "department_officer":
        return f"department:{principal.department}:{code[:6]}"
    if principal.role == "village_worker":
        return f"village_committee:{code}"
    if principal.role == "township_officer":
        return f"township:{code[:9]}"
    return f"county_civil_affairs:{code[:6]}"
