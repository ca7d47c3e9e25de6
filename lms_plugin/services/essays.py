"""Essay drafts and submissions. A submission is stored exactly as sent and never changed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core import essays as core
from ..store import models as m
from . import allocation, audit, similarity
from .cohorts import learner_assignment, require_open
from .content import scenario_data
from .errors import Conflict, Invalid, NotFound

MAX_ESSAY_CHARS = 200_000   # ~30,000 words: ten times the longest essay a scenario asks for


@dataclass(frozen=True)
class DraftView:
    body: str
    saved_at: datetime | None
    words: int


@dataclass(frozen=True)
class Receipt:
    id: int
    assignment_id: int
    version: int
    submitted_at: datetime
    sha256: str
    words: int


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _check_body(body) -> str:
    if not isinstance(body, str):
        raise Invalid("Thiếu nội dung bài thu hoạch", {"body": ["required"]})
    if len(body) > MAX_ESSAY_CHARS:
        raise Invalid("Bài thu hoạch dài quá %(n)s ký tự", {"body": ["too long"]}, n=MAX_ESSAY_CHARS)
    return body


def get_draft(session: Session, user: m.User, assignment_id: int) -> DraftView:
    learner_assignment(session, user, assignment_id)
    draft = session.scalar(select(m.EssayDraft).where(m.EssayDraft.assignment_id == assignment_id,
                                                      m.EssayDraft.user_id == user.id))
    if draft is None:
        return DraftView("", None, 0)
    return DraftView(draft.body, draft.saved_at, core.count_words(draft.body))


def save_draft(session: Session, user: m.User, assignment_id: int, body: str, *,
               now: datetime | None = None) -> DraftView:
    assignment, _ = learner_assignment(session, user, assignment_id)
    body = _check_body(body)
    require_open(assignment, _now(now))
    draft = _draft_row(session, user, assignment_id)
    draft.body, draft.saved_at = body, _now(now)
    session.flush()
    return DraftView(body, draft.saved_at, core.count_words(body))


def _draft_row(session: Session, user: m.User, assignment_id: int) -> m.EssayDraft:
    """The cadre's draft row; two first saves at once (the timer and leaving the page) share one row."""
    query = select(m.EssayDraft).where(m.EssayDraft.assignment_id == assignment_id, m.EssayDraft.user_id == user.id)
    draft = session.scalar(query)
    if draft is not None:
        return draft
    try:
        with session.begin_nested():
            draft = m.EssayDraft(assignment_id=assignment_id, user_id=user.id, body="")
            session.add(draft)
        return draft
    except IntegrityError:
        return session.scalar(query)


def submit_essay(session: Session, user: m.User, assignment_id: int, body: str, *,
                 now: datetime | None = None) -> Receipt:
    assignment, _ = learner_assignment(session, user, assignment_id)
    body = _check_body(body)
    require_open(assignment, _now(now))
    spec = scenario_data(assignment.scenario_version).essay
    if spec is None:
        raise NotFound("Tình huống này không có bài thu hoạch")
    check = core.check_length(body, spec.min_words, spec.max_words)
    if check.too_short:
        raise Invalid("Bài có %(words)s chữ; yêu cầu tối thiểu %(n)s chữ",
                      {"body": ["too short"]}, words=check.words, n=spec.min_words)
    if check.too_long:
        raise Invalid("Bài có %(words)s chữ; tối đa cho phép %(n)s chữ",
                      {"body": ["too long"]}, words=check.words, n=spec.max_words)
    previous = session.scalar(select(func.max(m.Essay.version)).where(
        m.Essay.assignment_id == assignment_id, m.Essay.user_id == user.id, m.Essay.kind == "essay")) or 0
    if previous and assignment.grades_released_at is not None:
        raise Conflict("Điểm đã được công bố; không thể nộp lại bài")
    essay = m.Essay(assignment_id=assignment_id, user_id=user.id, version=previous + 1, body=body,
                    sha256=core.sha256(body), words=check.words, submitted_at=_now(now))
    session.add(essay)
    session.flush()
    allocation.open_submission(session, essay)
    similarity.request_check(session, essay)
    audit.record(session, user.id, "essay.submit", "essay", essay.id, sha256=essay.sha256, version=essay.version)
    session.flush()
    return Receipt(essay.id, assignment_id, essay.version, essay.submitted_at, essay.sha256, essay.words)


def latest_essay(session: Session, user: m.User, assignment_id: int) -> m.Essay | None:
    return session.scalar(select(m.Essay).where(m.Essay.assignment_id == assignment_id, m.Essay.user_id == user.id,
                                                m.Essay.kind == "essay")
                          .order_by(m.Essay.version.desc()).limit(1))


def readable_essay(session: Session, user: m.User, essay_id: int) -> tuple[m.Essay, bool]:
    """The essay and whether the reader may see who wrote it.

    Its author and lecturers see everything; an examiner sees only essays
    given to them to mark, and never the author's identity (blind marking).
    """
    essay = session.get(m.Essay, essay_id)
    if essay is None:
        raise NotFound("Không tìm thấy bài thu hoạch")
    if user.id == essay.user_id or user.role in ("lecturer", "admin"):
        return essay, True
    if essay.kind == "report" and session.scalar(select(m.Membership.id).where(
            m.Membership.user_id == user.id, m.Membership.group_id == essay.group_id)):
        return essay, True
    if user.role == "examiner" and session.scalar(select(m.Grade).where(
            m.Grade.essay_id == essay.id, m.Grade.examiner_id == user.id)):
        return essay, False
    raise NotFound("Không tìm thấy bài thu hoạch")


def receipt_of(essay: m.Essay) -> Receipt:
    return Receipt(essay.id, essay.assignment_id, essay.version, essay.submitted_at, essay.sha256, essay.words)
