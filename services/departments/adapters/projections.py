"""The departments' projections: each record's current status and each fact by year, from
the log (``eldercare rebuild departments`` replays them)."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from contracts.departments import EVENTS
from kernel.envelope import Envelope
from services.departments.adapters.tables import facts, records

# The status a record has after each event (a pension's comes from its payload).
STATUS_AFTER = {
    "departments.health_check_recorded.v1": "active", "departments.chronic_followup_recorded.v1": "active",
    "departments.family_doctor_signed.v1": "signed", "departments.family_doctor_ended.v1": "ended",
    "departments.pension_enrolled.v1": "enrolled", "departments.poverty_registered.v1": "registered",
    "departments.poverty_registration_ended.v1": "ended", "departments.poverty_monitoring_started.v1": "monitored",
    "departments.poverty_monitoring_ended.v1": "ended", "departments.case_opened.v1": "open",
    "departments.case_closed.v1": "closed", "departments.cultural_service_delivered.v1": "active",
}
# Events that start a new term of a record (a contract signed again, a new registration).
OPENS = frozenset({"departments.family_doctor_signed.v1", "departments.poverty_registered.v1",
                   "departments.poverty_monitoring_started.v1", "departments.case_opened.v1"})
ENDS = frozenset({"departments.family_doctor_ended.v1", "departments.poverty_registration_ended.v1",
                  "departments.poverty_monitoring_ended.v1", "departments.case_closed.v1"})


class DepartmentsProjection:
    name = "department_records"
    handles = frozenset(type_ for type_, _schema, _description in EVENTS)

    def tables(self):
        return [records, facts]

    def apply(self, conn: Connection, envelope: Envelope) -> None:
        data, record_id = envelope.data, envelope.subject
        day = data["effective_date"]
        row = conn.execute(select(records).where(records.c.record_id == record_id)).first()
        values = {"division_code": data["division_code"], "updated_on": day, "version": envelope.sequence}
        if envelope.type in STATUS_AFTER:
            values["status"] = STATUS_AFTER[envelope.type]
        if envelope.type == "departments.pension_status_changed.v1":
            values.update(status=data["status"], monthly_amount_fen=data["monthly_amount_fen"])
        if envelope.type in OPENS:
            values.update(opened_on=day, closed_on=None, outcome=None)
        if envelope.type in ENDS:
            values.update(closed_on=day, outcome=data.get("outcome") or data.get("reason"))
        if envelope.type == "departments.case_opened.v1":
            values.update(kind=data["kind"], referral_id=data["referral_id"])
        if row is None:
            conn.execute(records.insert().values(
                record_id=record_id, area=record_id.split(":", 1)[0], elder_id=data["elder_id"],
                department=data["department"], **{"opened_on": day, "status": "active", **values}))
        else:
            conn.execute(update(records).where(records.c.record_id == record_id).values(**values))
        conn.execute(facts.insert().values(
            event_id=envelope.id, type=envelope.type.split(".")[1], record_id=record_id, elder_id=data["elder_id"],
            division_code=data["division_code"], department=data["department"], effective_date=day,
            year=int(day[:4]), risk=bool(data.get("risk_severity"))))
