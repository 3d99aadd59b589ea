"""Who administers whom (issue 18): an administrator grants and manages only inside their
jurisdiction, never a role above their own, and an administrator role only one level down
(a city administrator makes the counties' administrators; a county administrator the
village and township accounts of their county). The bootstrap (``system``) is unlimited.
"""
from __future__ import annotations

from dataclasses import dataclass

from contracts.accounts import ROLE_LEVELS, ROLE_RANKS
from kernel.divisions import significant_prefix

from .person import Grant, PersonState

SYSTEM = "system"


@dataclass(frozen=True)
class Administrator:
    """Who is acting, as the accounts service knows them (not as the caller claims)."""

    by: str                               # person_id, or "system:<who>"
    grants: tuple[Grant, ...]             # their administrator grants
    is_system: bool = False

    @classmethod
    def system(cls, who: str) -> "Administrator":
        return cls(f"system:{who}", (), True)

    @classmethod
    def of(cls, person: PersonState) -> "Administrator":
        admin = tuple(g for g in person.grant_list() if g.role == "admin")
        return cls(person.person_id, admin if person.status == "active" else ())


def within(place: str, jurisdiction: str) -> bool:
    return place.startswith(significant_prefix(jurisdiction))


def strictly_within(place: str, jurisdiction: str) -> bool:
    return within(place, jurisdiction) and len(significant_prefix(place)) > len(significant_prefix(jurisdiction))


def grant_refusal(admin: Administrator, role: str, jurisdiction: str) -> tuple[str, str] | None:
    """(field, why) when ``admin`` may not grant ``role`` at ``jurisdiction``; None when
    they may. The first administrator grant that covers it is the one it is granted under."""
    if admin.is_system:
        return None
    if not admin.grants:
        return "actor", "only an administrator grants roles"
    reasons = []
    for grant in admin.grants:
        if not within(jurisdiction, grant.jurisdiction):
            reasons.append(("jurisdiction", f"{jurisdiction} is outside your jurisdiction ({grant.jurisdiction})"))
        elif ROLE_RANKS[role] > ROLE_RANKS[grant.role]:
            reasons.append(("role", f"{role} is above your own role ({grant.role})"))
        elif role == "admin" and not strictly_within(jurisdiction, grant.jurisdiction):
            reasons.append(("role", "an administrator is made by the administrator of the level above"))
        else:
            return None
    return reasons[0]


def covering_grant(admin: Administrator, role: str, jurisdiction: str) -> str | None:
    for grant in admin.grants:
        if grant_refusal(Administrator(admin.by, (grant,)), role, jurisdiction) is None:
            return grant.grant_id
    return None


def manage_refusal(admin: Administrator, person: PersonState) -> str | None:
    """Why ``admin`` may not manage ``person`` (suspend, reset, revoke...), or None. They
    must be able to grant every role the person holds, and the person's home must be theirs."""
    if admin.is_system:
        return None
    if not admin.grants:
        return "only an administrator manages other people's accounts"
    if not any(within(person.home_jurisdiction, g.jurisdiction) for g in admin.grants):
        return f"{person.login} belongs to {person.home_jurisdiction}, outside your jurisdiction"
    for held in person.grants.values():
        refusal = grant_refusal(admin, held.role, held.jurisdiction)
        if refusal:
            return f"{person.login} holds {held.role} at {held.jurisdiction}: {refusal[1]}"
    return None


def level_refusal(role: str, level: str | None) -> str | None:
    """Why a role cannot be held at a division of this level (a village worker works in a
    village, a township officer in a township...)."""
    allowed = ROLE_LEVELS[role]
    if allowed is None or level in allowed:
        return None
    return f"{role} is held at a {' or '.join(allowed)}, and this is a {level}"
