"""Sign in and out, one's own password and API tokens, and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ..services import accounts, credentials
from ..services.errors import ServiceError
from . import throttle
from .session import commit, db_session, start_browser_session

bp = Blueprint("auth", __name__)

HOME_BY_ROLE = {"cadre": "cadre.dashboard", "lecturer": "lecturer.catalogue",
                "examiner": "examiner.queue", "admin": "admin.cohorts"}


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("remember")


class PasswordForm(FlaskForm):
    current = PasswordField("current", validators=[DataRequired(), Length(max=200)])
    new = PasswordField("new", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField("confirm", validators=[DataRequired(), EqualTo("new")])


# what someone who must first replace their password may still open
_BEFORE_PASSWORD_CHANGE = {"auth.change_password", "auth.logout", "auth.set_language", "static"}


@bp.before_app_request
def _password_change_first():
    """An account whose password someone else chose (roster import, reset) sees only the
    password form until it is replaced; the API answers 403 itself (api_core)."""
    if (current_user.is_authenticated and current_user.must_change_password
            and request.endpoint not in _BEFORE_PASSWORD_CHANGE and not request.path.startswith("/api/")):
        return redirect(url_for("auth.change_password"))
    return None


def home_url(user) -> str:
    endpoint = HOME_BY_ROLE.get(user.role)
    if endpoint and endpoint in current_app.view_functions:
        return url_for(endpoint)
    return url_for("public.index")


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: a login link must not send people elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = throttle.authenticate(form.username.data, form.password.data)
        except throttle.LoginLocked as locked:
            flash(locked.message, "error")
            response = make_response(render_template("login.html", form=form), 429)
            response.headers.update(locked.headers)
            return response
        if user is not None:
            signed_in = start_browser_session(user, remember=bool(form.remember.data))
            commit()
            login_user(signed_in, remember=signed_in.remember)
            return redirect(_safe_next(request.args.get("next")) or home_url(user))
        flash(_("Sai tên đăng nhập hoặc mật khẩu."), "error")
    return render_template("login.html", form=form), 200 if request.method == "GET" or form.errors == {} else 400


@bp.route("/logout", methods=["POST"])
def logout():
    """Ends this browser's session on the server too: a copy of its cookies opens nothing afterwards."""
    if current_user.is_authenticated and current_user.session_key:
        credentials.end_session(db_session(), current_user.session_key)
        commit()
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        try:
            # ends every session and token of the person, this browser's too: it gets a new session
            accounts.change_password(current_user.row, form.current.data, form.new.data)
        except ServiceError as exc:
            errors = {name: [exc.translated(_)] for name in (exc.fields or {"new": []})}
        else:
            signed_in = start_browser_session(current_user.row, remember=current_user.remember)
            commit()
            login_user(signed_in, remember=signed_in.remember)
            flash(_("Đã đổi mật khẩu. Bạn đã được đăng xuất khỏi các thiết bị khác."), "success")
            return redirect(home_url(signed_in))
    elif form.confirm.errors and not (form.current.errors or form.new.errors):
        errors = {"confirm": [_("Hai lần nhập mật khẩu mới không khớp.")]}
    elif request.method == "POST":
        errors = {"_form": [_("Hãy điền đủ ba ô.")]}
    status = 400 if errors else 200
    return render_template("account/password.html", form=form, errors=errors,
                           forced=current_user.must_change_password, min_length=accounts.MIN_PASSWORD), status


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.row.locale = code
            db_session().commit()
    return redirect(_safe_next(request.form.get("next")) or url_for("public.index"))


@bp.route("/account/tokens")
@login_required
def tokens():
    """One's own API tokens (scripts, tools): when each was taken, last used, ends; revoke any."""
    me = current_user.row
    return render_template("account/tokens.html", tokens=credentials.tokens_of(db_session(), me, me.id),
                           token_days=current_app.config["TOKEN_DAYS"])


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    credentials.revoke_token(db_session(), current_user.row, token_id, user_id=current_user.row.id)
    commit()
    flash(_("Đã thu hồi mã truy cập."), "success")
    return redirect(url_for("auth.tokens"))
