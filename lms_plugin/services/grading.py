"""Marking essays: the examiner's queue, grades with the rubric, double marking, release.

Judge, then save: the rubric scores the selections and the core reconciles the
marks; this module only stores what they decided.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.allocation import APPEAL
from ..core.grading import DEFAULT_THRESHOLD
from ..core.rubrics import Rubric, RubricError
from ..store import models as m
from . import allocation, appeals, audit, marking_queue, policy, release as releases
from .content import essay_rubric, rubric_for, scenario_data  # noqa: F401  (other services import them from here)
from .errors import Conflict, Forbidden, Invalid, NotFound
from .marking_queue import QueueItem, rubric_view  # noqa: F401  (hosts import them from here)


@dataclass(frozen=True)
class GradeOutcome:
    total: float | None       # None for a draft that does not yet choose a level for every criterion
    final: bool
    result_status: str        # awaiting_marks | needs_third | final
    result: float | None


@dataclass(frozen=True)
class GradeReport:
    """What the author (or the group, for a report) sees once the final mark is released: the mark, the
    rubric's criteria with the examiners' comments, never an individual examiner's marks or name."""
    essay_id: int
    kind: str
    status: str
    final: float | None
    scale: float
    criteria: tuple[dict[str, Any], ...]    # id, title, description, max_points, comments
    comments: tuple[str, ...]
    annotations: tuple[dict[str, Any], ...]  # start, end, quote, comment: on the immutable text
    released_at: datetime | None
    corrected: bool
    correction_reason: str
    appeal: dict[str, Any] | None           # status, reason, outcome once released, previous
    appeal_until: datetime | None           # an appeal may be filed until then (None: not any more)


def grading_queue(session: Session, examiner: m.User) -> list[QueueItem]:
    """Every round given to this person to mark, open ones first (the web and the API show a page at a time:
    marking_queue.queue_page)."""
    return list(marking_queue.every_item(session, examiner))


@dataclass(frozen=True)
class GradeView:
    """One examiner's marking of one round, as they see it on the marking page."""
    id: int
    essay_id: int
    round: int
    scores: dict[str, Any]          # criterion id -> points
    comments: dict[str, Any]        # criterion id -> text
    comment: str
    total: float | None
    finalised_at: datetime | None


def my_grade_row(session: Session, examiner: m.User, essay_id: int) -> m.Grade:
    """The examiner's grade row of the essay, for the services that change it (hosts call ``my_grade``)."""
    grade = session.scalar(select(m.Grade).where(m.Grade.essay_id == essay_id, m.Grade.examiner_id == examiner.id))
    if grade is None:
        raise NotFound("Bài này không nằm trong danh sách chấm của bạn")
    return grade


def my_grade(session: Session, examiner: m.User, essay_id: int) -> GradeView:
    """The round of the essay given to this examiner (NotFound when none is: not one of theirs)."""
    grade = my_grade_row(session, examiner, essay_id)
    return GradeView(grade.id, grade.essay_id, grade.round, dict(grade.scores or {}), dict(grade.comments or {}),
                     grade.comment or "", grade.total, grade.finalised_at)


def rubric_of(session: Session, essay_id: int) -> Rubric:
    """The rubric a submission is marked with (an essay's, or its group report's)."""
    essay = session.get(m.Essay, essay_id)
    if essay is None:
        raise NotFound("Không tìm thấy bài thu hoạch")
    return rubric_for(essay)


def _refused(exc: RubricError, rubric: Rubric) -> Invalid:
    """The rubric's objection in words for the examiner, criteria by their titles; the core's text stays in
    ``fields``."""
    fields = {"scores": [str(exc)]}
    d = exc.details

    def titles(ids: list[str]) -> str:
        return ", ".join(c.title if (c := rubric.criterion(i)) else i for i in ids)
    if exc.reason == "missing":
        return Invalid("Chưa chọn mức điểm cho: %(names)s", fields, names=titles(d["criteria"]))
    if exc.reason == "comment_required":
        return Invalid("Phiếu chấm này yêu cầu nhận xét cho mọi tiêu chí; còn thiếu ở: %(names)s", fields,
                       names=titles([d["criterion"]]))
    if exc.reason == "not_a_level":
        return Invalid("Tiêu chí %(name)s không có mức %(points)s điểm (các mức: %(allowed)s)", fields,
                       name=titles([d["criterion"]]), points=f"{d['points']:g}", allowed=d["allowed"])
    return Invalid("Phiếu chấm không có tiêu chí: %(ids)s", fields, ids=", ".join(d["criteria"]))


def grade_essay(session: Session, examiner: m.User, essay_id: int, scores: dict[str, float],
                comments: dict[str, str] | None = None, comment: str = "", final: bool = False, *,
                threshold: float = DEFAULT_THRESHOLD, now: datetime | None = None) -> GradeOutcome:
    now = now or datetime.now(timezone.utc)
    grade = my_grade_row(session, examiner, essay_id)
    if grade.finalised_at is not None:
        raise Conflict("Bạn đã chốt điểm bài này; không thể thay đổi")
    rubric = rubric_for(grade.essay)
    comments = {k: v.strip() for k, v in (comments or {}).items() if v and v.strip()}
    try:
        rubric.check_levels(scores)
        judged = rubric.score(scores, comments) if final or _complete(rubric, scores, comments) else None
    except RubricError as exc:
        raise _refused(exc, rubric) from None
    # A draft may be partial: it keeps the selections and has a total once every criterion has a level.
    grade.scores = {k: float(v) for k, v in scores.items()}
    grade.total = judged.total if judged else None
    grade.comments = comments
    grade.comment, grade.updated_at = (comment or "").strip(), now
    if final:
        grade.finalised_at = now
        audit.record(session, examiner.id, "grade.finalise", "essay", essay_id, round=grade.round,
                     total=judged.total if judged else None)
    session.flush()
    if final and grade.round == APPEAL:
        appeals.decide(session, grade, now=now)
    result = allocation.refresh(session, grade.essay, threshold)
    return GradeOutcome(grade.total, final, result.status, result.final)


def _complete(rubric: Rubric, scores: dict[str, float], comments: dict[str, str]) -> bool:
    if any(c.id not in scores for c in rubric.criteria):
        return False
    return rubric.feedback != "required" or all(comments.get(c.id) for c in rubric.criteria)


def grade_for_author(session: Session, user: m.User, essay_id: int, *, now: datetime | None = None) -> GradeReport:
    """Blind both ways: nothing of the marking shows until this submission's final mark is released."""
    essay = session.get(m.Essay, essay_id)
    if essay is None or not policy.allowed(user, "grade.read_own", essay):
        raise NotFound("Không tìm thấy bài thu hoạch của bạn")
    result = session.scalar(select(m.EssayResult).where(m.EssayResult.essay_id == essay.id))
    if result is None or result.released_at is None or result.status != "final":
        raise Forbidden("Điểm chưa được công bố")
    rubric = rubric_for(essay)
    grades = sorted((g for g in session.scalars(select(m.Grade).where(m.Grade.essay_id == essay.id))
                     if g.finalised_at is not None and g.round != APPEAL), key=lambda g: g.round)
    criteria = tuple({"id": c.id, "title": c.title, "description": c.description, "max_points": c.max_points,
                      "comments": [g.comments[c.id] for g in grades if g.comments.get(c.id)]}
                     for c in rubric.criteria)
    notes = session.scalars(select(m.GradeAnnotation).where(m.GradeAnnotation.grade_id.in_([g.id for g in grades]))
                            .order_by(m.GradeAnnotation.start, m.GradeAnnotation.id))
    appeal = appeals.view_for_author(session, essay.id)
    return GradeReport(essay.id, essay.kind, result.status, result.final, rubric.scale, criteria,
                       tuple(g.comment for g in grades if g.comment),
                       tuple({"start": a.start, "end": a.end, "quote": a.quote, "comment": a.comment} for a in notes),
                       result.released_at, result.corrected_at is not None, result.correction_reason or "",
                       appeal, appeals.window_end(session, essay, result, now=now))


def release_grades(session: Session, user: m.User, assignment_id: int, *, now: datetime | None = None) -> int:
    """Release every final mark of the assignment not yet released (see services/release.py)."""
    return releases.release(session, user, assignment_id, now=now).released
