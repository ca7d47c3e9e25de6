"""Inline comments: an examiner selects a passage of the essay and comments on it.

Anchored to character offsets of the immutable body (code points, as Python
counts them), with the quoted text kept to check the anchor; the author sees
them highlighted once the final mark is released (services/grading.py).
"""
# no "from __future__ import annotations": this module's function `annotations` would shadow it
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store import models as m
from . import audit
from .errors import Conflict, Invalid, NotFound
from .grading import my_grade_row

MAX_COMMENT = 5000
MAX_PER_GRADE = 200


@dataclass(frozen=True)
class AnnotationView:
    id: int
    start: int
    end: int
    quote: str
    comment: str


def _view(row: m.GradeAnnotation) -> AnnotationView:
    return AnnotationView(row.id, row.start, row.end, row.quote, row.comment)


def annotations(session: Session, examiner: m.User, essay_id: int) -> list[AnnotationView]:
    grade = my_grade_row(session, examiner, essay_id)
    return [_view(a) for a in session.scalars(select(m.GradeAnnotation).where(m.GradeAnnotation.grade_id == grade.id)
                                              .order_by(m.GradeAnnotation.start, m.GradeAnnotation.id))]


def add(session: Session, examiner: m.User, essay_id: int, start: int, end: int, comment: str,
        quote: str | None = None) -> AnnotationView:
    grade = my_grade_row(session, examiner, essay_id)
    if grade.finalised_at is not None:
        raise Conflict("Bạn đã chốt điểm bài này; không thể thay đổi")
    body = grade.essay.body
    if not (isinstance(start, int) and isinstance(end, int)) or not 0 <= start < end <= len(body):
        raise Invalid("Đoạn được chọn không nằm trong bài", {"start": ["out of range"]})
    if quote is not None and body[start:end] != quote:
        raise Invalid("Đoạn được chọn không khớp với bài đã nộp; hãy chọn lại", {"quote": ["mismatch"]})
    comment = (comment or "").strip()
    if not comment:
        raise Invalid("Hãy viết nhận xét cho đoạn đã chọn", {"comment": ["required"]})
    if len(comment) > MAX_COMMENT:
        raise Invalid("Nhận xét dài quá %(n)s ký tự", {"comment": ["too long"]}, n=MAX_COMMENT)
    count = len(list(session.scalars(select(m.GradeAnnotation.id).where(m.GradeAnnotation.grade_id == grade.id))))
    if count >= MAX_PER_GRADE:
        raise Invalid("Mỗi lượt chấm có tối đa %(n)s nhận xét trong bài", n=MAX_PER_GRADE)
    row = m.GradeAnnotation(grade_id=grade.id, start=start, end=end, quote=body[start:end], comment=comment)
    session.add(row)
    session.flush()
    audit.record(session, examiner.id, "annotation.add", "essay", essay_id, start=start, end=end)
    return _view(row)


def delete(session: Session, examiner: m.User, essay_id: int, annotation_id: int) -> None:
    grade = my_grade_row(session, examiner, essay_id)
    if grade.finalised_at is not None:
        raise Conflict("Bạn đã chốt điểm bài này; không thể thay đổi")
    row = session.get(m.GradeAnnotation, annotation_id)
    if row is None or row.grade_id != grade.id:
        raise NotFound("Không tìm thấy nhận xét")
    session.delete(row)
    session.flush()
    audit.record(session, examiner.id, "annotation.delete", "essay", essay_id, start=row.start, end=row.end)
