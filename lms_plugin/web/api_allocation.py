"""API for the chief examiner: allocation, the examiner pool, guarded release, corrections, appeals."""
from __future__ import annotations

from flask import current_app

from ..schemas import allocation as s
from ..services import allocation, appeals, release as releases
from ..services.accounts import STAFF
from .api_core import endpoint, me
from .session import commit, db_session


def _threshold() -> float:
    return float(current_app.config["GRADING_THRESHOLD"])


def _result(row) -> dict:
    return {"essay_id": row.essay_id, "status": row.status, "final": row.final,
            "needs_examiner": row.needs_examiner, "released_at": row.released_at}


@endpoint("/assignments/<int:assignment_id>/allocation", roles=STAFF, tag="marking",
          summary="Counts by marking state, the pool with each examiner's load and pace, and the submissions "
                  "waiting for an examiner (the first 200)", responses={200: s.AllocationSchema}, errors=(404,))
def get_allocation(assignment_id: int):
    return allocation.allocation(db_session(), me(), assignment_id)


@endpoint("/assignments/<int:assignment_id>/pool", "POST", roles=STAFF, tag="marking", body=s.PoolAddSchema,
          summary="Add an examiner to the pool (of this assignment, or of every assignment of its cohort or course)",
          responses={200: s.AllocationSchema}, errors=(404, 422))
def add_examiner(assignment_id: int, data):
    allocation.add_to_pool(db_session(), me(), assignment_id, data["examiner_id"], scope=data["scope"],
                           threshold=_threshold())
    commit()
    return allocation.allocation(db_session(), me(), assignment_id)


@endpoint("/assignments/<int:assignment_id>/pool/<int:examiner_id>", "PATCH", roles=STAFF, tag="marking",
          body=s.PoolMemberPatchSchema, summary="Mark a pool member absent (their open rounds move) or present",
          responses={200: s.AllocationSchema}, errors=(404,))
def set_absent(assignment_id: int, examiner_id: int, data):
    allocation.set_absent(db_session(), me(), assignment_id, examiner_id, data["absent"], threshold=_threshold())
    commit()
    return allocation.allocation(db_session(), me(), assignment_id)


@endpoint("/assignments/<int:assignment_id>/pool/<int:examiner_id>", "DELETE", roles=STAFF, tag="marking",
          summary="Remove an examiner from the pool (their open rounds move)", responses={200: s.AllocationSchema},
          errors=(404,))
def remove_examiner(assignment_id: int, examiner_id: int):
    allocation.remove_from_pool(db_session(), me(), assignment_id, examiner_id, threshold=_threshold())
    commit()
    return allocation.allocation(db_session(), me(), assignment_id)


@endpoint("/essays/<int:essay_id>/rounds/<int:round_>", "PUT", roles=STAFF, tag="marking", body=s.AssignRoundSchema,
          summary="Name the examiner of a round (1-3, or 4 for an appeal); never one who marked the submission "
                  "in another round", responses={200: s.ResultSchema}, errors=(404, 409, 422))
def assign_round(essay_id: int, round_: int, data):
    row = allocation.assign_round(db_session(), me(), essay_id, round_, data["examiner_id"], threshold=_threshold())
    commit()
    return _result(row)


@endpoint("/assignments/<int:assignment_id>/release", roles=STAFF, tag="marking",
          summary="What a release would cover now: final marks and appeal outcomes to release, and what stays "
                  "back (awaiting marks, needs a third mark or an examiner, not submitted)",
          responses={200: s.ReleasePreviewSchema}, errors=(404,))
def release_preview(assignment_id: int):
    return releases.preview(db_session(), me(), assignment_id)


@endpoint("/essays/<int:essay_id>/correction", "POST", roles=STAFF, tag="marking", body=s.CorrectionSchema,
          summary="Correct a final mark (released ones too), with a reason kept in the audit log; the author is told",
          responses={200: s.ResultSchema}, errors=(404, 409, 422))
def correct(essay_id: int, data):
    row = releases.correct(db_session(), me(), essay_id, data["final"], data["reason"])
    commit()
    return _result(row)


@endpoint("/assignments/<int:assignment_id>/appeals", roles=STAFF, tag="marking",
          summary="Appeals (phúc khảo) of the assignment's submissions", responses={200: s.AppealListSchema},
          errors=(404,))
def list_appeals(assignment_id: int):
    return {"items": appeals.appeals_of(db_session(), me(), assignment_id)}
