"""The examiner's side of double marking, beyond grading.grade_essay: finalise what was saved,
and where each queued essay stands (e.g. waiting for a third examiner).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.grading import DEFAULT_THRESHOLD
from ..store import models as m
from .errors import Invalid
from .grading import GradeOutcome, grade_essay, my_grade_row


def finalise_saved(session: Session, examiner: m.User, essay_id: int, *,
                   threshold: float = DEFAULT_THRESHOLD) -> GradeOutcome:
    """Lock the marks the examiner saved and confirmed, exactly as saved."""
    grade = my_grade_row(session, examiner, essay_id)
    if grade.total is None:
        raise Invalid("Hãy lưu điểm trước khi chốt")
    return grade_essay(session, examiner, essay_id, dict(grade.scores), dict(grade.comments), grade.comment,
                       final=True, threshold=threshold)


def result_status(session: Session, examiner: m.User, essay_id: int) -> str | None:
    """The double-marking status of an essay in this examiner's queue (None for any other essay)."""
    return session.scalar(select(m.EssayResult.status)
                          .join(m.Grade, m.Grade.essay_id == m.EssayResult.essay_id)
                          .where(m.EssayResult.essay_id == essay_id, m.Grade.examiner_id == examiner.id))
