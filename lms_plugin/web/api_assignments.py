"""API for lecturers: change an assignment as the course goes (deadlines, late work, auto-submission,
retries, the appeal window) and give one cadre a later deadline. Every change is audited."""
from __future__ import annotations

from ..schemas import api as s
from ..services import cohorts
from ..services.accounts import STAFF
from .api_core import endpoint, me
from .session import commit, db_session


@endpoint("/assignments/<int:assignment_id>", "PATCH", roles=STAFF, tag="assignments",
          body=s.AssignmentPatchSchema, responses={200: s.AssignmentSettingsSchema}, errors=(404, 422),
          summary="Change deadlines and rules; only the fields sent change (a later closes_at reopens)")
def update_assignment(assignment_id: int, data):
    assignment = cohorts.update_assignment(db_session(), me(), assignment_id, **data)
    commit()
    return assignment


@endpoint("/assignments/<int:assignment_id>/extensions/<int:user_id>", "PUT", roles=STAFF, tag="assignments",
          body=s.ExtensionRequestSchema, responses={200: s.ExtensionSchema}, errors=(404, 422),
          summary="Give one cadre of the cohort a later deadline (or change it)")
def grant_extension(assignment_id: int, user_id: int, data):
    granted = cohorts.grant_extension(db_session(), me(), assignment_id, user_id, data["closes_at"], data["reason"])
    commit()
    return granted


@endpoint("/assignments/<int:assignment_id>/extensions/<int:user_id>", "DELETE", roles=STAFF, tag="assignments",
          responses={200: s.ExtensionListSchema}, errors=(404,),
          summary="Take back a cadre's extension; answers with the extensions that remain")
def revoke_extension(assignment_id: int, user_id: int):
    cohorts.revoke_extension(db_session(), me(), assignment_id, user_id)
    commit()
    return {"extensions": cohorts.extensions(db_session(), me(), assignment_id)}
