"""The OpenAPI 3 document, generated from the route table and its marshmallow schemas
(apispec), and a browsable docs page that needs no JavaScript from anywhere."""
from __future__ import annotations

import html
import re
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from gateway import schemas as s
from gateway.routes import ROUTES

ERROR_RESPONSES = {"400": "invalid input: `errors` names each bad field", "401": "no or invalid token",
                   "403": "not allowed for your role, department or jurisdiction", "404": "unknown elder, "
                   "facility, alert or route", "409": "conflict: concurrent change, duplicate, or refused by the "
                   "current state", "422": "refused by the jurisdiction's policy (e.g. no subsidy rules in force)",
                   "502": "a service failed to answer (the fault is in its log)",
                   "503": "a service is not answering; retry after `Retry-After` seconds"}


def _openapi_path(rule: str) -> tuple[str, list[str]]:
    names = re.findall(r"<(?:\w+:)?(\w+)>", rule)
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule), names


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    spec = APISpec(title="eldercare gateway", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "County coordination of care for rural left-behind elders. Every call "
                                        "needs `Authorization: Bearer <token>` (`eldercare token issue`)."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Error", schema=s.Error)
    for schema_class in sorted({c for r in ROUTES for c in (r.request, r.response) if c is not None},
                               key=lambda c: c.__name__):
        spec.components.schema(schema_class.__name__, schema=schema_class)
    paths: dict[str, dict] = {}
    for route in ROUTES:
        path, names = _openapi_path(route.path)
        if route.response is None:      # a file (the quarterly report)
            response_schema = {"type": "string", "format": "binary"}
        else:
            response_schema = {"type": "array", "items": _ref(route.response)} if route.many else _ref(route.response)
        operation = {
            "operationId": route.name, "summary": route.summary, "tags": [route.tag],
            "security": [{"bearer": []}],
            "parameters": [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]
            + [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in route.query_args]
            + ([{"name": "purpose", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "why you read this personal record (kept in the access log)"},
                {"name": "break_glass", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "emergency read outside your jurisdiction: the reason (≥10 characters); "
                                "the record's owner is alerted"}] if route.personal else []),
            "responses": {("201" if route.permission.writes else "200"): {
                "description": "OK", "content": {("application/json" if route.response else "text/csv"): {
                    "schema": response_schema}}},
                **{code: {"description": text, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}} for code, text in ERROR_RESPONSES.items()}},
        }
        if route.request is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": _ref(route.request)}}}
        paths.setdefault(path, {})[route.method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _ref(schema_class) -> dict:
    return {"$ref": f"#/components/schemas/{schema_class.__name__}"}


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
