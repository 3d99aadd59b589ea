"""How the registry's RPC payloads become domain commands: each contract request
(``contracts.registry_rpc``) builds the domain command of the same name. The domain never
sees a dict."""
from __future__ import annotations

from marshmallow import post_load
from marshmallow import ValidationError as MarshmallowError

from contracts import registry_rpc as rpc
from kernel.validation import BuildsCommand, command_schemas
from services.registry.adapters.event_mapping import to_domain_values
from services.registry.domain import commands as c


def _value_object(name, value):
    return to_domain_values({name: value})[name]


class RegisterElderSchema(BuildsCommand, rpc.RegisterElderRequest):
    command_class, to_values = c.RegisterElder, staticmethod(to_domain_values)

    @post_load
    def build(self, data, **kwargs):
        data["support_status"] = data["support_status"] or {}
        return super().build(data, **kwargs)


class CorrectDetailsSchema(BuildsCommand, rpc.CorrectDetailsRequest):
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


COMMAND_SCHEMAS = command_schemas(rpc.COMMAND_REQUESTS, c, to_domain_values,
                                  own={"register_elder": RegisterElderSchema(),
                                       "correct_details": CorrectDetailsSchema()})
