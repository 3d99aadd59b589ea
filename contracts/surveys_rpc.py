"""Survey campaigns' RPC surface (services/surveys): what each method takes and answers."""
from __future__ import annotations

from marshmallow import Schema, fields, post_load, validate

from contracts.fields import AcceptedDate, DivisionCode, PageOffset
from contracts.registry import ElderRegisteredSchema
from contracts.surveys import OUTCOMES
from kernel.divisions import significant_prefix

# What a survey may confirm or correct: the record's own details (the registry refuses the
# rest by name, e.g. supporters, which change through their own commands).
CONFIRMABLE = frozenset({"name", "sex", "birth_date", "resident_id", "household_id", "address", "phone",
                         "contacts", "health", "lives_alone", "income_sources"})
assert CONFIRMABLE <= set(ElderRegisteredSchema().fields)


class OpenCampaignSchema(Schema):
    campaign_id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{1,64}$"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=128))
    jurisdiction = DivisionCode(required=True, metadata={"description": "the county or city surveyed"})
    deadline = AcceptedDate(required=True)
    fields_to_confirm = fields.List(fields.String(validate=validate.OneOf(sorted(CONFIRMABLE))), required=True,
                                    validate=validate.Length(min=1))

    @post_load
    def prefix(self, data, **_kwargs):
        data["jurisdiction"] = significant_prefix(data["jurisdiction"])
        return data


class RecordSurveySchema(Schema):
    campaign_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    elder_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    corrections = fields.Dict(keys=fields.String(validate=validate.OneOf(sorted(CONFIRMABLE))), load_default=dict,
                              metadata={"description": "field → the value found (the registry checks each)"})
    surveyed_on = AcceptedDate(required=True)
    visitor = fields.String(required=True, validate=validate.Length(min=1, max=64))


class CampaignIdSchema(Schema):
    campaign_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class TasksQuerySchema(CampaignIdSchema):
    village_code = DivisionCode(required=True)
    pending_only = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))
    offset = PageOffset()


class ProgressQuerySchema(CampaignIdSchema):
    division_code = DivisionCode(load_default=None, allow_none=True)


class ProgressView(Schema):
    division_code = fields.String()
    total = fields.Integer()
    surveyed = fields.Integer()
    share = fields.Float()


class TaskView(Schema):
    campaign_id = fields.String()
    elder_id = fields.String()
    village_code = fields.String()
    outcome = fields.String(allow_none=True, metadata={"description": "null: not surveyed yet"})
    surveyed_on = fields.String(allow_none=True, metadata={"format": "date"})
    visitor = fields.String(allow_none=True)


class CampaignView(Schema):
    campaign_id = fields.String()
    status = fields.String()
    jurisdiction = fields.String()
    opened_on = fields.Date(allow_none=True)
    deadline = fields.Date(allow_none=True)
    fields_to_confirm = fields.List(fields.String())
    elders = fields.Method("_elders", metadata={"type": "integer"})
    surveyed = fields.Method("_surveyed", metadata={"type": "integer"})
    outcomes = fields.Dict(keys=fields.String(), values=fields.Integer())
    villages_reported_late = fields.Method("_late", metadata={"type": "array", "items": {"type": "string"}})

    def _elders(self, state):
        return sum(state.villages.values())

    def _surveyed(self, state):
        return sum(state.surveyed.values())

    def _late(self, state):
        return sorted(state.reported_late)


class CampaignsQuerySchema(Schema):
    division_code = DivisionCode(required=True, metadata={
        "description": "campaigns covering this division or lying inside it (a city's, a county's)"})
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("open", "closed")))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = PageOffset()


class CampaignListItemView(Schema):
    campaign_id = fields.String()
    name = fields.String()
    jurisdiction = fields.String()
    opened_on = fields.String()
    deadline = fields.String()
    status = fields.String()
