"""The registry's RPC surface: what each command takes and what it answers, as marshmallow
schemas. The registry validates with these (adding only how a payload becomes a domain
command); the gateway documents its routes with them; nobody imports the service for them."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from contracts.actors import DEPARTMENT_CODE_PATTERN
from contracts.privacy import CONSENT_SCOPES, LEGAL_GROUNDS
from contracts.fields import DIVISION_PREFIX, AcceptedDate, DivisionCode, EnumValue, PageOffset, ResidentId
from contracts.registry import (SELF_CARE_LEVELS, SEXES, CarerSchema, ContactSchema, SupporterSchema,
                                SupportStatusSchema)

RECORD_STATUSES = ("active", "deceased", "merged")

# The details ``correct_details`` may change; the others change only through their own command.
CORRECTABLE_FIELDS = frozenset({
    "name", "household_id", "address", "phone", "contacts", "health", "lives_alone",
    "income_sources", "resident_id", "sex", "birth_date",
})


class ElderCommand(Schema):
    elder_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    effective_date = AcceptedDate(required=True)


class RegisterElderRequest(ElderCommand):
    resident_id = ResidentId(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    sex = fields.String(required=True, validate=validate.OneOf(SEXES))
    birth_date = AcceptedDate(required=True)
    division_code = DivisionCode(required=True)
    household_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    address = fields.String(required=True, validate=validate.Length(min=1, max=255))
    phone = fields.String(load_default=None, allow_none=True)
    contacts = fields.List(fields.Nested(ContactSchema), load_default=list)
    supporters = fields.List(fields.Nested(SupporterSchema), load_default=list)
    carer = fields.Nested(CarerSchema, load_default=None, allow_none=True)
    income_sources = fields.List(fields.String(), load_default=list)
    support_status = fields.Nested(SupportStatusSchema, load_default=dict)
    health = fields.String(load_default=None, allow_none=True)
    self_care_level = fields.String(load_default="full_self_care", validate=validate.OneOf(SELF_CARE_LEVELS))
    lives_alone = fields.Boolean(load_default=False)


class CorrectDetailsRequest(ElderCommand):
    """``changes``: each key a correctable field, its value checked with the same field as
    at registration."""
    changes = fields.Dict(required=True, validate=validate.Length(min=1))
    reason = fields.String(required=True, validate=validate.Length(min=1))


class RecordSupporterLeftRequest(ElderCommand):
    supporter_id = fields.String(required=True)
    whereabouts = fields.String(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True)
    new_supporter = fields.Nested(SupporterSchema, load_default=None, allow_none=True)


class RecordSupporterReturnedRequest(ElderCommand):
    supporter_id = fields.String(required=True)


class EntrustCarerRequest(ElderCommand):
    carer = fields.Nested(CarerSchema, required=True)


class AssessSelfCareRequest(ElderCommand):
    level = fields.String(required=True, validate=validate.OneOf(SELF_CARE_LEVELS))
    assessor = fields.String(required=True, validate=validate.Length(min=1))


class ChangeSupportStatusRequest(ElderCommand):
    support_status = fields.Nested(SupportStatusSchema, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1))


class RecordMoveRequest(ElderCommand):
    division_code = DivisionCode(required=True)
    address = fields.String(required=True)
    household_id = fields.String(required=True)


class RecordHospitalisationRequest(ElderCommand):
    hospital = fields.String(required=True, validate=validate.Length(min=1))


class RecordHospitalDischargeRequest(ElderCommand):
    pass


class RecordDeathRequest(ElderCommand):
    pass


class MergeRecordsRequest(ElderCommand):
    survivor_id = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1))


class UnmergeRecordsRequest(ElderCommand):
    reason = fields.String(required=True, validate=validate.Length(min=1))


# RPC method -> the request its payload is checked with.
class EraseElderRequest(ElderCommand):
    """Erase the elder's personal data (PIPL art. 47): the legal ground from the fixed list,
    a reason that quotes no personal data; only a role the privacy policy names may."""
    legal_ground = fields.String(required=True, validate=validate.OneOf(LEGAL_GROUNDS))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class GiveConsentRequest(ElderCommand):
    """The elder's separate consent, e.g. to show their health details to other departments
    (by name): recorded, and withdrawn the same way."""
    scope = fields.String(required=True, validate=validate.OneOf(CONSENT_SCOPES))
    departments = fields.List(fields.String(validate=validate.Regexp(DEPARTMENT_CODE_PATTERN)), required=True,
                              validate=validate.Length(min=1))


class WithdrawConsentRequest(GiveConsentRequest):
    pass


class ErasureView(Schema):
    """What ``erase_elder`` answers: no personal data."""
    elder_id = fields.String(required=True)
    erased_on = fields.String(required=True, metadata={"description": "local date of the erasure"})
    legal_ground = fields.String(required=True)
    version = fields.Integer(required=True)


COMMAND_REQUESTS: dict[str, type[Schema]] = {
    "register_elder": RegisterElderRequest, "correct_details": CorrectDetailsRequest,
    "record_supporter_left": RecordSupporterLeftRequest,
    "record_supporter_returned": RecordSupporterReturnedRequest, "entrust_carer": EntrustCarerRequest,
    "assess_self_care": AssessSelfCareRequest, "change_support_status": ChangeSupportStatusRequest,
    "record_move": RecordMoveRequest, "record_hospitalisation": RecordHospitalisationRequest,
    "record_hospital_discharge": RecordHospitalDischargeRequest, "record_death": RecordDeathRequest,
    "merge_records": MergeRecordsRequest, "unmerge_records": UnmergeRecordsRequest,
    "erase_elder": EraseElderRequest,
    "give_consent": GiveConsentRequest, "withdraw_consent": WithdrawConsentRequest,
}


class CheckRegistrationsSchema(Schema):
    """A batch for ``check_registrations``: each item is checked as a ``register_elder``
    payload would be, so items are any objects here (a bad one is reported, not refused)."""

    payloads = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=1000))


class CheckRegistrationView(Schema):
    """``check_registrations``' answer for one payload."""

    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "field → what register_elder would refuse; empty: accepted"})
    existing = fields.String(allow_none=True, metadata={"description": "the elder holding this resident ID"})
    similar = fields.List(fields.Dict(), metadata={"description": "[{elder_id, reason}]: probable duplicates"})


class SupporterView(Schema):
    supporter_id = fields.String()
    name = fields.String()
    relationship = fields.String()
    phone = fields.String(allow_none=True)
    whereabouts = fields.String(allow_none=True)
    left_on = fields.Date(allow_none=True)
    returned_on = fields.Date(allow_none=True)
    is_away = fields.Boolean()


class ElderView(Schema):
    """What the registry answers about one elder (personal data: the gateway logs each read)."""

    elder_id = fields.String()
    version = fields.Integer()
    record_status = EnumValue(RECORD_STATUSES, allow_none=True)
    resident_id = fields.String()
    name = fields.String()
    sex = fields.String()
    birth_date = fields.Date()
    division_code = fields.String()
    household_id = fields.String()
    address = fields.String()
    phone = fields.String(allow_none=True)
    contacts = fields.List(fields.Nested(ContactSchema))
    supporters = fields.List(fields.Nested(SupporterView))
    carer = fields.Nested(CarerSchema, allow_none=True)
    income_sources = fields.List(fields.String())
    support_status = fields.Nested(SupportStatusSchema)
    health = fields.String(allow_none=True)
    self_care_level = EnumValue(SELF_CARE_LEVELS)
    lives_alone = fields.Boolean()
    hospitalised = fields.Boolean()
    hospital = fields.String(allow_none=True)
    died_on = fields.Date(allow_none=True)
    merged_into = fields.String(allow_none=True)
    absorbed_duplicates = fields.List(fields.String())
    registered_on = fields.Date(allow_none=True)
    left_behind = fields.Boolean(attribute="is_left_behind")
    left_behind_since = fields.Date(allow_none=True)
    key_target = fields.Boolean(attribute="is_key_target")
    key_target_reasons = fields.List(fields.String())
    facility_id = fields.String(allow_none=True)
    admission_kind = fields.String(allow_none=True)
    in_facility_since = fields.Date(allow_none=True)
    support_mode = fields.String()
    consents = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                           metadata={"description": "scope → the departments the elder's consent names"})


class SearchSchema(Schema):
    division_code = fields.String(load_default=None, validate=DIVISION_PREFIX)
    left_behind = fields.Boolean(load_default=None, allow_none=True)
    key_target = fields.Boolean(load_default=None, allow_none=True)
    record_status = fields.String(load_default="active", validate=validate.OneOf(["active", "deceased", "merged", "any"]))
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=64),
                         metadata={"description": "names that start with this"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = PageOffset()


class AsOfSchema(Schema):
    on = AcceptedDate(required=True)
    known_at = fields.AwareDateTime(load_default=None, allow_none=True)


class ElderListItemView(Schema):
    """One row of ``search_elders``: the registry's ``elders`` read model as stored (dates as
    ISO text), not the whole record (``get_elder`` answers with ``ElderView``)."""

    elder_id = fields.String()
    resident_id = fields.String()
    name = fields.String()
    sex = fields.String(validate=validate.OneOf(SEXES))
    birth_date = fields.String(metadata={"format": "date"})
    division_code = fields.String()
    county_code = fields.String()
    township_code = fields.String()
    record_status = fields.String(validate=validate.OneOf(("active", "deceased", "merged")))
    left_behind = fields.Boolean()
    left_behind_since = fields.String(allow_none=True, metadata={"format": "date"})
    key_target = fields.Boolean()
    key_target_reasons = fields.String(metadata={"description": "comma-separated; empty when none"})
    self_care_level = fields.String(validate=validate.OneOf(SELF_CARE_LEVELS))
    lives_alone = fields.Boolean()
    hospitalised = fields.Boolean()
    supporters_total = fields.Integer()
    supporters_away = fields.Integer()
    died_on = fields.String(allow_none=True, metadata={"format": "date"})
    merged_into = fields.String(allow_none=True)
    next_review_on = fields.String(allow_none=True, metadata={
        "format": "date", "description": "when the left-behind and key-target statuses are next derived"})
    version = fields.Integer()
