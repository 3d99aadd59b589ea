"""What each route takes and answers, as marshmallow schemas: for a route that calls a
service, the request and answer of that RPC method in the service catalogue
(``contracts.services``); for what the gateway composes itself (timeline, access log,
quarterly report), the gateway's. The services validate every command themselves with the
same contract schemas.

A route's body is its command schema less the fields the gateway fills in from the path (the
elder, facility, alert or referral id); its query is the service's filter schema, less the
path's fields, with the division the gateway defaults to the caller's jurisdiction optional.
``gateway.openapi`` derives both from these classes and the route table.
"""
from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema

from contracts import registry_rpc, subsidies_rpc
from contracts.fields import AcceptedDate, DivisionCode, PeriodField, ResidentId
from contracts.notifications import UtcDateTime
from contracts.services import SERVICES
from gateway import schemas as gateway
from gateway.routes import ROUTES, Route, RpcCall


# Field types whose rule is code apispec cannot read (a validator it can read becomes the
# document's pattern, enum or bounds by itself): the type of those not derived from a
# marshmallow type, and what the document says of each. Years are those of
# kernel.clock's accepted span, 1900-2199 (OpenAPI 3.0 has no bounds for dates).
_YEAR = r"(19[0-9]{2}|2[01][0-9]{2})"
FIELD_TYPES: dict[type, tuple[str, str | None]] = {UtcDateTime: ("string", "date-time")}
FIELD_SHAPES: dict[type, dict] = {
    DivisionCode: {"pattern": r"^[0-9]{12}$"},
    ResidentId: {"pattern": r"^[0-9]{17}[0-9Xx]$", "description": "GB 11643: the check character must match, "
                 "characters 1-6 be a known address code and 7-14 the birth date"},
    AcceptedDate: {"pattern": rf"^{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", "description": "a local date, 1900-01-01 to 2199-12-31"},
    subsidies_rpc.MonthField: {"pattern": rf"^{_YEAR}-(0[1-9]|1[0-2])$"},
    PeriodField: {"pattern": rf"^{_YEAR}-(0[1-9]|1[0-2]|[Qq][1-4])$",
                         "description": "a month (2026-10) or a quarter (2026-Q4)"},
}


# CorrectDetailsRequest.changes is a dict the registry checks key by key with the registration
# schema's own fields: the document shows those fields (the correctable ones), all optional.
ELDER_DETAIL_CHANGES = registry_rpc.RegisterElderRequest(only=sorted(registry_rpc.CORRECTABLE_FIELDS), partial=True)


@dataclass(frozen=True)
class RouteSchemas:
    query: type[Schema] | None = None       # the query string (besides purpose and break_glass)
    request: type[Schema] | None = None     # the command the JSON body carries
    response: type[Schema] | None = None    # the JSON answer; None: a file
    many: bool = False                      # the answer is a list of response


def _of_rpc(route: Route) -> RouteSchemas:
    rpc = SERVICES[route.call.service].rpc[route.call.method]
    if route.method == "GET":
        return RouteSchemas(query=rpc.request, response=rpc.answer, many=rpc.many)
    return RouteSchemas(request=rpc.request, response=rpc.answer, many=rpc.many)


ROUTE_SCHEMAS: dict[str, RouteSchemas] = {
    **{route.name: _of_rpc(route) for route in ROUTES if isinstance(route.call, RpcCall)},
    # composed by the gateway
    "elder_timeline": RouteSchemas(response=gateway.Timeline),
    "elder_access_log": RouteSchemas(response=gateway.AccessRecord, many=True),
    "latest_checkpoints": RouteSchemas(response=gateway.CheckpointStatus, many=True),
    "quarterly_report": RouteSchemas(gateway.QuarterlyReportQuery),
}
