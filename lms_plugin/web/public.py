"""Pages anyone may open: the health checks and the scenario catalogue by topic."""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user

from ..services import job_status, runtime
from ..services.content import courses_of, scenario_catalogue
from .auth import home_url
from .session import db_session

bp = Blueprint("public", __name__)
log = logging.getLogger(__name__)


@bp.route("/health")
def health():
    runtime.ping(db_session())
    return jsonify({"status": "ok"})


@bp.route("/healthz")
def healthz():
    """For a load balancer or a monitor: the database and (with Celery) the broker, each "ok" or
    "unreachable"; 503 when one is not. The reason goes to the log only: it may name a host or a password."""
    try:
        runtime.ping(db_session())
        database = "ok"
    except Exception:
        log.warning("health check: the database did not answer", exc_info=True)
        database = "unreachable"
    broker = job_status.broker_status()          # "not used" unless jobs go through Celery
    healthy = database == "ok" and broker != "unreachable"
    response = jsonify({"status": "ok" if healthy else "unavailable", "database": database, "broker": broker})
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


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
