"""Sign in and out, one's own password, and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ..services import accounts
from ..services.errors import ServiceError
from .session import SignedIn, commit, db_session

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
        user = accounts.authenticate(db_session(), form.username.data, form.password.data)
        if user is not None:
            login_user(SignedIn(user), remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")) or home_url(user))
        flash(_("Sai tên đăng nhập hoặc mật khẩu."), "error")
    return render_template("login.html", form=form), 200 if request.method == "GET" or form.errors == {} else 400


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user.row, form.current.data, form.new.data)
        except ServiceError as exc:
            errors = {name: [exc.translated(_)] for name in (exc.fields or {"new": []})}
        else:
            commit()
            flash(_("Đã đổi mật khẩu."), "success")
            return redirect(home_url(current_user))
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
