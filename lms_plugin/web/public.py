"""Pages anyone may open: the health check and the scenario catalogue by topic."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user

from ..services import runtime
from ..services.content import courses_of, scenario_catalogue
from .auth import home_url
from .session import db_session

bp = Blueprint("public", __name__)


@bp.route("/health")
def health():
    runtime.ping(db_session())
    return jsonify({"status": "ok"})


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return redirect(url_for("public.catalogue"))


def catalogue_by_course():
    """[(course, [(topic, [scenario's latest version, ...]), ...]), ...] in course-file order."""
    session = db_session()
    entries = scenario_catalogue(session)
    by_course: dict[int, list[Any]] = {}   # course id -> its scenarios' latest versions
    for entry in entries:
        by_course.setdefault(entry.course_id, []).append(entry)
    courses = courses_of(session, list(by_course))
    out = []
    for course_id, items in by_course.items():
        data = courses[course_id]
        topics = [(t, [v for v in items if v.topic == str(t.id)]) for t in data.topics]
        out.append((data, topics))
    return out


@bp.route("/catalogue")
def catalogue():
    return render_template("catalogue.html", courses=catalogue_by_course())
