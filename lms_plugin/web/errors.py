"""Errors as people and scripts expect them: JSON under /api, a page elsewhere."""
from __future__ import annotations

from flask import Flask, g, jsonify, render_template, request
from flask_babel import gettext, gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..services import runtime
from ..services.errors import N_, ServiceError

HTTP_MESSAGES = {
    400: N_("Yêu cầu không hợp lệ."),
    401: N_("Bạn cần đăng nhập để xem nội dung này."),
    403: N_("Bạn không có quyền truy cập nội dung này."),
    404: N_("Không tìm thấy trang hoặc nội dung bạn cần."),
    405: N_("Thao tác này không dùng được ở địa chỉ này."),
    500: N_("Máy chủ gặp lỗi; hãy thử lại sau ít phút."),
}


def wants_json() -> bool:
    # a script that sends JSON reads JSON back, whatever it accepts
    return (request.path.startswith("/api/") or request.is_json
            or request.accept_mimetypes.best == "application/json")


def error_response(status: int, message: str, fields: dict | None = None):
    if wants_json():
        return jsonify({"error": message, "fields": fields or {}}), status
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service(exc: ServiceError):
        return error_response(exc.status, exc.translated(gettext), exc.fields)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc):
        limit = app.config["MAX_CONTENT_LENGTH"] // 1024
        return error_response(413, _("Nội dung gửi lên vượt quá %(kb)s KB. Bản nháp của bạn vẫn được giữ; "
                                     "hãy rút gọn rồi gửi lại.", kb=limit))

    @app.errorhandler(runtime.OperationalError)
    def _busy(exc: Exception):
        # SQLite answers "database is locked" when another writer held it past busy_timeout: nothing was
        # stored by this request (it was rolled back), so say so and ask for a retry instead of a 500.
        if not runtime.is_busy(exc):
            raise exc
        session = g.get("db")
        if session is not None:
            session.rollback()          # the page below reads the signed-in user through this session
        response, status = error_response(503, _("Máy chủ đang bận ghi dữ liệu khác; yêu cầu của bạn chưa được "
                                                 "lưu. Bản nháp vẫn được giữ; hãy thử lại sau vài giây."))
        response = app.make_response((response, status))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return error_response(400, _("Biểu mẫu đã hết hạn. Hãy tải lại trang và thử lại."))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        # Werkzeug's stock descriptions are English; a view's own description is kept as given.
        stock = exc.description == type(exc).description
        message = HTTP_MESSAGES.get(exc.code) if stock and exc.code is not None else None
        return error_response(exc.code or 500, gettext(message) if message else (exc.description or exc.name))
