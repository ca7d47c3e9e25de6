"""Issue 10, finding 9: every response carries a Content-Security-Policy that allows no inline script, refuses
framing and sniffing, sends a sparing Referer; behind HTTPS, HSTS and Secure cookies; the server names no version.

The crawl opens every GET route as every role (the authorization suite's world and visitors), so a page added
tomorrow is checked too, and proves no HTML page needs inline script: no <script> without src, no on…=
handler, no javascript: URL."""
from __future__ import annotations

import threading
import urllib.request
from html.parser import HTMLParser

import pytest
from werkzeug.serving import make_server

from lms_plugin.web import create_app, headers
from tests.web.conftest import login
from tests.web.test_authorization import ROLES, USERS, Visitor, fill, routes, world  # noqa: F401 (a fixture)

DIRECTIVES = {"default-src": "'self'", "script-src": "'self'", "img-src": "'self' data:",
              "frame-ancestors": "'none'", "form-action": "'self'", "base-uri": "'none'", "object-src": "'none'"}


def csp(response) -> dict[str, str]:
    policy = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


def header_problems(response) -> list[str]:
    problems = []
    policy = csp(response)
    for name, value in DIRECTIVES.items():
        if policy.get(name) != value:
            problems.append(f"CSP {name} is {policy.get(name)!r}")
    if "unsafe" in policy.get("script-src", "") or "unsafe" in policy.get("default-src", ""):
        problems.append("scripts may be inline")
    expected = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
    problems += [f"{k}: {response.headers.get(k)!r}" for k, v in expected.items() if response.headers.get(k) != v]
    return problems


class InlineScript(HTMLParser):
    """Whatever a CSP without 'unsafe-inline' would block (or lets nothing run): found in a page."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        named = dict(attrs)
        if tag == "script" and not named.get("src"):
            self.found.append("<script> without src")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag == "style" or "style" in named:
            self.found.append(f"<{tag}> with inline style")


def inline_scripts(html: str) -> list[str]:
    parser = InlineScript()
    parser.feed(html)
    return parser.found


def test_every_page_as_every_role_has_the_headers_and_no_inline_script(app, world):
    problems, pages = [], 0
    for role in ROLES:
        visitor = Visitor(app, USERS.get(role))
        for method, rule in routes(app):
            if method != "GET":
                continue
            response = visitor.request("GET", fill(rule, world))
            where = f"{role}: GET {rule} ({response.status_code})"
            problems += [f"{where}: {p}" for p in header_problems(response)]
            if response.mimetype == "text/html":
                pages += 1
                problems += [f"{where}: {p}" for p in inline_scripts(response.get_data(as_text=True))]
    missing = Visitor(app, None).request("GET", "/khong-co-trang-nay")         # error pages too
    problems += [f"404 page: {p}" for p in header_problems(missing) + inline_scripts(missing.text)]
    assert pages >= 40
    assert not problems, "\n".join(problems)


def test_the_error_page_goes_back_without_a_javascript_url(client):
    page = client.get("/khong-co-trang-nay")
    assert "javascript:" not in page.text and 'data-back' in page.text and "js/back.js" in page.text


def _cookies(response) -> dict[str, str]:
    return {value.split("=", 1)[0]: value for value in response.headers.getlist("Set-Cookie")}


def test_plain_http_by_default_no_hsts_and_cookies_without_secure(client, demo):
    response = client.post("/login", data={"username": "cadre1", "password": "mat-khau-demo", "remember": "y"})
    assert response.status_code == 302
    assert "Strict-Transport-Security" not in response.headers
    assert "Secure" not in _cookies(response)["session"]


@pytest.mark.parametrize("how", ["CASELAB_HTTPS", "PREFERRED_URL_SCHEME"])
def test_behind_https_hsts_and_secure_session_and_remember_cookies(engine, content, demo, tmp_path, monkeypatch,
                                                                   how):
    config = {"ENGINE": engine, "SECRET_KEY": "test-secret", "TESTING": True, "WTF_CSRF_ENABLED": False}
    if how == "CASELAB_HTTPS":
        monkeypatch.setenv("CASELAB_HTTPS", "1")
    else:
        config["PREFERRED_URL_SCHEME"] = "https"
    app = create_app(config)
    app.instance_path = str(tmp_path)
    client = app.test_client()
    response = client.post("/login", data={"username": "cadre1", "password": "mat-khau-demo", "remember": "y"},
                           base_url="https://localhost")
    assert response.status_code == 302
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookies = _cookies(response)
    assert "Secure" in cookies["session"] and "Secure" in cookies["remember_token"]
    assert header_problems(client.get("/", base_url="https://localhost")) == []


def test_a_signed_in_page_has_the_headers(client, demo):
    login(client, "admin1")
    assert header_problems(client.get("/admin/")) == []


def test_the_development_server_names_no_version(app):
    """What `caselab serve` answers with: its request handler, on a real socket."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=headers.QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/health") as answer:
            name = answer.headers["Server"]
    finally:
        server.shutdown()
    assert name == "CaseLab"
