"""The JSON API under /api/v1 (DESIGN §7), documented at /api/v1/openapi.json.

Endpoints live in api_learning (cadres) and api_marking (examiners, lecturers);
api_core holds the blueprint, authentication, CSRF and body parsing.
"""
from __future__ import annotations

from flask import current_app, request
from flask_babel import gettext as _

from ..schemas import api as s
from ..services import accounts
from . import api_allocation, api_assignments, api_learning, api_marking  # noqa: F401  (registers their endpoints on bp)
from .api_core import ENDPOINTS, ApiError, bp, endpoint, password_change_first
from .openapi import build_document
from .session import commit, db_session

__all__ = ["bp"]

API_VERSION = "1.0.0"


@endpoint("/tokens", "POST", roles=None, tag="auth", summary="Exchange a username and password for a token",
          body=s.TokenRequestSchema, responses={201: s.TokenSchema}, errors=(401, 403))
def create_token(data):
    user = accounts.authenticate(db_session(), data["username"], data["password"])
    if user is None:
        raise ApiError(401, _("Sai tên đăng nhập hoặc mật khẩu."))
    if user.must_change_password:
        raise ApiError(403, password_change_first())
    token = accounts.issue_token(db_session(), user)
    commit()
    return {"token": token}, 201


def openapi_document() -> dict:
    return build_document(ENDPOINTS, title="CaseLab API", version=API_VERSION, server=bp.url_prefix,
                          error_schema=s.ErrorSchema,
                          description="Case-based learning: assignments, case attempts, group discussion, "
                                      "essays, blind double marking. Errors are "
                                      '`{"error": message, "fields": {path: [messages]}}`.')


@endpoint("/openapi.json", roles=None, tag="meta", summary="This document", responses={200: None})
def openapi():
    document = current_app.extensions.get("caselab.openapi")
    if document is None:
        document = current_app.extensions["caselab.openapi"] = openapi_document()
    return {**document, "servers": [{"url": request.host_url.rstrip("/") + bp.url_prefix}]}
