"""The registry's RPC edge: payload schemas that build domain commands, and the view of an
elder it answers with. marshmallow stays here; the domain never sees a dict."""
from __future__ import annotations

from marshmallow import Schema, fields, post_load, validate
from marshmallow import ValidationError as MarshmallowError

from contracts.fields import DIVISION_PREFIX, AcceptedDate, DivisionCode, EnumValue, PageOffset, ResidentId
from contracts.registry import (SELF_CARE_LEVELS, SEXES, CarerSchema, ContactSchema, SupporterSchema,
                                SupportStatusSchema)
from services.registry.adapters.event_mapping import to_domain_values
from services.registry.domain import commands as c
from services.registry.domain.model import RecordStatus


class _Command(Schema):
    command_class: type

    elder_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    effective_date = AcceptedDate(required=True)

    @post_load
    def build(self, data, **_kwargs):
        return self.command_class(**to_domain_values(data))


def _value_object(name, value):
    return to_domain_values({name: value})[name]


class RegisterElderSchema(_Command):
    command_class = c.RegisterElder
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

    @post_load
    def build(self, data, **kwargs):
        data["support_status"] = data["support_status"] or {}
        return super().build(data, **kwargs)


class CorrectDetailsSchema(_Command):
    command_class = c.CorrectDetails
    changes = fields.Dict(required=True, validate=validate.Length(min=1))
    reason = fields.String(required=True, validate=validate.Length(min=1))

    @post_load
    def build(self, data, **kwargs):
        # Each changed value is checked with the same field as at registration.
        # The shared instance: building a schema (and its nested ones) per call costs more
        # than the load itself.
        registration = COMMAND_SCHEMAS["register_elder"]
        known = {name: field for name, field in registration.fields.items()
                 if name not in ("elder_id", "effective_date")}
        errors, changes = {}, {}
        for name, raw in data["changes"].items():
            if name not in known:
                errors[f"changes.{name}"] = ["not a field of the elder record"]
                continue
            try:
                changes[name] = _value_object(name, known[name].deserialize(raw, name, data["changes"]))
            except MarshmallowError as error:
                errors[f"changes.{name}"] = error.messages
        if errors:
            raise MarshmallowError(errors)
        return c.CorrectDetails(elder_id=data["elder_id"], effective_date=data["effective_date"],
                                changes=changes, reason=data["reason"])


class RecordSupporterLeftSchema(_Command):
    command_class = c.RecordSupporterLeft
    supporter_id = fields.String(required=True)
    whereabouts = fields.String(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True)
    new_supporter = fields.Nested(SupporterSchema, load_default=None, allow_none=True)


class RecordSupporterReturnedSchema(_Command):
    command_class = c.RecordSupporterReturned
    supporter_id = fields.String(required=True)


class EntrustCarerSchema(_Command):
    command_class = c.EntrustCarer
    carer = fields.Nested(CarerSchema, required=True)


class AssessSelfCareSchema(_Command):
    command_class = c.AssessSelfCare
    level = fields.String(required=True, validate=validate.OneOf(SELF_CARE_LEVELS))
    assessor = fields.String(required=True, validate=validate.Length(min=1))


class ChangeSupportStatusSchema(_Command):
    command_class = c.ChangeSupportStatus
    support_status = fields.Nested(SupportStatusSchema, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1))


class RecordMoveSchema(_Command):
    command_class = c.RecordMove
    division_code = DivisionCode(required=True)
    address = fields.String(required=True)
    household_id = fields.String(required=True)


class RecordHospitalisationSchema(_Command):
    command_class = c.RecordHospitalisation
    hospital = fields.String(required=True, validate=validate.Length(min=1))


class RecordHospitalDischargeSchema(_Command):
    command_class = c.RecordHospitalDischarge


class RecordDeathSchema(_Command):
    command_class = c.RecordDeath


class MergeRecordsSchema(_Command):
    command_class = c.MergeRecords
    survivor_id = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1))


class UnmergeRecordsSchema(_Command):
    command_class = c.UnmergeRecords
    reason = fields.String(required=True, validate=validate.Length(min=1))


# One instance each: a schema is stateless once built, and building one (with its nested
# schemas) per call cost more than loading the payload.
COMMAND_SCHEMAS = {
    "register_elder": RegisterElderSchema(), "correct_details": CorrectDetailsSchema(),
    "record_supporter_left": RecordSupporterLeftSchema(),
    "record_supporter_returned": RecordSupporterReturnedSchema(), "entrust_carer": EntrustCarerSchema(),
    "assess_self_care": AssessSelfCareSchema(), "change_support_status": ChangeSupportStatusSchema(),
    "record_move": RecordMoveSchema(), "record_hospitalisation": RecordHospitalisationSchema(),
    "record_hospital_discharge": RecordHospitalDischargeSchema(), "record_death": RecordDeathSchema(),
    "merge_records": MergeRecordsSchema(), "unmerge_records": UnmergeRecordsSchema(),
}


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
    record_status = EnumValue([status.value for status in RecordStatus], allow_none=True)
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


class SearchSchema(Schema):
    division_code = fields.String(load_default=None, validate=DIVISION_PREFIX)
    left_behind = fields.Boolean(load_default=None, allow_none=True)
    key_target = fields.Boolean(load_default=None, allow_none=True)
    record_status = fields.String(load_default="active", validate=validate.OneOf(["active", "deceased", "merged", "any"]))
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
