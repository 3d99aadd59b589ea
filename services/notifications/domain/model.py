"""Names the notifications domain works with, and how a party is spelled.

The vocabularies repeat ``contracts.notifications`` on purpose: the domain imports no
marshmallow (a test holds the two equal).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The reporting chain (DOMAIN.md §4), lowest first.
LEVELS = ("village_committee", "township", "county_civil_affairs")
RISK_KINDS = ("wandering", "infringement", "critical_illness", "serious_mental_illness", "major_hardship",
              "neglect_by_supporter", "home_safety_hazard")
DEVICE_KINDS = ("one_key_button", "smart_bracelet", "smoke_alarm", "smart_pill_box")
DEVICE_ALARMS = ("one_key_call", "bracelet_sos", "bracelet_fall", "smoke_alarm", "pill_missed")
# Which alarms each kind of device can raise.
ALARMS_OF_DEVICE = {"one_key_button": ("one_key_call",), "smart_bracelet": ("bracelet_sos", "bracelet_fall"),
                    "smoke_alarm": ("smoke_alarm",), "smart_pill_box": ("pill_missed",)}
ALERT_KINDS = RISK_KINDS + DEVICE_ALARMS + (
    "visit_overdue", "became_key_target", "hospitalised", "heartbeat_missing", "contact_unreachable",
    "break_glass_read", "survey_behind_schedule", "health_risk_found", "case_opened",
    "payment_failed", "home_service_unaccepted")
SEVERITIES = ("low", "medium", "high", "critical")
CHANNELS = ("sms", "email", "webhook", "inbox")
OUTCOMES = ("resolved", "referred", "family_took_over", "false_alarm", "elder_hospitalised",
            "elder_deceased", "no_action_needed")
# The nine departments of the joint meeting (contracts.actors.DEFAULT_DEPARTMENTS).
DEPARTMENTS = ("civil_affairs", "public_security", "justice", "finance", "human_resources_social_security",
               "culture", "health", "poverty_alleviation", "aging_office")

RESPONSIBLE, INFORMED = "responsible", "informed"


@dataclass(frozen=True)
class Route:
    """A party an alert was sent to. Responsible parties must acknowledge; informed ones
    (the family) are told and urged to act but cannot stop the escalation."""

    party: str
    role: str


@dataclass(frozen=True)
class ChannelAddress:
    channel: str
    address: str


def level_party(level: str, division_code: str) -> str:
    """The body at ``level`` that answers for the village ``division_code``."""
    if level == "village_committee":
        return f"village_committee:{division_code}"
    if level == "township":
        return f"township:{division_code[:9]}"
    if level == "county_civil_affairs":
        return f"county_civil_affairs:{division_code[:6]}"
    raise ValueError(f"unknown level {level!r}")


def department_party(department: str, division_code: str) -> str:
    """Departments act at county level (the county bureau of that department)."""
    return f"department:{department}:{division_code[:6]}"


def supporter_party(elder_id: str, supporter_id: str) -> str:
    return f"supporter:{elder_id}:{supporter_id}"


def carer_party(elder_id: str) -> str:
    return f"carer:{elder_id}"


def party_department(party: str) -> str | None:
    """The department a department party belongs to (``None`` for other parties)."""
    return party.split(":")[1] if party.startswith("department:") else None


def is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())




def is_aware(value: object) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None
