"""Flask extensions: login, CSRF, translations."""
from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel, get_locale, lazy_gettext
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def select_locale() -> str:
    languages = list(_languages())
    chosen = request.args.get("lang") or session.get("lang")
    if isinstance(chosen, str) and chosen in languages:
        return chosen
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return languages[0]   # Vietnamese first, whatever the browser asks for


def _languages():
    from flask import current_app
    return current_app.config["LANGUAGES"]


ROLE_NAMES = {"cadre": lazy_gettext("học viên"), "lecturer": lazy_gettext("giảng viên"),
              "examiner": lazy_gettext("giám khảo"), "admin": lazy_gettext("quản trị")}


def role_name(role: str) -> str:
    return str(ROLE_NAMES.get(role, role))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(get_locale=get_locale, role_name=role_name)
