"""The gateway's edge: what happens to a request before any route sees it (issue 25).

nameko's ``WebServer`` runs eventlet's WSGI server with werkzeug routing; on its own it reads
any body a route asks for, lets a bare CR in a header split it in two (``http.client``
parses header blocks with the e-mail parser, which ends a line at CR), writes every query
string into the access log, and answers a fault as ``500`` text/plain. Here:

- a header line must end in CRLF and hold no other CR or LF (and no obsolete line folding):
  anything else is a 400, answered before the request is routed;
- a body larger than the route takes (``GATEWAY.max_body_bytes``; upload routes
  ``GATEWAY.max_upload_bytes``) is a 413 decided from its ``Content-Length`` before a byte of
  it is read, or, sent in chunks, as soon as it passes the limit; the connection then closes,
  so the rest is never read either;
- JSON bodies may nest ``GATEWAY.max_json_depth`` levels (``load_json``): deeper is a 400
  naming ``body``, never a RecursionError;
- the access log masks the value of any query parameter that carries a secret;
- any fault nothing else caught, and werkzeug's own 404/405, answer JSON from the one table
  (``gateway.errors``).
"""
from __future__ import annotations

import io
import json
import logging
import re
from http import HTTPStatus

from eventlet.wsgi import ChunkReadError
from nameko.exceptions import BadRequest
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request

from gateway.errors import (BadRequestError, InternalError, MethodNotAllowedError, PayloadTooLargeError,
                            error_body, error_response)
from gateway.routes import ROUTES
from kernel.config import setting
from kernel.errors import NotFoundError, ValidationError

MAX_BODY_BYTES = 1024 * 1024            # 1 MiB: the largest command body is a few kB
MAX_UPLOAD_BYTES = 32 * 1024 * 1024     # a ledger (XLSX in base64) or a bank's return file
MAX_JSON_DEPTH = 32
ACCESS_LOG = logging.getLogger("nameko.web.server")
# A query parameter whose value is a secret: ...token=, access_token=, password=, secret=.
SECRET_PARAMETER = re.compile(r"((?:^|[?&;\s])[\w.-]*(?:token|password|secret)=)[^&;\s\"]*", re.IGNORECASE)
# The API's upload routes, and the web app's ledger upload form (gateway.webapp.ledger_pages).
UPLOAD_MAP = Map([Rule(route.path, methods=[route.method]) for route in ROUTES if route.upload]
                 + [Rule("/app/imports", methods=["POST"])])


def mask_secrets(text: str) -> str:
    """The text with the value of every secret-bearing query parameter replaced by ``***``."""
    return SECRET_PARAMETER.sub(r"\1***", text)


class MaskingAccessLog:
    """The access log eventlet writes to (one line per request), secrets masked."""

    def __init__(self, log: logging.Logger = ACCESS_LOG):
        self.log = log

    def info(self, msg, *args, **kwargs):
        self.log.info(mask_secrets(msg % args if args else msg), **kwargs)

    def debug(self, msg, *args, **kwargs):
        self.log.debug(mask_secrets(msg % args if args else msg), **kwargs)

    def error(self, msg, *args, **kwargs):
        self.log.error(mask_secrets(msg % args if args else msg), **kwargs)

    def write(self, msg, *args):
        self.info(msg, *args)


class _HeaderLines:
    """The header block as sent, line by line, while ``http.client`` parses it: lets the
    protocol see what the parser smooths over (a bare CR or LF, a folded line)."""

    def __init__(self, fp):
        self.fp, self.malformed = fp, None

    def readline(self, size=-1):
        line = self.fp.readline(size)
        if self.malformed is None and line:
            content = line[:-2] if line.endswith(b"\r\n") else line
            if not line.endswith(b"\r\n") or b"\r" in content or b"\n" in content:
                self.malformed = "a header line holds a CR or LF of its own (each line ends in CRLF, nothing else)"
            elif content[:1] in (b" ", b"\t"):
                self.malformed = "a header line is folded onto the next (obsolete line folding)"
        return line


class EdgeProtocol(HttpOnlyProtocol):
    """eventlet's HTTP protocol, refusing malformed header lines and able to close the
    connection after an answer that left the body unread."""

    def parse_request(self):
        lines = _HeaderLines(self.rfile)
        self.rfile = lines
        try:
            parsed = super().parse_request()
        finally:
            self.rfile = lines.fp
        if parsed and lines.malformed:
            self.refuse(BadRequestError(f"malformed request header: {lines.malformed}", field="headers"))
            return False
        return parsed

    def refuse(self, error) -> None:
        status, body, _headers = error_body(error)
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.wfile.write(b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n%s" % (status, HTTPStatus(status).phrase.encode(), len(payload),
                                                            payload))
        self.wfile.flush()
        self.close_connection = 1

    def get_environ(self):
        environ = super().get_environ()
        environ["gateway.close_connection"] = self._close_after_response
        return environ

    def _close_after_response(self) -> None:
        self.close_connection = 1


class BodyLimits:
    """How large a body each request may send: uploads more, everything else little."""

    def __init__(self, config: dict):
        self.body = int(setting(config, "GATEWAY", "max_body_bytes", MAX_BODY_BYTES))
        self.upload = int(setting(config, "GATEWAY", "max_upload_bytes", MAX_UPLOAD_BYTES))

    def for_request(self, environ) -> int:
        adapter = UPLOAD_MAP.bind("gateway", "/")
        try:
            adapter.match(environ.get("PATH_INFO", "/"), method=environ.get("REQUEST_METHOD", "GET"))
        except HTTPException:
            return self.body
        return self.upload


def take_body(environ, limit: int) -> None:
    """Refuse a body over ``limit`` before reading it (Content-Length), or read a chunked one
    only up to one byte past the limit; a chunked body within it is handed on as a plain one
    (werkzeug reads no body without a length)."""
    length = environ.get("CONTENT_LENGTH")
    if length:
        if int(length) > limit:
            raise PayloadTooLargeError(limit)
        return
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() != "chunked":
        return
    try:
        data = environ["wsgi.input"].read(limit + 1)
    except (ChunkReadError, ValueError):
        raise BadRequestError("the chunked body is malformed", field="body") from None
    if len(data) > limit:
        raise PayloadTooLargeError(limit)
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))
    environ.pop("HTTP_TRANSFER_ENCODING", None)


class EdgeWsgiApp(WsgiApp):
    """nameko's WSGI app behind the body limit, with every failure answered as JSON."""

    def __init__(self, server, limits: BodyLimits):
        super().__init__(server)
        self.limits = limits

    def __call__(self, environ, start_response):
        try:
            response = self._respond(environ)
        except (PayloadTooLargeError, BadRequestError) as error:
            close = environ.get("gateway.close_connection")
            if close is not None:
                close()                 # the body stays unread: the connection cannot be reused
            response = error_response(error)
        except Exception:               # noqa: BLE001 — the log gets the trace, the caller JSON
            ACCESS_LOG.exception("fault in the gateway's web server")
            response = internal_error()
        return response(environ, start_response)

    def _respond(self, environ):
        take_body(environ, self.limits.for_request(environ))
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except HTTPException as exc:
            return http_exception_response(exc, environ)
        request.path_values = values
        return provider.handle_request(request)


def http_exception_response(exc: HTTPException, environ):
    """werkzeug's refusals (an address no entrypoint has, a method it does not take) from the
    table; its redirects (a missing trailing slash) as werkzeug sends them."""
    if exc.code is not None and exc.code < 400:
        return exc.get_response(environ)
    path = environ.get("PATH_INFO", "/")
    if exc.code == 405:
        return error_response(MethodNotAllowedError(f"{path} does not take {environ.get('REQUEST_METHOD')}",
                                                    getattr(exc, "valid_methods", None) or []))
    if exc.code == 404:
        return error_response(NotFoundError(f"nothing at {path} (the API is under /api/, see /openapi.json)",
                                            field="path"))
    return error_response(BadRequestError(exc.description or "the request was refused", field="request"))


def internal_error():
    return error_response(InternalError("the gateway failed to answer; the fault is logged with this request",
                                        field=None))


class EdgeWebServer(WebServer):
    """nameko's web server with the edge above: the protocol, the body limit, the masked
    access log and JSON for every failure."""

    def get_wsgi_app(self):
        return EdgeWsgiApp(self, BodyLimits(self.container.config))

    def get_wsgi_server(self, sock, wsgi_app, protocol=EdgeProtocol, debug=False):
        server = super().get_wsgi_server(sock, wsgi_app, protocol=EdgeProtocol, debug=debug)
        server.log = MaskingAccessLog()
        return server


class EdgeHttpHandler(HttpRequestHandler):
    """nameko's ``@http`` entrypoint on the edge's server; an exception the entrypoint let
    through (its worker has logged the trace) is answered from the table, not as text."""

    server = EdgeWebServer()

    def response_from_exception(self, exc):
        if isinstance(exc, BadRequest):
            return error_response(BadRequestError(str(exc) or "the request was refused", field="request"))
        return internal_error()


http = EdgeHttpHandler.decorator


def load_json(data: bytes | str, max_depth: int = MAX_JSON_DEPTH):
    """A request's JSON body; a body that is not JSON, or nests deeper than ``max_depth``
    arrays and objects, is a ``ValidationError`` naming ``body``."""
    too_deep = ValidationError({"body": [f"JSON nested more than {max_depth} levels deep"]})
    try:
        value = json.loads(data)
    except RecursionError:
        raise too_deep from None
    except ValueError as exc:
        raise ValidationError({"body": [f"not valid JSON: {exc}"]}) from None
    if json_depth(value) > max_depth:
        raise too_deep
    return value


def json_depth(value) -> int:
    """How deeply arrays and objects nest in a decoded JSON value (a scalar is 0)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest
