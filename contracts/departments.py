"""Public events of the departments' own work (``services/departments``): what health, human
resources & social security, poverty alleviation, public security, justice, culture and the
aging office record about an elder (DOMAIN.md §7, seed 001).

Streams (one per elder and record, or per case): ``health:<elder>`` (annual health
management checks of elders 65+, chronic-condition follow-ups), ``doctor:<elder>`` (the
family-doctor contract, 签约), ``pension:<elder>``, ``poverty:<elder>`` (registration as poor,
建档立卡), ``monitoring:<elder>`` (the household watched for a return to poverty),
``culture:<elder>`` (cultural services delivered), ``case:<case id>``, finance's
``payee:<elder>`` (the account subsidies are paid into) and ``payment:<ledger entry>`` (a
subsidy run's entry through the bank: issued, paid, failed, re-issued). Every payload names
the ``elder_id``, the elder's village (``division_code``) and the ``department`` that wrote
it; the envelope's ``time`` is the start of the local day the fact took effect.

A poverty registration changes the elder's support status in the registry through the
registry's own ``change_support_status`` command: the registry's
``support_status_changed`` event is the fact others consume (subsidies, visits); the
``poverty_registered`` event here records that the poverty office decided it and which
registry command carried it.

Personal fields are marked ``metadata={"personal": True}`` (``PERSONAL``); ``PERSONAL_FIELDS``
lists them per event type: the findings of a health check, case details, notes.
"""
from marshmallow import Schema, fields, validate

from contracts.fields import DivisionCode
from kernel.catalogue import EventCatalogue

# Who owns each stream kind: only these departments write it.
AREAS = ("health", "doctor", "pension", "poverty", "monitoring", "case", "culture", "payee", "payment")
HEALTH_FINDINGS = ("hypertension", "diabetes", "heart_disease", "stroke_sequelae", "chronic_lung_disease",
                   "cognitive_decline", "depression", "malnutrition", "falls_risk", "vision_hearing_loss", "other")
# What the examiner judged a finding to need: none, or a risk raised to notifications.
RISK_SEVERITIES = ("low", "medium", "high", "critical")
CHRONIC_CONDITIONS = ("hypertension", "diabetes", "heart_disease", "stroke_sequelae", "chronic_lung_disease",
                      "severe_mental_disorder", "tuberculosis", "other")
PENSION_SCHEMES = ("urban_rural_residents", "urban_employees")
PENSION_STATUSES = ("enrolled", "receiving", "suspended")
POVERTY_END_REASONS = ("lifted_out", "moved_away", "registered_in_error", "deceased")
RETURN_RISKS = ("illness", "disability", "disaster", "income_drop", "unemployment", "large_expense", "other")
MONITORING_OUTCOMES = ("risk_removed", "registered_as_poor", "moved_away")
CASE_KINDS = ("infringement", "supporter_neglect", "fraud")
LEGAL_AID_KINDS = ("legal_advice", "representation", "mediation", "notarisation")
CASE_OUTCOMES = ("resolved", "mediated", "prosecuted", "supporter_ordered", "unfounded", "transferred")
# A record's status in the read model (per area: health and culture records are "active").
RECORD_STATUSES = ("active", "signed", "ended", "enrolled", "receiving", "suspended", "registered", "monitored",
                   "open", "closed", "issued", "paid", "failed")
# Finance: the account a subsidy is paid into (惠民惠农"一卡通" or another bank card), and what
# becomes of a payment the bank returns as failed.
PAYEE_CARDS = ("huimin_one_card", "bank_card")
PAYMENT_OUTCOMES = ("paid", "failed")
AFTER_FAILURE = ("reissue", "alert")
CULTURAL_SERVICES = ("performance", "film_screening", "reading_room", "elder_education", "festival_activity",
                     "elder_association_activity", "sports_activity")

PERSONAL = {"personal": True}     # the privacy convention: the kernel encrypts these per person
_id = dict(required=True, validate=validate.Length(min=1, max=64))
_note = dict(load_default=None, allow_none=True, validate=validate.Length(max=2000), metadata=PERSONAL)


class DepartmentEventSchema(Schema):
    elder_id = fields.String(**_id)
    division_code = DivisionCode(required=True)
    department = fields.String(required=True)
    effective_date = fields.Date(required=True)


class FindingSchema(Schema):
    code = fields.String(required=True, validate=validate.OneOf(HEALTH_FINDINGS))
    note = fields.String(**_note)


class HealthCheckRecordedSchema(DepartmentEventSchema):
    year = fields.Integer(strict=True, required=True)
    age = fields.Integer(strict=True, required=True)
    examiner = fields.String(required=True)
    findings = fields.List(fields.Nested(FindingSchema), required=True)   # each finding's note is personal
    risk_severity = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(RISK_SEVERITIES))
    risk_summary = fields.String(**_note)


class ChronicFollowupRecordedSchema(DepartmentEventSchema):
    condition = fields.String(required=True, validate=validate.OneOf(CHRONIC_CONDITIONS), metadata=PERSONAL)
    examiner = fields.String(required=True)
    note = fields.String(**_note)
    next_due_on = fields.Date(allow_none=True, load_default=None)


class FamilyDoctorSignedSchema(DepartmentEventSchema):
    doctor = fields.String(required=True)
    team = fields.String(required=True)
    valid_until = fields.Date(required=True)


class FamilyDoctorEndedSchema(DepartmentEventSchema):
    reason = fields.String(required=True)


class PensionEnrolledSchema(DepartmentEventSchema):
    scheme = fields.String(required=True, validate=validate.OneOf(PENSION_SCHEMES))


class PensionStatusChangedSchema(DepartmentEventSchema):
    status = fields.String(required=True, validate=validate.OneOf(PENSION_STATUSES))
    previous_status = fields.String(required=True, validate=validate.OneOf(PENSION_STATUSES))
    monthly_amount_fen = fields.Integer(strict=True, allow_none=True, load_default=None,
                                        metadata={"description": "basic pension received, fen a month"})
    reason = fields.String(required=True)


class PovertyRegisteredSchema(DepartmentEventSchema):
    household_id = fields.String(required=True)
    reason = fields.String(required=True, metadata=PERSONAL)
    # The registry command that set the support status (its id makes a resend harmless);
    # null when the registry already held poverty_registered.
    registry_command_id = fields.String(allow_none=True, load_default=None)


class PovertyRegistrationEndedSchema(DepartmentEventSchema):
    reason = fields.String(required=True, validate=validate.OneOf(POVERTY_END_REASONS))
    registry_command_id = fields.String(allow_none=True, load_default=None)


class PovertyMonitoringStartedSchema(DepartmentEventSchema):
    household_id = fields.String(required=True)
    risk = fields.String(required=True, validate=validate.OneOf(RETURN_RISKS))
    note = fields.String(**_note)


class PovertyMonitoringEndedSchema(DepartmentEventSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(MONITORING_OUTCOMES))


class CaseEventSchema(DepartmentEventSchema):
    case_id = fields.String(**_id)


class CaseOpenedSchema(CaseEventSchema):
    kind = fields.String(required=True, validate=validate.OneOf(CASE_KINDS))
    summary = fields.String(required=True, metadata=PERSONAL)
    referral_id = fields.String(allow_none=True, load_default=None)


class LegalAidGivenSchema(CaseEventSchema):
    aid = fields.String(required=True, validate=validate.OneOf(LEGAL_AID_KINDS))
    note = fields.String(**_note)


class CaseClosedSchema(CaseEventSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(CASE_OUTCOMES))
    note = fields.String(**_note)
    referral_id = fields.String(allow_none=True, load_default=None)


class CulturalServiceDeliveredSchema(DepartmentEventSchema):
    service = fields.String(required=True, validate=validate.OneOf(CULTURAL_SERVICES))
    provider = fields.String(required=True)


class PayeeAccountSetSchema(DepartmentEventSchema):
    payee_name = fields.String(required=True, metadata=PERSONAL)
    bank = fields.String(required=True)
    card = fields.String(required=True, validate=validate.OneOf(PAYEE_CARDS))
    account_number = fields.String(required=True, metadata=PERSONAL)


class PaymentEventSchema(DepartmentEventSchema):
    """One line of a subsidy run's payment (stream ``payment:<entry id>``, the subsidies
    ledger entry it pays)."""

    entry_id = fields.String(**_id)
    run_id = fields.String(**_id)
    file_id = fields.String(**_id)
    amount_fen = fields.Integer(strict=True, required=True)


class PaymentIssuedSchema(PaymentEventSchema):
    jurisdiction = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{2,12}$"),
                                 metadata={"description": "the run's (a division prefix)"})
    attempt = fields.Integer(strict=True, required=True)
    # The payee account's version the line was written with (the account itself stays in
    # the payee record: the file can be written again from it).
    account_version = fields.Integer(strict=True, required=True)


class PaymentPaidSchema(PaymentEventSchema):
    bank_reference = fields.String(allow_none=True, load_default=None)


class PaymentFailedSchema(PaymentEventSchema):
    reason = fields.String(required=True)
    next = fields.String(required=True, validate=validate.OneOf(AFTER_FAILURE),
                         metadata={"description": "reissue: the account changed since, the next file pays it; "
                                                  "alert: finance and the village are alerted to fix the account"})
    alert_id = fields.String(allow_none=True, load_default=None)


EVENTS = [
    ("departments.health_check_recorded.v1", HealthCheckRecordedSchema,
     "health: the annual health-management check of an elder 65+ (findings; a risk goes to notifications)"),
    ("departments.chronic_followup_recorded.v1", ChronicFollowupRecordedSchema,
     "health: a chronic-condition follow-up"),
    ("departments.family_doctor_signed.v1", FamilyDoctorSignedSchema, "health: a family-doctor contract signed"),
    ("departments.family_doctor_ended.v1", FamilyDoctorEndedSchema, "health: the family-doctor contract ended"),
    ("departments.pension_enrolled.v1", PensionEnrolledSchema, "HR & social security: enrolled in a pension scheme"),
    ("departments.pension_status_changed.v1", PensionStatusChangedSchema,
     "HR & social security: the basic pension is received (fen a month) or suspended"),
    ("departments.poverty_registered.v1", PovertyRegisteredSchema,
     "poverty office: registered as poor (建档立卡); the registry's support status changed by its command"),
    ("departments.poverty_registration_ended.v1", PovertyRegistrationEndedSchema,
     "poverty office: the registration as poor ended"),
    ("departments.poverty_monitoring_started.v1", PovertyMonitoringStartedSchema,
     "poverty office: the household is watched for a return to poverty"),
    ("departments.poverty_monitoring_ended.v1", PovertyMonitoringEndedSchema,
     "poverty office: the household is no longer watched"),
    ("departments.case_opened.v1", CaseOpenedSchema,
     "public security / justice: a case about an elder (infringement, supporter neglect, fraud)"),
    ("departments.legal_aid_given.v1", LegalAidGivenSchema, "justice: legal aid given in a case"),
    ("departments.case_closed.v1", CaseClosedSchema, "public security / justice: the case closed with its outcome"),
    ("departments.cultural_service_delivered.v1", CulturalServiceDeliveredSchema,
     "culture / aging office: a cultural service delivered to the elder"),
    ("departments.payee_account_set.v1", PayeeAccountSetSchema,
     "finance: the account the elder's subsidies are paid into"),
    ("departments.payment_issued.v1", PaymentIssuedSchema,
     "finance: a subsidy ledger entry written into a bank payment file (again, after a failure)"),
    ("departments.payment_paid.v1", PaymentPaidSchema, "finance: the bank's return file says it was paid"),
    ("departments.payment_failed.v1", PaymentFailedSchema,
     "finance: the bank's return file says it failed; re-issued or alerted, never dropped"),
]

# event type → its personal fields (top-level names), for the privacy work and for views.
PERSONAL_FIELDS = {type_: tuple(sorted(name for name, field in schema().fields.items()
                                       if field.metadata.get("personal")))
                   for type_, schema, _description in EVENTS}


def catalogue() -> EventCatalogue:
    result = EventCatalogue()
    for type_, schema, description in EVENTS:
        result.register(type_, schema, description)
    return result
