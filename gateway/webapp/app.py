"""The web app's machinery: one request → one ``Page`` (the person, their language, the
templates), the URL table, and the one place every failure becomes a page in the person's
language — never a trace.

A page does nothing its person could not do over the API: every read and write goes through
``GatewayService.perform`` with the route of the same name (permission, jurisdiction, access
log, command id)."""
from __future__ import annotations

import hashlib
import mimetypes
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlsplit

import structlog
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from gateway.access import ForbiddenError
from gateway.auth import AuthenticationError
from gateway.routes import ROUTES
from gateway.webapp import security
from gateway.webapp.i18n import HTML_LANG, LANGUAGES, language_of, translations
from gateway.webapp.names import name_of
from gateway.webapp.sessions import SESSION_COOKIE, principal_from_session
from kernel.divisions import configured_division_table
from kernel.errors import EldercareError, NotFoundError, ValidationError

log = structlog.get_logger(__name__)

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"
ROUTE_BY_NAME = {route.name: route for route in ROUTES}
PREFIX = "/app"


@lru_cache(maxsize=None)
def asset_versions() -> dict[str, str]:
    """Every static file by name → a hash of its bytes: the URL changes when the file does,
    so a browser may keep each one for a year and still never run a stale script."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            for path in sorted(STATIC_DIR.iterdir()) if path.is_file()}


def asset_url(name: str) -> str:
    return f"{PREFIX}/static/{asset_versions()[name]}/{name}"


@lru_cache(maxsize=None)
def environment(language: str) -> Environment:
    """One environment per language, its catalogue installed (one shared environment would
    have the languages of concurrent requests overwrite each other's gettext)."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=select_autoescape(["html", "svg"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(language), newstyle=True)
    env.globals.update(asset=asset_url, lang=language, html_lang=HTML_LANG[language],
                       other_lang="en" if language == "zh" else "zh", csrf_field=security.CSRF_FIELD)
    return env


class Page:
    """One request to the app: who (``principal``, resolved on first use), which language,
    and how to answer."""

    def __init__(self, service, request):
        self.service, self.request = service, request
        self.lang = language_of(request)
        self.env = environment(self.lang)
        self.gettext = translations(self.lang).gettext
        self._principal = None
        self.divisions = configured_division_table(service.settings)

    @property
    def principal(self):
        if self._principal is None:
            self._principal = principal_from_session(self.service, self.request.cookies.get(SESSION_COOKIE, ""))
        return self._principal

    def signed_in(self):
        try:
            return self.principal
        except AuthenticationError:
            return None

    def may(self, route_name: str) -> bool:
        """Whether the access table lets this person use that route (a page shows only the
        links and forms its person may use; the route itself still decides)."""
        principal = self.signed_in()
        return principal is not None and ROUTE_BY_NAME[route_name].permission.refusal(principal) is None

    # -- names --------------------------------------------------------------------------------
    def name(self, kind: str, code) -> str:
        return name_of(kind, code, self.gettext)

    def place(self, code: str | None, top: str = "township") -> str:
        if not code:
            return ""
        division = self.divisions.get(code) or self.divisions.get(code.ljust(12, "0"))
        if division is None:
            return code
        return self.divisions.full_name(division.code, top) if division.level in ("village", "township") \
            else division.name

    # -- answers ------------------------------------------------------------------------------
    def render(self, template: str, status: int = 200, **context) -> Response:
        body = self.env.get_template(template).render(
            page=self, principal=self.signed_in(), name=self.name, place=self.place, may=self.may,
            csrf_token=security.csrf_token(self.request), path=self.request.full_path.rstrip("?"), **context)
        return Response(body, status=status, mimetype="text/html")

    def redirect(self, location: str, status: int = 303) -> Response:
        return Response("", status=status, headers={"Location": location})

    def error(self, status: int, title: str, message: str | None = None) -> Response:
        return self.render("error.html", status=status, title=title, message=message)

    def perform(self, route_name: str, params: dict | None = None, args: dict | None = None,
                body: dict | None = None, purpose: str | None = None, idempotency_key: str | None = None):
        return self.service.perform(ROUTE_BY_NAME[route_name], self.principal, params or {}, args or {},
                                    body or {}, purpose=purpose, idempotency_key=idempotency_key)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path inside the app or a dashboard page only (never
    another site)."""
    if not target:
        return PREFIX + "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith((PREFIX + "/", "/dashboard/")) \
            or target.startswith("//"):
        return PREFIX + "/"
    return target


def static_file(page: Page, version: str, name: str) -> Response:
    if asset_versions().get(name) != version:
        raise NotFound()
    path = STATIC_DIR / name
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(path.read_bytes(), mimetype=mimetype,
                    headers={"Cache-Control": "public, max-age=31536000, immutable"})


def serve(service, request, url_map: Map, handlers: dict) -> Response:
    """Match, check the CSRF token of a post, run the page, and turn every failure into a
    page in the person's language."""
    page = Page(service, request)
    _ = page.gettext
    try:
        adapter = url_map.bind("gateway", "/")
        endpoint, values = adapter.match(request.path, method=request.method)
        if request.method == "POST" and not security.csrf_ok(request):
            response = page.error(403, _("This form has expired"),
                                  _("Open the page again and send it once more. Nothing was saved."))
        else:
            response = handlers[endpoint](page, **values)
    except NotFound:
        response = page.error(404, _("Page not found"), _("There is no page at this address."))
    except MethodNotAllowed:
        response = page.error(405, _("Page not found"), _("There is no page at this address."))
    except AuthenticationError:
        response = page.redirect(f"{PREFIX}/sign-in?next={quote(request.full_path.rstrip('?'), safe='')}")
    except ForbiddenError as error:
        response = page.error(403, _("Not allowed"), error.message)
    except NotFoundError as error:
        response = page.error(404, _("Not found"), error.message)
    except ValidationError as error:
        response = page.error(400, _("Not accepted"), "; ".join(
            f"{field}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
            for field, messages in flatten(error.errors).items()))
    except EldercareError as error:
        response = page.error(409, _("Not accepted"), error.message)
    except (UnknownService, RpcTimeout) as exc:
        log.warning("a service behind a page is not answering", path=request.path, error=type(exc).__name__)
        response = page.error(503, _("A service is not answering"),
                              _("Part of the system is not answering just now. Nothing was changed; "
                                "try again in a minute."))
        response.headers["Retry-After"] = "5"
    except RemoteError as exc:
        log.error("service fault behind a page", path=request.path, error_type=exc.exc_type)
        response = page.error(502, _("Something went wrong"),
                              _("The service could not answer. The fault is logged; try again later."))
    except Exception:       # noqa: BLE001 — the person gets a page, the log gets the trace
        log.exception("web app page failed", path=request.path)
        response = page.error(500, _("Something went wrong"),
                              _("The page could not be shown. The fault is logged; try again later."))
    return security.secure(request, response)


def flatten(errors, prefix: str = "") -> dict[str, list]:
    """marshmallow's nested errors (``{"supporters": {0: {"name": [...]}}}``) as dotted keys
    (``supporters.0.name``), the way a form names its fields."""
    if not isinstance(errors, dict):
        return {prefix or "_": errors if isinstance(errors, list) else [errors]}
    flat: dict[str, list] = {}
    for key, value in errors.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten(value, name))
        else:
            flat[name] = value if isinstance(value, list) else [value]
    return flat


def rule(path: str, endpoint: str, methods=("GET",)) -> Rule:
    return Rule(PREFIX + path, endpoint=endpoint, methods=list(methods))


def markup_join(parts) -> Markup:
    return Markup("").join(parts)


__all__ = ["Page", "serve", "rule", "flatten", "safe_next", "static_file", "asset_url", "LANGUAGES"]
