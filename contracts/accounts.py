"""The accounts service (``accounts``): people, their grants, departments and sign-in.

Its log holds three kinds of stream:

- a **person** stream (subject ``person_id``): created, details changed, role granted and
  revoked (department × role × jurisdiction, each naming who granted it), suspended,
  reinstated, left; password set and reset; second factor enrolled and removed; API
  tokens issued and revoked; signed in, signed out, sign-in failed; locked and unlocked;
- a **departments** stream per jurisdiction (subject ``departments:<division code>``):
  departments added or retired and the joint meeting's members, each from an effective
  date, on top of the policy file (``policies/departments.yml``);
- **operator** streams: unknown logins tried and a client address throttled
  (``address:<address>``) and the CLI's
  emergency tokens (``emergency-tokens``).

Secrets never enter the log: a password hash, a TOTP secret (AES-GCM encrypted), a session or
token secret is kept in the service's ``credentials`` table, written in the same transaction
as the event that names it (by ``credential_id``), so the log (published, sealed, replayed by
auditors) says who could sign in and when without holding anything that signs in.

RPC (``accounts``), answers are plain dicts:

- ``sign_in({"login", "password", "one_time_password"?, "client_address", "grant_id"?})`` →
  ``{"session_token", "expires_at", "person": PERSON, "active_grant": GRANT}``
- ``resolve_session({"session_token"})`` → ``{"person": PERSON, "active_grant": GRANT,
  "session_id", "expires_at", **PERSON}`` (the person's keys also at the top level), or
  ``kernel.errors.AuthenticationError`` (code ``unauthenticated``)
- ``sign_out({"session_token"})`` → ``{"signed_out": true}``
- ``select_grant({"session_token", "grant_id"})`` → like ``resolve_session``
- ``resolve_token({"token"})`` → like ``resolve_session`` (``token_id`` instead of ``session_id``)
- administration, each ``(payload, actor)`` with ``actor = {department, user, role,
  person_id?}`` (the gateway's ``Principal.actor()``): ``create_person``, ``change_details``,
  ``grant_role``, ``revoke_role``, ``suspend_person``, ``reinstate_person``,
  ``record_leaving``, ``reset_password`` (→ a one-time link token), ``unlock_account``,
  ``end_session``, ``issue_api_token`` (→ the token, shown once), ``revoke_api_token``,
  ``remove_second_factor``, ``add_department``, ``retire_department``,
  ``set_joint_meeting``
- the person themself: ``set_password``, ``complete_password_reset``,
  ``begin_second_factor`` (→ secret and otpauth URI), ``confirm_second_factor``
- queries: ``get_person``, ``list_people``, ``departments``, ``ping``

PERSON = ``{"person_id", "login", "name", "status", "second_factor", "grants": [GRANT]}``;
GRANT = ``{"grant_id", "department", "role", "jurisdiction"}``.
"""
from marshmallow import Schema, fields, validate

from contracts.fields import DivisionCode
from kernel.catalogue import EventCatalogue

SERVICE = "accounts"

# A role's place in the hierarchy: an administrator grants roles at or below their own
# rank and only inside their jurisdiction; an administrator role only one level down.
ROLE_RANKS = {"village_worker": 1, "township_officer": 2, "department_officer": 3, "auditor": 3,
              "county_coordinator": 3, "city_coordinator": 4, "admin": 5}
GRANTABLE_ROLES = tuple(ROLE_RANKS)
# The division level a role's jurisdiction must be at (None: any level).
ROLE_LEVELS = {"village_worker": ("village",), "township_officer": ("township",),
               "county_coordinator": ("county",), "city_coordinator": ("city", "province"),
               "department_officer": None, "auditor": None, "admin": None}
# Who must sign in with a one-time password as well (issue 18): a grant at county level or
# above (a jurisdiction whose significant prefix is at most 6 digits), in finance, as an
# auditor or as an administrator.
SECOND_FACTOR_ROLES = frozenset({"county_coordinator", "city_coordinator", "auditor", "admin"})
SECOND_FACTOR_DEPARTMENTS = frozenset({"finance"})
SECOND_FACTOR_FROM_LEVEL = 6
PERSON_STATUSES = ("active", "suspended", "left")
DEPARTMENT_CODE = validate.Regexp(r"^[a-z][a-z0-9_]{1,47}$", error="must be a department code: lower-case "
                                  "letters, digits and _ (e.g. political_legal_committee)")
SIGN_OUT_REASONS = ("signed_out", "ended_by_admin", "suspended", "left", "password_reset", "grant_revoked")
FAILURE_REASONS = ("bad_password", "bad_one_time_password", "one_time_password_required", "unknown_login",
                   "locked", "suspended", "left", "no_grant", "one_time_password_reused")

_id = dict(required=True, validate=validate.Length(min=1, max=64))
_time = dict(required=True, validate=validate.Length(min=20, max=32))   # UTC ISO 8601 (kernel.envelope)


class GrantSchema(Schema):
    grant_id = fields.String(**_id)
    department = fields.String(required=True, validate=DEPARTMENT_CODE)
    role = fields.String(required=True, validate=validate.OneOf(GRANTABLE_ROLES))
    jurisdiction = DivisionCode(required=True)


class PersonEventSchema(Schema):
    person_id = fields.String(**_id)
    by = fields.String(required=True, validate=validate.Length(min=1, max=64))  # person_id or "system:<who>"


class PersonCreatedSchema(PersonEventSchema):
    login = fields.String(required=True, validate=validate.Length(min=3, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    phone = fields.String(required=True, allow_none=True)
    home_jurisdiction = DivisionCode(required=True)


class DetailsChangedSchema(PersonEventSchema):
    name = fields.String(required=True, allow_none=True)
    phone = fields.String(required=True, allow_none=True)


class RoleGrantedSchema(PersonEventSchema, GrantSchema):
    """``by`` is who granted it: the administrator's person id (or the system's bootstrap)."""
    granted_by_grant_id = fields.String(required=True, allow_none=True)


class RoleRevokedSchema(PersonEventSchema):
    grant_id = fields.String(**_id)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ReasonedSchema(PersonEventSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class PersonLeftSchema(ReasonedSchema):
    left_on = fields.Date(required=True)


class PasswordSetSchema(PersonEventSchema):
    credential_id = fields.String(**_id)


class PasswordResetSchema(PersonEventSchema):
    """An administrator reset the password: the old one stops working at once and a one-time
    link (held as a credential) lets the person choose a new one until ``expires_at``."""
    credential_id = fields.String(**_id)
    expires_at = fields.String(**_time)


class SecondFactorEnrolledSchema(PersonEventSchema):
    credential_id = fields.String(**_id)


class SecondFactorRemovedSchema(ReasonedSchema):
    pass


class ApiTokenIssuedSchema(PersonEventSchema):
    token_id = fields.String(**_id)
    grant_id = fields.String(**_id)
    label = fields.String(required=True, validate=validate.Length(min=1, max=100))
    expires_at = fields.String(**_time)


class ApiTokenRevokedSchema(ReasonedSchema):
    token_id = fields.String(**_id)


class SignedInSchema(PersonEventSchema):
    session_id = fields.String(**_id)
    grant_id = fields.String(**_id)
    client_address = fields.String(required=True, validate=validate.Length(min=1, max=64))
    second_factor_used = fields.Boolean(required=True)


class GrantSelectedSchema(PersonEventSchema):
    session_id = fields.String(**_id)
    grant_id = fields.String(**_id)


class SignedOutSchema(PersonEventSchema):
    session_id = fields.String(**_id)
    reason = fields.String(required=True, validate=validate.OneOf(SIGN_OUT_REASONS))


class SignInFailedSchema(PersonEventSchema):
    client_address = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reason = fields.String(required=True, validate=validate.OneOf(FAILURE_REASONS))
    consecutive_failures = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))


class UnknownLoginAttemptedSchema(Schema):
    """A sign-in named a login nobody has (stream ``address:<client address>``)."""
    client_address = fields.String(required=True, validate=validate.Length(min=1, max=64))
    login = fields.String(required=True, validate=validate.Length(max=64))


class AccountLockedSchema(PersonEventSchema):
    locked_until = fields.String(required=True, allow_none=True)   # None: until an administrator unlocks
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class AccountUnlockedSchema(ReasonedSchema):
    pass


class ClientAddressThrottledSchema(Schema):
    client_address = fields.String(required=True, validate=validate.Length(min=1, max=64))
    failures = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    until = fields.String(**_time)


class EmergencyTokenIssuedSchema(Schema):
    """An operator printed a bearer token with ``eldercare token issue`` on the server."""
    user = fields.String(required=True, validate=validate.Length(min=1, max=64))
    department = fields.String(required=True, validate=DEPARTMENT_CODE)
    role = fields.String(required=True)
    jurisdiction = DivisionCode(required=True)
    expires_at = fields.String(**_time)
    operator = fields.String(required=True, validate=validate.Length(min=1, max=64))


class DepartmentAddedSchema(Schema):
    jurisdiction = DivisionCode(required=True)
    code = fields.String(required=True, validate=DEPARTMENT_CODE)
    name_zh = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name_en = fields.String(required=True, validate=validate.Length(min=1, max=128))
    effective_date = fields.Date(required=True)
    by = fields.String(required=True)


class DepartmentRetiredSchema(Schema):
    jurisdiction = DivisionCode(required=True)
    code = fields.String(required=True, validate=DEPARTMENT_CODE)
    effective_date = fields.Date(required=True)
    by = fields.String(required=True)


class JointMeetingChangedSchema(Schema):
    jurisdiction = DivisionCode(required=True)
    members = fields.List(fields.String(validate=DEPARTMENT_CODE), required=True, validate=validate.Length(min=1))
    convenor = fields.String(required=True, validate=DEPARTMENT_CODE)
    effective_date = fields.Date(required=True)
    by = fields.String(required=True)


EVENTS = [
    ("accounts.person_created.v1", PersonCreatedSchema, "a person got an account (login, name, home jurisdiction)"),
    ("accounts.details_changed.v1", DetailsChangedSchema, "a person's name or phone changed"),
    ("accounts.role_granted.v1", RoleGrantedSchema, "a person was granted department × role × jurisdiction, by whom"),
    ("accounts.role_revoked.v1", RoleRevokedSchema, "a grant was taken away"),
    ("accounts.person_suspended.v1", ReasonedSchema, "a person may not sign in or act until reinstated"),
    ("accounts.person_reinstated.v1", ReasonedSchema, "a suspended person may act again"),
    ("accounts.person_left.v1", PersonLeftSchema, "a person left the work; every grant and credential ends"),
    ("accounts.password_set.v1", PasswordSetSchema, "a person's password was set (its hash is a credential)"),
    ("accounts.password_reset.v1", PasswordResetSchema, "an administrator reset a password: one-time link issued"),
    ("accounts.second_factor_enrolled.v1", SecondFactorEnrolledSchema, "a TOTP second factor was enrolled"),
    ("accounts.second_factor_removed.v1", SecondFactorRemovedSchema, "the second factor was removed"),
    ("accounts.api_token_issued.v1", ApiTokenIssuedSchema, "a personal API token for one grant, until expires_at"),
    ("accounts.api_token_revoked.v1", ApiTokenRevokedSchema, "a personal API token was revoked"),
    ("accounts.signed_in.v1", SignedInSchema, "a session began (from which address, acting under which grant)"),
    ("accounts.grant_selected.v1", GrantSelectedSchema, "a session switched to another of the person's grants"),
    ("accounts.signed_out.v1", SignedOutSchema, "a session ended (by the person, an administrator, or a suspension)"),
    ("accounts.sign_in_failed.v1", SignInFailedSchema, "a sign-in was refused after its credentials were checked"),
    ("accounts.unknown_login_attempted.v1", UnknownLoginAttemptedSchema,
     "a sign-in named a login nobody has (its password was checked against a decoy, as for a real one)"),
    ("accounts.account_locked.v1", AccountLockedSchema, "an account was locked after repeated failures"),
    ("accounts.account_unlocked.v1", AccountUnlockedSchema, "an administrator unlocked an account"),
    ("accounts.client_address_throttled.v1", ClientAddressThrottledSchema,
     "a client address made too many failed sign-ins: refused until `until`"),
    ("accounts.emergency_token_issued.v1", EmergencyTokenIssuedSchema,
     "an operator issued a bearer token on the server (eldercare token issue)"),
    ("accounts.department_added.v1", DepartmentAddedSchema, "a jurisdiction added a department from a date"),
    ("accounts.department_retired.v1", DepartmentRetiredSchema, "a jurisdiction retired a department from a date"),
    ("accounts.joint_meeting_changed.v1", JointMeetingChangedSchema, "a joint meeting's members changed from a date"),
]


def catalogue() -> EventCatalogue:
    result = EventCatalogue()
    for type_, schema, description in EVENTS:
        result.register(type_, schema, description)
    return result
