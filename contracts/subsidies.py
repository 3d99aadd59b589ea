"""Public events of the subsidies service (entitlements, monthly disbursement runs, adjustments).

Two kinds of stream:

- a **run** stream per jurisdiction × month (``subsidy-run:<prefix>:<YYYY-MM>``): started,
  completed, approved, paid, month closed;
- the run's **payments** stream (``subsidy-pay:<prefix>:<YYYY-MM>``): one
  ``disbursement_computed`` per beneficiary × programme × month and the
  ``adjustment_computed`` events (back-pay positive, claw-back negative) of past months.
  The envelope's jurisdiction is the beneficiary's division (the routing partition).

Money is integer fen. ``month`` is a local calendar month ``YYYY-MM``. Every amount names
the rule version that produced it (``rule_version`` and the SHA-256 ``rule_hash`` of its
canonical JSON) and the facts it was computed from, so an auditor can trace each yuan to
the decision and the elder's state at the time. A disbursement's id is its event id;
adjustments list the ids of the entries (disbursements and earlier adjustments) they
correct. Nothing already computed is ever edited.
"""
from marshmallow import Schema, fields, validate

from contracts.fields import DIVISION_PREFIX, DivisionCode, EnumValue
from contracts.registry import SELF_CARE_LEVELS
from kernel.catalogue import EventCatalogue

PROGRAMMES = (
    "care_subsidy",                    # 护理补贴: by support mode × self-care level (Jincheng, 004)
    "institution_resident_subsidy",    # 机构入住老人补贴: residents of care institutions (Sanmenxia, 003)
    "meal_subsidy",                    # 助餐补贴: 80+ in dibao families (004)
    "basic_living",                    # 特困基本生活费: centralised / dispersed, yearly (004)
    "facility_operating_subsidy",      # 运营补贴: as facilities assessed it (003)
    "star_award",                      # 星级一次性奖补: as facilities granted it (003)
)
BENEFICIARY_KINDS = ("elder", "facility")
SUPPORT_MODES = ("centralised", "dispersed")
ADJUSTMENT_REASONS = ("back_pay", "claw_back")
RUN_STATUSES = ("started", "completed", "approved", "paid")
MONTH = validate.Regexp(r"^[0-9]{4}-(0[1-9]|1[0-2])$", error="must be a month YYYY-MM")
HASH = validate.Regexp(r"^[0-9a-f]{64}$", error="must be a SHA-256 hex digest")


class RunEventSchema(Schema):
    run_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    jurisdiction = fields.String(required=True, validate=DIVISION_PREFIX)
    month = fields.String(required=True, validate=MONTH)
    effective_date = fields.Date(required=True)


class RunStartedSchema(RunEventSchema):
    rulebook_hash = fields.String(required=True, validate=HASH)


class RunCompletedSchema(RunEventSchema):
    beneficiaries = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    disbursements = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    disbursed_fen = fields.Integer(strict=True, required=True)
    adjustments = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    adjusted_fen = fields.Integer(strict=True, required=True)


class RunApprovedSchema(RunEventSchema):
    note = fields.String(load_default="", validate=validate.Length(max=500))


class RunPaidSchema(RunEventSchema):
    paid_on = fields.Date(required=True)
    payment_reference = fields.String(required=True, validate=validate.Length(min=1, max=128))


class MonthClosedSchema(RunEventSchema):
    pass


class FactsUsedSchema(Schema):
    """The state of the beneficiary the amount was computed from (facts in effect on
    ``as_of``, the first day of the month, as known at ``known_at``)."""

    as_of = fields.Date(required=True)
    known_at = fields.String(allow_none=True, load_default=None)
    division_code = DivisionCode(required=True)
    self_care_level = EnumValue(SELF_CARE_LEVELS, allow_none=True, load_default=None)
    support_mode = EnumValue(SUPPORT_MODES, allow_none=True, load_default=None)
    age = fields.Integer(strict=True, allow_none=True, load_default=None)
    dibao = fields.Boolean(allow_none=True, load_default=None)
    tekun = fields.Boolean(allow_none=True, load_default=None)
    facility_id = fields.String(allow_none=True, load_default=None)
    grant_id = fields.String(allow_none=True, load_default=None)
    grant_policy_source = fields.String(allow_none=True, load_default=None)
    # A per-meal rule (meal_subsidy per_meal_fen): the meals delivered that month it paid for.
    meals_delivered = fields.Integer(strict=True, allow_none=True, load_default=None)


class EntryEventSchema(RunEventSchema):
    beneficiary_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    beneficiary_kind = EnumValue(BENEFICIARY_KINDS, required=True)
    programme = EnumValue(PROGRAMMES, required=True)
    period = fields.String(required=True, validate=MONTH)      # the month the money is for
    division_code = DivisionCode(required=True)
    reference = fields.String(load_default="", validate=validate.Length(max=64))   # grant id for grants


class DisbursementComputedSchema(EntryEventSchema):
    amount_fen = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    rule_version = fields.String(required=True)
    rule_hash = fields.String(required=True, validate=HASH)
    facts = fields.Nested(FactsUsedSchema, required=True)


class AdjustmentComputedSchema(EntryEventSchema):
    amount_fen = fields.Integer(strict=True, required=True)                # + back-pay, − claw-back; never 0
    reason = EnumValue(ADJUSTMENT_REASONS, required=True)
    previously_paid_fen = fields.Integer(strict=True, required=True)
    now_due_fen = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    corrects = fields.List(fields.String(), required=True)    # ids of the entries it corrects
    # The rule that produced ``now_due_fen``; None when nothing is due any more.
    rule_version = fields.String(allow_none=True, load_default=None)
    rule_hash = fields.String(allow_none=True, load_default=None, validate=HASH)
    facts = fields.Nested(FactsUsedSchema, allow_none=True, load_default=None)


EVENTS = [
    ("subsidies.run_started.v1", RunStartedSchema, "a monthly disbursement run started for a jurisdiction"),
    ("subsidies.disbursement_computed.v1", DisbursementComputedSchema,
     "one beneficiary × programme × month: amount in fen, rule version hash, facts used"),
    ("subsidies.adjustment_computed.v1", AdjustmentComputedSchema,
     "back-pay or claw-back of a past month, referencing the entries it corrects"),
    ("subsidies.run_completed.v1", RunCompletedSchema, "every beneficiary of the run was computed"),
    ("subsidies.run_approved.v1", RunApprovedSchema, "finance approved the run for payment"),
    ("subsidies.run_paid.v1", RunPaidSchema, "the run's payment file was paid"),
    ("subsidies.month_closed.v1", MonthClosedSchema, "no further run for this jurisdiction and month"),
]


def catalogue() -> EventCatalogue:
    result = EventCatalogue()
    for type_, schema, description in EVENTS:
        result.register(type_, schema, description)
    return result
