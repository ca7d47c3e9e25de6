"""One's own notifications (the bell), for every role: the list, marking read, and mail settings."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Length

from ..services import notifications, runtime
from ..services.errors import ServiceError
from ..services.mailer import MailSettings
from .session import commit, db_session

bp = Blueprint("notifications", __name__, url_prefix="/account/notifications")


class MailForm(FlaskForm):
    email = StringField("email", validators=[Length(max=254)])
    enabled = BooleanField("enabled")


@bp.app_context_processor
def _bell():
    """The unread count beside the name on every page: one COUNT on ix_notifications_unread."""
    if not getattr(current_user, "is_authenticated", False):
        return {"unread_notifications": None}
    try:
        return {"unread_notifications": notifications.unread_count(db_session(), current_user.id)}
    except runtime.SQLAlchemyError:      # an error page after a failed transaction still renders, without the count
        return {"unread_notifications": None}


def message(item: notifications.NotificationView) -> str:
    return notifications.message(item.kind, item.params, _)


def _page(form: MailForm, errors: list[str], status: int = 200):
    before = request.args.get("before", type=int)
    page = notifications.list_notifications(db_session(), current_user.row, before=before)
    return render_template("notifications/list.html", page=page, message=message, form=form, errors=errors,
                           first_page=before is None,
                           mail_configured=MailSettings.from_mapping(current_app.config).configured), status


@bp.route("/")
@login_required
def index():
    user = current_user.row
    return _page(MailForm(formdata=None, email=user.email, enabled=user.email_notifications), [])


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    notifications.mark_all_read(db_session(), current_user.row)
    commit()
    return redirect(url_for("notifications.index"))


@bp.route("/<int:notification_id>/open", methods=["POST"], endpoint="open")
@login_required
def open_(notification_id: int):
    """Mark read and go where the notification points, if that stays on this site."""
    item = notifications.mark_read(db_session(), current_user.row, notification_id)
    commit()
    return redirect(notifications.safe_link(item.link) or url_for("notifications.index"))


@bp.route("/settings", methods=["POST"])
@login_required
def settings():
    form = MailForm()
    if not form.validate_on_submit():
        return _page(form, [_("Địa chỉ email không hợp lệ")], 400)
    try:
        notifications.set_email_preferences(db_session(), current_user.row, form.email.data, form.enabled.data)
    except ServiceError as exc:
        return _page(form, [exc.translated(_)], 400)
    commit()
    flash(_("Đã lưu cách nhận thông báo."), "success")
    return redirect(url_for("notifications.index"))
