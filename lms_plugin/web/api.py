"""The JSON API under /api/v1 (DESIGN §7), documented at /api/v1/openapi.json.

Endpoints live in api_learning (cadres) and api_marking (examiners, lecturers);
api_core holds the blueprint, authentication, CSRF and body parsing.
"""
from __future__ import annotations

from dataclasses import asdict

from flask import current_app, g, request
from flask_babel import gettext as _

from ..schemas import api as s
from ..services import accounts, credentials
from . import api_accounts, api_allocation, api_assignments, api_learning, api_marking, api_units, throttle  # noqa: F401  (registers their endpoints on bp)
from .api_core import ENDPOINTS, ApiError, bp, endpoint, me, password_change_first
from .openapi import build_document
from .session import commit, db_session

__all__ = ["bp"]

API_VERSION = "1.0.0"


@endpoint("/tokens", "POST", roles=None, tag="auth", summary="Exchange a username and password for a token",
          body=s.TokenRequestSchema, responses={201: s.TokenSchema}, errors=(401, 403, 429))
def create_token(data):
    try:    # failures count with the login form's (web/throttle.py): 429 with Retry-After past the limit
        user = throttle.authenticate(data["username"], data["password"])
    except throttle.LoginLocked as locked:
        raise ApiError(429, locked.message, headers=locked.headers) from None
    if user is None:
        raise ApiError(401, _("Sai tên đăng nhập hoặc mật khẩu."))
    if user.must_change_password:
        raise ApiError(403, password_change_first())
    token = credentials.issue_token(db_session(), user, days=current_app.config["TOKEN_DAYS"])
    commit()
    return {"token": token}, 201


def _token_list() -> dict:
    current = g.get("token_id")
    return {"tokens": [{**asdict(t), "current": t.id == current}
                       for t in credentials.tokens_of(db_session(), me(), me().id)]}


@endpoint("/tokens", "GET", roles=accounts.ROLES, tag="auth", summary="The caller's live tokens",
          responses={200: s.TokenListSchema})
def list_tokens():
    return _token_list()


@endpoint("/tokens/<int:token_id>", "DELETE", roles=accounts.ROLES, tag="auth", errors=(404,),
          summary="Revoke one of the caller's tokens (this one too); answers with the tokens that remain",
          responses={200: s.TokenListSchema})
def revoke_token(token_id: int):
    credentials.revoke_token(db_session(), me(), token_id, user_id=me().id)
    commit()
    return _token_list()


def openapi_document() -> dict:
    return build_document(ENDPOINTS, title="CaseLab API", version=API_VERSION, server=bp.url_prefix or "",
                          error_schema=s.ErrorSchema,
                          description="Case-based learning: assignments, case attempts, group discussion, "
                                      "essays, blind double marking. Errors are "
                                      '`{"error": message, "fields": {path: [messages]}}`.')


@endpoint("/openapi.json", roles=None, tag="meta", summary="This document", responses={200: None})
def openapi():
    document = current_app.extensions.get("caselab.openapi")
    if document is None:
        document = current_app.extensions["caselab.openapi"] = openapi_document()
    return {**document, "servers": [{"url": request.host_url.rstrip("/") + (bp.url_prefix or "")}]}
