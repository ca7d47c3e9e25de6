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


def test_serve_with_workers_runs_gunicorn_with_the_periodic_work_in_its_master(debug_everywhere, monkeypatch):
    """`caselab serve --workers N` is production: gunicorn (sync workers, gthread with threads), the app built
    in each worker after the fork, the ticker and the job dispatcher started once, in the master."""
    from lms_plugin.web import production
    url = f"sqlite:///{debug_everywhere / 'caselab.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    ran = {}

    def fake_run(server):
        ran.update(options=server.options, app=server.load(), ready=server.on_ready)
    monkeypatch.setattr(production.CaseLabServer, "run", fake_run)
    result = CliRunner().invoke(main, ["--database", url, "serve", "--workers", "3", "--threads", "4",
                                       "--port", "5998"])
    assert result.exit_code == 0, result.output
    options = ran["options"]
    assert (options["workers"], options["threads"], options["worker_class"]) == (3, 4, "gthread")
    assert options["bind"] == "127.0.0.1:5998" and options["control_socket_disable"] is True
    assert ran["app"].debug is False and callable(ran["ready"])
    assert production.options("127.0.0.1", 80, 4, 1, 60)["worker_class"] == "sync"


def test_worker_refuses_to_start_when_jobs_run_in_the_web_process(debug_everywhere):
    url = f"sqlite:///{debug_everywhere / 'caselab.db'}"
    result = CliRunner().invoke(main, ["--database", url, "worker"])
    assert result.exit_code != 0 and "CASELAB_JOBS is not celery" in result.output
    result = CliRunner().invoke(main, ["--database", url, "worker", "--queues", "checks,emails"])
    assert result.exit_code != 0 and "unknown queue: emails" in result.output
