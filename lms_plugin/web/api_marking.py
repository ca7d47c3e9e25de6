"""API for marking: reading essays (blind for examiners), the queue, grades, release, similarity."""
from __future__ import annotations

from flask import current_app, request

from ..schemas import api as s
from ..schemas.allocation import ReleaseRequestSchema
from ..services import (  # "annotations" alone would be the __future__ feature here
    annotations as inline_comments,
    appeals,
    essays,
    grading,
    marking_queue,
    release as releases,
    similarity as similarity_service,
)
from ..services.accounts import STAFF
from .api_core import endpoint, me, query_int
from .session import commit, db_session

EXAMINER = ("examiner",)


def _essay_view(essay, with_author: bool) -> dict:
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
          summary="A page of the essays given to the caller to mark, open rounds first (no author identity); each "
                  "rubric of the page once, in `rubrics`",
          responses={200: s.QueueSchema}, errors=(422,),
          query={"status": ("all (default); todo: not yet finalised; marked: finalised; third: waiting for a "
                            "third examiner", {"type": "string", "enum": list(marking_queue.FILTERS)}),
                 "cursor": ("The previous page's next_cursor", {"type": "string"}),
                 "limit": f"Items per page (default {marking_queue.PAGE}, at most {marking_queue.MAX_PAGE})"})
def queue():
    return marking_queue.queue_page(db_session(), me(), status=request.args.get("status") or marking_queue.ALL,
                                    cursor=request.args.get("cursor") or None,
                                    limit=query_int("limit") or marking_queue.PAGE)


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
          summary="Release the final marks and appeal outcomes not yet released (GET shows what that covers; send "
                  "the confirmed count as `expected` to refuse a release that changed meanwhile)",
          body=ReleaseRequestSchema, responses={200: s.ReleaseSchema}, errors=(404, 409))
def release(assignment_id: int, data):
    outcome = releases.release(db_session(), me(), assignment_id, expected=data["expected"])
    commit()
    return {"assignment_id": assignment_id, "released_at": outcome.released_at, "final_marks": outcome.released,
            "appeals": outcome.appeals}


@endpoint("/essays/<int:essay_id>/grade", roles=("cadre",), tag="marking",
          summary="The author's grade and feedback, once released (403 until then: nothing of the marking "
                  "shows before); no examiner's name or points", responses={200: s.GradeReportSchema},
          errors=(403, 404))
def author_grade(essay_id: int):
    return grading.grade_for_author(db_session(), me(), essay_id)


@endpoint("/essays/<int:essay_id>/appeal", "POST", roles=("cadre",), tag="marking",
          summary="Ask for a re-marking (phúc khảo) of a released mark, with a reason; once per essay, within "
                  "the appeal window (GradeReport.appeal_until)", body=s.AppealRequestSchema,
          responses={201: s.AuthorAppealSchema}, errors=(404, 409))
def file_appeal(essay_id: int, data):
    appeal = appeals.file_appeal(db_session(), me(), essay_id, data["reason"])
    commit()
    return appeals.view_for_author(db_session(), appeal.essay_id), 201


@endpoint("/essays/<int:essay_id>/annotations", roles=EXAMINER, tag="marking",
          summary="The caller's inline comments on an essay they mark", responses={200: s.AnnotationListSchema},
          errors=(404,))
def list_annotations(essay_id: int):
    return {"annotations": inline_comments.annotations(db_session(), me(), essay_id)}


@endpoint("/essays/<int:essay_id>/annotations", "POST", roles=EXAMINER, tag="marking",
          summary="Comment on a passage of an essay the caller marks (code-point offsets into its body)",
          body=s.AnnotationRequestSchema, responses={201: s.AnnotationSchema}, errors=(404, 409))
def add_annotation(essay_id: int, data):
    note = inline_comments.add(db_session(), me(), essay_id, data["start"], data["end"], data["comment"],
                               data["quote"])
    commit()
    return note, 201


@endpoint("/essays/<int:essay_id>/annotations/<int:annotation_id>", "DELETE", roles=EXAMINER, tag="marking",
          summary="Delete one of the caller's inline comments (until the mark is finalised)",
          responses={204: None}, errors=(404, 409))
def delete_annotation(essay_id: int, annotation_id: int):
    inline_comments.delete(db_session(), me(), essay_id, annotation_id)
    commit()
    return "", 204


@endpoint("/essays/<int:essay_id>/similarity", roles=EXAMINER + STAFF, tag="marking",
          summary="The essay's similarity report with the matched sources' text (404 while there is none yet)",
          responses={200: s.SimilarityReportSchema}, errors=(404,))
def similarity(essay_id: int):
    return similarity_service.report_for(db_session(), me(), essay_id)   # examiners: only essays they mark
