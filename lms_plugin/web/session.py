"""The database session of a request, and the signed-in user.

Views call ``commit()`` once their use case has succeeded; whatever is left
uncommitted when the request ends is rolled back.
"""
from __future__ import annotations

from flask import Flask, current_app, g
from flask_login import UserMixin
from sqlalchemy.orm import Session

from ..services import accounts
from ..store import models as m
from .extensions import login_manager


def db_session() -> Session:
    if "db" not in g:
        g.db = current_app.extensions["caselab.sessions"]()
    return g.db


def commit() -> None:
    db_session().commit()


class SignedIn(UserMixin):
    """Flask-Login's view of a user; ``.row`` is the store's User for services."""

    def __init__(self, row: m.User):
        self.row = row

    def get_id(self) -> str:
        return str(self.row.id)

    def __getattr__(self, name):
        return getattr(self.row, name)


@login_manager.user_loader
def _load_user(user_id: str):
    row = db_session().get(m.User, int(user_id)) if user_id.isdigit() else None
    return SignedIn(row) if row is not None and row.active else None


@login_manager.request_loader
def _load_from_token(request):
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    row = accounts.user_for_token(db_session(), header.removeprefix("Bearer ").strip())
    if row is None:
        return None
    db_session().commit()       # keep last_used_at
    g.token_auth = True
    return SignedIn(row)


def init_app(app: Flask) -> None:
    @app.teardown_appcontext
    def _close(exc):
        session = g.pop("db", None)
        if session is not None:
            session.rollback()
            session.close()
