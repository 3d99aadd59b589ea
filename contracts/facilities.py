"""Public events of the facilities service (institutions, ratings, capacity, admissions).

The subject of every event is the ``facility_id`` (the facility's stream); the payload
repeats it and carries the local ``effective_date`` on which the fact takes effect.
Admission events (admitted, discharged, transferred) also carry the ``elder_id``, the
facility's ``division_code`` and the ``admission_kind``: the registry records the elder's
residence from them and subsidies the support mode (centralised vs dispersed). Grant
events (star award granted, operating subsidy eligible) carry money as integer fen and
name the policy that set the amount: subsidies pays them, auditors trace them.
"""
from marshmallow import Schema, fields, validate

from contracts.fields import DivisionCode
from contracts.fields import EnumValue
from kernel.catalogue import EventCatalogue

# DOMAIN.md §5. Day-care centres with meals are "care centres", without meals "activity centres".
FACILITY_KINDS = (
    "county_support_centre",        # 县级特困供养中心
    "township_nursing_home",        # 乡镇敬老院
    "regional_care_centre",         # 区域性养老服务中心
    "happiness_home",               # 农村互助幸福院
    "day_care_centre_with_meals",   # 日间照料中心 (照料中心)
    "day_care_centre_without_meals",  # 日间照料中心 (活动中心)
    "pastoral_apartment",           # 牧区老年公寓
    "care_service_station",         # 养老服务站
    "elderly_canteen",              # 老年人食堂
    "family_care_bed",              # 家庭养老床位
)
OPERATING_MODELS = (
    "public_built_public_run", "public_built_private_run", "private_built_public_subsidised", "private",
)
# Centralised support (集中供养) lives in the institution; day care and family beds are
# services to an elder who lives at home (dispersed support).
ADMISSION_KINDS = ("centralised_support", "day_care", "family_bed")
STAR_LEVELS = (1, 2, 3, 4, 5)
# Home services a facility brings to elders who live at home (seeds 003/004: 助餐、助浴、助洁、
# 助医、陪护); the orders service routes elders' orders for them.
HOME_SERVICE_KINDS = ("meals", "bathing", "cleaning", "medical_help", "accompaniment")

_ID = validate.Length(min=1, max=64)


class FacilityEventSchema(Schema):
    facility_id = fields.String(required=True, validate=_ID)
    effective_date = fields.Date(required=True)


class FacilityOpenedSchema(FacilityEventSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=128))
    division_code = DivisionCode(required=True)
    kind = EnumValue(FACILITY_KINDS, required=True)
    operating_model = EnumValue(OPERATING_MODELS, required=True)
    operator = fields.String(required=True, validate=validate.Length(min=1, max=128))
    capacity = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    services = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True)


class DetailChangesSchema(Schema):
    """Only the details that changed are present."""

    name = fields.String(validate=validate.Length(min=1, max=128))
    operator = fields.String(validate=validate.Length(min=1, max=128))
    operating_model = EnumValue(OPERATING_MODELS)
    services = fields.List(fields.String(validate=validate.Length(min=1, max=64)))


class FacilityDetailsChangedSchema(FacilityEventSchema):
    changes = fields.Nested(DetailChangesSchema, required=True)
    reason = fields.String(required=True)


class CapacityChangedSchema(FacilityEventSchema):
    capacity = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    previous_capacity = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    reason = fields.String(required=True)


class StarRatingAwardedSchema(FacilityEventSchema):
    """``effective_date`` is the assessment date."""

    stars = fields.Integer(strict=True, required=True, validate=validate.OneOf(STAR_LEVELS))
    assessor = fields.String(required=True, validate=validate.Length(min=1, max=128))


class StarRatingChangedSchema(StarRatingAwardedSchema):
    previous_stars = fields.Integer(strict=True, required=True, validate=validate.OneOf(STAR_LEVELS))


class GrantSchema(FacilityEventSchema):
    division_code = DivisionCode(required=True)
    amount_fen = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    policy_jurisdiction = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{0,12}$"))
    policy_source = fields.String(required=True)


class StarAwardGrantedSchema(GrantSchema):
    """A one-time award for reaching ``stars``: granted once per level, ever."""

    stars = fields.Integer(strict=True, required=True, validate=validate.OneOf(STAR_LEVELS))


class OperatingSubsidyEligibleSchema(GrantSchema):
    """The facility qualifies for the operating subsidy of ``year`` (once per year)."""

    year = fields.Integer(strict=True, required=True, validate=validate.Range(min=2000, max=2100))
    kind = EnumValue(FACILITY_KINDS, required=True)


class ReasonSchema(FacilityEventSchema):
    reason = fields.String(required=True)


class FacilityMergedSchema(ReasonSchema):
    """On the absorbed facility's stream: it is merged into ``merged_into`` and its residents
    (``moved_elder_ids``) moved there (each also an ``elder_transferred`` on the survivor)."""

    merged_into = fields.String(required=True, validate=_ID)
    moved_elder_ids = fields.List(fields.String(validate=_ID), required=True)


class FacilityAbsorbedSchema(ReasonSchema):
    """On the survivor's stream: ``absorbed_facility_id`` was merged into it."""

    absorbed_facility_id = fields.String(required=True, validate=_ID)
    capacity = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    previous_capacity = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))


class AdmissionEventSchema(FacilityEventSchema):
    elder_id = fields.String(required=True, validate=_ID)
    division_code = DivisionCode(required=True)          # of the facility (subject)
    facility_kind = EnumValue(FACILITY_KINDS, required=True)
    admission_kind = EnumValue(ADMISSION_KINDS, required=True)


class ElderAdmittedSchema(AdmissionEventSchema):
    pass


class ElderDischargedSchema(AdmissionEventSchema):
    reason = fields.String(required=True)


class ElderTransferredSchema(AdmissionEventSchema):
    """On the destination's stream: the elder moved here from ``from_facility_id``."""

    from_facility_id = fields.String(required=True, validate=_ID)
    from_division_code = DivisionCode(required=True)
    reason = fields.String(required=True)


class ElderTransferredOutSchema(AdmissionEventSchema):
    """On the origin's stream: the elder left for ``to_facility_id`` (consumers of
    residence follow ``elder_transferred``; this keeps the origin's own stream whole)."""

    to_facility_id = fields.String(required=True, validate=_ID)
    reason = fields.String(required=True)


class HomeServiceOfferSchema(Schema):
    service_kind = EnumValue(HOME_SERVICE_KINDS, required=True)
    daily_capacity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1),
                                    metadata={"description": "orders of this service it can take a day"})


class HomeServicesDeclaredSchema(FacilityEventSchema):
    """The facility's whole current offer of home services (an empty list: none any more),
    from ``effective_date``; ``division_code`` is the facility's, for routing by nearness."""

    division_code = DivisionCode(required=True)
    offers = fields.List(fields.Nested(HomeServiceOfferSchema), required=True)


EVENTS = [
    ("facilities.facility_opened.v1", FacilityOpenedSchema, "a facility opened (kind, operator, capacity)"),
    ("facilities.facility_details_changed.v1", FacilityDetailsChangedSchema,
     "name, operator, operating model or services changed"),
    ("facilities.capacity_changed.v1", CapacityChangedSchema, "beds/places changed"),
    ("facilities.star_rating_awarded.v1", StarRatingAwardedSchema, "a facility was first rated (1–5 stars)"),
    ("facilities.star_rating_changed.v1", StarRatingChangedSchema, "a rated facility was re-rated"),
    ("facilities.star_award_granted.v1", StarAwardGrantedSchema,
     "grant: one-time award for a star level reached for the first time"),
    ("facilities.operating_subsidy_eligible.v1", OperatingSubsidyEligibleSchema,
     "grant: the facility qualifies for a year's operating subsidy"),
    ("facilities.facility_suspended.v1", ReasonSchema, "the facility stopped operating for now"),
    ("facilities.facility_reinstated.v1", ReasonSchema, "a suspended facility operates again"),
    ("facilities.facility_merged.v1", FacilityMergedSchema, "merged into another facility (residents moved)"),
    ("facilities.facility_absorbed.v1", FacilityAbsorbedSchema, "another facility was merged into this one"),
    ("facilities.facility_closed.v1", ReasonSchema, "the facility closed for good"),
    ("facilities.elder_admitted.v1", ElderAdmittedSchema, "an elder was admitted"),
    ("facilities.elder_discharged.v1", ElderDischargedSchema, "an elder was discharged"),
    ("facilities.elder_transferred.v1", ElderTransferredSchema, "an elder moved here from another facility"),
    ("facilities.elder_transferred_out.v1", ElderTransferredOutSchema, "an elder moved to another facility"),
    ("facilities.home_services_declared.v1", HomeServicesDeclaredSchema,
     "the home services (meals, bathing, …) the facility offers elders at home, each with its daily capacity"),
]

# What the registry (elder residence) and subsidies (support mode) consume.
RESIDENCE_EVENTS = ("facilities.elder_admitted.v1", "facilities.elder_discharged.v1",
                    "facilities.elder_transferred.v1")


# What orders needs to route home-service orders: where a facility is, whether it operates,
# and what it offers.
HOME_SERVICE_EVENTS = ("facilities.facility_opened.v1", "facilities.facility_suspended.v1",
                       "facilities.facility_reinstated.v1", "facilities.facility_merged.v1",
                       "facilities.facility_closed.v1", "facilities.home_services_declared.v1")


def catalogue() -> EventCatalogue:
    result = EventCatalogue()
    for type_, schema, description in EVENTS:
        result.register(type_, schema, description)
    return result
