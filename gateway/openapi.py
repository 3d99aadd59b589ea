"""The OpenAPI 3 document, generated from the route table and the marshmallow schemas each
route takes and answers (``gateway.service_schemas``: the services' own), with apispec; and a
browsable docs page that needs no JavaScript from anywhere."""
from __future__ import annotations

import html
import re
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from contracts.services import ACCOUNTS
from gateway import schemas as s
from gateway.accounts_api import ACCOUNT_ROUTES, AccountRoute
from gateway.auth import SESSION_COOKIE
from gateway.routes import ROUTES, Route
from gateway.service_schemas import ELDER_DETAIL_CHANGES, FIELD_SHAPES, FIELD_TYPES, ROUTE_SCHEMAS

ERROR_RESPONSES = {"400": "invalid input: `errors` names each bad field (a JSON body nested more than "
                          "`GATEWAY.max_json_depth` levels names `body`; a header line with a CR or LF of its own "
                          "names `headers`)", "401": "no or invalid token",
                   "403": "not allowed for your role or department, or a division outside your jurisdiction",
                   "404": "unknown elder, "
                   "facility, alert or route — or one outside your jurisdiction, answered alike",
                   "409": "conflict: concurrent change, duplicate, or refused by the "
                   "current state", "422": "refused by the jurisdiction's policy (e.g. no subsidy rules in force), or an "
                   "Idempotency-Key already used for another request",
                   "429": "too many failed authentications from this client address or for this account; retry "
                          "after `Retry-After` seconds",
                   "502": "a service failed to answer (the fault is in its log)",
                   "503": "a service is not answering; retry after `Retry-After` seconds"}
# Only a request with a body can send one too large.
BODY_RESPONSES = {"413": "the body is larger than the route takes (`limit_bytes`): `GATEWAY.max_body_bytes`, or "
                         "`GATEWAY.max_upload_bytes` for an upload; refused before it is read"}
FILE_TYPES = ("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
PERSONAL_READ_PARAMETERS = [
    {"name": "purpose", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "why you read this personal record (kept in the access log)"},
    {"name": "break_glass", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "emergency read outside your jurisdiction: the reason (≥10 characters); the record's owner is "
                    "alerted"}]


IDEMPOTENCY_PARAMETER = {
    "name": s.IDEMPOTENCY_HEADER, "in": "header", "required": False,
    "schema": {"type": "string", "pattern": s.IDEMPOTENCY_KEY_PATTERN},
    "description": "your key for this write (1-128 visible ASCII characters): sent again with the same key, the "
                   "request gets its first answer and changes nothing; with another request, 422"}


def _openapi_path(rule: str) -> tuple[str, list[str]]:
    names = re.findall(r"<(?:\w+:)?(\w+)>", rule)
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule), names


def _field_shape(self, field, **_kwargs) -> dict:
    """apispec attribute function: the document's shape of a contract field type."""
    return next((dict(FIELD_SHAPES[cls]) for cls in type(field).__mro__ if cls in FIELD_SHAPES), {})


def _without(schema_class: type[Schema], names, **modifiers) -> Schema:
    """The schema less the fields the gateway fills in itself (taken from the path)."""
    return schema_class(exclude=[n for n in names if n in schema_class._declared_fields], **modifiers)


def _query(route: Route, path_names: list[str]) -> Schema | None:
    schema_class = ROUTE_SCHEMAS[route.name].query
    if schema_class is None:
        return None
    # The division a query's jurisdiction check reads defaults to the caller's jurisdiction.
    defaulted = (route.scope[1],) if route.scope and route.scope[0] == "query" else ()
    return _without(schema_class, path_names, partial=defaulted)


def _responses(route: Route) -> dict:
    schemas = ROUTE_SCHEMAS[route.name]
    if schemas.response is None:
        content = {media: {"schema": {"type": "string", "format": "binary"}} for media in FILE_TYPES}
    else:
        answer = {"type": "array", "items": schemas.response} if schemas.many else schemas.response
        content = {"application/json": {"schema": answer}}
    done = {"200": {"description": "Nothing changed: already done (the answer says `changed: false`)",
                    "content": content}} if route.creates else {}
    errors = {**ERROR_RESPONSES, **(BODY_RESPONSES if route.method == "POST" else {})}
    return {("201" if route.permission.writes else "200"): {"description": "OK", "content": content}, **done,
            **_error_responses(dict(sorted(errors.items())))}


def _error_responses(texts: dict) -> dict:
    return {code: {"description": text, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for code, text in texts.items()}


def _operation(route: Route, path_names: list[str]) -> dict:
    query = _query(route, path_names)
    operation = {
        "operationId": route.name, "summary": route.summary, "tags": [route.tag], "security": [{"bearer": []}],
        "parameters": [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in path_names]
        + ([{"in": "query", "schema": query}] if query is not None else [])
        + (PERSONAL_READ_PARAMETERS if route.personal else [])
        + ([IDEMPOTENCY_PARAMETER] if route.creates else []),
        "responses": _responses(route),
    }
    request = ROUTE_SCHEMAS[route.name].request
    if request is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": _without(request, path_names)}}}
    return operation


SIGN_IN_RESPONSES = {"423": "the account is locked after failed sign-ins (`Retry-After` when it unlocks itself)",
                     "429": "too many failed attempts from this address or for this login; retry after "
                            "`Retry-After` seconds"}
# What the gateway fills in itself from the request: the session cookie and the caller's address.
FILLED_BY_THE_GATEWAY = ("session_token", "client_address")


def _account_operation(route: AccountRoute, path_names: list[str]) -> dict:
    """A sign-in or administration endpoint: its body (or, for a read, its query) is what the
    accounts method takes, less what the gateway fills in."""
    request = ACCOUNTS.rpc[route.rpc].request if route.rpc else None
    schema = (_without(request, [*path_names, *FILLED_BY_THE_GATEWAY], partial=route.method == "GET")
              if request is not None else None)
    many = route.rpc is not None and ACCOUNTS.rpc[route.rpc].many
    answer = {"application/json": {"schema": {"type": "array", "items": {"type": "object"}} if many
                                   else {"type": "object"}}}
    operation = {
        "operationId": route.name, "summary": route.summary, "tags": ["accounts"],
        "security": [{"bearer": []}, {"session": []}] if route.signed_in else [],
        "parameters": [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                       for n in path_names] + ([{"in": "query", "schema": schema}]
                                               if schema is not None and route.method == "GET" else []),
        "responses": {str(route.status): {"description": "OK", "content": answer},
                      **_error_responses(dict(sorted({**ERROR_RESPONSES, **SIGN_IN_RESPONSES, **(
                          BODY_RESPONSES if route.method == "POST" else {})}.items())))},
    }
    if schema is not None and route.method == "POST":
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return operation


def component_name(schema) -> str:
    """``RegisterElderRequest`` / ``RegisterElderSchema`` → ``RegisterElder``; a schema loaded
    with options (``only``, ``partial``) is written inline."""
    from apispec.ext.marshmallow.common import resolve_schema_cls
    cls = resolve_schema_cls(schema)
    if not isinstance(schema, type) and (schema.only or schema.partial):
        return None
    name = cls.__name__.removesuffix("Request").removesuffix("Schema")
    # The accounts' ChangeDetails is a person's, not a facility's.
    return f"Account{name}" if cls.__module__ == "contracts.accounts_rpc" else name


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    plugin = MarshmallowPlugin(schema_name_resolver=component_name)
    spec = APISpec(title="eldercare gateway", version="1.0.0", openapi_version="3.0.3", plugins=[plugin],
                   info={"description": "County coordination of care for rural left-behind elders. Every call "
                                        "needs `Authorization: Bearer <token>` (a personal API token: POST "
                                        "/api/tokens) or the session cookie POST /api/session sets."})
    for field_class, (openapi_type, openapi_format) in FIELD_TYPES.items():
        plugin.map_to_openapi_type(field_class, openapi_type, openapi_format)
    plugin.converter.add_attribute_function(_field_shape)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                                                "description": "set by POST /api/session; a write sent with "
                                                               "it also sends X-CSRF-Token"})
    spec.components.schema("Error", schema=s.Error)
    spec.components.schema("ElderDetailChanges", schema=ELDER_DETAIL_CHANGES)
    paths: dict[str, dict] = {}
    for route in ROUTES:
        path, names = _openapi_path(route.path)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, names)
    for route in ACCOUNT_ROUTES:
        path, names = _openapi_path(route.path)
        paths.setdefault(path, {})[route.method.lower()] = _account_operation(route, names)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return _details_changed(_nullable_nested_exactly(spec.to_dict()))


def _details_changed(document: dict) -> dict:
    """A correction's ``changes`` is a marshmallow Dict ("an object"): name the details the
    registry checks its keys against. Either domain refuses changes that name no detail."""
    schemas = document["components"]["schemas"]
    for changes in ("ElderDetailChanges", "DetailChanges"):
        schemas[changes]["minProperties"] = 1
    for field in schemas["ElderDetailChanges"]["properties"].values():
        field.pop("default", None)          # a detail left out is not corrected, not reset
    schemas["CorrectDetails"]["properties"]["changes"] = {"$ref": "#/components/schemas/ElderDetailChanges"}
    return document


def _nullable_nested_exactly(node):
    """apispec writes a nullable nested schema, for OpenAPI 3.0, as ``anyOf: [{type: object,
    nullable: true}, {$ref}]``, whose first branch admits any object at all: say "this schema,
    or null" instead. (3.1 says it exactly, but its integers include 1.0, which the services'
    strict integers refuse.)"""
    if isinstance(node, list):
        return [_nullable_nested_exactly(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_nested_exactly(value) for key, value in node.items()}
    branches = node.get("anyOf")
    if isinstance(branches, list) and {"type": "object", "nullable": True} in branches and len(branches) == 2:
        del node["anyOf"]
        node.update(allOf=[b for b in branches if b != {"type": "object", "nullable": True}], nullable=True)
    return node


def docs_page() -> str:
    document = openapi_document()
    rows = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(operation.get('summary', ''))}</td>"
                        f"<td>{html.escape(', '.join(operation.get('tags', [])))}</td></tr>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>eldercare API</title>"
            "<style>body{font-family:sans-serif;margin:2em}td{padding:.2em .6em;border-bottom:1px solid #ddd}</style>"
            "</head><body><h1>eldercare gateway API</h1><p>Machine-readable: <a href='/openapi.json'>/openapi.json"
            "</a> (OpenAPI 3). Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>.</p>"
            "<table><tr><th>method</th><th>path</th><th>what</th><th>area</th></tr>" + "".join(rows)
            + "</table></body></html>")
