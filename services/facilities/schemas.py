"""How the facilities RPC payloads become domain commands: each contract request
(``contracts.facilities_rpc``) builds the domain command of the same name. The domain never
sees a dict."""
from __future__ import annotations

from marshmallow import post_load

from contracts import facilities_rpc as rpc
from kernel.validation import BuildsCommand, command_schemas
from services.facilities.adapters.event_mapping import to_domain_values
from services.facilities.domain import commands as c


class ChangeDetailsSchema(BuildsCommand, rpc.ChangeDetailsRequest):
    @post_load
    def build(self, data, **_kwargs):
        return c.ChangeDetails(facility_id=data["facility_id"], effective_date=data["effective_date"],
                               changes=to_domain_values(data["changes"]), reason=data["reason"])


COMMAND_SCHEMAS = command_schemas(rpc.COMMAND_REQUESTS, c, to_domain_values,
                                  own={"change_details": ChangeDetailsSchema()})
