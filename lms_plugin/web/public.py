"""Pages anyone may open: the health check and the scenario catalogue by topic."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user

from ..services import runtime
from ..services.content import course_data, latest_scenario_versions, scenario_data
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
    """[(course, [(topic, [scenario version, ...]), ...]), ...] in course-file order."""
    versions = latest_scenario_versions(db_session())
    courses: dict[int, tuple[Any, list[Any]]] = {}   # course id -> (course row, its scenario versions)
    for version in versions:
        courses.setdefault(version.scenario.course_id, (version.scenario.course, []))[1].append(version)
    out = []
    for course, items in courses.values():
        data = course_data(course)
        topics = [(t, [v for v in items if v.topic == str(t.id)]) for t in data.topics]
        out.append((data, topics))
    return out


@bp.route("/catalogue")
def catalogue():
    return render_template("catalogue.html", courses=catalogue_by_course(), scenario_data=scenario_data)
