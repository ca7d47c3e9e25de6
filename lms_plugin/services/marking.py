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


def result_statuses(session: Session, examiner: m.User, essay_ids: list[int]) -> dict[int, str]:
    """The double-marking status of essays in this examiner's queue (never of others)."""
    mine = set(session.scalars(select(m.Grade.essay_id).where(m.Grade.examiner_id == examiner.id,
                                                              m.Grade.essay_id.in_(essay_ids))))
    rows = session.execute(select(m.EssayResult.essay_id, m.EssayResult.status)
                           .where(m.EssayResult.essay_id.in_(mine)))
    return {essay_id: status for essay_id, status in rows}
