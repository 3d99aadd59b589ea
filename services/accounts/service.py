"""The accounts service: people, their grants (department × role × jurisdiction), the
departments of each jurisdiction, and sign-in, over nameko RPC (``contracts.accounts``).

Administration takes ``(payload, actor)``; the acting administrator's reach is checked
against their grants as this service knows them. Sign-in and resolving take one payload.
A refused command raises a clear error naming the field and writes nothing — except a
refused sign-in, whose failure is itself the fact recorded (and then raised).
"""
from __future__ import annotations

import structlog

from contracts import CATALOGUE
from contracts.actors import ActorSchema
from kernel.errors import NotFoundError
from kernel.providers import (CallContext, CheckpointSealer, LoggingContext, OutboxRelayRunner, ServiceDatabase,
                              ping_answer)
from kernel.rpc import command_rpc
from kernel.validation import load_or_refuse
from services.accounts import handlers as h
from contracts import accounts_rpc as s
from services.accounts.rules import AccountsRules, accounts_projections

log = structlog.get_logger(__name__)
ACTOR_SCHEMA = ActorSchema()



SCHEMAS = {name: cls() for name, cls in vars(s).items() if name.endswith("Schema") and isinstance(cls, type)}


class AccountsService:
    name = "accounts"

    db = ServiceDatabase(CATALOGUE, projections=accounts_projections)
    relay = OutboxRelayRunner()
    checkpoints = CheckpointSealer()       # signed checkpoints of its log, held by every other service
    rules = AccountsRules()
    call = CallContext()
    log = LoggingContext()

    def _load(self, schema: str, payload):
        return load_or_refuse(SCHEMAS[schema], payload)

    def _actor(self, actor) -> dict:
        validated = load_or_refuse(ACTOR_SCHEMA, actor)
        return {**validated.to_dict(), "person_id": actor.get("person_id")}

    def _admin(self, handler, schema: str, payload, actor):
        return handler(self.db, self.rules, self._load(schema, payload), self._actor(actor), dict(self.call))

    # -- sign-in (answers hold secrets: no command id keeps them) ------------------------------
    @command_rpc(idempotent=True)
    def sign_in(self, payload):
        """``{login, password, one_time_password?, client_address, grant_id?}`` → session."""
        return h.sign_in(self.db, self.rules, self._load("SignInSchema", payload), dict(self.call))

    @command_rpc
    def resolve_session(self, payload):
        return h.resolve_session(self.db, self.rules, self._load("SessionTokenSchema", payload))

    @command_rpc
    def resolve_token(self, payload):
        return h.resolve_token(self.db, self.rules, self._load("ApiTokenSchema", payload))

    @command_rpc
    def sign_out(self, payload):
        return h.sign_out(self.db, self.rules, self._load("SessionTokenSchema", payload), dict(self.call))

    @command_rpc
    def select_grant(self, payload):
        return h.select_grant(self.db, self.rules, self._load("SelectGrantSchema", payload), dict(self.call))

    @command_rpc(idempotent=True)
    def set_password(self, payload):
        """The signed-in person's own change: ``{session_token, password, new_password}``."""
        return h.change_password(self.db, self.rules, self._load("ChangePasswordSchema", payload), dict(self.call))

    @command_rpc(idempotent=True)
    def complete_password_reset(self, payload):
        return h.complete_password_reset(self.db, self.rules, self._load("CompleteResetSchema", payload),
                                         dict(self.call))

    @command_rpc(idempotent=True)
    def begin_second_factor(self, payload):
        return h.begin_second_factor(self.db, self.rules, self._load("SecondFactorStartSchema", payload),
                                     dict(self.call))

    @command_rpc(idempotent=True)
    def confirm_second_factor(self, payload):
        return h.confirm_second_factor(self.db, self.rules, self._load("SecondFactorConfirmSchema", payload),
                                       dict(self.call))

    # -- administration -------------------------------------------------------------------------
    @command_rpc(idempotent=True)      # the answer may hold a one-time link token
    def create_person(self, payload, actor):
        return self._admin(h.create_person, "CreatePersonSchema", payload, actor)

    @command_rpc
    def change_details(self, payload, actor):
        return self._admin(h.change_details, "ChangeDetailsSchema", payload, actor)

    @command_rpc
    def grant_role(self, payload, actor):
        return self._admin(h.grant_role, "GrantRoleSchema", payload, actor)

    @command_rpc
    def revoke_role(self, payload, actor):
        return self._admin(h.revoke_role, "RevokeRoleSchema", payload, actor)

    @command_rpc
    def suspend_person(self, payload, actor):
        return self._admin(h.suspend_person, "PersonReasonSchema", payload, actor)

    @command_rpc
    def reinstate_person(self, payload, actor):
        return self._admin(h.reinstate_person, "PersonReasonSchema", payload, actor)

    @command_rpc
    def record_leaving(self, payload, actor):
        return self._admin(h.record_leaving, "LeavingSchema", payload, actor)

    @command_rpc
    def unlock_account(self, payload, actor):
        return self._admin(h.unlock_account, "PersonReasonSchema", payload, actor)

    @command_rpc
    def remove_second_factor(self, payload, actor):
        return self._admin(h.remove_second_factor, "PersonReasonSchema", payload, actor)

    @command_rpc
    def end_session(self, payload, actor):
        return self._admin(h.end_session, "EndSessionSchema", payload, actor)

    @command_rpc(idempotent=True)      # the answer holds the link token
    def reset_password(self, payload, actor):
        return self._admin(h.reset_password, "PersonIdSchema", payload, actor)

    @command_rpc(idempotent=True)      # the answer holds the token
    def issue_api_token(self, payload, actor):
        return self._admin(h.issue_api_token, "IssueTokenSchema", payload, actor)

    @command_rpc
    def revoke_api_token(self, payload, actor):
        return self._admin(h.revoke_api_token, "RevokeTokenSchema", payload, actor)

    @command_rpc
    def add_department(self, payload, actor):
        return h.change_departments(self.db, self.rules, "accounts.department_added.v1",
                                    self._load("AddDepartmentSchema", payload), self._actor(actor), dict(self.call))

    @command_rpc
    def retire_department(self, payload, actor):
        return h.change_departments(self.db, self.rules, "accounts.department_retired.v1",
                                    self._load("RetireDepartmentSchema", payload), self._actor(actor), dict(self.call))

    @command_rpc
    def set_joint_meeting(self, payload, actor):
        return h.change_departments(self.db, self.rules, "accounts.joint_meeting_changed.v1",
                                    self._load("JointMeetingSchema", payload), self._actor(actor), dict(self.call))

    # -- queries ----------------------------------------------------------------------------------
    @command_rpc
    def ping(self):
        return ping_answer(self.name, self.db)

    @command_rpc
    def get_person(self, person_id):
        """The person, their grants, open sessions and live API tokens."""
        with self.db.connect() as conn:
            return h.person_detail(conn, person_id, self.db.clock.now())

    @command_rpc
    def find_person(self, login):
        with self.db.connect() as conn:
            person_id = h.person_id_of_login(conn, login)
            if person_id is None:
                raise NotFoundError(f"no person with login {login!r}", field="login")
            return h.person_view(conn, person_id)

    @command_rpc
    def list_people(self, filters):
        return h.list_people(self.db, self._load("PeopleQuerySchema", filters))

    @command_rpc
    def departments(self, jurisdiction, on=None):
        query = self._load("DepartmentsQuerySchema", {"jurisdiction": jurisdiction, "on": on})
        return h.departments_on(self.db, self.rules, query["jurisdiction"], query["on"])

    @command_rpc
    def person_history(self, person_id):
        """Every event of the person's stream in wire form: who granted what, when they signed in."""
        return [e.to_wire() for e in self.db.store.read_stream(person_id)]
