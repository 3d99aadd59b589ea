"""The departments' units of work. The domain decides; these read the elder's facts from the
registry over RPC, change the registry's support status through its own command when the
poverty office registers or ends a registration, check a referral a case answers, and
append the record's events with its projections in one transaction.

Every command is decided once before any call to another service (a refusal writes nothing
anywhere) and again inside the unit of work on the stream as it is then."""
from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date

import csv
import io
import re

import structlog
from sqlalchemy import and_, func, select

from kernel.clock import start_of_local_day
from kernel.db import serialise_in_transaction
from kernel.divisions import significant_prefix
from kernel.envelope import Actor, PendingEvent
from kernel.errors import CommandRejected, NotFoundError, ValidationError
from kernel.uow import retry_on_concurrency
from services.departments import domain as d
from services.departments.adapters.tables import facts, payee_accounts, payments, records

log = structlog.get_logger(__name__)

TYPES = {d.HealthCheckRecorded: "departments.health_check_recorded.v1",
         d.ChronicFollowupRecorded: "departments.chronic_followup_recorded.v1",
         d.FamilyDoctorSigned: "departments.family_doctor_signed.v1",
         d.FamilyDoctorEnded: "departments.family_doctor_ended.v1",
         d.PensionEnrolled: "departments.pension_enrolled.v1",
         d.PensionStatusChanged: "departments.pension_status_changed.v1",
         d.PovertyRegistered: "departments.poverty_registered.v1",
         d.PovertyRegistrationEnded: "departments.poverty_registration_ended.v1",
         d.PovertyMonitoringStarted: "departments.poverty_monitoring_started.v1",
         d.PovertyMonitoringEnded: "departments.poverty_monitoring_ended.v1",
         d.CaseOpened: "departments.case_opened.v1", d.LegalAidGiven: "departments.legal_aid_given.v1",
         d.CaseClosed: "departments.case_closed.v1",
         d.CulturalServiceDelivered: "departments.cultural_service_delivered.v1",
         d.PayeeAccountSet: "departments.payee_account_set.v1", d.PaymentIssued: "departments.payment_issued.v1",
         d.PaymentPaid: "departments.payment_paid.v1", d.PaymentFailed: "departments.payment_failed.v1"}
CLASSES = {type_: cls for cls, type_ in TYPES.items()}
DATE_FIELDS = ("effective_date", "valid_until", "next_due_on")


def command_id(*parts) -> str:
    """A command id for a call this service makes (at most 64 characters, as the kernel takes
    them): readable when it fits, else its SHA-256."""
    import hashlib
    text = "departments/" + "/".join(str(p) for p in parts)
    return text if len(text) <= 64 else "departments/" + hashlib.sha256(text.encode()).hexdigest()[:40]


def _wire(value):
    return value.isoformat() if isinstance(value, date) else value


def _pending(event: d.Event, record_id: str, actor: Actor) -> PendingEvent:
    # The envelope's time is when the fact took effect (the start of its local day).
    data = {k: ([_wire_finding(f) for f in v] if k == "findings" else _wire(v)) for k, v in asdict(event).items()}
    return PendingEvent(record_id, TYPES[type(event)], data, start_of_local_day(event.effective_date), actor,
                        event.division_code)


def _wire_finding(finding) -> dict:
    return dict(finding) if isinstance(finding, dict) else asdict(finding)


def _event(envelope) -> d.Event:
    """A department event of our log as its domain class."""
    data = {k: (date.fromisoformat(v) if k in DATE_FIELDS and v else v) for k, v in envelope.data.items()}
    if "findings" in data:
        data["findings"] = tuple(d.Finding(**f) for f in data["findings"])
    return CLASSES[envelope.type](**data)


def load_record(source, record_id: str) -> d.Record:
    return d.fold(record_id, [_event(e) for e in source.read_stream(record_id)])


def elder_facts(calls, elder_id: str) -> d.ElderFacts:
    """The registry's record of the elder (an unknown elder: its NotFoundError, by field)."""
    elder = calls.query("registry", "get_elder", elder_id)
    return d.ElderFacts(elder["elder_id"], elder["record_status"], elder["division_code"],
                        date.fromisoformat(elder["birth_date"]), elder["household_id"],
                        bool((elder.get("support_status") or {}).get("poverty_registered")))


def perform(db, calls, record_id: str, elder_id: str | None, command: d.Command, owners: tuple[str, ...],
            actor: Actor, today: date) -> d.Record:
    """Decide ``command`` on the record, make the calls it needs, then append. ``elder_id``:
    the elder a new record is about (None for a case's later steps: the case names them)."""
    elder = elder_facts(calls, elder_id) if isinstance(command, d.STARTS) else None
    state = load_record(db.store, record_id)
    d.decide(state, command, elder, owners, today)          # refused here: nothing is written anywhere
    if isinstance(command, d.OpenCase) and command.referral_id:
        check_referral(calls, command.referral_id, command.department)
    if isinstance(command, (d.RegisterPoverty, d.EndPovertyRegistration)):
        command = _through_registry(calls, state, command, elder_id or state.elder_id, actor)

    def write():
        with db.unit_of_work() as uow:
            current = load_record(uow, record_id)
            events = d.decide(current, command, elder, owners, today)
            uow.append([_pending(e, record_id, actor) for e in events], {record_id: current.version})
            for event in events:
                current = d.evolve(current, event)
            return current
    state = retry_on_concurrency(write)
    log.info("department record written", record_id=record_id, department=command.department, status=state.status)
    return state


def _through_registry(calls, state: d.Record, command, elder_id: str, actor: Actor):
    """The poverty office's decision changes the elder's support status in the registry by
    the registry's own command (a recorded fact there, refused there by field if wrong), with
    a command id of this record and version so a resend is harmless."""
    registered = isinstance(command, d.RegisterPoverty)
    elder = calls.query("registry", "get_elder", elder_id)
    status = dict(elder["support_status"])
    if bool(status.get("poverty_registered")) == registered or elder["record_status"] != "active":
        return command          # the registry holds it already, or the record is closed (a death ends it)
    command_id_ = command_id(state.record_id, state.version)
    reason = (f"扶贫部门建档立卡（{state.record_id}）：{command.reason}" if registered
              else f"扶贫部门建档立卡终止（{state.record_id}）：{command.reason}")
    calls.send("registry", "change_support_status", {
        "elder_id": elder_id, "effective_date": command.effective_date.isoformat(),
        "support_status": {**status, "poverty_registered": registered}, "reason": reason},
        actor.to_dict(), command_id=command_id_).result()
    return replace(command, registry_command_id=command_id_)


def check_referral(calls, referral_id: str, department: str) -> None:
    """A case answering a referral: the referral exists, is open and was sent to the
    department opening the case (notifications accepts it when the case is opened)."""
    history = calls.query("notifications", "history", referral_id)
    created = next((e for e in history if e["type"] == "notifications.referral_created.v1"), None)
    if created is None:
        raise NotFoundError(f"no referral {referral_id!r}", field="referral_id")
    if created["data"]["to_department"] != department:
        raise CommandRejected(f"referral {referral_id} was sent to {created['data']['to_department']}, not "
                              f"{department}", field="referral_id")
    if any(e["type"] == "notifications.referral_closed.v1" for e in history):
        raise CommandRejected(f"referral {referral_id} is closed", field="referral_id")


# -- reads ---------------------------------------------------------------------------------

def payment_file_view(conn, file_id: str) -> dict:
    """A payment file's run, jurisdiction and lines by status (no payee, no account)."""
    rows = conn.execute(select(payments.c.run_id, payments.c.jurisdiction, payments.c.status, func.count())
                        .where(payments.c.file_id == file_id)
                        .group_by(payments.c.run_id, payments.c.jurisdiction, payments.c.status)).all()
    if not rows:
        raise NotFoundError(f"no payment file {file_id!r}", field="file_id")
    return {"file_id": file_id, "run_id": rows[0][0], "jurisdiction": rows[0][1],
            "lines": {status: n for _run, _where, status, n in rows}}


def elder_records(conn, elder_id: str) -> list[dict]:
    rows = conn.execute(select(records).where(records.c.elder_id == elder_id).order_by(records.c.record_id)).all()
    return [dict(r._mapping) for r in rows]


def case_view(conn, case_id: str) -> dict:
    record_id = d.record_id_of("case", case_id)
    row = conn.execute(select(records).where(records.c.record_id == record_id)).first()
    if row is None:
        raise NotFoundError(f"no case {case_id!r}", field="case_id")
    aid = conn.execute(select(func.count()).select_from(facts).where(
        facts.c.record_id == record_id, facts.c.type == "legal_aid_given")).scalar_one()
    return _case(row, aid)


def _case(row, aid: int) -> dict:
    return {"case_id": row.record_id.split(":", 1)[1], "elder_id": row.elder_id, "division_code": row.division_code,
            "department": row.department, "kind": row.kind, "status": row.status, "opened_on": row.opened_on,
            "closed_on": row.closed_on, "outcome": row.outcome, "referral_id": row.referral_id, "legal_aid": aid}


def list_cases(conn, query: dict) -> list[dict]:
    conditions = [records.c.area == "case"]
    if query["status"] != "any":
        conditions.append(records.c.status == query["status"])
    if query["division_code"]:
        conditions.append(records.c.division_code.startswith(significant_prefix(query["division_code"])))
    rows = conn.execute(select(records).where(and_(*conditions)).order_by(records.c.opened_on, records.c.record_id)
                        .limit(query["limit"]).offset(query["offset"])).all()
    aid = dict(conn.execute(select(facts.c.record_id, func.count()).where(
        facts.c.record_id.in_([r.record_id for r in rows]), facts.c.type == "legal_aid_given")
        .group_by(facts.c.record_id)).all()) if rows else {}
    return [_case(r, aid.get(r.record_id, 0)) for r in rows]


def division_summary(conn, division_code: str, year: int) -> dict:
    """What each department did in the division and everything under it: this year's facts
    and the records in force now."""
    prefix = significant_prefix(division_code)
    in_force = dict(((area, status), n) for area, status, n in conn.execute(
        select(records.c.area, records.c.status, func.count()).where(records.c.division_code.startswith(prefix))
        .group_by(records.c.area, records.c.status)).all())
    this_year = dict(conn.execute(select(facts.c.type, func.count()).where(
        facts.c.year == year, facts.c.division_code.startswith(prefix)).group_by(facts.c.type)).all())
    checked = conn.execute(select(func.count(func.distinct(facts.c.elder_id))).where(
        facts.c.type == "health_check_recorded", facts.c.year == year,
        facts.c.division_code.startswith(prefix))).scalar_one()
    risks = conn.execute(select(func.count()).select_from(facts).where(
        facts.c.type == "health_check_recorded", facts.c.year == year, facts.c.risk.is_(True),
        facts.c.division_code.startswith(prefix))).scalar_one()
    return {"division_code": division_code, "year": year, "health_checked_this_year": checked,
            "health_risks_this_year": risks, "chronic_followups_this_year": this_year.get("chronic_followup_recorded", 0),
            "family_doctor_contracts": in_force.get(("doctor", "signed"), 0),
            "pension_receiving": in_force.get(("pension", "receiving"), 0),
            "pension_suspended": in_force.get(("pension", "suspended"), 0),
            "poverty_registered": in_force.get(("poverty", "registered"), 0),
            "poverty_monitored": in_force.get(("monitoring", "monitored"), 0),
            "open_cases": in_force.get(("case", "open"), 0),
            "cases_closed_this_year": this_year.get("case_closed", 0),
            "legal_aid_this_year": this_year.get("legal_aid_given", 0),
            "cultural_services_this_year": this_year.get("cultural_service_delivered", 0),
            "payments_awaiting_bank": in_force.get(("payment", "issued"), 0),
            "payments_failed": in_force.get(("payment", "failed"), 0)}


# -- finance: payment files and bank returns -------------------------------------------------

PAYMENT_FILE_COLUMNS = ("entry_id", "payee_name", "bank", "account_number", "amount_yuan", "beneficiary_id",
                        "division_code", "run_id", "attempt")
RETURN_COLUMNS = ("entry_id", "result", "reason")
YUAN = re.compile(r"^(-?)([0-9]+)\.([0-9]{2})$")


def fen_of(yuan: str) -> int:
    """"123.45" → 12345, by digits (never a float)."""
    found = YUAN.match(yuan or "")
    if not found:
        raise ValueError(f"not an amount in yuan with two decimals: {yuan!r}")
    sign, whole, cents = found.groups()
    return (-1 if sign else 1) * (int(whole) * 100 + int(cents))


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def run_lines(calls, jurisdiction: str, month: str) -> tuple[dict, list[d.PaymentLine]]:
    """The run (approved or paid: finance pays only what it approved) and its ledger entries."""
    run = calls.query("subsidies", "get_run", {"jurisdiction": jurisdiction, "month": month})
    if run["status"] not in ("approved", "paid"):
        raise CommandRejected(f"run {run['run_id']} is {run['status']}: approve it before its payment file",
                              field="month")
    answer = calls.query("subsidies", "payment_file", {"jurisdiction": jurisdiction, "month": month})
    lines = [d.PaymentLine(row["entry_id"], answer["run_id"], run["jurisdiction"], row["beneficiary_id"], row["beneficiary_kind"],
                           row["division_code"], fen_of(row["amount_yuan"]))
             for row in csv.DictReader(io.StringIO(answer["csv"]))]
    return run, lines


def _payment_states(conn, entry_ids) -> dict[str, d.Payment]:
    rows = conn.execute(select(payments).where(payments.c.entry_id.in_(list(entry_ids)))).all() if entry_ids else []
    return {r.entry_id: d.Payment(r.entry_id, r.status, r.attempt, r.file_id, r.account_version, r.version)
            for r in rows}


def _accounts(conn, elder_ids) -> dict:
    rows = conn.execute(select(payee_accounts).where(payee_accounts.c.elder_id.in_(list(elder_ids)))).all() \
        if elder_ids else []
    return {r.elder_id: r for r in rows}


def issue_payment_file(db, calls, jurisdiction: str, month: str, actor: Actor, today: date) -> dict:
    """A bank payment file of the run: every entry not yet issued whose elder has a payee
    account, and every failed one whose account changed since (re-issued). The rest are
    listed as held, with why. Asking again issues only what became payable since."""
    _run, lines = run_lines(calls, jurisdiction, month)
    run_id = lines[0].run_id if lines else _run["run_id"]

    def write():
        with db.unit_of_work() as uow:
            # Two finance clerks issuing at once must not both number their file N + 1.
            serialise_in_transaction(uow.conn, f"departments:payment-file:{run_id}")
            issued_before = uow.conn.execute(select(func.count(func.distinct(payments.c.file_id))).where(
                payments.c.run_id == run_id)).scalar_one()
            file_id = f"{run_id}.file-{issued_before + 1}"     # one path segment (no slash)
            states = _payment_states(uow.conn, [line.entry_id for line in lines])
            accounts = _accounts(uow.conn, {line.beneficiary_id for line in lines})
            issued, held = [], []
            for line in lines:
                account = accounts.get(line.beneficiary_id)
                events, why = d.decide_issue(line, states.get(line.entry_id, d.Payment(line.entry_id)),
                                             account.version if account else None, file_id, today)
                issued += events
                if why:
                    held.append({"entry_id": line.entry_id, "beneficiary_id": line.beneficiary_id, "reason": why})
            if issued:
                uow.append([_pending(e, d.record_id_of("payment", e.entry_id), actor) for e in issued],
                           {d.record_id_of("payment", e.entry_id): states.get(e.entry_id, d.Payment(e.entry_id)).version
                            for e in issued})
            return file_id, issued, held, accounts
    file_id, issued, held, accounts = retry_on_concurrency(write)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PAYMENT_FILE_COLUMNS)
    for event in issued:
        account = accounts[event.elder_id]
        writer.writerow((event.entry_id, account.payee_name, account.bank, account.account_number,
                         _yuan(event.amount_fen), event.elder_id, event.division_code, event.run_id, event.attempt))
    log.info("payment file issued", file_id=file_id, rows=len(issued), held=len(held))
    return {"file_id": file_id if issued else None, "run_id": run_id, "csv": out.getvalue(), "rows": len(issued),
            "total_fen": sum(e.amount_fen for e in issued), "held": held}


def _return_rows(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not set(RETURN_COLUMNS) <= set(reader.fieldnames):
        raise ValidationError({"csv": [f"the header must name {', '.join(RETURN_COLUMNS)}"]})
    rows, problems = list(reader), []
    for number, row in enumerate(rows, start=2):
        if row["result"] not in ("paid", "failed"):
            problems.append(f"row {number}: result must be paid or failed, got {row['result']!r}")
    if problems:
        raise ValidationError({"csv": problems})
    if len({row["entry_id"] for row in rows}) != len(rows):
        raise ValidationError({"csv": ["an entry appears twice"]})
    return rows


def read_bank_return(db, calls, file_id: str, text: str, actor: Actor, today: date) -> dict:
    """The bank's answer to a payment file: each line paid or failed. A failed one whose
    payee account changed since is re-issued by the next file; otherwise finance and the
    elder's village are alerted (notifications) to get the account fixed. The whole file is
    refused if any line is wrong (nothing written)."""
    rows = _return_rows(text)
    with db.connect() as conn:
        known = {r.entry_id: r for r in conn.execute(select(payments).where(payments.c.file_id == file_id)).all()}
        if not known:
            raise NotFoundError(f"no payment file {file_id!r}", field="file_id")
        accounts = _accounts(conn, {r.elder_id for r in known.values()})
    decided = []
    for number, row in enumerate(rows, start=2):
        payment = known.get(row["entry_id"])
        if payment is None:
            raise ValidationError({"csv": [f"row {number}: entry {row['entry_id']!r} is not in file {file_id}"]})
        account = accounts.get(payment.elder_id)
        state = d.Payment(payment.entry_id, payment.status, payment.attempt, payment.file_id, payment.account_version,
                          payment.version)
        decided.append((state, d.decide_return(state, payment.elder_id, payment.division_code, payment.run_id,
                                               payment.amount_fen, file_id, row["result"], row.get("reason") or "",
                                               row.get("bank_reference") or None,
                                               account.version if account else None, today)))
    events = [_alerted(calls, event, state.attempt, actor) for state, event in decided]

    def write():
        with db.unit_of_work() as uow:
            current = _payment_states(uow.conn, [e.entry_id for e in events])
            for event in events:
                if current[event.entry_id].status != "issued":
                    raise CommandRejected(f"entry {event.entry_id} was answered already", field="csv")
            uow.append([_pending(e, d.record_id_of("payment", e.entry_id), actor) for e in events],
                       {d.record_id_of("payment", e.entry_id): current[e.entry_id].version for e in events})
    retry_on_concurrency(write)
    failed = [e for e in events if isinstance(e, d.PaymentFailed)]
    return {"file_id": file_id, "paid": len(events) - len(failed), "failed": len(failed),
            "reissue": sum(1 for e in failed if e.next == "reissue"),
            "alerted": sum(1 for e in failed if e.next == "alert")}


def _alerted(calls, event, attempt: int, actor: Actor):
    """A failed payment nobody can re-issue yet is an alert (never silently dropped)."""
    if not isinstance(event, d.PaymentFailed) or event.next != "alert":
        return event
    alert = calls.send("notifications", "report_alert", {
        "kind": "payment_failed", "division_code": event.division_code, "severity": "medium",
        "elder_id": event.elder_id, "incident_key": f"payment_failed:{event.entry_id}:{attempt}",
        "summary": (f"补贴发放失败：{event.entry_id}（{event.run_id}，{_yuan(event.amount_fen)} 元），银行回盘："
                    f"{event.reason}。请核实收款账户后重新发放。")}, actor.to_dict(),
        command_id=command_id("payment-failed", event.entry_id, attempt)).result()
    return replace(event, alert_id=alert["alert_id"])
