"""The departments' projections: each record's current status and each fact by year, from
the log (``eldercare rebuild departments`` replays them)."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from contracts.departments import EVENTS
from kernel.envelope import Envelope
from services.departments.adapters.tables import facts, payee_accounts, payments, records

# The status a record has after each event (a pension's comes from its payload).
STATUS_AFTER = {
    "departments.health_check_recorded.v1": "active", "departments.chronic_followup_recorded.v1": "active",
    "departments.family_doctor_signed.v1": "signed", "departments.family_doctor_ended.v1": "ended",
    "departments.pension_enrolled.v1": "enrolled", "departments.poverty_registered.v1": "registered",
    "departments.poverty_registration_ended.v1": "ended", "departments.poverty_monitoring_started.v1": "monitored",
    "departments.poverty_monitoring_ended.v1": "ended", "departments.case_opened.v1": "open",
    "departments.case_closed.v1": "closed", "departments.cultural_service_delivered.v1": "active",
    "departments.payee_account_set.v1": "active", "departments.payment_issued.v1": "issued",
    "departments.payment_paid.v1": "paid", "departments.payment_failed.v1": "failed",
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


class FinanceProjection:
    """Finance's payee accounts and the state of each payment, for writing payment files and
    reading the bank's return."""

    name = "finance"
    handles = frozenset({"departments.payee_account_set.v1", "departments.payment_issued.v1",
                         "departments.payment_paid.v1", "departments.payment_failed.v1"})

    def tables(self):
        return [payee_accounts, payments]

    def apply(self, conn: Connection, envelope: Envelope) -> None:
        data = envelope.data
        if envelope.type == "departments.payee_account_set.v1":
            values = {"payee_name": data["payee_name"], "bank": data["bank"], "card": data["card"],
                      "account_number": data["account_number"], "version": envelope.sequence}
            if conn.execute(update(payee_accounts).where(payee_accounts.c.elder_id == data["elder_id"])
                            .values(**values)).rowcount == 0:
                conn.execute(payee_accounts.insert().values(elder_id=data["elder_id"], **values))
            return
        values = {"status": envelope.type.split(".")[1].removeprefix("payment_"), "version": envelope.sequence}
        if envelope.type == "departments.payment_issued.v1":
            values.update(file_id=data["file_id"], jurisdiction=data["jurisdiction"], attempt=data["attempt"],
                          account_version=data["account_version"],
                          next=None, alert_id=None)
            if conn.execute(update(payments).where(payments.c.entry_id == data["entry_id"]).values(**values)
                            ).rowcount == 0:
                conn.execute(payments.insert().values(
                    entry_id=data["entry_id"], run_id=data["run_id"], elder_id=data["elder_id"],
                    division_code=data["division_code"], amount_fen=data["amount_fen"], **values))
            return
        if envelope.type == "departments.payment_failed.v1":
            values.update(next=data["next"], alert_id=data["alert_id"])
        conn.execute(update(payments).where(payments.c.entry_id == data["entry_id"]).values(**values))
