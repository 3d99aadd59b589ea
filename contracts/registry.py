"""Public events of the registry (civil affairs' information ledger).

Personal fields (``personal``: names, resident ID, phones, address, health, supporters'
whereabouts) are sealed with the elder's key in the registry's log; ``elder_erased`` destroys
it and every consumer drops its copies.

Every event's subject is the ``elder_id``; the payload repeats it and carries the local
``effective_date`` on which the fact takes effect (it may be earlier than when it was
recorded). Derived status events (became/ceased left-behind, key target changed) carry
the reason the rules gave.
"""
from marshmallow import Schema, ValidationError, fields, validate

from contracts.fields import DivisionCode, EnumValue, personal  # noqa: F401 - EnumValue is part of this contract's API
from kernel.personal import personal_paths_of
from contracts.privacy import CONSENT_SCOPES, LEGAL_GROUNDS
from kernel.catalogue import EventCatalogue

SELF_CARE_LEVELS = ("full_self_care", "semi_disabled", "fully_disabled")
SEXES = ("male", "female")
KEY_TARGET_REASONS = ("hard_up", "advanced_age", "disabled", "living_alone")


class ContactSchema(Schema):
    name = personal(fields.String(required=True, validate=validate.Length(min=1, max=64)))
    relationship = fields.String(required=True, validate=validate.Length(min=1, max=32))
    phone = personal(fields.String(required=True, validate=validate.Length(min=3, max=32)))


class CarerSchema(ContactSchema):
    """The person a supporter entrusted with day-to-day care (委托照料)."""


class SupporterSchema(Schema):
    supporter_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = personal(fields.String(required=True, validate=validate.Length(min=1, max=64)))
    relationship = fields.String(required=True, validate=validate.Length(min=1, max=32))
    phone = personal(fields.String(load_default=None, allow_none=True))
    whereabouts = personal(fields.String(load_default=None, allow_none=True))
    left_on = fields.Date(load_default=None, allow_none=True)
    returned_on = fields.Date(load_default=None, allow_none=True)


class SupportStatusSchema(Schema):
    dibao = fields.Boolean(load_default=False)
    tekun = fields.Boolean(load_default=False)
    poverty_registered = fields.Boolean(load_default=False)


class ElderEventSchema(Schema):
    elder_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    effective_date = fields.Date(required=True)


class ElderRegisteredSchema(ElderEventSchema):
    resident_id = personal(fields.String(required=True, validate=validate.Length(equal=18)))
    name = personal(fields.String(required=True))
    sex = fields.String(required=True, validate=validate.OneOf(SEXES))
    birth_date = fields.Date(required=True)
    division_code = DivisionCode(required=True)
    household_id = fields.String(required=True)
    address = personal(fields.String(required=True))
    phone = personal(fields.String(allow_none=True, load_default=None))
    contacts = fields.List(fields.Nested(ContactSchema), required=True)
    supporters = fields.List(fields.Nested(SupporterSchema), required=True)
    carer = fields.Nested(CarerSchema, allow_none=True, load_default=None)
    income_sources = fields.List(fields.String(), required=True)
    support_status = fields.Nested(SupportStatusSchema, required=True)
    health = personal(fields.String(allow_none=True, load_default=None))
    self_care_level = EnumValue(SELF_CARE_LEVELS, required=True)
    lives_alone = fields.Boolean(required=True)


class CorrectionChanges(fields.Field):
    """``{field: new value}``, each value in the wire form of that field of ElderRegistered."""

    _fields = ElderRegisteredSchema().fields

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return {name: self._field(name)._serialize(new, name, obj) for name, new in value.items()}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("must be an object of field: new value")
        return {name: self._field(name).deserialize(new, name, value) for name, new in value.items()}

    def _field(self, name):
        try:
            return self._fields[name]
        except KeyError:
            raise ValidationError(f"{name!r} is not a correctable field") from None


class DetailsCorrectedSchema(ElderEventSchema):
    # A corrected name, phone, contact… is as personal as the registered one.
    changes = CorrectionChanges(required=True, metadata={"personal_paths": personal_paths_of(ElderRegisteredSchema())})
    reason = fields.String(required=True)


class SupporterLeftSchema(ElderEventSchema):
    supporter_id = fields.String(required=True)
    name = personal(fields.String(required=True))
    relationship = fields.String(required=True)
    phone = personal(fields.String(allow_none=True, load_default=None))
    whereabouts = personal(fields.String(allow_none=True, load_default=None))


class SupporterReturnedSchema(ElderEventSchema):
    supporter_id = fields.String(required=True)


class CarerEntrustedSchema(ElderEventSchema):
    carer = fields.Nested(CarerSchema, required=True)


class SelfCareAssessedSchema(ElderEventSchema):
    level = EnumValue(SELF_CARE_LEVELS, required=True)
    previous_level = EnumValue(SELF_CARE_LEVELS, required=True)
    assessor = fields.String(required=True)


class SupportStatusChangedSchema(ElderEventSchema):
    support_status = fields.Nested(SupportStatusSchema, required=True)
    previous_support_status = fields.Nested(SupportStatusSchema, required=True)
    reason = fields.String(required=True)


class ElderMovedSchema(ElderEventSchema):
    from_division_code = DivisionCode(required=True)
    division_code = DivisionCode(required=True)
    address = personal(fields.String(required=True))
    household_id = fields.String(required=True)


class ElderHospitalisedSchema(ElderEventSchema):
    hospital = personal(fields.String(required=True))     # a health detail


class RecordMergedIntoSchema(ElderEventSchema):
    survivor_id = fields.String(required=True)
    reason = fields.String(required=True)


class DuplicateAbsorbedSchema(ElderEventSchema):
    duplicate_id = fields.String(required=True)
    reason = fields.String(required=True)


class BecameLeftBehindSchema(ElderEventSchema):
    reason = fields.String(required=True)
    supporters_away_since = fields.Date(required=True)


class CeasedLeftBehindSchema(ElderEventSchema):
    reason = fields.String(required=True)


class KeyTargetChangedSchema(ElderEventSchema):
    is_key_target = fields.Boolean(required=True)
    reasons = fields.List(fields.String(validate=validate.OneOf(KEY_TARGET_REASONS)), required=True)
    previous_reasons = fields.List(fields.String(validate=validate.OneOf(KEY_TARGET_REASONS)), required=True)


class ElderErasedSchema(ElderEventSchema):
    """The elder's personal data was erased: the registry destroyed their key (every past
    and future read of their personal fields answers ``[erased]``); every service that keeps
    copies drops them on this event. Who erased it is the envelope's actor; ``reason`` must
    not quote personal data (it is kept in clear, as the record of the erasure)."""

    legal_ground = fields.String(required=True, validate=validate.OneOf(LEGAL_GROUNDS))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ConsentSchema(ElderEventSchema):
    """A separate consent (PIPL art. 29) given or withdrawn: ``departments`` it names."""

    scope = fields.String(required=True, validate=validate.OneOf(CONSENT_SCOPES))
    departments = fields.List(fields.String(validate=validate.Length(min=1, max=48)), required=True,
                              validate=validate.Length(min=1))


class EnteredFacilitySchema(ElderEventSchema):
    """Recorded from facilities' admission or transfer events; ``admission_kind`` is the
    facilities contract's (``centralised_support`` means centralised support)."""

    facility_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    facility_division_code = DivisionCode(required=True)
    admission_kind = fields.String(required=True, validate=validate.Length(min=1, max=32))
    from_facility_id = fields.String(load_default=None, allow_none=True)


class LeftFacilitySchema(ElderEventSchema):
    facility_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reason = fields.String(required=True)


EVENTS = [
    ("registry.elder_registered.v1", ElderRegisteredSchema, "an elder was entered in the ledger"),
    ("registry.elder_details_corrected.v1", DetailsCorrectedSchema, "recorded details were corrected"),
    ("registry.supporter_left.v1", SupporterLeftSchema, "a supporter left the county (whereabouts, contact)"),
    ("registry.supporter_returned.v1", SupporterReturnedSchema, "a supporter came back"),
    ("registry.carer_entrusted.v1", CarerEntrustedSchema, "a supporter entrusted a carer"),
    ("registry.self_care_assessed.v1", SelfCareAssessedSchema, "self-care ability was assessed"),
    ("registry.support_status_changed.v1", SupportStatusChangedSchema, "dibao/tekun/poverty status changed"),
    ("registry.elder_moved.v1", ElderMovedSchema, "the elder moved to another division/address"),
    ("registry.elder_hospitalised.v1", ElderHospitalisedSchema, "the elder was admitted to hospital"),
    ("registry.elder_discharged_from_hospital.v1", ElderEventSchema, "the elder left hospital"),
    ("registry.elder_died.v1", ElderEventSchema, "the elder died"),
    ("registry.record_merged_into.v1", RecordMergedIntoSchema, "this record was a duplicate of another"),
    ("registry.duplicate_absorbed.v1", DuplicateAbsorbedSchema, "a duplicate record now points here"),
    ("registry.record_unmerged.v1", RecordMergedIntoSchema, "a merge was undone (duplicate side)"),
    ("registry.duplicate_released.v1", DuplicateAbsorbedSchema, "a merge was undone (survivor side)"),
    ("registry.became_left_behind.v1", BecameLeftBehindSchema,
     "derived: every supporter has been away for the policy's months"),
    ("registry.ceased_left_behind.v1", CeasedLeftBehindSchema, "derived: no longer left-behind"),
    ("registry.key_target_changed.v1", KeyTargetChangedSchema, "derived: key-target reasons changed"),
    ("registry.entered_facility.v1", EnteredFacilitySchema,
     "the elder was admitted to (or transferred to) a facility, as facilities reported"),
    ("registry.left_facility.v1", LeftFacilitySchema, "the elder was discharged from a facility"),
    ("registry.consent_given.v1", ConsentSchema,
     "the elder consented separately (e.g. to share health details with the departments named)"),
    ("registry.consent_withdrawn.v1", ConsentSchema, "the elder withdrew a consent for the departments named"),
    ("registry.elder_erased.v1", ElderErasedSchema,
     "the elder's personal data was erased (legal ground, by whom); consumers drop their copies"),
]
ERASURE_EVENT = "registry.elder_erased.v1"


def catalogue() -> EventCatalogue:
    result = EventCatalogue()
    for type_, schema, description in EVENTS:
        result.register(type_, schema, description)
    return result
