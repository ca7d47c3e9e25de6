"""The database session of a request, and the signed-in user.

Views call ``commit()`` once their use case has succeeded; whatever is left
uncommitted when the request ends is rolled back.

A browser is signed in by a session row (services/credentials.py): Flask-Login's
session cookie and remember cookie carry only that row's random key, so logout or
a new password ends them whatever copy someone kept. A script is signed in by an
``Authorization: Bearer`` token; its ``last_used_at`` is noted at most once in five
minutes, never waiting for a lock: with the request's own commit when it writes, else
after the request in a short transaction of its own that may be skipped.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from flask import Flask, current_app, g
from flask_login import UserMixin

from ..services import credentials, runtime
from .extensions import login_manager

# how long noting a token's use may wait for another writer (a roster import) before it gives up
TOUCH_WAIT_MS = 200


def db_session() -> runtime.Session:
    if "db" not in g:
        g.db = current_app.extensions["caselab.sessions"]()
    return g.db


def commit() -> None:
    session = db_session()
    token_id = g.pop("touch_token", None)
    if token_id is not None:      # a request that writes notes its token's use in its own transaction
        credentials.note_use(session, token_id)
    session.commit()


def reading(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A streamed download's chunks; the request's session ends with the last one.

    The request's own teardown may already have run when a server (or a test client) pulls the chunks,
    and then nobody would end the transaction the query reopened: a reader that never closes the
    response would hold its snapshot and locks on PostgreSQL. The session is taken now, while the
    request is alive, and closed here."""
    session = db_session()

    def chunks_then_close() -> Iterator[bytes]:
        try:
            yield from chunks
        finally:
            session.rollback()
            session.close()
    return chunks_then_close()


class SignedIn(UserMixin):
    """Flask-Login's view of a user; ``.row`` is the store's User for services.
    ``session_key`` is the browser session's key (None when a token signed the request in)."""

    def __init__(self, row, session_key: str | None = None, remember: bool = False):
        self.row, self.session_key, self.remember = row, session_key, remember

    def get_id(self) -> str:
        return self.session_key or ""

    def __getattr__(self, name):
        return getattr(self.row, name)


def session_lifetime(remember: bool) -> timedelta:
    config = current_app.config
    return timedelta(days=config["REMEMBER_DAYS"]) if remember else timedelta(hours=config["SESSION_HOURS"])


def start_browser_session(user, remember: bool) -> SignedIn:
    """A new session row for a browser that has just proved who it is (login, a new password)."""
    key = credentials.start_session(db_session(), user, lifetime=session_lifetime(remember), remember=remember)
    return SignedIn(user, key, remember)


@login_manager.user_loader
def _load_user(session_key: str):
    # cookies from before sessions were kept server-side carry a bare user id: no row, signed out
    found = credentials.session_for(db_session(), session_key)
    return SignedIn(found.user, session_key, found.remember) if found is not None else None


@login_manager.request_loader
def _load_from_token(request):
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = credentials.token_for(db_session(), header.removeprefix("Bearer ").strip())
    if token is None:
        return None
    g.token_auth, g.token_id = True, token.token_id
    if token.touch:
        g.touch_token = token.token_id
    return SignedIn(token.user)


def _note_token_use(app: Flask, token_id: int) -> None:
    """last_used_at in a short transaction of its own: a busy database makes it give up, never the request."""
    try:
        with runtime.impatient_session(app.extensions["caselab.engine"], TOUCH_WAIT_MS) as session:
            credentials.note_use(session, token_id)
            session.commit()
    except Exception as exc:       # noqa: BLE001 (bookkeeping: nothing here may fail the request)
        app.logger.info("last_used_at of token %s not noted: %s", token_id, exc)


def init_app(app: Flask) -> None:
    # cookies live no longer than the sessions they name (the rows are what counts)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=app.config["SESSION_HOURS"])
    app.config.setdefault("REMEMBER_COOKIE_DURATION", timedelta(days=app.config["REMEMBER_DAYS"]))

    @app.teardown_appcontext
    def _close(exc):
        session = g.pop("db", None)
        if session is not None:
            session.rollback()
            session.close()
        token_id = g.pop("touch_token", None)
        if token_id is not None:
            _note_token_use(app, token_id)
