"""The accounts RPC surface: what each command and query takes (marshmallow; the service
validates with these). Answers are plain dicts, described in ``contracts.accounts``."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from contracts.accounts import DEPARTMENT_CODE, GRANTABLE_ROLES
from contracts.fields import AcceptedDate, DivisionCode

LOGIN = validate.Regexp(r"^[a-z0-9][a-z0-9._-]{2,63}$",
                        error="must be 3–64 characters: lower-case letters, digits, '.', '_' or '-'")
_id = dict(required=True, validate=validate.Length(min=1, max=64))
_secret = dict(required=True, validate=validate.Length(min=1, max=256))
# The password's strength is checked by the service (it names the login); here only its form.
_password = dict(required=True, validate=validate.Length(min=1, max=256))
_reason = dict(load_default="", validate=validate.Length(max=500))


class GrantInput(Schema):
    department = fields.String(required=True, validate=DEPARTMENT_CODE)
    role = fields.String(required=True, validate=validate.OneOf(GRANTABLE_ROLES))
    jurisdiction = DivisionCode(required=True)


class CreatePersonSchema(Schema):
    login = fields.String(required=True, validate=LOGIN)
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^\+?[0-9 -]{3,32}$"))
    home_jurisdiction = DivisionCode(required=True)
    grants = fields.List(fields.Nested(GrantInput), load_default=list, validate=validate.Length(max=20))
    password = fields.String(load_default=None, validate=validate.Length(min=1, max=256))


class ChangeDetailsSchema(Schema):
    person_id = fields.String(**_id)
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    phone = fields.String(load_default=None, validate=validate.Regexp(r"^\+?[0-9 -]{3,32}$"))


class GrantRoleSchema(GrantInput):
    person_id = fields.String(**_id)


class RevokeRoleSchema(Schema):
    person_id = fields.String(**_id)
    grant_id = fields.String(**_id)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class PersonReasonSchema(Schema):
    person_id = fields.String(**_id)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class LeavingSchema(PersonReasonSchema):
    left_on = AcceptedDate(required=True)


class PersonIdSchema(Schema):
    person_id = fields.String(**_id)


class EndSessionSchema(Schema):
    person_id = fields.String(**_id)
    session_id = fields.String(**_id)


class IssueTokenSchema(Schema):
    person_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))  # default: oneself
    grant_id = fields.String(**_id)
    label = fields.String(required=True, validate=validate.Length(min=1, max=100))
    days = fields.Float(load_default=1.0, validate=validate.Range(min=0.001, max=366))


class RevokeTokenSchema(Schema):
    person_id = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    token_id = fields.String(**_id)
    reason = fields.String(load_default="revoked", validate=validate.Length(min=1, max=500))


class SignInSchema(Schema):
    login = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(**_password)
    one_time_password = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=16))
    client_address = fields.String(required=True, validate=validate.Length(min=1, max=64))
    grant_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))


class SessionTokenSchema(Schema):
    session_token = fields.String(**_secret)


class SelectGrantSchema(SessionTokenSchema):
    grant_id = fields.String(**_id)


class ApiTokenSchema(Schema):
    token = fields.String(**_secret)


class ChangePasswordSchema(SessionTokenSchema):
    password = fields.String(**_password)
    new_password = fields.String(**_password)


class CompleteResetSchema(Schema):
    reset_token = fields.String(**_secret)
    new_password = fields.String(**_password)


class SecondFactorStartSchema(Schema):
    login = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(**_password)
    client_address = fields.String(required=True, validate=validate.Length(min=1, max=64))


class SecondFactorConfirmSchema(SecondFactorStartSchema):
    credential_id = fields.String(**_id)
    one_time_password = fields.String(required=True, validate=validate.Length(min=1, max=16))


class AddDepartmentSchema(Schema):
    jurisdiction = DivisionCode(required=True)
    code = fields.String(required=True, validate=DEPARTMENT_CODE)
    name_zh = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name_en = fields.String(required=True, validate=validate.Length(min=1, max=128))
    effective_date = AcceptedDate(required=True)


class RetireDepartmentSchema(Schema):
    jurisdiction = DivisionCode(required=True)
    code = fields.String(required=True, validate=DEPARTMENT_CODE)
    effective_date = AcceptedDate(required=True)


class JointMeetingSchema(Schema):
    jurisdiction = DivisionCode(required=True)
    convenor = fields.String(required=True, validate=DEPARTMENT_CODE)
    members = fields.List(fields.String(validate=DEPARTMENT_CODE), required=True,
                          validate=validate.Length(min=1, max=40))
    effective_date = AcceptedDate(required=True)


class DepartmentsQuerySchema(Schema):
    jurisdiction = DivisionCode(required=True)
    on = AcceptedDate(load_default=None)


class PeopleQuerySchema(Schema):
    jurisdiction = DivisionCode(required=True)
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
