"""Who acts: the departments (data: the accounts service's department policy, by default the
nine of the joint meeting) and the roles a person can hold. Every command carries its actor."""
import re

from marshmallow import Schema, fields, post_load, validate

from kernel.envelope import Actor

# 民发〔2017〕193号 and seed 001; a jurisdiction may configure more (e.g. political-legal committee).
DEFAULT_DEPARTMENTS = (
    "civil_affairs", "public_security", "justice", "finance", "human_resources_social_security",
    "culture", "health", "poverty_alleviation", "aging_office",
)
# Any department a jurisdiction declares (policies/departments.yml, accounts commands) is
# valid in an actor: the code's form is checked here, its existence by the accounts service.
DEPARTMENT_CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
ROLES = ("village_worker", "township_officer", "county_coordinator", "city_coordinator",
         "department_officer", "auditor", "admin", "system")
# Roles the system acts under itself (timers, imports, demo loading); no person or token holds one.
INTERNAL_ROLES = frozenset({"system"})


class ActorSchema(Schema):
    department = fields.String(required=True, validate=validate.Regexp(
        DEPARTMENT_CODE_PATTERN, error="must be a department code (lower-case letters, digits, _)"))
    user = fields.String(required=True, validate=validate.Length(min=1, max=64))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    # Sent by the gateway for a signed-in person; the envelope's actor names the login (user).
    person_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))

    @post_load
    def to_actor(self, data, **_kwargs) -> Actor:
        data.pop("person_id", None)
        return Actor(**data)


def is_department_code(value) -> bool:
    return isinstance(value, str) and DEPARTMENT_CODE_PATTERN.match(value) is not None
