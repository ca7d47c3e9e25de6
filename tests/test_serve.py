"""Issue 10, finding 12 (part): ``caselab serve`` never runs the Werkzeug debugger, whatever FLASK_DEBUG or a
.env says: the debugger runs Python for whoever sees its page."""
from __future__ import annotations

import pytest
import werkzeug.serving
from click.testing import CliRunner

from lms_plugin.cli import main
from lms_plugin.store import db
from lms_plugin.web import create_app
from lms_plugin.web.headers import QuietRequestHandler


@pytest.fixture
def debug_everywhere(tmp_path, monkeypatch):
    """FLASK_DEBUG=1 in the environment and in a .env in the working folder, as a careless operator leaves it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("FLASK_DEBUG=1\n")
    monkeypatch.setenv("FLASK_DEBUG", "1")
    monkeypatch.setenv("CASELAB_TICK_SECONDS", "0")         # no background ticker in a test
    monkeypatch.setenv("CASELAB_SECRET_KEY", "test-secret")
    monkeypatch.setenv("CASELAB_INSTANCE", str(tmp_path / "instance"))
    return tmp_path


def test_serve_starts_without_debugger_or_reloader(debug_everywhere, monkeypatch):
    url = f"sqlite:///{debug_everywhere / 'caselab.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    started = {}

    def fake_run_simple(host, port, application, **options):      # Flask.run itself runs, up to the server
        started.update(options, app=application, host=host, port=port)
    monkeypatch.setattr(werkzeug.serving, "run_simple", fake_run_simple)
    result = CliRunner().invoke(main, ["--database", url, "serve", "--port", "5999"])
    assert result.exit_code == 0, result.output
    assert started["port"] == 5999
    assert started["use_debugger"] is False and started["use_reloader"] is False
    assert started["app"].debug is False
    assert started["request_handler"] is QuietRequestHandler      # "Server: CaseLab", no versions


def test_an_exception_shows_the_error_page_not_a_debugger(debug_everywhere):
    app = create_app({"DATABASE_URL": f"sqlite:///{debug_everywhere / 'caselab.db'}"})
    assert app.debug is False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")
    page = app.test_client().get("/boom")
    assert page.status_code == 500
    assert "Có lỗi xảy ra" in page.text
    for leak in ("Traceback", "secret detail", "Werkzeug Debugger", "__debugger__", "console"):
        assert leak not in page.text
