"""The ``@http`` entrypoint of the API: one rule that takes every method and every path under
``/api/``, so the gateway — not werkzeug's HTML error page — answers each request there:
JSON, with 404 for an unknown route and 405 plus ``Allow`` for a method the route does not
take."""
from __future__ import annotations

from werkzeug.routing import PathConverter, Rule

from gateway.edges import EdgeHttpHandler


class AnyPathConverter(PathConverter):
    """werkzeug's ``path`` converter, but a newline (``%0A``) in the path matches too:
    ``.`` in the stock regex stops at it, and the request falls through to an HTML 404."""

    regex = "(?s:[^/].*?)"


class AnyPathRule(Rule):
    def get_converter(self, variable_name, converter_name, args, kwargs):
        if converter_name == "path":
            return AnyPathConverter(self.map, *args, **kwargs)
        return super().get_converter(variable_name, converter_name, args, kwargs)


class ApiHandler(EdgeHttpHandler):
    """``@api_http("/api/<path:path>")``: every method reaches the entrypoint, which routes
    with the route table and answers 405 itself."""

    def __init__(self, url, **kwargs):
        super().__init__("*", url, **kwargs)

    def get_url_rule(self):
        return AnyPathRule(self.url)        # methods=None: any method


api_http = ApiHandler.decorator
