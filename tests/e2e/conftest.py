"""A live CaseLab server on a free loopback port and Debian's chromium through Playwright.

Screenshots go to test-artifacts/ (kept by CI as evidence of what people see).
"""
from __future__ import annotations

import os
import shutil
import socket
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.services.demo import seed_demo
from lms_plugin.store import db
from lms_plugin.web import create_app

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CASELAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "mat-khau-demo"

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The real app on SQLite with the shipped content and the demo cohort."""
    folder = tmp_path_factory.mktemp("live")
    engine = db.make_engine(f"sqlite:///{folder / 'caselab.db'}")
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with db.unit_of_work(factory) as session:
        import_catalog(session, load_catalog([ROOT / "scenarios", ROOT / "rubrics"]))
    with db.unit_of_work(factory) as session:
        seed_demo(session, PASSWORD)
    app = create_app({"ENGINE": engine, "SECRET_KEY": "e2e-secret", "INSTANCE": str(folder)})
    app.instance_path = str(folder)
    port = _free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{port}", "app": app, "sessions": factory}
    server.shutdown()
    engine.dispose()


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """new_page(viewport=None) -> a page in a fresh context (own cookies), closed after the test."""
    contexts, refused = [], []

    def make(**kwargs):
        context = browser.new_context(locale="vi-VN", **kwargs)
        contexts.append(context)
        page = context.new_page()
        # the Content-Security-Policy (web/headers.py) must never block a page's own script or style
        page.on("console", lambda message: refused.append(message.text)
                if "Content Security Policy" in message.text else None)
        return page
    yield make
    for context in contexts:
        context.close()
    assert not refused, "blocked by the Content-Security-Policy:\n" + "\n".join(refused)


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Through the login form's own button (the header's language switch is a submit button too)."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_selector('[data-test="who"]')
    assert "/login" not in page.url, f"{username} could not sign in"
