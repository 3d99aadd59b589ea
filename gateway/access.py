"""Who may do what: one table of permissions by action, and the jurisdiction rule.

- A user acts only inside their jurisdiction: the elder's or facility's division code must
  lie within the user's (a village worker's jurisdiction is their village; a county
  coordinator's their county).
- A department writes only the commands it owns (civil affairs registers elders and runs
  subsidies, finance approves payment runs, health records health-management visits, the
  addressed department accepts and closes a referral — the service checks the addressee).
- Auditors read everything in their jurisdiction and write nothing.
- Break-the-glass: a read outside the jurisdiction is allowed only with a stated reason; the
  gateway records it and alerts the record's owner.
"""
from __future__ import annotations

from dataclasses import dataclass

from contracts.actors import DEFAULT_DEPARTMENTS, ROLES
from gateway.auth import Principal
from kernel.divisions import significant_prefix
from kernel.errors import EldercareError

ANY_DEPARTMENT = None
FIELD_ROLES = frozenset({"village_worker", "township_officer", "county_coordinator", "city_coordinator", "admin"})
COORDINATORS = frozenset({"county_coordinator", "city_coordinator", "admin"})
OFFICERS = frozenset({"township_officer", "county_coordinator", "city_coordinator", "department_officer", "admin"})
EVERYONE = frozenset({"village_worker", "township_officer", "county_coordinator", "city_coordinator",
                      "department_officer", "auditor", "admin"})


class ForbiddenError(EldercareError):
    """A refusal that says what is allowed: the departments and roles that may do this, and
    every department and role a token can name (an operator issuing a token needs both)."""

    code = "forbidden"

    def __init__(self, message: str, *, field: str | None = None, permission: "Permission | None" = None):
        super().__init__(message, field=field)
        self.allowed = {
            "departments": sorted(permission.departments) if permission and permission.departments is not None
            else list(DEFAULT_DEPARTMENTS),
            "roles": sorted(permission.roles - ({"auditor"} if permission.writes else set())) if permission
            else [role for role in ROLES if role != "system"],
        }
        self.known = {"departments": list(DEFAULT_DEPARTMENTS), "roles": [r for r in ROLES if r != "system"]}


@dataclass(frozen=True)
class Permission:
    departments: frozenset[str] | None     # None: any department
    roles: frozenset[str]
    writes: bool

    def refusal(self, principal: Principal) -> str | None:
        if self.writes and principal.role == "auditor":
            return "auditors read and never write"
        if principal.role not in self.roles:
            return f"role {principal.role} may not do this (allowed: {', '.join(sorted(self.roles))})"
        if self.departments is not None and principal.department not in self.departments:
            return (f"{principal.department} does not own this command "
                    f"(owned by: {', '.join(sorted(self.departments))})")
        return None


def command(departments, roles=FIELD_ROLES) -> Permission:
    return Permission(frozenset(departments) if departments is not None else None, frozenset(roles), True)


def query(roles=EVERYONE) -> Permission:
    return Permission(None, frozenset(roles), False)


def check_permission(principal: Principal, permission: Permission, action: str) -> None:
    refusal = permission.refusal(principal)
    if refusal:
        raise ForbiddenError(f"{action}: {refusal}", field="authorization", permission=permission)


def within(principal: Principal, division_code: str | None) -> bool:
    if division_code is None:
        return True
    return division_code.startswith(significant_prefix(principal.jurisdiction))


def check_jurisdiction(principal: Principal, division_code: str | None, action: str) -> None:
    if not within(principal, division_code):
        raise ForbiddenError(f"{action}: {division_code} is outside your jurisdiction "
                             f"({principal.jurisdiction}); an emergency read needs break_glass with a reason",
                             field="jurisdiction")
