"""The facilities RPC surface: what each command and query takes and answers, as marshmallow
schemas. The service validates with these (adding only how a payload becomes a domain
command); the gateway documents its routes with them."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from contracts.facilities import (ADMISSION_KINDS, FACILITY_KINDS, HOME_SERVICE_KINDS, OPERATING_MODELS,
                                 DetailChangesSchema)
from contracts.fields import DIVISION_PREFIX, AcceptedDate, DivisionCode, EnumValue, PageOffset

FACILITY_STATUSES = ("open", "suspended", "merged", "closed")
_ID = validate.Length(min=1, max=64)
_REASON = validate.Length(min=1, max=500)
# Beds of one facility. The largest homes have a few thousand; the bound keeps a typing
# error (or 2**64) a bad field rather than an overflow of the 32-bit capacity column.
_BEDS = validate.Range(min=0, max=100_000)


class FacilityCommand(Schema):
    facility_id = fields.String(required=True, validate=_ID)
    effective_date = AcceptedDate(required=True)


class OpenFacilityRequest(FacilityCommand):
    name = fields.String(required=True, validate=validate.Length(min=1, max=128))
    division_code = DivisionCode(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(FACILITY_KINDS))
    operating_model = fields.String(required=True, validate=validate.OneOf(OPERATING_MODELS))
    operator = fields.String(required=True, validate=validate.Length(min=1, max=128))
    capacity = fields.Integer(required=True, strict=True, validate=_BEDS)
    services = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list)


class ChangeDetailsRequest(FacilityCommand):
    changes = fields.Nested(DetailChangesSchema, required=True)
    reason = fields.String(required=True, validate=_REASON)


class ChangeCapacityRequest(FacilityCommand):
    capacity = fields.Integer(required=True, strict=True, validate=_BEDS)
    reason = fields.String(required=True, validate=_REASON)


class RateFacilityRequest(FacilityCommand):
    stars = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    assessor = fields.String(required=True, validate=validate.Length(min=1, max=128))


class SuspendFacilityRequest(FacilityCommand):
    reason = fields.String(required=True, validate=_REASON)


class ReinstateFacilityRequest(SuspendFacilityRequest):
    pass


class CloseFacilityRequest(SuspendFacilityRequest):
    pass


class MergeFacilityRequest(FacilityCommand):
    survivor_id = fields.String(required=True, validate=_ID)
    reason = fields.String(required=True, validate=_REASON)
    survivor_capacity = fields.Integer(load_default=None, allow_none=True, strict=True, validate=_BEDS)


class AdmitElderRequest(FacilityCommand):
    elder_id = fields.String(required=True, validate=_ID)
    admission_kind = fields.String(required=True, validate=validate.OneOf(ADMISSION_KINDS))


class DischargeElderRequest(FacilityCommand):
    elder_id = fields.String(required=True, validate=_ID)
    reason = fields.String(required=True, validate=_REASON)


class TransferElderRequest(FacilityCommand):
    elder_id = fields.String(required=True, validate=_ID)
    to_facility_id = fields.String(required=True, validate=_ID)
    reason = fields.String(required=True, validate=_REASON)
    admission_kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ADMISSION_KINDS))


class AssessOperatingSubsidyRequest(FacilityCommand):
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))


class HomeServiceOfferRequest(Schema):
    service_kind = fields.String(required=True, validate=validate.OneOf(HOME_SERVICE_KINDS))
    daily_capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000))


class DeclareHomeServicesRequest(FacilityCommand):
    offers = fields.List(fields.Nested(HomeServiceOfferRequest), required=True,
                         metadata={"description": "every home service offered from effective_date (replaces the "
                                                  "previous offer; empty: none)"})


# RPC method -> the request its payload is checked with.
COMMAND_REQUESTS: dict[str, type[Schema]] = {
    "open_facility": OpenFacilityRequest,
    "change_details": ChangeDetailsRequest,
    "change_capacity": ChangeCapacityRequest,
    "rate_facility": RateFacilityRequest,
    "suspend_facility": SuspendFacilityRequest,
    "reinstate_facility": ReinstateFacilityRequest,
    "close_facility": CloseFacilityRequest,
    "merge_facility": MergeFacilityRequest,
    "admit_elder": AdmitElderRequest,
    "discharge_elder": DischargeElderRequest,
    "transfer_elder": TransferElderRequest,
    "assess_operating_subsidy": AssessOperatingSubsidyRequest,
    "declare_home_services": DeclareHomeServicesRequest,
}


class SortedList(fields.List):
    """A set of the domain's, answered as a sorted list (a set's own order varies by run)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(None if value is None else sorted(value), attr, obj, **kwargs)


class ResidentView(Schema):
    elder_id = fields.String()
    admission_kind = EnumValue(ADMISSION_KINDS)
    admitted_on = fields.Date()


class HomeServiceOfferView(Schema):
    service_kind = EnumValue(HOME_SERVICE_KINDS)
    daily_capacity = fields.Integer()


class FacilityView(Schema):
    """What facilities answers about one facility (current, or as of a date)."""

    facility_id = fields.String()
    version = fields.Integer()
    status = EnumValue(FACILITY_STATUSES)
    name = fields.String()
    division_code = fields.String()
    kind = EnumValue(FACILITY_KINDS)
    operating_model = EnumValue(OPERATING_MODELS)
    operator = fields.String()
    capacity = fields.Integer()
    occupancy = fields.Integer()
    free_places = fields.Integer()
    services = fields.List(fields.String())
    home_services = fields.List(fields.Nested(HomeServiceOfferView))
    opened_on = fields.Date(allow_none=True)
    stars = fields.Integer(allow_none=True)
    rated_on = fields.Date(allow_none=True)
    assessor = fields.String(allow_none=True)
    stars_awarded = SortedList(fields.Integer())
    subsidy_years = SortedList(fields.Integer())
    residents = fields.List(fields.Nested(ResidentView))
    suspended_since = fields.Date(allow_none=True)
    merged_into = fields.String(allow_none=True)
    absorbed = fields.List(fields.String())
    closed_on = fields.Date(allow_none=True)


class SearchSchema(Schema):
    division_code = fields.String(load_default=None, validate=DIVISION_PREFIX)
    kind = fields.String(load_default=None, validate=validate.OneOf(FACILITY_KINDS))
    status = fields.String(load_default="in_operation",
                           validate=validate.OneOf(["in_operation", "open", "suspended", "merged", "closed", "any"]))
    min_stars = fields.Integer(load_default=None, validate=validate.Range(min=1, max=5))
    with_free_places = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = PageOffset()


class DivisionSchema(Schema):
    division_code = fields.String(load_default=None, validate=DIVISION_PREFIX)


class AsOfSchema(Schema):
    on = AcceptedDate(required=True)
    known_at = fields.AwareDateTime(load_default=None, allow_none=True)


class YearSchema(Schema):
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    effective_date = AcceptedDate(load_default=None, allow_none=True)


class FacilityListItemView(Schema):
    """One row of ``search_facilities``: the ``facilities`` read model as stored (dates as
    ISO text); ``get_facility`` answers with the whole ``FacilityView``."""

    facility_id = fields.String()
    name = fields.String()
    division_code = fields.String()
    county_code = fields.String()
    township_code = fields.String()
    kind = fields.String(validate=validate.OneOf(FACILITY_KINDS))
    operating_model = fields.String(validate=validate.OneOf(OPERATING_MODELS))
    operator = fields.String()
    services = fields.String(metadata={"description": "comma-separated"})
    status = fields.String(validate=validate.OneOf(FACILITY_STATUSES))
    capacity = fields.Integer()
    occupancy = fields.Integer()
    stars = fields.Integer(allow_none=True)
    opened_on = fields.String(metadata={"format": "date"})
    closed_on = fields.String(allow_none=True, metadata={"format": "date"})
    merged_into = fields.String(allow_none=True)
    version = fields.Integer()


class FacilityFiguresView(Schema):
    facilities = fields.Integer()
    suspended = fields.Integer()
    beds = fields.Integer()
    residents = fields.Integer()
    occupancy_rate = fields.Float(allow_none=True, metadata={"description": "residents ÷ beds; null with no beds"})
    stars = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "facilities by star rating (\"1\"–\"5\", \"unrated\")"})


class FacilityStatisticsView(Schema):
    """``facility_statistics``: facilities in operation under a division, by kind and in all."""

    division_code = fields.String()
    by_kind = fields.Dict(keys=fields.String(validate=validate.OneOf(FACILITY_KINDS)),
                          values=fields.Nested(FacilityFiguresView))
    total = fields.Nested(FacilityFiguresView)
