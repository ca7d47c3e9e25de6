"""The standalone Flask application: ``create_app(config=None)``; its settings are lms_plugin/settings.py's.

Blueprints per role call the same services as the JSON API and the XBlocks;
a request is the unit of work (views commit, the teardown rolls back).
"""
from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from ..services import runtime
from ..settings import Settings
from . import converters, errors, extensions, formatting, headers, session as web_session, throttle


def _secret_key(instance_path: str) -> str:
    """A key kept in the instance folder, so sessions survive restarts (when CASELAB_SECRET_KEY names none)."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(config: Mapping[str, Any] | None = None, *, settings: Settings | None = None) -> Flask:
    """The app, with ``settings`` or ``Settings.load(config)`` (defaults, CASELAB_* from the environment, then
    ``config``): built once, copied into ``app.config`` (Flask and its extensions read it there), kept in
    ``app.extensions["caselab.settings"]`` and made the process's settings for the services. A bad value raises
    SettingsError naming it. Keys of ``config`` that are no setting (ENGINE, TESTING, ...) go to app.config."""
    config = dict(config or {})
    settings = settings or Settings.load(config)
    app = Flask(__name__, instance_path=str(Path(settings.instance).resolve()))
    if not settings.secret_key:
        settings = replace(settings, secret_key=_secret_key(app.instance_path))
    app.config.update({key: value for key, value in config.items() if key not in Settings.keys()})
    app.config.update(settings.as_config())
    app.extensions["caselab.settings"] = settings
    runtime.configure(settings)

    assert isinstance(app.json, DefaultJSONProvider)   # Flask's own; converters.init_app keeps its choices
    app.json.ensure_ascii = False          # Vietnamese stays readable in API output

    engine = config.get("ENGINE") or runtime.make_engine(settings.database_url)
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
    from . import (
        admin,
        api,
        auth,
        cadre,
        examiner,
        lecturer,
        marking,
        notifications,
        public,
        similarity_views,
        units,
        welcome,
    )
    for module in (public, auth, cadre, lecturer, examiner, admin, api, similarity_views, marking, notifications,
                   units, welcome):
        app.register_blueprint(module.bp)
    units.init_app(app)
