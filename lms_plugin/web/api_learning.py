"""API for cadres: their assignments, the case player, the group discussion and report, the essay."""
from __future__ import annotations

from datetime import datetime, timezone

from ..schemas import api as s
from ..services import attempts, dashboard, discussion, essays
from ..services.errors import NotFound
from .api_core import endpoint, me, query_int
from .session import commit, db_session

CADRE = ("cadre",)
READERS = ("cadre", "lecturer", "admin")   # staff read a group's discussion by naming it (?group=)


@endpoint("/assignments", roles=CADRE, summary="The caller's assignments", tag="cadre",
          responses={200: s.AssignmentListSchema})
def list_assignments():
    """Each in the caller's own window: an extension shows as their closes_at."""
    return {"assignments": dashboard.learner_assignments(db_session(), me(), datetime.now(timezone.utc))}


@endpoint("/assignments/<int:assignment_id>/attempts", "POST", roles=CADRE, tag="cadre",
          summary="Start the case, or resume the unfinished attempt (200)", body=s.StartAttemptSchema,
          responses={201: s.AttemptSchema, 200: s.AttemptSchema}, errors=(404, 409))
def start_attempt(assignment_id: int, data):
    before = attempts.latest_attempt(db_session(), me(), assignment_id)
    state = attempts.start_attempt(db_session(), me(), assignment_id, retry=data["retry"])
    commit()
    return state, 200 if before is not None and before.id == state.id else 201


@endpoint("/attempts/<int:attempt_id>/choices", "POST", roles=CADRE, tag="cadre",
          summary="Take a decision at the current stage", body=s.ChoiceRequestSchema,
          responses={200: s.ChoiceOutcomeSchema}, errors=(404,))
def choose(attempt_id: int, data):
    outcome = attempts.choose(db_session(), me(), attempt_id, data["stage"], data["choice"])
    commit()
    return outcome


@endpoint("/assignments/<int:assignment_id>/posts", roles=READERS, tag="discussion",
          summary="The group discussion (the caller's group; staff name one with ?group=)",
          responses={200: s.PostListSchema}, errors=(404,),
          query={"group": "Group id (lecturers, admins)", "after": "Only posts with a larger id (polling)"})
def list_posts(assignment_id: int):
    posts = discussion.list_posts(db_session(), me(), assignment_id, group_id=query_int("group"),
                                  after_id=query_int("after") or 0)
    return {"posts": posts}


@endpoint("/assignments/<int:assignment_id>/posts", "POST", roles=CADRE, tag="discussion",
          summary="Post to the caller's group discussion", body=s.PostRequestSchema,
          responses={201: s.PostSchema}, errors=(404,))
def create_post(assignment_id: int, data):
    post = discussion.post_message(db_session(), me(), assignment_id, data["body"], data["parent_id"])
    commit()
    return post, 201


@endpoint("/assignments/<int:assignment_id>/report", roles=READERS, tag="discussion",
          summary="The group report (the caller's group; staff name one with ?group=)",
          responses={200: s.ReportSchema}, errors=(404,), query={"group": "Group id (lecturers, admins)"})
def get_report(assignment_id: int):
    return discussion.get_group_report(db_session(), me(), assignment_id, group_id=query_int("group"))


@endpoint("/assignments/<int:assignment_id>/report", "PUT", roles=CADRE, tag="discussion",
          summary="Save the group report (names the revision it was based on)", body=s.ReportRequestSchema,
          responses={200: s.ReportSchema}, errors=(404, 409))
def save_report(assignment_id: int, data):
    report = discussion.save_group_report(db_session(), me(), assignment_id, data["body"], data["revision"])
    commit()
    return report


@endpoint("/assignments/<int:assignment_id>/report/submit", "POST", roles=CADRE, tag="discussion",
          summary="Submit the group report", responses={200: s.ReportSchema}, errors=(404, 409, 422))
def submit_report(assignment_id: int):
    report = discussion.submit_group_report(db_session(), me(), assignment_id)
    commit()
    return report


@endpoint("/assignments/<int:assignment_id>/essay/draft", roles=CADRE, tag="essay",
          summary="The caller's essay draft", responses={200: s.DraftSchema}, errors=(404,))
def get_draft(assignment_id: int):
    return essays.get_draft(db_session(), me(), assignment_id)


@endpoint("/assignments/<int:assignment_id>/essay/draft", "PUT", roles=CADRE, tag="essay",
          summary="Save the essay draft", body=s.EssayBodySchema, responses={200: s.DraftSavedSchema},
          errors=(404,))
def save_draft(assignment_id: int, data):
    draft = essays.save_draft(db_session(), me(), assignment_id, data["body"])
    commit()
    return draft


@endpoint("/assignments/<int:assignment_id>/essay", "POST", roles=CADRE, tag="essay",
          summary="Submit the essay; the receipt's sha256 is of the exact body", body=s.EssayBodySchema,
          responses={201: s.ReceiptSchema}, errors=(404, 409))
def submit_essay(assignment_id: int, data):
    receipt = essays.submit_essay(db_session(), me(), assignment_id, data["body"])
    commit()
    return receipt, 201


@endpoint("/assignments/<int:assignment_id>/essay", roles=CADRE, tag="essay",
          summary="The receipt of the caller's latest submission", responses={200: s.ReceiptSchema},
          errors=(404,))
def latest_receipt(assignment_id: int):
    essay = essays.latest_essay(db_session(), me(), assignment_id)
    if essay is None:
        raise NotFound("Bạn chưa nộp bài thu hoạch cho bài được giao này")
    return essays.receipt_of(essay)
