"""The one-time sign-in link a roster import hands out: whoever opens it chooses the account's first password.

Opening the page spends nothing (chat apps fetch links to draw previews); the form does."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template
from flask_babel import gettext as _
from flask_login import login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from ..services import accounts, sign_in_links
from ..services.errors import ServiceError
from .auth import home_url
from .session import commit, db_session, start_browser_session

bp = Blueprint("welcome", __name__)


class FirstPasswordForm(FlaskForm):
    new = PasswordField("new", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField("confirm", validators=[DataRequired(), EqualTo("new")])


@bp.route("/welcome/<key>", methods=["GET", "POST"])
def first_password(key: str):
    session = db_session()
    person = sign_in_links.holder(session, key)
    if person is None:
        return render_template("account/welcome.html", person=None, form=None, errors={}), 404
    form = FirstPasswordForm()
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        try:
            user = sign_in_links.redeem(session, key, form.new.data)
        except ServiceError as exc:
            errors = {name: [exc.translated(_)] for name in (exc.fields or {"new": []})}
        else:
            signed_in = start_browser_session(user, remember=False)
            commit()
            login_user(signed_in, remember=False)
            flash(_("Đã đặt mật khẩu. Từ nay hãy đăng nhập bằng tên %(username)s và mật khẩu này.",
                    username=user.username), "success")
            return redirect(home_url(user))
    elif form.confirm.errors and not form.new.errors:
        errors = {"confirm": [_("Hai lần nhập mật khẩu mới không khớp.")]}
    elif form.is_submitted():
        errors = {"_form": [_("Hãy điền đủ hai ô.")]}
    response = render_template("account/welcome.html", person=person, form=form, errors=errors,
                                min_length=accounts.MIN_PASSWORD)
    return response, 400 if errors else 200
