"""The web app as a host of any unit type: one page, one action route and one state route per unit.

Nothing here knows what a unit does. The page renders the unit's own template
(units/render.py) inside the cadre's or the lecturer's layout; an action posts to
``services.units.act``; the state route answers 304 while the unit's version holds,
so a live unit (the expert panel) costs a viewer one small query per refresh.
The built-in case, discussion and essay also have the web app's own richer pages
(cadre.py), which call the same services; every unit, those included, plays here.
"""
from __future__ import annotations

import re
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    send_from_directory,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2 import ChoiceLoader

from ..services import dashboard, exports, units
from ..services.errors import ServiceError
from ..units import registry, render
from . import downloads
from .access import role_required
from .errors import wants_json
from .formatting import local_time
from .session import commit, db_session, reading

bp = Blueprint("units", __name__)

# the web app's own pages for the built-ins (cadre.py); other units get a tab to the generic page
TAILORED = ("case", "discussion", "essay")
STAFF_ROLES = ("lecturer", "admin")
_TYPE_ID = re.compile(r"^[A-Za-z0-9_]{1,60}$")


def init_app(app) -> None:
    """Unit templates resolve as "units/<type_id>/<file>" next to the app's own."""
    app.jinja_loader = ChoiceLoader([app.jinja_loader, render.loader()])
    app.jinja_env.globals["tailored_units"] = TAILORED


def _me():
    return current_user.row


def _checked(type_id: str) -> str:
    if not _TYPE_ID.match(type_id):
        abort(404)
    return type_id


def _fragment(view: units.UnitView, staff: bool) -> str:
    """The unit's own template with the names every host gives it."""
    unit = view.unit
    name = render.template_name(unit, "staff" if staff else "learner")
    if name is None:
        return render_template("units/_no_view.html", view=view)
    area = "staff" if staff else "learner"
    context = render.template_context(
        unit=unit, view=view.view, state=view.state, staff=staff, closed=view.closed,
        action_url=lambda action: url_for(f".{area}_act", assignment_id=view.assignment_id, type_id=unit.type_id,
                                          action=action),
        csrf_token=generate_csrf(),
        static_url=lambda file: url_for(".static_file", type_id=unit.type_id, file=file),
        when=local_time)
    return render_template(name, **context)


def _data() -> dict[str, Any]:
    """An action's input: the JSON body, or the form's fields (without the CSRF token)."""
    if request.is_json:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


def _answer(view: units.UnitView, staff: bool, back: str):
    if request.is_json or wants_json():
        return jsonify({"view": view.as_json(), "html": _fragment(view, staff)})
    flash(_("Đã lưu."), "success")
    return redirect(back)


def _state(staff: bool):
    """The unit's state as JSON; 304 while the client's version still holds."""
    session = db_session()
    args = request.view_args or {}
    assignment_id, type_id = args["assignment_id"], args["type_id"]
    version, view = units.view_if_changed(session, _me(), assignment_id, type_id, request.if_none_match,
                                          staff=staff)
    if view is None:
        response = Response(status=304)
        response.set_etag(version or "")
        return response
    body: dict[str, Any] = {"view": view.as_json()}
    if request.args.get("html"):
        body["html"] = _fragment(view, staff)
    response = jsonify(body)
    if view.version is not None:
        response.set_etag(view.version)
    response.headers["Cache-Control"] = "no-cache, private"
    return response


# --- learners --------------------------------------------------------------------------------------

@bp.route("/cadre/assignments/<int:assignment_id>/units/<type_id>")
@role_required("cadre")
def learner(assignment_id: int, type_id: str):
    session = db_session()
    card = dashboard.assignment_card(session, _me(), assignment_id)
    view = units.view(session, _me(), assignment_id, _checked(type_id))
    return render_template("units/learner.html", card=card, tab="unit:" + type_id, view=view,
                           html=_fragment(view, staff=False),
                           state_url=url_for(".learner_state", assignment_id=assignment_id, type_id=type_id))


@bp.route("/cadre/assignments/<int:assignment_id>/units/<type_id>/state")
@role_required("cadre")
def learner_state(assignment_id: int, type_id: str):
    _checked(type_id)
    return _state(staff=False)


@bp.route("/cadre/assignments/<int:assignment_id>/units/<type_id>/actions/<action>", methods=["POST"])
@role_required("cadre")
def learner_act(assignment_id: int, type_id: str, action: str):
    back = url_for(".learner", assignment_id=assignment_id, type_id=_checked(type_id))
    return _act(assignment_id, type_id, action, staff=False, back=back)


def _act(assignment_id: int, type_id: str, action: str, *, staff: bool, back: str):
    session = db_session()
    try:
        view = units.act(session, _me(), assignment_id, type_id, action, _data(), staff=staff)
    except ServiceError as exc:
        session.rollback()
        if request.is_json or wants_json():
            raise
        flash(exc.translated(_), "error")     # the page shows where things stand now, and why not
        return redirect(back)
    commit()
    return _answer(view, staff, back)


# --- staff -----------------------------------------------------------------------------------------

@bp.route("/lecturer/assignments/<int:assignment_id>/units/<type_id>")
@role_required(*STAFF_ROLES)
def staff(assignment_id: int, type_id: str):
    session = db_session()
    view = units.view(session, _me(), assignment_id, _checked(type_id), staff=True)
    progress = dict(units.progress(session, _me(), assignment_id))
    counts = next((c for info, c in progress.items() if info.type_id == type_id), {})
    return render_template("units/staff.html", view=view, html=_fragment(view, staff=True), counts=counts,
                           assignment_id=assignment_id,
                           state_url=url_for(".staff_state", assignment_id=assignment_id, type_id=type_id))


@bp.route("/lecturer/assignments/<int:assignment_id>/units/<type_id>/state")
@role_required(*STAFF_ROLES)
def staff_state(assignment_id: int, type_id: str):
    _checked(type_id)
    return _state(staff=True)


@bp.route("/lecturer/assignments/<int:assignment_id>/units/<type_id>/actions/<action>", methods=["POST"])
@role_required(*STAFF_ROLES)
def staff_act(assignment_id: int, type_id: str, action: str):
    back = url_for(".staff", assignment_id=assignment_id, type_id=_checked(type_id))
    return _act(assignment_id, type_id, action, staff=True, back=back)


@bp.route("/lecturer/assignments/<int:assignment_id>/units/<type_id>/export.csv")
@role_required(*STAFF_ROLES)
def export(assignment_id: int, type_id: str):
    table = units.export(db_session(), _me(), assignment_id, _checked(type_id))
    headers = [_(h) for h in table.headers]
    chunks = reading(exports.csv_chunks(headers, (list(row) for row in table.rows)))
    return downloads.streamed(stream_with_context(chunks), "text/csv; charset=utf-8",
                              f"{type_id}-{assignment_id}.csv")


# --- the files units ship --------------------------------------------------------------------------

@bp.route("/units/player.js")
def player():
    return send_file(render.PLAYER_JS, mimetype="text/javascript", max_age=300)


@bp.route("/units/<type_id>/static/<path:file>")
def static_file(type_id: str, file: str):
    unit = registry.units().get(_checked(type_id))
    if unit is None or not unit.static_folder:
        abort(404)
    return send_from_directory(unit.static_folder, file, max_age=current_app.get_send_file_max_age(file))
