"""The departments' RPC surface (services/departments): what each command takes and answers,
and the one table of which department owns which command (``OWNERS``): the gateway's
permissions are made from it and the service refuses any other department by it too."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from contracts.departments import (AREAS, PAYEE_CARDS, CASE_KINDS, CASE_OUTCOMES, CHRONIC_CONDITIONS, CULTURAL_SERVICES,
                                   LEGAL_AID_KINDS, MONITORING_OUTCOMES, PENSION_SCHEMES, PERSONAL,
                                   POVERTY_END_REASONS, RETURN_RISKS, RISK_SEVERITIES, FindingSchema)
from contracts.fields import LARGEST_STORED_INTEGER, AcceptedDate, DivisionCode, PageOffset

# command → the departments that may give it (DOMAIN.md §7: 001's duties of each).
OWNERS: dict[str, tuple[str, ...]] = {
    "record_health_check": ("health",), "record_chronic_followup": ("health",),
    "sign_family_doctor": ("health",), "end_family_doctor": ("health",),
    "enrol_pension": ("human_resources_social_security",),
    "change_pension_status": ("human_resources_social_security",),
    "register_poverty": ("poverty_alleviation",), "end_poverty_registration": ("poverty_alleviation",),
    "start_poverty_monitoring": ("poverty_alleviation",), "end_poverty_monitoring": ("poverty_alleviation",),
    "open_case": ("public_security", "justice"), "give_legal_aid": ("justice",),
    "close_case": ("public_security", "justice"),
    "record_cultural_service": ("culture", "aging_office"),
    "set_payee_account": ("finance",), "issue_payment_file": ("finance",), "read_bank_return": ("finance",),
}

_id = dict(required=True, validate=validate.Length(min=1, max=64))
_text = dict(required=True, validate=validate.Length(min=1, max=128))
_note = dict(load_default=None, allow_none=True, validate=validate.Length(max=2000), metadata=PERSONAL)


class ElderRecordCommand(Schema):
    elder_id = fields.String(**_id)
    effective_date = AcceptedDate(required=True, metadata={"description": "the local date it happened"})


class RecordHealthCheckSchema(ElderRecordCommand):
    examiner = fields.String(**_text)
    findings = fields.List(fields.Nested(FindingSchema), load_default=list)   # each finding's note is personal
    risk_severity = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(RISK_SEVERITIES),
                                  metadata={"description": "set when a finding needs care: raises an alert"})
    risk_summary = fields.String(**_note)


class RecordChronicFollowupSchema(ElderRecordCommand):
    condition = fields.String(required=True, validate=validate.OneOf(CHRONIC_CONDITIONS), metadata=PERSONAL)
    examiner = fields.String(**_text)
    note = fields.String(**_note)
    next_due_on = AcceptedDate(load_default=None, allow_none=True)


class SignFamilyDoctorSchema(ElderRecordCommand):
    doctor = fields.String(**_text)
    team = fields.String(**_text)
    valid_until = AcceptedDate(required=True)


class EndRecordSchema(ElderRecordCommand):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class EnrolPensionSchema(ElderRecordCommand):
    scheme = fields.String(required=True, validate=validate.OneOf(PENSION_SCHEMES))


class ChangePensionStatusSchema(ElderRecordCommand):
    status = fields.String(required=True, validate=validate.OneOf(("receiving", "suspended")))
    # Integer fen: 12.5 or "12.50" is refused by name (a float never becomes money).
    monthly_amount_fen = fields.Integer(strict=True, load_default=None, allow_none=True,
                                        validate=validate.Range(min=1, max=LARGEST_STORED_INTEGER),
                                        metadata={"description": "the basic pension, integer fen a month "
                                                                 "(required when receiving)"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class RegisterPovertySchema(ElderRecordCommand):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500), metadata=PERSONAL)


class EndPovertyRegistrationSchema(ElderRecordCommand):
    reason = fields.String(required=True, validate=validate.OneOf(POVERTY_END_REASONS))


class StartPovertyMonitoringSchema(ElderRecordCommand):
    risk = fields.String(required=True, validate=validate.OneOf(RETURN_RISKS))
    note = fields.String(**_note)


class EndPovertyMonitoringSchema(ElderRecordCommand):
    outcome = fields.String(required=True, validate=validate.OneOf(MONITORING_OUTCOMES))


class OpenCaseSchema(ElderRecordCommand):
    case_id = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{1,59}$"))
    kind = fields.String(required=True, validate=validate.OneOf(CASE_KINDS))
    summary = fields.String(required=True, validate=validate.Length(min=1, max=2000), metadata=PERSONAL)
    referral_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                                metadata={"description": "the notifications referral this case answers "
                                                         "(accepted now, closed with the case)"})


class CaseCommand(Schema):
    case_id = fields.String(**_id)
    effective_date = AcceptedDate(required=True)


class GiveLegalAidSchema(CaseCommand):
    aid = fields.String(required=True, validate=validate.OneOf(LEGAL_AID_KINDS))
    note = fields.String(**_note)


class CloseCaseSchema(CaseCommand):
    outcome = fields.String(required=True, validate=validate.OneOf(CASE_OUTCOMES))
    note = fields.String(**_note)


class RecordCulturalServiceSchema(ElderRecordCommand):
    service = fields.String(required=True, validate=validate.OneOf(CULTURAL_SERVICES))
    provider = fields.String(**_text)


class SetPayeeAccountSchema(ElderRecordCommand):
    payee_name = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata=PERSONAL)
    bank = fields.String(**_text)
    card = fields.String(load_default="huimin_one_card", validate=validate.OneOf(PAYEE_CARDS))
    account_number = fields.String(required=True, validate=validate.Regexp(
        r"^[0-9]{8,30}$", error="must be 8 to 30 digits"), metadata=PERSONAL)


class PaymentFileSchema(Schema):
    """A subsidy run (its jurisdiction and month, as the subsidies service keys it)."""

    jurisdiction = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{2,12}$"))
    month = fields.String(required=True, validate=validate.Regexp(r"^(19|2[01])[0-9]{2}-(0[1-9]|1[0-2])$"))


class BankReturnSchema(Schema):
    file_id = fields.String(**_id)
    csv = fields.String(required=True, validate=validate.Length(min=1, max=20_000_000),
                        metadata={"description": "the bank's return file: entry_id,result(paid|failed),reason"
                                                 "[,bank_reference] with that header"})


class BankPaymentFileView(Schema):
    file_id = fields.String()
    run_id = fields.String()
    csv = fields.String(metadata={**PERSONAL, "description": "payee, account and amount per line (for the bank)"})
    rows = fields.Integer()
    total_fen = fields.Integer()
    held = fields.List(fields.Dict(), metadata={"description": "entries not in the file and why (no payee account; "
                                                               "not an elder's)"})


class PaymentFileStatusView(Schema):
    file_id = fields.String()
    run_id = fields.String()
    jurisdiction = fields.String()
    lines = fields.Dict(keys=fields.String(), values=fields.Integer(),
                        metadata={"description": "lines by status: issued (awaiting the bank), paid, failed"})


class BankReturnView(Schema):
    file_id = fields.String()
    paid = fields.Integer()
    failed = fields.Integer()
    reissue = fields.Integer(metadata={"description": "failed, paid again by the next file (account changed)"})
    alerted = fields.Integer(metadata={"description": "failed, alerted to fix the account"})


COMMAND_REQUESTS: dict[str, type[Schema]] = {
    "record_health_check": RecordHealthCheckSchema, "record_chronic_followup": RecordChronicFollowupSchema,
    "sign_family_doctor": SignFamilyDoctorSchema, "end_family_doctor": EndRecordSchema,
    "enrol_pension": EnrolPensionSchema, "change_pension_status": ChangePensionStatusSchema,
    "register_poverty": RegisterPovertySchema, "end_poverty_registration": EndPovertyRegistrationSchema,
    "start_poverty_monitoring": StartPovertyMonitoringSchema, "end_poverty_monitoring": EndPovertyMonitoringSchema,
    "open_case": OpenCaseSchema, "give_legal_aid": GiveLegalAidSchema, "close_case": CloseCaseSchema,
    "record_cultural_service": RecordCulturalServiceSchema, "set_payee_account": SetPayeeAccountSchema,
}
# Finance's payment files: whole-run commands with their own answers.
FILE_REQUESTS: dict[str, type[Schema]] = {"issue_payment_file": PaymentFileSchema,
                                          "read_bank_return": BankReturnSchema}
assert set(COMMAND_REQUESTS) | set(FILE_REQUESTS) == set(OWNERS)


class RecordView(Schema):
    """What every command answers: the record (stream) it wrote, after the command."""

    record_id = fields.String()
    area = fields.String(validate=validate.OneOf(AREAS))
    elder_id = fields.String()
    division_code = fields.String()
    department = fields.String()
    status = fields.String()
    version = fields.Integer()


class RecordListItemView(Schema):
    """One of the elder's records as the read model keeps it (one per area, one per case)."""

    record_id = fields.String()
    area = fields.String(validate=validate.OneOf(AREAS))
    elder_id = fields.String()
    division_code = fields.String()
    department = fields.String()
    status = fields.String()
    kind = fields.String(allow_none=True)
    opened_on = fields.String(metadata={"format": "date"})
    closed_on = fields.String(allow_none=True, metadata={"format": "date"})
    updated_on = fields.String(metadata={"format": "date"})
    monthly_amount_fen = fields.Integer(allow_none=True, metadata={"description": "a pension received"})
    outcome = fields.String(allow_none=True)
    referral_id = fields.String(allow_none=True)
    version = fields.Integer()


class CaseView(Schema):
    """A case without its details (those are personal: the elder's records, a logged read)."""

    case_id = fields.String()
    elder_id = fields.String()
    division_code = fields.String()
    department = fields.String()
    kind = fields.String(validate=validate.OneOf(CASE_KINDS))
    status = fields.String(validate=validate.OneOf(("open", "closed")))
    opened_on = fields.String(metadata={"format": "date"})
    closed_on = fields.String(allow_none=True, metadata={"format": "date"})
    outcome = fields.String(allow_none=True)
    referral_id = fields.String(allow_none=True)
    legal_aid = fields.Integer(metadata={"description": "how many times legal aid was given"})


class CaseFilterSchema(Schema):
    division_code = DivisionCode(load_default=None, allow_none=True)
    status = fields.String(load_default="open", validate=validate.OneOf(("open", "closed", "any")))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = PageOffset()


class SummaryQuerySchema(Schema):
    division_code = DivisionCode(required=True)
    year = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1900, max=2199))


class SummaryView(Schema):
    """Per division (the division and everything under it): what each department did."""

    division_code = fields.String()
    year = fields.Integer()
    health_checked_this_year = fields.Integer(metadata={"description": "elders 65+ with this year's check"})
    health_risks_this_year = fields.Integer()
    chronic_followups_this_year = fields.Integer()
    family_doctor_contracts = fields.Integer(metadata={"description": "contracts in force"})
    pension_receiving = fields.Integer()
    pension_suspended = fields.Integer()
    poverty_registered = fields.Integer()
    poverty_monitored = fields.Integer()
    open_cases = fields.Integer()
    cases_closed_this_year = fields.Integer()
    legal_aid_this_year = fields.Integer()
    cultural_services_this_year = fields.Integer()
    payments_awaiting_bank = fields.Integer(metadata={"description": "in a payment file, no bank answer yet"})
    payments_failed = fields.Integer(metadata={"description": "returned failed, not yet paid again"})


SUMMARY_FIGURES = tuple(name for name in SummaryView().fields if name not in ("division_code", "year"))
