"""The gateway: how people use the system. One nameko ``@http`` service that authenticates
the caller, checks who may do what where (``gateway.access``), calls the owning service
over RPC (``gateway.routes``), records every read of an elder's personal record, and maps
every failure to an HTTP status in one table — never a 500 with a stack trace.
"""
from __future__ import annotations

import hmac
import re
import time
import uuid
from urllib.parse import quote

import structlog
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from contracts import CATALOGUE
from gateway import privacy
from gateway.access import ForbiddenError, check_jurisdiction, check_permission, within
from gateway.accounts_api import client_address, match_account_route, serve_account_route
from gateway.auth import API_TOKEN_PREFIX, SESSION_COOKIE, AuthenticationError, Principal, claimed_account
from gateway.clients import AuthThrottle, GatewayConfig, Identity, RpcClients, TokenKeyring
from gateway.dashboard import render_dashboard
from gateway.files import file_response, uploaded_file_body
from gateway.edges import MAX_JSON_DEPTH, http, load_json
from gateway.errors import (RETRY_AFTER_SECONDS, STATUS_BY_CODE, MethodNotAllowedError, ServiceUnavailable,
                            error_response, json_response)
from gateway.metrics import METRICS, Metrics
from gateway.openapi import docs_page, openapi_document
from gateway.routes import ROUTES, RpcCall
from gateway.schemas import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_PATTERN
from gateway.timeline import TIMELINE_SOURCES, record_read, timeline
from gateway.web import api_http
from gateway.webapp.app import serve
from gateway.webapp.pages import HANDLERS, URLS
from gateway.webapp.security import csrf_ok
from kernel.commands import CONTEXT_KEY as COMMAND_ID
from kernel.config import setting
from kernel.errors import EldercareError, NotFoundError, NotPermittedError, ValidationError
from kernel.providers import LoggingContext, OutboxRelayRunner, ServiceDatabase

log = structlog.get_logger(__name__)

# The one table of error code → HTTP status is gateway.errors.STATUS_BY_CODE.
__all__ = ["GatewayService", "STATUS_BY_CODE", "error_response", "json_response", "command_id_for"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# /ready waits for every service a route, the timeline or the dashboard calls.
# Accounts resolves every signed-in person and API token.
CALLED_SERVICES = tuple(sorted({route.call.service for route in ROUTES if isinstance(route.call, RpcCall)}
                               | set(TIMELINE_SOURCES) | {"accounts"}))
IDEMPOTENCY_NAMESPACE = uuid.UUID("0b6f2d5e-3c4a-4f7e-9a51-6d1e8f2b7c90")
URL_MAP = Map([Rule(route.path, methods=[route.method], endpoint=index) for index, route in enumerate(ROUTES)])
MIN_BREAK_GLASS_REASON = 10
# Scopes that look a record up by its id. Outside the caller's jurisdiction such a record
# answers exactly as an id that names nothing (404, same body), so ids do not leak whether
# they exist; the refusal is still logged.
ENTITY_SCOPES = {"elder": "elder", "facility": "facility", "alert": "alert", "import": "import",
                 "campaign": "campaign", "payment_file": "payment file", "payment_file_path": "payment file",
                 "case": "case", "order": "order", "body_facility": "facility", "body_elder": "elder"}


class OutsideJurisdiction(ForbiddenError):
    """A record that exists outside the caller's jurisdiction: recorded as a refusal, then
    answered as ``unknown_record`` (``perform``)."""

    def __init__(self, action: str):
        super().__init__(f"{action}: the record is outside your jurisdiction", field="jurisdiction")


def unknown_record(route, params, body) -> NotFoundError:
    """What a route answers for a record id that names nothing the caller may see."""
    kind, name = route.scope
    value = params.get(name) if name in params else body.get(name)
    return NotFoundError(f"no {ENTITY_SCOPES[kind]} {value}", field=name)


def command_id_for(principal: Principal, idempotency_key: str | None) -> str:
    """The id a write's command carries to its service (``kernel.commands``): derived from the
    caller and their Idempotency-Key, so one user's retry is recognised and two users' keys
    never meet; without a key, a new id, which still stops the broker's redelivery of this
    request from applying it twice."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    if not re.match(IDEMPOTENCY_KEY_PATTERN, idempotency_key):
        raise ValidationError({IDEMPOTENCY_HEADER: ["must be 1 to 128 visible ASCII characters"]})
    caller = f"{principal.department}/{principal.user}\n{idempotency_key}"
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, caller))




class GatewayService:
    name = "gateway"

    db = ServiceDatabase(CATALOGUE)          # the access log
    relay = OutboxRelayRunner()
    rpc = RpcClients()
    tokens = TokenKeyring()
    identity = Identity()
    throttle = AuthThrottle()
    settings = GatewayConfig()
    metrics = Metrics()
    log = LoggingContext()

    # -- the API ---------------------------------------------------------------------------
    @api_http("/api/<path:path>")
    def api(self, request, path):
        started = time.perf_counter()
        route_name = "unmatched"
        try:
            account_route = match_account_route(request)
            if account_route is not None:       # sign-in and accounts (gateway.accounts_api)
                route_name = account_route[0].name
                return self._observed(route_name, started, serve_account_route(self, request, *account_route))
            adapter = URL_MAP.bind("gateway", "/")
            try:
                index, params = adapter.match(request.path, method=request.method)
            except NotFound:
                raise NotFoundError(f"no API route {request.method} {request.path} (see /openapi.json)",
                                    field="path") from None
            except MethodNotAllowed as exc:
                raise MethodNotAllowedError(f"{request.path} does not take {request.method}",
                                            exc.valid_methods or []) from None
            route = ROUTES[index]
            route_name = route.name
            response = self._serve(route, params, request)
        except EldercareError as error:
            if error.field == COMMAND_ID:       # what the client controls is the header
                error.field = IDEMPOTENCY_HEADER
            response = error_response(error)
        except (UnknownService, RpcTimeout) as exc:
            self.metrics.rpc_errors.labels(route_name, type(exc).__name__).inc()
            response = error_response(ServiceUnavailable(f"a service needed for this request is not answering "
                                                         f"({type(exc).__name__}: {exc}); try again shortly"))
        except RemoteError as exc:
            self.metrics.rpc_errors.labels(route_name, "service_fault").inc()
            # A fault inside a service (not a refusal): its log has the traceback; the caller
            # gets a clear, stack-free answer.
            log.error("service fault behind the gateway", route=route_name, error_type=exc.exc_type,
                      error=str(exc.value)[:500])
            response = json_response({"error": "service_fault", "message": "the service failed to answer; "
                                      "the fault is logged with this request's call id"}, 502)
        return self._observed(route_name, started, response)

    def _observed(self, route_name: str, started: float, response: Response) -> Response:
        self.metrics.observe(route_name, response.status_code, time.perf_counter() - started)
        return response

    def _serve(self, route, params, request) -> Response:
        principal = self._authenticate(request)
        args = {k: v for k, v in request.args.items() if k not in ("break_glass", "purpose")}
        body = self._body(request) if route.method == "POST" else {}
        if route.name == "quarterly_report":
            check_permission(principal, route.permission, route.name)
            self._jurisdiction(route, principal, params, args, body, request.args.get("break_glass"))
            return self._quarterly_report(principal, args)
        result = self.perform(route, principal, params, args, body, purpose=request.args.get("purpose"),
                              break_glass=request.args.get("break_glass"),
                              idempotency_key=request.headers.get(IDEMPOTENCY_HEADER))
        # A command that finds its work already done (a subsidy run computed before) created
        # nothing: 200, not 201.
        unchanged = isinstance(result, dict) and result.get("changed") is False
        status = 201 if route.creates and not unchanged else 200
        if route.answers_file:
            return file_response(result)
        return json_response(result, status)

    def perform(self, route, principal, params, args, body, *, purpose=None, break_glass=None,
                idempotency_key=None):
        """One route for one person: permission, jurisdiction, the call, the access log.
        The API and the web app (``gateway.webapp``) both go through here, so a page can
        do nothing the same person could not do over the API."""
        check_permission(principal, route.permission, route.name)
        unmask = privacy.unmask_request(args.pop("unmask", None))
        watched = route.personal or route.name in privacy.LIST_ROUTES
        try:
            broke_glass = self._jurisdiction(route, principal, params, args, body, break_glass)
            if watched:
                privacy.check_unmask(self._privacy(), principal, unmask, purpose)
        except (ForbiddenError, NotPermittedError, ValidationError) as refusal:
            if watched:
                privacy.record_refused(self.db, params.get("elder_id"), principal, route.name, purpose, refusal)
            if isinstance(refusal, OutsideJurisdiction):
                raise unknown_record(route, params, body) from None     # recorded, then answered as unknown
            raise
        if route.creates:
            self.rpc.command_id = command_id_for(principal, idempotency_key)
        if route.name == "elder_timeline":
            result = timeline(self.rpc, params["elder_id"])
        elif route.name == "elder_access_log":
            result = privacy.access_history(self.db.engine, params["elder_id"])
        elif route.name == "latest_checkpoints":
            from gateway.checkpoint_status import checkpoint_status
            result = checkpoint_status(self.rpc, self.settings)
        else:
            result = route.call(self.rpc, principal, params, args, body)
        if route.name in privacy.RECORD_ROUTES:
            result = privacy.cut_to_view(result, self._privacy(), principal.role, unmask, principal.department)
        elif route.name == "elder_timeline":
            result = privacy.cut_timeline(result, self._privacy(), principal.role, unmask)
        if route.personal:
            why = purpose or (break_glass if broke_glass else None)
            record_read(self.db, params["elder_id"], principal, route.name, why, broke_glass, self.rpc, unmask)
        elif route.name in privacy.LIST_ROUTES:
            privacy.record_listed(self.db, result, principal, route.name, purpose)
        return result

    def _privacy(self):
        """The privacy policy in force today (``PRIVACY.policy_file``), loaded once per process."""
        from contracts.privacy import PrivacyPolicy
        if not hasattr(self, "_privacy_policy"):
            type(self)._privacy_policy = PrivacyPolicy.load((self.settings.get("PRIVACY") or {}).get("policy_file"))
        return self._privacy_policy.in_force(self.db.clock.today())

    def _quarterly_report(self, principal, args) -> Response:
        from datetime import datetime, timezone

        from gateway.reports import quarter_bounds, report_csv, report_xlsx
        from kernel.divisions import configured_division_table
        quarter = args.get("quarter") or ""
        _start, end = quarter_bounds(quarter)
        if end >= self.db.clock.today():
            raise ValidationError({"quarter": [f"{quarter} has not ended yet"]})
        known_text = args.get("known_at")
        try:
            known_at = (datetime.fromisoformat(known_text.replace("Z", "+00:00")).astimezone(timezone.utc)
                        if known_text else None)
        except ValueError:
            raise ValidationError({"known_at": ["must be an ISO 8601 time with a zone"]}) from None
        division = args.get("division_code", principal.jurisdiction)
        # The registry refuses a known_at later than its own now, and, given none, replays as
        # recorded by its now: its clock stamps the recorded times the replay compares.
        figures = self.rpc["registry"].quarterly_figures(division, end.isoformat(),
                                                         known_at.isoformat() if known_at else None)
        known_at = datetime.fromisoformat(figures["known_at"]).astimezone(timezone.utc)
        divisions = configured_division_table(self.settings)
        kind = args.get("format", "csv")
        if kind not in ("csv", "xlsx"):
            raise ValidationError({"format": ["csv or xlsx"]})
        body = (report_csv if kind == "csv" else report_xlsx)(figures, divisions, quarter, known_at)
        filename = f"left-behind-elders-{division}-{quarter}.{kind}"
        mimetype = "text/csv" if kind == "csv" else \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(body, mimetype=mimetype, headers={
            "Content-Disposition": f'attachment; filename="{filename}"', "X-Known-At": known_at.isoformat()})

    def _authenticate(self, request) -> Principal:
        """A personal API token or an emergency operator token (``Authorization: Bearer``),
        else the session cookie of a signed-in person (``gateway.auth``)."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return self._bearer(header[len("Bearer "):].strip(), client_address(self, request))
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            # A browser sends the cookie by itself; a write must also show this browser's CSRF token.
            if request.method not in SAFE_METHODS and not csrf_ok(request):
                raise ForbiddenError("a write signed in by the session cookie needs the X-CSRF-Token header "
                                     "(csrf_token from POST /api/session)", field="csrf_token")
            return self.identity.session(session)
        raise AuthenticationError("sign in (POST /api/session) or send 'Authorization: Bearer <token>'",
                                  field="authorization")

    def _bearer(self, token: str, client: str) -> Principal:
        """The bearer's principal; a bad token counts against its client and the account it
        claims (``gateway.throttle``), and a client or account out of tries is refused
        before the token is even looked at."""
        def resolve():
            if token.startswith(API_TOKEN_PREFIX):
                return self.identity.api_token(token)
            return self.tokens.verify(token)
        return self.throttle.attempt({"client": client, "account": claimed_account(token)}, resolve)

    def _body(self, request) -> dict:
        max_depth = int(setting(self.settings, "GATEWAY", "max_json_depth", MAX_JSON_DEPTH))
        if request.mimetype == "multipart/form-data":
            return uploaded_file_body(request, max_depth)
        if not request.data:
            return {}
        body = load_json(request.data, max_depth)
        if not isinstance(body, dict):
            raise ValidationError({"body": ["must be a JSON object"]})
        return body

    def _jurisdiction(self, route, principal, params, args, body, break_glass) -> bool:
        """Check the target lies in the caller's jurisdiction. Returns True when an
        emergency read outside it is allowed by break-the-glass."""
        division = self._scope_division(route, principal, params, args, body)
        if division is not None and not isinstance(division, str):
            # A body naming its division with a number, object or list: bad input, not a place.
            raise ValidationError({route.scope[1]: ["must be a 12-digit division code"]})
        if within(principal, division):
            return False
        reason = (break_glass or "").strip()
        if route.personal and not route.permission.writes and len(reason) >= MIN_BREAK_GLASS_REASON:
            log.warning("break-the-glass read outside jurisdiction", user=principal.user, route=route.name,
                        division=division, reason=reason)
            return True
        try:
            check_jurisdiction(principal, division, route.name)
        except ForbiddenError:
            log.warning("refused outside jurisdiction", user=principal.user, department=principal.department,
                        route=route.name, division=division, caller_jurisdiction=principal.jurisdiction)
            if route.scope[0] in ENTITY_SCOPES:
                raise OutsideJurisdiction(route.name) from None
            raise

    def _scope_division(self, route, principal, params, args, body) -> str | None:
        if route.scope is None:
            return None
        try:
            return self._lookup_division(route, principal, params, args, body)
        except NotFoundError:
            if route.scope[0] in ENTITY_SCOPES:
                raise unknown_record(route, params, body) from None
            raise

    def _lookup_division(self, route, principal, params, args, body) -> str | None:
        kind, name = route.scope
        if kind == "elder":
            return self.rpc["registry"].get_elder(params[name])["division_code"]
        if kind == "facility":
            return self.rpc["facilities"].get_facility(params[name])["division_code"]
        if kind == "alert":
            return self.rpc["notifications"].get_alert(params[name])["division_code"]
        if kind == "import":
            return self.rpc["imports"].get_import(params[name])["jurisdiction"]
        if kind == "campaign":
            return self.rpc["surveys"].get_campaign(params[name])["jurisdiction"].ljust(12, "0")
        if kind == "payment_file":
            file_id = body.get(name)
            return self.rpc["departments"].get_payment_file(file_id)["jurisdiction"].ljust(12, "0") \
                if isinstance(file_id, str) else None
        if kind == "payment_file_path":
            return self.rpc["departments"].get_payment_file(params[name])["jurisdiction"].ljust(12, "0")
        if kind == "case":
            return self.rpc["departments"].get_case(params[name])["division_code"]
        if kind == "order":
            return self.rpc["orders"].get_order(params[name])["division_code"]
        if kind == "body_facility":
            facility_id = body.get(name)
            return self.rpc["facilities"].get_facility(facility_id)["division_code"] \
                if isinstance(facility_id, str) else None
        if kind == "body_party":
            return _place_of_party(body.get(name), name)
        if kind == "body_elder":
            elder_id = body.get(name)
            return self.rpc["registry"].get_elder(elder_id)["division_code"] if isinstance(elder_id, str) else None
        if kind == "body":
            return body.get(name)
        if kind == "body_first":
            values = body.get(name) or [None]
            return values[0] if isinstance(values, list) else None
        if kind == "query":
            return args.get(name, principal.jurisdiction)
        if kind in ("body_prefix", "query_prefix"):
            # A jurisdiction given as a division prefix (e.g. 1405): the place it names.
            value = (body if kind == "body_prefix" else args).get(name)
            return str(value).ljust(12, "0") if value else None
        raise ValueError(f"unknown scope {kind!r}")

    # -- documents and pages ------------------------------------------------------------------
    @http("GET", "/openapi.json")
    def openapi(self, request):
        return json_response(openapi_document())

    @http("GET", "/docs")
    def docs(self, request):
        return Response(docs_page(), mimetype="text/html")

    @http("GET", "/dashboard/<division_code>")
    def dashboard(self, request, division_code):
        """The joint-meeting page for whoever signed in to the web app (its session cookie) or
        sends ``Authorization: Bearer``; a browser that did neither is sent to sign in and
        back. A token is never taken from the address: addresses end up in logs and history."""
        try:
            try:
                principal = self._authenticate(request)
            except AuthenticationError:
                if request.headers.get("Authorization"):
                    raise
                return Response("", status=303, headers={
                    "Location": f"/app/sign-in?next={quote(request.full_path.rstrip('?'), safe='')}"})
            check_jurisdiction(principal, division_code, "dashboard")
            page = render_dashboard(self.rpc, division_code, request.args.get("lang", "zh"),
                                    self.db.clock.today(), self.settings)
            return Response(page, mimetype="text/html")
        except EldercareError as error:
            return error_response(error)
        except (UnknownService, RpcTimeout) as exc:
            return error_response(ServiceUnavailable(f"a service is not answering: {exc}"))

    # -- the web app (gateway.webapp) ----------------------------------------------------------
    @api_http("/app/<path:path>")
    def app(self, request, path):
        """Every page of the web app, every method: ``gateway.webapp`` routes them, so an
        unknown address or a wrong method is a page in the person's language."""
        return serve(self, request, URLS, HANDLERS)

    @http("GET", "/app/")
    def app_home(self, request):
        return serve(self, request, URLS, HANDLERS)

    @http("GET", "/app")
    def app_root(self, request):
        return Response("", status=308, headers={"Location": "/app/"})

    # -- operations ---------------------------------------------------------------------------
    @http("GET", "/health")
    def health(self, request):
        return json_response({"status": "ok", "service": self.name})

    @http("GET", "/ready")
    def ready(self, request):
        """Ready when every service the gateway calls answers an RPC ping within the timeout."""
        missing = self.rpc.unanswered(CALLED_SERVICES)
        if missing:
            return json_response({"status": "not ready", "not_answering": missing}, 503,
                                 {"Retry-After": str(RETRY_AFTER_SECONDS)})
        return json_response({"status": "ready"})

    @http("GET", "/metrics")
    def prometheus(self, request):
        """Prometheus metrics for a scraper holding ``GATEWAY.metrics_token`` as its bearer
        token (``authorization: {credentials_file: …}`` in the scrape config); none set:
        nobody reads them."""
        expected = str(setting(self.settings, "GATEWAY", "metrics_token", "") or "")
        sent = request.headers.get("Authorization", "")
        sent = sent[len("Bearer "):].strip() if sent.startswith("Bearer ") else ""
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            return error_response(AuthenticationError(
                "metrics need 'Authorization: Bearer <GATEWAY_METRICS_TOKEN>'" if expected else
                "metrics are off: set GATEWAY_METRICS_TOKEN and give the scraper the same token",
                field="authorization"))
        body, content_type = METRICS.exposition()
        return Response(body, content_type=content_type)


def _place_of_party(party, field: str) -> str:
    """``township:410928101`` → ``410928101000``: the place whose people may set its contacts."""
    place = party.rsplit(":", 1)[-1] if isinstance(party, str) else ""
    if not (place.isascii() and place.isdigit() and len(place) in (6, 9, 12)):
        raise ValidationError({field: ["must be the party of a place, e.g. township:410928101"]})
    return place.ljust(12, "0")
