"""The standalone Flask application: ``create_app(config=None)``.

Blueprints per role call the same services as the JSON API and the XBlocks;
a request is the unit of work (views commit, the teardown rolls back).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from ..services import runtime
from . import converters, errors, extensions, formatting, headers, session as web_session, throttle

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,                 # None: CASELAB_DATABASE_URL or sqlite:///instance/caselab.db
    "DEBUG": False,                       # never from FLASK_DEBUG or a .env: the debugger runs code for anyone
    "HTTPS": False,                       # behind HTTPS: HSTS and Secure cookies (see web/headers.py)
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,  # an essay of 200,000 characters fits with room for JSON
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,          # a cadre may keep the essay editor open all day
    "BABEL_DEFAULT_LOCALE": "vi",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
    "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).resolve().parent.parent / "translations"),
    "LANGUAGES": {"vi": "Tiếng Việt", "en": "English"},
    "GRADING_THRESHOLD": 1.5,             # gap between two marks that calls a third examiner
    "SIMILARITY_FLAG_SCORE": 0.25,        # share copied from one source shown as worth a look
    "SIMILARITY_SOURCES_SHOWN": 10,       # sources listed before "show all": a leaked text has hundreds
    "SIMILARITY_ROWS_SHOWN": 200,         # essays, pairs, cluster members on the cohort page before "show all"
    "JOBS": "inline",                     # inline | celery
    "AUTOSAVE_SECONDS": 5,
    "TICK_SECONDS": 60,                   # caselab serve: automatic submissions, reminders and mail every minute
    "DISCUSSION_POLL_SECONDS": 3,          # how often an open discussion asks for new posts
    # notification mail (sent by `caselab tick`, see services/mailer.py); no MAIL_SERVER: no mail
    "MAIL_SERVER": "",
    "MAIL_PORT": 25,
    "MAIL_USERNAME": "",
    "MAIL_PASSWORD": "",
    "MAIL_USE_TLS": False,                # STARTTLS
    "MAIL_SENDER": "CaseLab <no-reply@localhost>",
    "BASE_URL": "http://localhost:5000",  # links in mails point here
    # sessions and tokens end (web/session.py, services/credentials.py)
    "SESSION_HOURS": 12,                  # a sign-in without "remember me" lasts this long at most
    "REMEMBER_DAYS": 14,                  # ... and with it
    "TOKEN_DAYS": 30,                     # an API token's life
    # sign-in throttling (web/throttle.py): failures in a window, per account and per address
    "LOGIN_FAILURES_PER_ACCOUNT": 10,
    "LOGIN_FAILURES_PER_ADDRESS": 50,     # a training room shares one address
    "LOGIN_WINDOW_SECONDS": 15 * 60,
    "RATELIMIT_STORAGE_URI": "memory://",  # one process; redis://host:6379/0 to share it between workers
    "TRUSTED_PROXIES": 0,                 # reverse proxies in front that append the client to X-Forwarded-For
}


def _from_environment() -> dict[str, Any]:
    """CASELAB_<KEY> for each default KEY, read as the default's type (a threshold is a number)."""
    out: dict[str, Any] = {}
    for name, raw in os.environ.items():
        key = name.removeprefix("CASELAB_")
        if not name.startswith("CASELAB_") or key not in DEFAULTS or key == "DATABASE_URL":
            continue
        kind = type(DEFAULTS[key])
        try:
            out[key] = (raw.strip().lower() in ("1", "true", "yes", "on")) if kind is bool else \
                kind(raw) if kind in (int, float) else raw
        except ValueError:
            raise ValueError(f"{name}={raw!r}: expected {'a whole number' if kind is int else 'a number'}") from None
    return out


def _secret_key(app: Flask) -> str:
    """CASELAB_SECRET_KEY, else one kept in the instance folder so sessions survive restarts."""
    if os.environ.get("CASELAB_SECRET_KEY"):
        return os.environ["CASELAB_SECRET_KEY"]
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("CASELAB_INSTANCE") or str(Path.cwd() / "instance"))
    app.config.update(DEFAULTS)
    app.config.update(_from_environment())
    app.config.update(config or {})
    app.config.setdefault("SECRET_KEY", None)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _secret_key(app)
    assert isinstance(app.json, DefaultJSONProvider)   # Flask's own; converters.init_app keeps its choices
    app.json.ensure_ascii = False          # Vietnamese stays readable in API output

    engine = app.config.get("ENGINE") or runtime.make_engine(app.config["DATABASE_URL"])
    app.extensions["caselab.engine"] = engine
    app.extensions["caselab.sessions"] = runtime.session_factory(engine)

    extensions.init_app(app)
    formatting.init_app(app)
    web_session.init_app(app)
    throttle.init_app(app)                # sign-in counters belong to the app
    errors.init_app(app)
    headers.init_app(app)
    converters.init_app(app)              # before the blueprints: <int:…> and JSON bodies bounded
    _register_blueprints(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from . import admin, api, auth, cadre, examiner, lecturer, marking, notifications, public, similarity_views
    for module in (public, auth, cadre, lecturer, examiner, admin, api, similarity_views, marking, notifications):
        app.register_blueprint(module.bp)
