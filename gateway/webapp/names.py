"""What people see instead of codes: the English name of every code the contracts define,
marked for the gettext catalogues (``N_``), so each page shows it in the person's language
(Chinese from ``locale/zh``). ``tests/gateway/test_webapp_i18n.py`` checks that every code of
the contracts has a name here and every name a Chinese translation."""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


NAMES: dict[str, dict[str, str]] = {
    "role": {"village_worker": N_("Village worker"), "township_officer": N_("Township officer"),
             "county_coordinator": N_("County coordinator"), "city_coordinator": N_("City coordinator"),
             "department_officer": N_("Department officer"), "auditor": N_("Auditor"),
             "admin": N_("Administrator"), "system": N_("System")},
    "department": {"civil_affairs": N_("Civil affairs"), "public_security": N_("Public security"),
                   "justice": N_("Justice"), "finance": N_("Finance"),
                   "human_resources_social_security": N_("Human resources and social security"),
                   "culture": N_("Culture"), "health": N_("Health (department)"), "poverty_alleviation": N_("Poverty alleviation"),
                   "aging_office": N_("Office on ageing"), "system": N_("System")},
    "visit_mode": {"home": N_("Home visit"), "phone": N_("Phone call"), "video": N_("Video call"),
                   "remote_monitoring": N_("Remote monitoring")},
    "service_kind": {"daily_life_care": N_("Daily-life care"), "emotional_comfort": N_("Emotional comfort"),
                     "safety_supervision": N_("Safety supervision"), "rights_protection": N_("Rights protection")},
    "finding": {"living_conditions": N_("Living conditions"), "health": N_("Health"),
                "care_by_children": N_("Care by children"), "home_safety": N_("Home safety"), "needs": N_("Needs")},
    "risk": {"wandering": N_("Wandering or begging"), "infringement": N_("Unlawful infringement"),
             "critical_illness": N_("Critical illness"), "serious_mental_illness": N_("Serious mental illness"),
             "major_hardship": N_("Major hardship"), "neglect_by_supporter": N_("Neglect by supporter"),
             "home_safety_hazard": N_("Home safety hazard")},
    "severity": {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High"), "critical": N_("Critical")},
    "target_class": {"general": N_("General"), "key_target": N_("Key target"),
                     "special_hardship": N_("Special hardship")},
    "visitor_role": {"village_cadre": N_("Village cadre"), "resident_cadre": N_("Resident village cadre"),
                     "civil_affairs_specialist": N_("Civil affairs specialist"),
                     "social_work_organisation": N_("Social work organisation"), "volunteer": N_("Volunteer"),
                     "relative_or_neighbour": N_("Relative or neighbour"), "grid_worker": N_("Grid worker"),
                     "third_party": N_("Third-party service provider")},
    "facility_kind": {"county_support_centre": N_("County extreme-poverty support centre"),
                      "township_nursing_home": N_("Township nursing home"),
                      "regional_care_centre": N_("Regional elderly-care centre"),
                      "happiness_home": N_("Rural mutual-aid happiness home"),
                      "day_care_centre_with_meals": N_("Day-care centre (with meals)"),
                      "day_care_centre_without_meals": N_("Day-care centre (activities)"),
                      "pastoral_apartment": N_("Pastoral elderly apartment"),
                      "care_service_station": N_("Elderly-care service station"),
                      "elderly_canteen": N_("Elderly canteen"), "family_care_bed": N_("Family elderly-care bed")},
    "alert_status": {"open": N_("Awaiting acknowledgement"), "acknowledged": N_("Acknowledged"),
                     "closed": N_("Closed")},
    "alert_level": {"village_committee": N_("Village committee"), "township": N_("Township government"),
                    "county_civil_affairs": N_("County civil affairs")},
    "alert_kind": {"one_key_call": N_("One-key call"), "bracelet_sos": N_("Bracelet SOS"),
                   "bracelet_fall": N_("Fall detected by bracelet"), "smoke_alarm": N_("Smoke alarm"),
                   "pill_missed": N_("Pills missed"), "visit_overdue": N_("Visit overdue"),
                   "became_key_target": N_("Became a key target"), "hospitalised": N_("In hospital"),
                   "heartbeat_missing": N_("Device silent"), "contact_unreachable": N_("Contact unreachable"),
                   "break_glass_read": N_("Emergency read outside jurisdiction"),
                   "survey_behind_schedule": N_("Survey behind schedule")},
    "outcome": {"resolved": N_("Resolved"), "referred": N_("Referred to a department"),
                "family_took_over": N_("Family took over"), "false_alarm": N_("False alarm"),
                "elder_hospitalised": N_("Elder hospitalised"), "elder_deceased": N_("Elder deceased"),
                "no_action_needed": N_("No action needed")},
    "run_status": {"started": N_("Computing"), "completed": N_("Awaiting approval"), "approved": N_("Approved"),
                   "paid": N_("Paid")},
    "sex": {"male": N_("Male"), "female": N_("Female")},
    "self_care": {"full_self_care": N_("Fully self-caring"), "semi_disabled": N_("Semi-disabled"),
                  "fully_disabled": N_("Fully disabled")},
    "key_target_reason": {"hard_up": N_("Hard-up"), "advanced_age": N_("Advanced age"), "disabled": N_("Disabled"),
                          "living_alone": N_("Living alone")},
    "period_outcome": {"met": N_("Met"), "overdue": N_("Overdue"), "resolved": N_("Met late")},
    "legal_ground": {"purpose_fulfilled": N_("Purpose fulfilled or no longer necessary"),
                     "retention_expired": N_("Retention period expired"), "consent_withdrawn": N_("Consent withdrawn"),
                     "unlawful_processing": N_("Unlawful processing"), "law_requires": N_("Required by law")},
    "purpose": {"visit": N_("Visit"), "care_coordination": N_("Care coordination"), "emergency": N_("Emergency"),
                "case_review": N_("Case review"), "eligibility": N_("Eligibility check"),
                "ledger_maintenance": N_("Ledger maintenance"), "statistics": N_("Statistics"),
                "referral": N_("Referral"), "health_service": N_("Health service"), "payment": N_("Payment"),
                "audit": N_("Audit"), "erasure_request": N_("Erasure request")},
    "access_outcome": {"read": N_("Read"), "listed": N_("Listed"), "refused": N_("Refused")},
}
# Alerts raised from a visit's risk are named as the risk is.
NAMES["alert_kind"].update(NAMES["risk"])


def name_of(kind: str, code, gettext) -> str:
    """The person's-language name of ``code``; an unknown code (a newer contract than this
    table) is shown as it is rather than hidden."""
    if code is None:
        return ""
    english = NAMES[kind].get(code)
    return gettext(english) if english else str(code)
