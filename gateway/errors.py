"""The one table: every refusal the gateway answers, by error code → HTTP status, and the
one JSON shape each has (``{"error", "message", "field", …}``). The API, the edge of the web
server (body limits, bad headers, faults nothing else caught) and the dashboard all answer
through here, so no client ever sees werkzeug's HTML or nameko's text/plain."""
from __future__ import annotations

import json

from werkzeug.wrappers import Response

from gateway.access import ForbiddenError
from kernel.errors import EldercareError, ValidationError

STATUS_BY_CODE = {
    "validation_failed": 400, "event_schema_mismatch": 400, "bad_request": 400,
    "unauthenticated": 401,
    "account_locked": 423,
    "too_many_attempts": 429,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409, "concurrency_conflict": 409, "command_rejected": 409,
    "payload_too_large": 413,
    "policy_error": 422, "command_id_reused": 422,
    "internal_error": 500,
    "service_unavailable": 503,
}
RETRY_AFTER_SECONDS = 5


class ServiceUnavailable(EldercareError):
    code = "service_unavailable"


class MethodNotAllowedError(EldercareError):
    code = "method_not_allowed"

    def __init__(self, message: str, allowed):
        super().__init__(message, field="method")
        self.allowed = sorted(allowed)


class PayloadTooLargeError(EldercareError):
    """A body larger than the route takes: refused from its Content-Length, before it is read
    (or, sent in chunks, as soon as it passes the limit)."""

    code = "payload_too_large"

    def __init__(self, limit_bytes: int):
        super().__init__(f"the request body is larger than this route takes ({limit_bytes} bytes)", field="body")
        self.limit_bytes = limit_bytes


class BadRequestError(EldercareError):
    """A request the HTTP layer refuses as malformed (e.g. a control character in a header)."""

    code = "bad_request"


class InternalError(EldercareError):
    """A fault in the gateway itself: the log has the trace, the caller a JSON answer."""

    code = "internal_error"


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                    headers=headers or {}, mimetype="application/json")


def error_body(error: EldercareError) -> tuple[int, dict, dict]:
    """(status, body, headers) of a refusal, by the table."""
    status = STATUS_BY_CODE.get(error.code, 500)
    body = {"error": error.code, "message": error.message, "field": error.field}
    if isinstance(error, ValidationError):
        body["errors"] = error.errors
    if isinstance(error, ForbiddenError):
        body["allowed"], body["known"] = error.allowed, error.known
    headers = {}
    if status == 503:
        body["retry_after_seconds"] = RETRY_AFTER_SECONDS
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="eldercare"'
    if status == 413:
        body["limit_bytes"] = error.limit_bytes
    if status == 423:
        body["locked_until"] = getattr(error, "locked_until", None)
    if status == 429:
        body["retry_after_seconds"] = int(getattr(error, "retry_after_seconds", RETRY_AFTER_SECONDS))
        headers["Retry-After"] = str(body["retry_after_seconds"])
    if isinstance(error, MethodNotAllowedError):
        headers["Allow"] = ", ".join(error.allowed)
    return status, body, headers


def error_response(error: EldercareError) -> Response:
    status, body, headers = error_body(error)
    return json_response(body, status, headers)
