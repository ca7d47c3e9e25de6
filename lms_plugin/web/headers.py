"""Security headers on every response, and a development server that names no version (issue 10).

One small after-request policy instead of a library: every script and style comes from our own static
files (no inline script, no inline style, no handler attributes; tests/web/test_headers.py crawls every page
to keep it so), no page may be framed (password resets, finalising a mark), no content type is sniffed, and
a Referer never leaves the site. Behind HTTPS (``CASELAB_HTTPS=1`` or ``PREFERRED_URL_SCHEME=https``) browsers
are told to keep to HTTPS and cookies are sent over it only.
"""
from __future__ import annotations

from flask import Flask, Response
from werkzeug.serving import WSGIRequestHandler

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
))
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",                  # frame-ancestors for browsers that predate CSP 2
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# a year; no includeSubDomains: other hosts of the organisation are not ours to decide for
HSTS = "max-age=31536000"


def behind_https(app: Flask) -> bool:
    return bool(app.config.get("HTTPS")) or app.config.get("PREFERRED_URL_SCHEME") == "https"


def init_app(app: Flask) -> None:
    https = behind_https(app)
    if https:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)     # a view may be stricter (e.g. a sandboxed download)
        if https:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response


class QuietRequestHandler(WSGIRequestHandler):
    """``caselab serve``'s request handler: ``Server: CaseLab``, not Werkzeug's and Python's versions."""

    def version_string(self) -> str:
        return "CaseLab"
