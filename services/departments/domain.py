"""The departments' own records, pure: health checks and follow-ups, family-doctor contracts,
pensions, poverty registration and monitoring, cases and legal aid, cultural services. No
framework, no I/O: ``decide(state, command, elder, owners, today) -> events`` and
``evolve(state, event) -> state``.

Each record is one stream, written only by the department that opened it (and only by a
department that owns the command: ``owners``, from ``contracts.departments_rpc.OWNERS``).
A new record needs a living elder of the registry (``ElderFacts``); nothing is recorded
with a date in the future or before the record's last fact.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from kernel.errors import CommandRejected, ConflictError, NotFoundError, ValidationError

# Seed 001: health management services for elders over 65 (national basic public health
# service; not a county's choice, so not policy data).
HEALTH_CHECK_MIN_AGE = 65
AREA_PREFIX = {"health": "health", "doctor": "doctor", "pension": "pension", "poverty": "poverty",
               "monitoring": "monitoring", "culture": "culture", "case": "case", "payee": "payee",
               "payment": "payment"}


def record_id_of(area: str, subject: str) -> str:
    return f"{AREA_PREFIX[area]}:{subject}"


@dataclass(frozen=True)
class ElderFacts:
    """What the registry says of the elder when the command is decided."""

    elder_id: str
    record_status: str                   # active, deceased, merged
    division_code: str
    birth_date: date
    household_id: str
    poverty_registered: bool = False


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


# -- commands ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    department: str          # the caller's
    effective_date: date


@dataclass(frozen=True)
class Finding:
    code: str
    note: str | None = None


@dataclass(frozen=True)
class RecordHealthCheck(Command):
    examiner: str
    findings: tuple[Finding, ...] = ()
    risk_severity: str | None = None
    risk_summary: str | None = None


@dataclass(frozen=True)
class RecordChronicFollowup(Command):
    condition: str
    examiner: str
    note: str | None = None
    next_due_on: date | None = None


@dataclass(frozen=True)
class SignFamilyDoctor(Command):
    doctor: str
    team: str
    valid_until: date


@dataclass(frozen=True)
class EndFamilyDoctor(Command):
    reason: str


@dataclass(frozen=True)
class EnrolPension(Command):
    scheme: str


@dataclass(frozen=True)
class ChangePensionStatus(Command):
    status: str
    monthly_amount_fen: int | None
    reason: str


@dataclass(frozen=True)
class RegisterPoverty(Command):
    reason: str
    registry_command_id: str | None = None     # filled by the handler once the registry changed


@dataclass(frozen=True)
class EndPovertyRegistration(Command):
    reason: str
    registry_command_id: str | None = None


@dataclass(frozen=True)
class StartPovertyMonitoring(Command):
    risk: str
    note: str | None = None


@dataclass(frozen=True)
class EndPovertyMonitoring(Command):
    outcome: str


@dataclass(frozen=True)
class OpenCase(Command):
    case_id: str
    kind: str
    summary: str
    referral_id: str | None = None


@dataclass(frozen=True)
class GiveLegalAid(Command):
    aid: str
    note: str | None = None


@dataclass(frozen=True)
class CloseCase(Command):
    outcome: str
    note: str | None = None


@dataclass(frozen=True)
class RecordCulturalService(Command):
    service: str
    provider: str


@dataclass(frozen=True)
class SetPayeeAccount(Command):
    payee_name: str
    bank: str
    card: str
    account_number: str


# Records whose facts change a status: each must take effect after the one before. Health and
# culture only accumulate (a follow-up from last week may be written after today's check).
ORDERED_AREAS = frozenset({"doctor", "pension", "poverty", "monitoring", "case", "payee"})
AREA_OF = {RecordHealthCheck: "health", RecordChronicFollowup: "health", SignFamilyDoctor: "doctor",
           EndFamilyDoctor: "doctor", EnrolPension: "pension", ChangePensionStatus: "pension",
           RegisterPoverty: "poverty", EndPovertyRegistration: "poverty", StartPovertyMonitoring: "monitoring",
           EndPovertyMonitoring: "monitoring", OpenCase: "case", GiveLegalAid: "case", CloseCase: "case",
           RecordCulturalService: "culture", SetPayeeAccount: "payee"}
# Commands that start a record (or a new term of it): they need a living elder.
STARTS = (RecordHealthCheck, RecordChronicFollowup, SignFamilyDoctor, EnrolPension, RegisterPoverty,
          StartPovertyMonitoring, OpenCase, RecordCulturalService, SetPayeeAccount)


# -- events (their fields are the wire payload, ``contracts.departments``) -----------------

@dataclass(frozen=True)
class Event:
    elder_id: str
    division_code: str
    department: str
    effective_date: date


@dataclass(frozen=True)
class HealthCheckRecorded(Event):
    year: int
    age: int
    examiner: str
    findings: tuple[Finding, ...]
    risk_severity: str | None
    risk_summary: str | None


@dataclass(frozen=True)
class ChronicFollowupRecorded(Event):
    condition: str
    examiner: str
    note: str | None
    next_due_on: date | None


@dataclass(frozen=True)
class FamilyDoctorSigned(Event):
    doctor: str
    team: str
    valid_until: date


@dataclass(frozen=True)
class FamilyDoctorEnded(Event):
    reason: str


@dataclass(frozen=True)
class PensionEnrolled(Event):
    scheme: str


@dataclass(frozen=True)
class PensionStatusChanged(Event):
    status: str
    previous_status: str
    monthly_amount_fen: int | None
    reason: str


@dataclass(frozen=True)
class PovertyRegistered(Event):
    household_id: str
    reason: str
    registry_command_id: str | None


@dataclass(frozen=True)
class PovertyRegistrationEnded(Event):
    reason: str
    registry_command_id: str | None


@dataclass(frozen=True)
class PovertyMonitoringStarted(Event):
    household_id: str
    risk: str
    note: str | None


@dataclass(frozen=True)
class PovertyMonitoringEnded(Event):
    outcome: str


@dataclass(frozen=True)
class CaseOpened(Event):
    case_id: str
    kind: str
    summary: str
    referral_id: str | None


@dataclass(frozen=True)
class LegalAidGiven(Event):
    case_id: str
    aid: str
    note: str | None


@dataclass(frozen=True)
class CaseClosed(Event):
    case_id: str
    outcome: str
    note: str | None
    referral_id: str | None


@dataclass(frozen=True)
class CulturalServiceDelivered(Event):
    service: str
    provider: str


@dataclass(frozen=True)
class PayeeAccountSet(Event):
    payee_name: str
    bank: str
    card: str
    account_number: str


@dataclass(frozen=True)
class PaymentEvent(Event):
    entry_id: str
    run_id: str
    file_id: str
    amount_fen: int


@dataclass(frozen=True)
class PaymentIssued(PaymentEvent):
    jurisdiction: str
    attempt: int
    account_version: int


@dataclass(frozen=True)
class PaymentPaid(PaymentEvent):
    bank_reference: str | None


@dataclass(frozen=True)
class PaymentFailed(PaymentEvent):
    reason: str
    next: str                      # reissue | alert
    alert_id: str | None


# -- state ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Record:
    record_id: str
    area: str
    status: str = "none"
    elder_id: str = ""
    division_code: str = ""
    department: str = ""                  # the department that opened it: the only one writing it
    last_date: date | None = None         # no fact may take effect before the last one
    years_checked: frozenset = frozenset()
    kind: str = ""                        # a case's kind
    referral_id: str | None = None
    opened_on: date | None = None
    closed_on: date | None = None
    outcome: str | None = None
    legal_aid: int = 0
    pension_status: str | None = None
    version: int = 0

    @property
    def exists(self) -> bool:
        return self.status != "none"


def decide(state: Record, command: Command, elder: ElderFacts | None, owners: tuple[str, ...],
           today: date) -> list[Event]:
    """The events ``command`` makes of ``state``. ``elder``: the registry's facts (needed to
    start a record; None for a case's later steps, which follow the case)."""
    if command.department not in owners:
        raise CommandRejected(f"{command.department} does not own this record: it is {' or '.join(owners)}'s "
                              f"(部门无权记录)", field="department")
    # A status record is its opening department's; an accumulating one (health, culture) is
    # written by any department owning the command (culture and the aging office alike).
    if state.area in ORDERED_AREAS and state.exists and command.department != state.department \
            and not isinstance(command, GiveLegalAid):
        raise CommandRejected(f"record {state.record_id} belongs to {state.department}; {command.department} "
                              "may not write it", field="department")
    if command.effective_date > today:
        raise ValidationError({"effective_date": [f"{command.effective_date} is after today ({today})"]})
    if state.area in ORDERED_AREAS and state.last_date and command.effective_date < state.last_date:
        raise ValidationError({"effective_date": [f"the record's last fact took effect on {state.last_date}; "
                                                  "a later one cannot come before it"]})
    if isinstance(command, STARTS):
        _check_elder(elder, command.effective_date)
    return RULES[type(command)](state, command, elder)


def _check_elder(elder: ElderFacts | None, day: date) -> None:
    if elder is None:
        raise NotFoundError("no such elder in the registry", field="elder_id")
    if elder.record_status != "active":
        raise CommandRejected(f"elder {elder.elder_id} is {elder.record_status} in the registry: nothing new is "
                              "recorded", field="elder_id")
    if day < elder.birth_date:
        raise ValidationError({"effective_date": ["is before the elder was born"]})


def _base(state: Record, command: Command, elder: ElderFacts | None) -> dict:
    return {"elder_id": elder.elder_id if elder else state.elder_id,
            "division_code": elder.division_code if elder else state.division_code,
            "department": command.department, "effective_date": command.effective_date}


def _health_check(state, command: RecordHealthCheck, elder):
    age = age_on(elder.birth_date, command.effective_date)
    if age < HEALTH_CHECK_MIN_AGE:
        raise CommandRejected(f"the annual health-management check is for elders {HEALTH_CHECK_MIN_AGE}+; "
                              f"elder {elder.elder_id} was {age} on {command.effective_date}", field="elder_id")
    year = command.effective_date.year
    if year in state.years_checked:
        raise ConflictError(f"elder {elder.elder_id} was checked in {year} already (one check a year)",
                            field="effective_date")
    if command.risk_summary and not command.risk_severity:
        raise ValidationError({"risk_severity": ["a risk summary needs the risk's severity"]})
    if command.risk_severity and not command.findings:
        raise ValidationError({"findings": ["a risk is raised from findings: name at least one"]})
    return [HealthCheckRecorded(**_base(state, command, elder), year=year, age=age, examiner=command.examiner,
                                findings=tuple(command.findings), risk_severity=command.risk_severity,
                                risk_summary=command.risk_summary)]


def _followup(state, command: RecordChronicFollowup, elder):
    if command.next_due_on and command.next_due_on <= command.effective_date:
        raise ValidationError({"next_due_on": ["must be after the follow-up"]})
    return [ChronicFollowupRecorded(**_base(state, command, elder), condition=command.condition,
                                    examiner=command.examiner, note=command.note, next_due_on=command.next_due_on)]


def _sign_doctor(state, command: SignFamilyDoctor, elder):
    if state.status == "signed":
        raise ConflictError(f"elder {elder.elder_id} has a family-doctor contract in force; end it first",
                            field="elder_id")
    if command.valid_until <= command.effective_date:
        raise ValidationError({"valid_until": ["must be after the signing date"]})
    return [FamilyDoctorSigned(**_base(state, command, elder), doctor=command.doctor, team=command.team,
                               valid_until=command.valid_until)]


def _end_doctor(state, command: EndFamilyDoctor, elder):
    _require(state, "signed", "no family-doctor contract in force")
    return [FamilyDoctorEnded(**_base(state, command, None), reason=command.reason)]


def _enrol(state, command: EnrolPension, elder):
    if state.exists:
        raise ConflictError(f"elder {elder.elder_id} is enrolled already ({state.pension_status})", field="elder_id")
    return [PensionEnrolled(**_base(state, command, elder), scheme=command.scheme)]


def _pension_status(state, command: ChangePensionStatus, elder):
    _require(state, None, "not enrolled in a pension scheme: enrol first")
    if command.status == "receiving" and command.monthly_amount_fen is None:
        raise ValidationError({"monthly_amount_fen": ["receiving a pension needs its monthly amount in fen"]})
    if command.status == "suspended" and command.monthly_amount_fen is not None:
        raise ValidationError({"monthly_amount_fen": ["a suspended pension has no amount"]})
    if command.monthly_amount_fen is not None and (not isinstance(command.monthly_amount_fen, int)
                                                   or isinstance(command.monthly_amount_fen, bool)
                                                   or command.monthly_amount_fen <= 0):
        raise ValidationError({"monthly_amount_fen": ["must be a positive whole number of fen"]})
    if command.status == state.pension_status and command.status == "suspended":
        raise CommandRejected("the pension is suspended already", field="status")
    return [PensionStatusChanged(**_base(state, command, None), status=command.status,
                                 previous_status=state.pension_status, monthly_amount_fen=command.monthly_amount_fen,
                                 reason=command.reason)]


def _register_poverty(state, command: RegisterPoverty, elder):
    if state.status == "registered":
        raise ConflictError(f"elder {elder.elder_id} is registered as poor already", field="elder_id")
    return [PovertyRegistered(**_base(state, command, elder), household_id=elder.household_id,
                              reason=command.reason, registry_command_id=command.registry_command_id)]


def _end_poverty(state, command: EndPovertyRegistration, elder):
    _require(state, "registered", "not registered as poor")
    return [PovertyRegistrationEnded(**_base(state, command, None), reason=command.reason,
                                     registry_command_id=command.registry_command_id)]


def _start_monitoring(state, command: StartPovertyMonitoring, elder):
    if state.status == "monitored":
        raise ConflictError(f"the household of elder {elder.elder_id} is monitored already", field="elder_id")
    return [PovertyMonitoringStarted(**_base(state, command, elder), household_id=elder.household_id,
                                     risk=command.risk, note=command.note)]


def _end_monitoring(state, command: EndPovertyMonitoring, elder):
    _require(state, "monitored", "the household is not monitored")
    return [PovertyMonitoringEnded(**_base(state, command, None), outcome=command.outcome)]


def _open_case(state, command: OpenCase, elder):
    if state.exists:
        raise ConflictError(f"case {command.case_id} exists already", field="case_id")
    if not command.summary.strip():
        raise ValidationError({"summary": ["must say what happened"]})
    return [CaseOpened(**_base(state, command, elder), case_id=command.case_id, kind=command.kind,
                       summary=command.summary, referral_id=command.referral_id)]


def _legal_aid(state, command: GiveLegalAid, elder):
    _require(state, "open", "no open case")
    return [LegalAidGiven(**_base(state, command, None), case_id=_subject(state), aid=command.aid, note=command.note)]


def _close_case(state, command: CloseCase, elder):
    _require(state, "open", "no open case")
    return [CaseClosed(**_base(state, command, None), case_id=_subject(state), outcome=command.outcome,
                       note=command.note, referral_id=state.referral_id)]


def _cultural(state, command: RecordCulturalService, elder):
    return [CulturalServiceDelivered(**_base(state, command, elder), service=command.service,
                                     provider=command.provider)]


def _payee(state, command: SetPayeeAccount, elder):
    return [PayeeAccountSet(**_base(state, command, elder), payee_name=command.payee_name, bank=command.bank,
                            card=command.card, account_number=command.account_number)]


def _require(state: Record, status: str | None, problem: str) -> None:
    if not state.exists:
        raise NotFoundError(f"{state.record_id}: {problem}", field="case_id" if state.area == "case" else "elder_id")
    if status is not None and state.status != status:
        raise CommandRejected(f"{state.record_id}: {problem} (it is {state.status})",
                              field="case_id" if state.area == "case" else "elder_id")


def _subject(state: Record) -> str:
    return state.record_id.split(":", 1)[1]


RULES = {RecordHealthCheck: _health_check, RecordChronicFollowup: _followup, SignFamilyDoctor: _sign_doctor,
         EndFamilyDoctor: _end_doctor, EnrolPension: _enrol, ChangePensionStatus: _pension_status,
         RegisterPoverty: _register_poverty, EndPovertyRegistration: _end_poverty,
         StartPovertyMonitoring: _start_monitoring, EndPovertyMonitoring: _end_monitoring, OpenCase: _open_case,
         GiveLegalAid: _legal_aid, CloseCase: _close_case, RecordCulturalService: _cultural,
         SetPayeeAccount: _payee}
assert set(RULES) == set(AREA_OF)


# -- evolve --------------------------------------------------------------------------------

STATUS_AFTER = {HealthCheckRecorded: "active", ChronicFollowupRecorded: "active", FamilyDoctorSigned: "signed",
                FamilyDoctorEnded: "ended", PensionEnrolled: "enrolled", PovertyRegistered: "registered",
                PovertyRegistrationEnded: "ended", PovertyMonitoringStarted: "monitored",
                PovertyMonitoringEnded: "ended", CaseOpened: "open", CaseClosed: "closed",
                CulturalServiceDelivered: "active", PayeeAccountSet: "active", PaymentIssued: "issued",
                PaymentPaid: "paid", PaymentFailed: "failed"}


def evolve(state: Record, event: Event) -> Record:
    first = not state.exists
    state = replace(state, elder_id=event.elder_id, division_code=event.division_code,
                    department=state.department or event.department, last_date=event.effective_date,
                    version=state.version + 1)
    if first or isinstance(event, (FamilyDoctorSigned, PovertyRegistered, PovertyMonitoringStarted)):
        state = replace(state, opened_on=event.effective_date, closed_on=None)
    if type(event) in STATUS_AFTER:
        state = replace(state, status=STATUS_AFTER[type(event)])
    if isinstance(event, (FamilyDoctorEnded, PovertyRegistrationEnded, PovertyMonitoringEnded, CaseClosed)):
        state = replace(state, closed_on=event.effective_date)
    if isinstance(event, HealthCheckRecorded):
        state = replace(state, years_checked=state.years_checked | {event.year})
    elif isinstance(event, PensionEnrolled):
        state = replace(state, pension_status="enrolled")
    elif isinstance(event, PensionStatusChanged):
        state = replace(state, status=event.status, pension_status=event.status)
    elif isinstance(event, CaseOpened):
        state = replace(state, kind=event.kind, referral_id=event.referral_id)
    elif isinstance(event, LegalAidGiven):
        state = replace(state, legal_aid=state.legal_aid + 1)
    elif isinstance(event, CaseClosed):
        state = replace(state, outcome=event.outcome)
    elif not isinstance(event, Event):
        raise TypeError(f"a department record cannot apply {type(event).__name__}")
    return state


def fold(record_id: str, events) -> Record:
    state = Record(record_id, record_id.split(":", 1)[0])
    for event in events:
        state = evolve(state, event)
    return state


# -- finance: payment files and the bank's return file -------------------------------------
# A subsidy run's ledger entry is paid into the elder's payee account. Each entry is its own
# stream: issued (in a file) → paid, or failed → issued again once the account has changed
# since (re-issued), else alerted to get the account fixed. Never dropped, never paid twice.

@dataclass(frozen=True)
class PaymentLine:
    """One entry of a subsidy run's payment file (the subsidies service's ledger)."""

    entry_id: str
    run_id: str
    jurisdiction: str
    beneficiary_id: str
    beneficiary_kind: str          # elder | facility
    division_code: str
    amount_fen: int


@dataclass(frozen=True)
class Payment:
    entry_id: str
    status: str = "none"           # none, issued, paid, failed
    attempt: int = 0
    file_id: str | None = None
    account_version: int = 0       # the payee account's version it was last issued with
    version: int = 0


def decide_issue(line: PaymentLine, payment: Payment, account_version: int | None, file_id: str,
                 today: date) -> tuple[list[PaymentIssued], str | None]:
    """(events, why it is held back). Issued the first time once the elder has a payee
    account; after a failure, again only when the account changed since."""
    if line.beneficiary_kind != "elder":
        return [], "paid to the facility's own account, not kept here"
    if line.amount_fen <= 0:
        return [], "not a payment: a negative adjustment is recovered, not paid out"
    if payment.status in ("issued", "paid"):
        return [], None
    if account_version is None:
        return [], "no payee account"
    if payment.status == "failed" and account_version <= payment.account_version:
        return [], "failed; waiting for a corrected payee account"
    return [PaymentIssued(line.beneficiary_id, line.division_code, "finance", today, line.entry_id, line.run_id,
                          file_id, line.amount_fen, line.jurisdiction, payment.attempt + 1, account_version)], None


def decide_return(payment: Payment, elder_id: str, division_code: str, run_id: str, amount_fen: int, file_id: str,
                  result: str, reason: str, bank_reference: str | None, account_version: int | None,
                  today: date) -> PaymentEvent:
    if payment.file_id == file_id and payment.status in ("paid", "failed"):
        raise ConflictError(f"entry {payment.entry_id} of file {file_id} was answered already ({payment.status})",
                            field="csv")
    if payment.status != "issued" or payment.file_id != file_id:
        raise ValidationError({"csv": [f"entry {payment.entry_id} is not awaiting the bank in file {file_id}"]})
    common = (elder_id, division_code, "finance", today, payment.entry_id, run_id, file_id, amount_fen)
    if result == "paid":
        return PaymentPaid(*common, bank_reference)
    changed = account_version is not None and account_version > payment.account_version
    return PaymentFailed(*common, reason or "no reason given", "reissue" if changed else "alert", None)


def evolve_payment(payment: Payment, event: PaymentEvent) -> Payment:
    if isinstance(event, PaymentIssued):
        return replace(payment, status="issued", attempt=event.attempt, file_id=event.file_id,
                       account_version=event.account_version, version=payment.version + 1)
    if isinstance(event, PaymentPaid):
        return replace(payment, status="paid", version=payment.version + 1)
    if isinstance(event, PaymentFailed):
        return replace(payment, status="failed", version=payment.version + 1)
    raise TypeError(f"a payment cannot apply {type(event).__name__}")
