"""Who acts: the nine departments of the joint meeting (membership is configuration) and
the roles a user can hold. Every command carries its actor."""
from marshmallow import Schema, fields, post_load, validate

from kernel.envelope import Actor

# 民发〔2017〕193号 and seed 001; a jurisdiction may configure more (e.g. political-legal committee).
DEFAULT_DEPARTMENTS = (
    "civil_affairs", "public_security", "justice", "finance", "human_resources_social_security",
    "culture", "health", "poverty_alleviation", "aging_office",
)
ROLES = ("village_worker", "township_officer", "county_coordinator", "city_coordinator",
         "department_officer", "auditor", "admin", "system")


class ActorSchema(Schema):
    department = fields.String(required=True, validate=validate.OneOf(DEFAULT_DEPARTMENTS + ("system",)))
    user = fields.String(required=True, validate=validate.Length(min=1, max=64))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))

    @post_load
    def to_actor(self, data, **_kwargs) -> Actor:
        return Actor(**data)
