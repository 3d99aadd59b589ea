"""What every page answer carries, and the CSRF check every form post passes.

- Content-Security-Policy: scripts, styles, images and fonts from this origin only — no
  inline script, no ``unsafe-inline`` (the charts are inline SVG drawn with presentation
  attributes, which CSP does not treat as styles); no framing; forms post only here.
- CSRF: a random token in an HttpOnly, SameSite=Strict cookie, and the same token in a hidden
  field of every form (the double-submit pattern). A post whose field does not match its
  cookie is refused before anything is read or written. SameSite already stops a cross-site
  post from carrying the session; the token also stops a same-site one.
- Cookies are HttpOnly and SameSite; Secure when the request came over TLS (directly or, as
  in Kubernetes, through a proxy that says so in ``X-Forwarded-Proto``).
"""
from __future__ import annotations

import hmac
import secrets

CSRF_COOKIE = "eldercare_csrf"
CSRF_FIELD = "csrf_token"
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "font-src 'self'; connect-src 'self'; worker-src 'self'; object-src 'none'; "
                           "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def over_tls(request) -> bool:
    return request.scheme == "https" or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def set_cookie(response, request, name: str, value: str, *, max_age: int | None = None,
               same_site: str = "Lax", path: str = "/app") -> None:
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite=same_site,
                        secure=over_tls(request))


def csrf_token(request) -> str:
    """This browser's token (a new one when it has none yet; ``ensure_csrf_cookie`` sets it)."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token or len(token) < 32:
        token = getattr(request, "_new_csrf", None) or secrets.token_urlsafe(32)
        request._new_csrf = token
    return token


def ensure_csrf_cookie(request, response) -> None:
    new = getattr(request, "_new_csrf", None)
    if new:
        # Path /: the API checks it too on a write signed in by the session cookie.
        set_cookie(response, request, CSRF_COOKIE, new, same_site="Strict", path="/")


def csrf_ok(request) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    return len(cookie) >= 32 and hmac.compare_digest(cookie.encode(), sent.encode())


def secure(request, response):
    for header, value in PAGE_HEADERS.items():
        response.headers.setdefault(header, value)
    ensure_csrf_cookie(request, response)
    return response
