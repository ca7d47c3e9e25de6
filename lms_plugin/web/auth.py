"""Sign in and out, and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..services import accounts
from .session import SignedIn, db_session

bp = Blueprint("auth", __name__)

HOME_BY_ROLE = {"cadre": "cadre.dashboard", "lecturer": "lecturer.catalogue",
                "examiner": "examiner.queue", "admin": "admin.cohorts"}


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("remember")


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


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.row.locale = code
            db_session().commit()
    return redirect(_safe_next(request.form.get("next")) or url_for("public.index"))
