"""Public events of survey campaigns (全面摸底排查, ``services/surveys``): a county or city
surveys every elder of its ledger by a deadline. The stream id is the campaign id; a
correction found on a survey visit is the registry's ``elder_details_corrected`` event."""
from marshmallow import Schema, fields, validate

from kernel.catalogue import EventCatalogue

OUTCOMES = ("confirmed", "corrected", "not_found")


class CampaignEventSchema(Schema):
    campaign_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class VillageTasksSchema(Schema):
    village_code = fields.String(required=True)
    elders = fields.Integer(strict=True, required=True, metadata={"description": "elders to survey there"})


class CampaignOpenedSchema(CampaignEventSchema):
    jurisdiction = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{2,12}$"))
    name = fields.String(required=True)
    opened_on = fields.Date(required=True)
    deadline = fields.Date(required=True)
    fields_to_confirm = fields.List(fields.String(), required=True)
    villages = fields.List(fields.Nested(VillageTasksSchema), required=True)


class ElderSurveyedSchema(CampaignEventSchema):
    elder_id = fields.String(required=True)
    village_code = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    corrected_fields = fields.List(fields.String(), required=True)
    surveyed_on = fields.Date(required=True)
    visitor = fields.String(required=True)


class VillageReportedLateSchema(CampaignEventSchema):
    village_code = fields.String(required=True)
    surveyed = fields.Integer(strict=True, required=True)
    total = fields.Integer(strict=True, required=True)
    alert_id = fields.String(required=True)


class CampaignClosedSchema(CampaignEventSchema):
    closed_on = fields.Date(required=True)
    surveyed = fields.Integer(strict=True, required=True)
    confirmed = fields.Integer(strict=True, required=True)
    corrected = fields.Integer(strict=True, required=True)
    not_found = fields.Integer(strict=True, required=True)
    not_surveyed = fields.Integer(strict=True, required=True)
    newly_found = fields.Integer(strict=True, required=True)


EVENTS = [
    ("surveys.campaign_opened.v1", CampaignOpenedSchema, "a survey campaign opened for a jurisdiction"),
    ("surveys.elder_surveyed.v1", ElderSurveyedSchema, "a survey visit confirmed or corrected a record, or "
                                                       "did not find the elder"),
    ("surveys.village_reported_late.v1", VillageReportedLateSchema,
     "a village behind schedule was reported to notifications (which escalates it by level)"),
    ("surveys.campaign_closed.v1", CampaignClosedSchema, "the campaign closed with its report"),
]


def catalogue() -> EventCatalogue:
    result = EventCatalogue()
    for type_, schema, description in EVENTS:
        result.register(type_, schema, description)
    return result
