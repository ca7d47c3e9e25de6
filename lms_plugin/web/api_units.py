"""API: any unit type, played through its contract (the same services as the web pages and the blocks).

A live client sends ``If-None-Match`` with the version it has and gets 304 while
nothing changed: one small query, no state built.
"""
from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from ..schemas import api as s
from ..services import units
from ..services.accounts import STAFF
from .api_core import endpoint, me
from .session import commit, db_session

LEARNERS = ("cadre",) + STAFF           # members of the cohort, and the staff who run it
TYPE = "<string(maxlength=60):type_id>"
ACTION = "<string(maxlength=60):action>"


def _view(assignment_id: int, type_id: str, staff: bool) -> Any:
    session = db_session()
    version, view = units.view_if_changed(session, me(), assignment_id, type_id, request.if_none_match,
                                          staff=staff, host="api")
    if view is None:
        unchanged = Response(status=304)
        unchanged.set_etag(version or "")
        return unchanged
    response = jsonify(s.UnitViewSchema().dump(view.as_json()))
    if view.version is not None:
        response.set_etag(view.version)
    response.headers["Cache-Control"] = "no-cache, private"
    return response


@endpoint("/assignments/<int:assignment_id>/units", roles=LEARNERS, tag="units", errors=(404,),
          summary="The unit types that apply to the assignment's scenario", responses={200: s.UnitListSchema})
def list_units(assignment_id: int):
    return {"units": units.units_of(db_session(), me(), assignment_id)}


@endpoint(f"/assignments/<int:assignment_id>/units/{TYPE}", roles=LEARNERS, tag="units", errors=(404,),
          summary="The caller's view of one unit: content, state, score, version (ETag; If-None-Match: 304)",
          responses={200: s.UnitViewSchema, 304: None})
def get_unit(assignment_id: int, type_id: str):
    return _view(assignment_id, type_id, staff=False)


@endpoint(f"/assignments/<int:assignment_id>/units/{TYPE}/actions/{ACTION}", "POST", roles=LEARNERS, tag="units",
          body=s.UnitActionBodySchema, errors=(403, 404, 409, 422), responses={200: s.UnitViewSchema},
          summary="Do one of the unit's actions (its fields in the body); answers the view afterwards")
def unit_action(assignment_id: int, type_id: str, action: str, data):
    view = units.act(db_session(), me(), assignment_id, type_id, action, data, host="api")
    commit()
    return view.as_json()


@endpoint(f"/assignments/<int:assignment_id>/units/{TYPE}/staff", roles=STAFF, tag="units", errors=(403, 404),
          summary="The lecturer's view of one unit (moderation, counts)", responses={200: s.UnitViewSchema, 304: None})
def get_unit_staff(assignment_id: int, type_id: str):
    return _view(assignment_id, type_id, staff=True)


@endpoint(f"/assignments/<int:assignment_id>/units/{TYPE}/staff/actions/{ACTION}", "POST", roles=STAFF,
          tag="units", body=s.UnitActionBodySchema, errors=(403, 404, 409, 422), responses={200: s.UnitViewSchema},
          summary="Do one of the unit's staff actions (moderate, answer, close)")
def unit_staff_action(assignment_id: int, type_id: str, action: str, data):
    view = units.act(db_session(), me(), assignment_id, type_id, action, data, staff=True, host="api")
    commit()
    return view.as_json()
