"""Public events of the visits service (巡访关爱).

Two kinds of stream in the visits log:

- a **visitor** stream (subject ``visitor_id``): who visits, how to reach them, which
  villages they cover;
- an elder's **visit plan** stream (subject ``elder_id``, the registry's id): the
  responsible visitor, the visit obligation (target class), every visit record and its
  corrections, conflicts, risks found, and each closed period (met, overdue, resolved late).

Dates that are policy dates (a visit's day, a period's due date) are local dates; the
envelope's ``time`` is the start of the local day the fact took effect.
"""
from marshmallow import Schema, fields, validate

from contracts.fields import DivisionCode, personal
from kernel.catalogue import EventCatalogue

VISITOR_ROLES = ("village_cadre", "resident_cadre", "civil_affairs_specialist", "social_work_organisation",
                 "volunteer", "relative_or_neighbour", "grid_worker", "third_party")
VISIT_MODES = ("home", "phone", "video", "remote_monitoring")
SERVICE_KINDS = ("daily_life_care", "emotional_comfort", "safety_supervision", "rights_protection")
FINDING_TOPICS = ("living_conditions", "health", "care_by_children", "home_safety", "needs")
RISK_KINDS = ("wandering", "infringement", "critical_illness", "serious_mental_illness", "major_hardship",
              "neglect_by_supporter", "home_safety_hazard")
SEVERITIES = ("low", "medium", "high", "critical")
# Target classes an elder can be in; the most demanding one the policy defines sets the visits owed.
TARGET_CLASSES = ("general", "key_target", "special_hardship")
PERIOD_KINDS = ("month", "quarter")

_id = dict(required=True, validate=validate.Length(min=1, max=64))


class PlanEventSchema(Schema):
    elder_id = fields.String(**_id)
    effective_date = fields.Date(required=True)


class VisitorRegisteredSchema(Schema):
    personal_subject = "visitor_id"     # the visitor's own key
    visitor_id = fields.String(**_id)
    name = personal(fields.String(required=True, validate=validate.Length(min=1, max=64)))
    phone = personal(fields.String(required=True, validate=validate.Length(min=3, max=32)))
    role = fields.String(required=True, validate=validate.OneOf(VISITOR_ROLES))
    organisation = fields.String(required=True, validate=validate.Length(min=1, max=128))
    village_codes = fields.List(DivisionCode(), required=True, validate=validate.Length(min=1))
    effective_date = fields.Date(required=True)


class VisitorVillagesChangedSchema(Schema):
    visitor_id = fields.String(**_id)
    village_codes = fields.List(DivisionCode(), required=True, validate=validate.Length(min=1))
    effective_date = fields.Date(required=True)


class VisitorDeactivatedSchema(Schema):
    visitor_id = fields.String(**_id)
    reason = fields.String(required=True)
    effective_date = fields.Date(required=True)


class PlanOpenedSchema(PlanEventSchema):
    """Visits first learnt of the elder (from the registry)."""
    name = personal(fields.String(required=True))
    division_code = DivisionCode(required=True)


class ObligationChangedSchema(PlanEventSchema):
    """The target classes the elder belongs to changed (empty: no obligation any more).
    Which classes owe visits, and how often, is policy on each period's due date."""
    classes = fields.List(fields.String(validate=validate.OneOf(TARGET_CLASSES)), required=True)
    previous_classes = fields.List(fields.String(validate=validate.OneOf(TARGET_CLASSES)), required=True)
    reason = fields.String(required=True)


class ElderRelocatedSchema(PlanEventSchema):
    from_division_code = DivisionCode(required=True)
    division_code = DivisionCode(required=True)


class VisitorAssignedSchema(PlanEventSchema):
    visitor_id = fields.String(**_id)
    previous_visitor_id = fields.String(required=True, allow_none=True)


class ReassignmentNeededSchema(PlanEventSchema):
    visitor_id = fields.String(**_id)
    division_code = DivisionCode(required=True)
    reason = fields.String(required=True)


class RecipientSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(("elder", "supporter")))
    name = personal(fields.String(required=True))
    phone = personal(fields.String(required=True, allow_none=True))


class AssignmentNoticeIssuedSchema(PlanEventSchema):
    """The written notice (000) naming the responsible visitor, for the elder and supporters."""
    notice_id = fields.String(**_id)
    visitor_id = fields.String(**_id)
    visitor_name = fields.String(required=True)
    visitor_phone = fields.String(required=True)
    recipients = fields.List(fields.Nested(RecipientSchema), required=True, validate=validate.Length(min=1))
    document_sha256 = fields.String(required=True, validate=validate.Length(equal=64))


class FindingsSchema(Schema):
    """What a visitor found: personal (health details among them), sealed with the elder's key."""
    living_conditions = personal(fields.String(load_default=None, allow_none=True))
    health = personal(fields.String(load_default=None, allow_none=True))
    care_by_children = personal(fields.String(load_default=None, allow_none=True))
    home_safety = personal(fields.String(load_default=None, allow_none=True))
    needs = personal(fields.String(load_default=None, allow_none=True))


class RiskSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(RISK_KINDS))
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    description = personal(fields.String(required=True, validate=validate.Length(min=1, max=2000)))


class VisitRecordedSchema(PlanEventSchema):
    """``effective_date`` is the day of the visit."""
    visit_id = fields.String(**_id)
    visitor_id = fields.String(**_id)
    mode = fields.String(required=True, validate=validate.OneOf(VISIT_MODES))
    services = fields.List(fields.String(validate=validate.OneOf(SERVICE_KINDS)), required=True)
    findings = fields.Nested(FindingsSchema, required=True)
    risks = fields.List(fields.Nested(RiskSchema), required=True)
    supersedes = fields.String(required=True, allow_none=True)
    correction_reason = fields.String(required=True, allow_none=True)


class VisitConflictFlaggedSchema(PlanEventSchema):
    """Records of the same elder and day by different visitors disagree: for review."""
    visit_ids = fields.List(fields.String(), required=True, validate=validate.Length(min=2))
    differences = fields.List(personal(fields.String()), required=True)   # quotes the findings


class RiskReportedSchema(PlanEventSchema):
    risk_id = fields.String(**_id)
    visit_id = fields.String(**_id)
    visitor_id = fields.String(**_id)
    division_code = DivisionCode(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(RISK_KINDS))
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    description = personal(fields.String(required=True))


class PeriodSchema(PlanEventSchema):
    """``effective_date`` is the period's due date (its last day)."""
    period = fields.String(required=True)            # "2026-10" or "2026-Q4"
    period_start = fields.Date(required=True)
    target_class = fields.String(required=True, validate=validate.OneOf(TARGET_CLASSES))
    required_visits = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    division_code = DivisionCode(required=True)
    visitor_id = fields.String(required=True, allow_none=True)


class PeriodMetSchema(PeriodSchema):
    visits = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))


class VisitOverdueSchema(PeriodSchema):
    visits = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    days_late = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))


class OverdueResolvedSchema(PeriodSchema):
    """A backfilled record met an overdue period's obligation late."""
    visit_id = fields.String(**_id)
    visited_on = fields.Date(required=True)


EVENTS = [
    ("visits.visitor_registered.v1", VisitorRegisteredSchema, "a visitor was registered"),
    ("visits.visitor_villages_changed.v1", VisitorVillagesChangedSchema, "a visitor's villages changed"),
    ("visits.visitor_deactivated.v1", VisitorDeactivatedSchema, "a visitor stopped visiting"),
    ("visits.plan_opened.v1", PlanOpenedSchema, "visits learnt of an elder from the registry"),
    ("visits.obligation_changed.v1", ObligationChangedSchema, "an elder's visit obligation started/changed/ended"),
    ("visits.elder_relocated.v1", ElderRelocatedSchema, "the elder moved to another division"),
    ("visits.visitor_assigned.v1", VisitorAssignedSchema, "a responsible visitor was assigned"),
    ("visits.reassignment_needed.v1", ReassignmentNeededSchema, "the assigned visitor no longer covers the elder"),
    ("visits.assignment_notice_issued.v1", AssignmentNoticeIssuedSchema, "the written notice was issued"),
    ("visits.visit_recorded.v1", VisitRecordedSchema, "a visit was recorded (or a record corrected)"),
    ("visits.visit_conflict_flagged.v1", VisitConflictFlaggedSchema, "same-day records disagree: review"),
    ("visits.risk_reported.v1", RiskReportedSchema, "a visit found a risk"),
    ("visits.period_met.v1", PeriodMetSchema, "a period closed with its visits made"),
    ("visits.visit_overdue.v1", VisitOverdueSchema, "a period closed with its visits not made"),
    ("visits.overdue_resolved.v1", OverdueResolvedSchema, "a late record met an overdue period"),
]


def catalogue() -> EventCatalogue:
    result = EventCatalogue()
    for type_, schema, description in EVENTS:
        result.register(type_, schema, description)
    return result
