"""API for marking: reading essays (blind for examiners), the queue, grades, release, similarity."""
from __future__ import annotations

from flask import current_app

from ..schemas import api as s
from ..services import cohorts, essays, grading
from ..services.accounts import STAFF
from ..services import similarity as similarity_service
from ..store import models as m
from .api_core import endpoint, me
from .session import commit, db_session

EXAMINER = ("examiner",)


def _essay_view(essay: m.Essay, with_author: bool) -> dict:
    view = {"id": essay.id, "assignment_id": essay.assignment_id, "version": essay.version,
            "submitted_at": essay.submitted_at, "sha256": essay.sha256, "words": essay.words, "body": essay.body}
    if with_author:     # examiners mark blind: no key at all, not an empty one
        view["author"] = essay.author
    return view


@endpoint("/essays/<int:essay_id>", roles=("cadre", "examiner") + STAFF, tag="marking",
          summary="An essay: its author, the examiners marking it (without the author), staff",
          responses={200: s.EssaySchema}, errors=(404,))
def get_essay(essay_id: int):
    essay, with_author = essays.readable_essay(db_session(), me(), essay_id)
    return _essay_view(essay, with_author)


@endpoint("/grading/queue", roles=EXAMINER, tag="marking",
          summary="Essays given to the caller to mark, with their rubric (no author identity)",
          responses={200: s.QueueSchema})
def queue():
    return {"items": grading.grading_queue(db_session(), me())}


@endpoint("/essays/<int:essay_id>/grades", "POST", roles=EXAMINER, tag="marking",
          summary="Save (or finalise) the caller's marks for an essay", body=s.GradeRequestSchema,
          responses={200: s.GradeSavedSchema}, errors=(404, 409))
def grade(essay_id: int, data):
    outcome = grading.grade_essay(db_session(), me(), essay_id, data["scores"], data["comments"],
                                  data["comment"], data["final"],
                                  threshold=float(current_app.config["GRADING_THRESHOLD"]))
    commit()
    return outcome


@endpoint("/assignments/<int:assignment_id>/release", "POST", roles=STAFF, tag="marking",
          summary="Release final marks to their authors", responses={200: s.ReleaseSchema}, errors=(404,))
def release(assignment_id: int):
    count = grading.release_grades(db_session(), me(), assignment_id)
    commit()
    assignment = cohorts.get_assignment(db_session(), assignment_id)
    return {"assignment_id": assignment.id, "released_at": assignment.grades_released_at, "final_marks": count}


@endpoint("/essays/<int:essay_id>/grade", roles=("cadre",), tag="marking",
          summary="The author's grade and feedback, once released", responses={200: s.GradeReportSchema},
          errors=(404,))
def author_grade(essay_id: int):
    return grading.grade_for_author(db_session(), me(), essay_id)


@endpoint("/essays/<int:essay_id>/similarity", roles=EXAMINER + STAFF, tag="marking",
          summary="The essay's similarity report with the matched sources' text (404 while there is none yet)",
          responses={200: s.SimilarityReportSchema}, errors=(404,))
def similarity(essay_id: int):
    return similarity_service.report_for(db_session(), me(), essay_id)   # examiners: only essays they mark
