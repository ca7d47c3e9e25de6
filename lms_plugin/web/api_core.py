"""The API's plumbing: the blueprint, one decorator per endpoint (roles, body, response schema,
OpenAPI entry), JSON errors, and CSRF for calls that ride on a browser session.

Scripts authenticate with ``Authorization: Bearer <token>`` and need no CSRF
token (a browser never attaches that header by itself). A browser page may call
the API with its session cookie; then unsafe methods must carry the
``X-CSRFToken`` header, as the HTML forms carry their hidden field.
"""
from __future__ import annotations

from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from marshmallow import Schema, ValidationError
from wtforms import ValidationError as CSRFInvalid

from ..services.errors import Invalid
from .converters import MAX_ID, TooDeep, loads_bounded
from .errors import error_response
from .extensions import csrf
from .openapi import Endpoint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)          # checked below, only for cookie sessions

ENDPOINTS: list[Endpoint] = []
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiError(Exception):
    """An answer the API gives itself (not a service's): status, translated message, fields."""

    def __init__(self, status: int, message: str, fields: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.fields, self.headers = status, message, fields or {}, headers or {}


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    response, status = error_response(exc.status, exc.message, exc.fields)
    response.headers.update(exc.headers)
    return response, status


@bp.before_request
def _csrf_for_cookie_sessions():
    if request.method in SAFE_METHODS or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return None
    if not current_user.is_authenticated or g.get("token_auth"):
        return None
    try:
        validate_csrf(request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token"))
    except CSRFInvalid:
        return error_response(400, _("Thiếu hoặc sai mã chống giả mạo: gửi tiêu đề X-CSRFToken "
                                     "(thẻ meta csrf-token của trang), hoặc dùng Authorization: Bearer."))
    return None


@bp.after_request
def _no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def me():
    """The signed-in store User, for services."""
    return current_user.row


def _require(roles: tuple[str, ...]) -> None:
    if not current_user.is_authenticated:
        header = request.headers.get("Authorization", "")
        message = _("Mã truy cập không hợp lệ hoặc đã bị thu hồi.") if header.startswith("Bearer ") else \
            _("Cần đăng nhập: gửi tiêu đề Authorization: Bearer <mã truy cập> (lấy từ POST /api/v1/tokens).")
        raise ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="CaseLab"'})
    if current_user.role not in roles:
        raise ApiError(403, _("Vai trò của bạn không được dùng chức năng này."))
    if current_user.must_change_password:
        raise ApiError(403, password_change_first())


def password_change_first() -> str:
    return _("Mật khẩu này do người khác đặt: hãy đăng nhập trang web và đổi mật khẩu trước (/account/password).")


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages -> {"scores.phan-tich": [...]} (DESIGN §7's field paths)."""
    if isinstance(messages, dict):
        out: dict[str, list[str]] = {}
        for key, value in messages.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_schema": list(messages)}
    return {prefix or "_schema": [str(messages)]}


def parse_body(schema: type[Schema]) -> dict[str, Any]:
    raw = request.get_data(cache=True)          # over MAX_CONTENT_LENGTH: 413 before anything is stored
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = loads_bounded(raw)
        except TooDeep as exc:
            raise ApiError(400, exc.description) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, _("Nội dung gửi lên không phải JSON hợp lệ: %(detail)s", detail=str(exc))) from None
    if not isinstance(data, dict):
        raise ApiError(400, _("Nội dung gửi lên phải là một đối tượng JSON {...}."))
    try:
        return schema().load(data)
    except ValidationError as exc:
        raise Invalid("Dữ liệu gửi lên không hợp lệ", _flatten(exc.messages)) from None


def endpoint(rule: str, method: str = "GET", *, roles: tuple[str, ...] | None, summary: str,
             responses: dict[int, type[Schema] | None], body: type[Schema] | None = None,
             errors: tuple[int, ...] = (), query: dict[str, str | tuple[str, dict[str, Any]]] | None = None,
             tag: str = "api"):
    """Register a view under /api/v1 and in the OpenAPI document.

    The view gets the parsed body as ``data`` (when ``body`` is given) and returns
    the object to dump, or ``(object, status)``; ``responses[status]`` dumps it.
    """
    def decorate(view):
        @wraps(view)
        def wrapped(**kwargs):
            if roles is not None:
                _require(roles)
            if body is not None:
                kwargs["data"] = parse_body(body)
            result = view(**kwargs)
            if isinstance(result, Response):       # the view made its own answer (a 304, say)
                return result
            obj, status = result if isinstance(result, tuple) else (result, next(iter(responses)))
            schema = responses[status]
            payload = obj if schema is None else schema().dump(obj)
            return jsonify(payload), status

        bp.add_url_rule(rule, view.__name__, wrapped, methods=[method])
        ENDPOINTS.append(Endpoint(rule, method, f"{bp.name}.{view.__name__}", summary, roles, body,
                                  dict(responses), errors, dict(query or {}), tag))
        return wrapped
    return decorate


def query_int(name: str) -> int | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if not (value.isascii() and value.isdigit()):
        raise Invalid("Tham số %(name)s phải là số nguyên", {name: ["not an integer"]}, name=name)
    if len(value) > 10 or int(value) > MAX_ID:
        raise Invalid("Tham số %(name)s vượt quá %(max)s", {name: ["out of range"]}, name=name, max=MAX_ID)
    return int(value)
