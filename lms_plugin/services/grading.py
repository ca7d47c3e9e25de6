"""Marking essays: the examiner's queue, grades with the rubric, double marking, release.

Judge, then save: the rubric scores the selections and the core reconciles the
marks; this module only stores what they decided.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.grading import DEFAULT_THRESHOLD, Mark, reconcile
from ..core.rubrics import Rubric, RubricError
from ..store import models as m
from . import audit
from .cohorts import get_assignment
from .content import rubric_data, scenario_data
from .errors import Conflict, Forbidden, Invalid, NotFound
from .essays import pick_examiners


@dataclass(frozen=True)
class QueueItem:
    essay_id: int
    assignment_id: int
    round: int
    scenario_title: str
    words: int
    submitted_at: datetime
    status: str               # "todo" | "draft" | "final"
    total: float | None
    rubric: dict[str, Any]


@dataclass(frozen=True)
class GradeOutcome:
    total: float | None       # None for a draft that does not yet choose a level for every criterion
    final: bool
    result_status: str        # awaiting_marks | needs_third | final
    result: float | None


@dataclass(frozen=True)
class GradeReport:
    """What the essay's author sees after release."""
    essay_id: int
    status: str
    final: float | None
    scale: float
    criteria: tuple[dict[str, Any], ...]    # id, title, points per marker, comments
    comments: tuple[str, ...]


def rubric_view(rubric: Rubric) -> dict[str, Any]:
    return {"id": rubric.id, "version": rubric.version, "title": rubric.title, "scale": rubric.scale,
            "feedback": rubric.feedback,
            "criteria": [{"id": c.id, "title": c.title, "weight": c.weight, "description": c.description,
                          "levels": [{"points": lv.points, "label": lv.label, "descriptor": lv.descriptor}
                                     for lv in c.levels]} for c in rubric.criteria]}


def essay_rubric(assignment: m.Assignment) -> Rubric:
    if assignment.essay_rubric_version is None:
        raise NotFound("Bài được giao này không có tiêu chí chấm bài thu hoạch")
    return rubric_data(assignment.essay_rubric_version)


def _status(grade: m.Grade) -> str:
    return "final" if grade.finalised_at else ("draft" if grade.total is not None else "todo")


def grading_queue(session: Session, examiner: m.User) -> list[QueueItem]:
    if examiner.role != "examiner":
        raise Forbidden("Chỉ giám khảo được chấm bài")
    grades = session.scalars(select(m.Grade).where(m.Grade.examiner_id == examiner.id)
                             .order_by(m.Grade.finalised_at.is_not(None), m.Grade.id))
    items = []
    for grade in grades:
        essay = grade.essay
        assignment = essay.assignment
        items.append(QueueItem(essay.id, assignment.id, grade.round,
                               scenario_data(assignment.scenario_version).title, essay.words,
                               essay.submitted_at, _status(grade), grade.total,
                               rubric_view(essay_rubric(assignment))))
    return items


def my_grade(session: Session, examiner: m.User, essay_id: int) -> m.Grade:
    grade = session.scalar(select(m.Grade).where(m.Grade.essay_id == essay_id, m.Grade.examiner_id == examiner.id))
    if grade is None:
        raise NotFound("Bài này không nằm trong danh sách chấm của bạn")
    return grade


def _refused(exc: RubricError, rubric: Rubric) -> Invalid:
    """The rubric's objection in words for the examiner, criteria by their titles; the core's text stays in
    ``fields``."""
    fields = {"scores": [str(exc)]}
    d = exc.details

    def titles(ids) -> str:
        return ", ".join(rubric.criterion(i).title if rubric.criterion(i) else i for i in ids)
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
    grade = my_grade(session, examiner, essay_id)
    if grade.finalised_at is not None:
        raise Conflict("Bạn đã chốt điểm bài này; không thể thay đổi")
    rubric = essay_rubric(grade.essay.assignment)
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
        audit.record(session, examiner.id, "grade.finalise", "essay", essay_id, round=grade.round, total=judged.total)
    session.flush()
    result = update_result(session, grade.essay, threshold)
    return GradeOutcome(grade.total, final, result.status, result.final)


def _complete(rubric: Rubric, scores: dict[str, float], comments: dict[str, str]) -> bool:
    if any(c.id not in scores for c in rubric.criteria):
        return False
    return rubric.feedback != "required" or all(comments.get(c.id) for c in rubric.criteria)


def update_result(session: Session, essay: m.Essay, threshold: float = DEFAULT_THRESHOLD) -> m.EssayResult:
    """Reconcile the finalised marks; call a third examiner when the first two disagree too much."""
    grades = list(session.scalars(select(m.Grade).where(m.Grade.essay_id == essay.id)))
    marks = [Mark(str(g.examiner_id), g.round, g.total) for g in grades if g.finalised_at is not None]
    decided = reconcile(marks, threshold)
    result = session.scalar(select(m.EssayResult).where(m.EssayResult.essay_id == essay.id))
    if result is None:
        result = m.EssayResult(essay_id=essay.id, status=decided.status)
        session.add(result)
    result.status, result.final, result.gap, result.rule = decided.status, decided.final, decided.gap, decided.rule
    result.updated_at = datetime.now(timezone.utc)
    if decided.status == "needs_third" and not any(g.round == 3 for g in grades):
        third = pick_examiners(session, essay.assignment, 1, {g.examiner_id for g in grades})
        if third:
            session.add(m.Grade(essay_id=essay.id, examiner_id=third[0], round=3))
            audit.record(session, None, "grade.third_examiner", "essay", essay.id, examiner_id=third[0])
    session.flush()
    return result


def release_grades(session: Session, user: m.User, assignment_id: int, *, now: datetime | None = None) -> int:
    """Make final marks visible to their authors; returns how many essays have a final mark."""
    if user.role not in ("lecturer", "admin"):
        raise Forbidden("Chỉ giảng viên được công bố điểm")
    assignment = get_assignment(session, assignment_id)
    assignment.grades_released_at = now or datetime.now(timezone.utc)
    audit.record(session, user.id, "grades.release", "assignment", assignment.id)
    return session.scalar(select(func.count(m.EssayResult.id)).join(m.Essay, m.Essay.id == m.EssayResult.essay_id)
                          .where(m.Essay.assignment_id == assignment_id, m.EssayResult.status == "final"))


def grade_for_author(session: Session, user: m.User, essay_id: int) -> GradeReport:
    essay = session.get(m.Essay, essay_id)
    if essay is None or essay.user_id != user.id:
        raise NotFound("Không tìm thấy bài thu hoạch của bạn")
    if essay.assignment.grades_released_at is None:
        raise Forbidden("Điểm chưa được công bố")
    result = session.scalar(select(m.EssayResult).where(m.EssayResult.essay_id == essay.id))
    rubric = essay_rubric(essay.assignment)
    grades = sorted((g for g in session.scalars(select(m.Grade).where(m.Grade.essay_id == essay.id))
                     if g.finalised_at is not None), key=lambda g: g.round)
    criteria = tuple({"id": c.id, "title": c.title, "max_points": c.max_points,
                      "points": [g.scores.get(c.id) for g in grades],
                      "comments": [g.comments[c.id] for g in grades if g.comments.get(c.id)]}
                     for c in rubric.criteria)
    status = result.status if result else "awaiting_marks"
    return GradeReport(essay.id, status, result.final if result and status == "final" else None, rubric.scale,
                       criteria, tuple(g.comment for g in grades if g.comment))
