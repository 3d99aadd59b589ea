"""What other services' events mean here: which alert a visits, registry, departments or orders
event raises, and which referral step a department's case is.

The incident key says which reports are the same incident: the same kind of risk for the
same elder while an alert is open, the same overdue period, the same status change.
Alert ids of consumed events derive from the event id, so applying an event again (a
rolled-back batch) decides the same alert.
"""
from __future__ import annotations

from datetime import datetime

from kernel.envelope import Envelope
from services.notifications.domain import RaiseAlert

OVERDUE_SEVERITY = {"general": "medium", "key_target": "high", "special_hardship": "high"}


def alert_id_for(envelope: Envelope) -> str:
    return f"al-{envelope.id}"


def alert_for_visits_event(envelope: Envelope, now: datetime) -> RaiseAlert:
    data = envelope.data
    common = dict(alert_id=alert_id_for(envelope), at=now, division_code=data["division_code"],
                  elder_id=data["elder_id"], cause_type=envelope.type, cause_id=envelope.id)
    if envelope.type == "visits.risk_reported.v1":
        return RaiseAlert(kind=data["kind"], incident_key=f"risk:{data['elder_id']}:{data['kind']}",
                          severity=data["severity"],
                          summary=(f"{data['description']} (found on visit {data['visit_id']} by visitor "
                                   f"{data['visitor_id']}, {data['effective_date']})"), **common)
    if envelope.type == "visits.visit_overdue.v1":
        return RaiseAlert(kind="visit_overdue", incident_key=f"visit_overdue:{data['elder_id']}:{data['period']}",
                          severity=OVERDUE_SEVERITY.get(data["target_class"], "medium"),
                          summary=(f"{data['visits']} of {data['required_visits']} visits made in {data['period']} "
                                   f"({data['target_class']}); {data['days_late']} days past "
                                   f"{data['effective_date']}. Visitor: {data.get('visitor_id') or 'none assigned'}."),
                          **common)
    raise ValueError(f"no alert for {envelope.type}")


SERVICE_NAMES_ZH = {"meals": "助餐", "bathing": "助浴", "cleaning": "助洁", "medical_help": "助医",
                    "accompaniment": "陪护"}


def alert_for_orders_event(envelope: Envelope, now: datetime) -> RaiseAlert:
    """An order nobody accepted in time (or every facility declined): once per order."""
    data = envelope.data
    service = SERVICE_NAMES_ZH.get(data["service_kind"], data["service_kind"])
    why = ("无机构接单，已逐一拒绝：" + "、".join(data["declined_by"]) if data["reason"] == "no_facility_accepted"
           else f"截至 {data['accept_by']} 未被接单（待 {data['facility_id']} 接单）")
    return RaiseAlert(alert_id=alert_id_for(envelope), at=now, kind="home_service_unaccepted",
                      incident_key=f"order_unaccepted:{data['order_id']}", division_code=data["division_code"],
                      elder_id=data["elder_id"], severity="high" if data["service_kind"] == "medical_help" else "medium",
                      summary=f"{data['service_date']} {service}订单 {data['order_id']} {why}",
                      cause_type=envelope.type, cause_id=envelope.id)


def alert_for_registry_event(envelope: Envelope, now: datetime) -> RaiseAlert | None:
    """Status changes that need the family: became a key target, hospitalised. ``None`` for
    the rest (they only update the elder's contacts)."""
    data = envelope.data
    # The envelope's jurisdiction is the elder's village: the registry files each event there.
    common = dict(alert_id=alert_id_for(envelope), at=now, division_code=envelope.jurisdiction,
                  elder_id=data["elder_id"], cause_type=envelope.type, cause_id=envelope.id)
    if envelope.type == "registry.key_target_changed.v1" and data["is_key_target"] and not data["previous_reasons"]:
        reasons = ", ".join(r.replace("_", " ") for r in data["reasons"])
        return RaiseAlert(kind="became_key_target", severity="medium",
                          incident_key=f"became_key_target:{data['elder_id']}:{data['effective_date']}",
                          summary=(f"Became a key target on {data['effective_date']} ({reasons}): the family is "
                                   "urged to care for the elder, and the township is told."), **common)
    if envelope.type == "registry.elder_hospitalised.v1":
        return RaiseAlert(kind="hospitalised", severity="high",
                          incident_key=f"hospitalised:{data['elder_id']}:{data['effective_date']}",
                          summary=f"Admitted to {data['hospital']} on {data['effective_date']}.", **common)
    return None


CASE_SEVERITY = {"infringement": "high", "supporter_neglect": "high", "fraud": "medium"}
# A case's outcome as a referral's (contracts.notifications.OUTCOMES).
CASE_TO_REFERRAL_OUTCOME = {"transferred": "referred"}


def alert_for_departments_event(envelope: Envelope, now: datetime) -> RaiseAlert | None:
    """A health check's finding that needs care, or a case opened about the elder. Summaries
    name the record, not its personal details (the department's record holds those)."""
    data = envelope.data
    common = dict(alert_id=alert_id_for(envelope), at=now, division_code=data["division_code"],
                  elder_id=data["elder_id"], cause_type=envelope.type, cause_id=envelope.id)
    if envelope.type == "departments.health_check_recorded.v1" and data["risk_severity"]:
        findings = ", ".join(f["code"].replace("_", " ") for f in data["findings"])
        return RaiseAlert(kind="health_risk_found", severity=data["risk_severity"],
                          incident_key=f"health_risk:{data['elder_id']}:{data['year']}",
                          summary=(f"The {data['year']} health-management check ({data['effective_date']}, "
                                   f"{data['examiner']}) found a risk: {findings}."), **common)
    if envelope.type == "departments.case_opened.v1":
        return RaiseAlert(kind="case_opened", severity=CASE_SEVERITY[data["kind"]],
                          incident_key=f"case:{data['case_id']}",
                          summary=(f"{data['department'].replace('_', ' ')} opened case {data['case_id']} "
                                   f"({data['kind'].replace('_', ' ')}) on {data['effective_date']}."), **common)
    return None
