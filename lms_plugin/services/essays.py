"""Essay drafts and submissions. A submission is stored exactly as sent and never changed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from ..core import essays as core
from ..store import models as m
from . import allocation, audit, policy, similarity
from .cohorts import get_assignment, learner_assignment, require_submission_open, submission_state, window_for
from .content import scenario_data
from .errors import N_, Conflict, Invalid, NotFound
from .limits import refuse_controls
from .people import PersonView, person_view

MAX_ESSAY_CHARS = 200_000   # ~30,000 words: ten times the longest essay a scenario asks for


@dataclass(frozen=True)
class DraftView:
    body: str
    saved_at: datetime | None
    words: int


@dataclass(frozen=True)
class EssayView:
    """A submission as stored (an essay, or a group report): what hosts read instead of the row."""
    id: int
    assignment_id: int
    kind: str                       # essay | report
    version: int
    body: str
    sha256: str
    words: int
    submitted_at: datetime
    late: bool
    auto_submitted: bool
    author: PersonView | None = None    # only for a reader who may see who wrote it (never an examiner)


def essay_view(essay: m.Essay, author: PersonView | None = None) -> EssayView:
    return EssayView(essay.id, essay.assignment_id, essay.kind, essay.version, essay.body, essay.sha256,
                     essay.words, essay.submitted_at, bool(essay.late), bool(essay.auto_submitted), author)


@dataclass(frozen=True)
class Receipt:
    id: int
    assignment_id: int
    version: int
    submitted_at: datetime
    sha256: str
    words: int
    late: bool = False
    auto_submitted: bool = False
    warnings: tuple[str, ...] = ()     # msgids accepted with a warning (the scenario's "warn" checks)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _check_body(body) -> str:
    if not isinstance(body, str):
        raise Invalid("Thiếu nội dung bài thu hoạch", {"body": ["required"]})
    if len(body) > MAX_ESSAY_CHARS:
        raise Invalid("Bài thu hoạch dài quá %(n)s ký tự", {"body": ["too long"]}, n=MAX_ESSAY_CHARS)
    return refuse_controls(body, "body")       # refused, never stripped: a submitted essay is kept exactly


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
    require_submission_open(session, assignment, user, _now(now))   # late work may still be drafted
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
        won = session.scalar(query)
        assert won is not None  # the concurrent first save that made ours fail
        return won


MISSING_RECOMMENDATIONS = N_("Bài chưa có mục “%(section)s”: hãy thêm tiêu đề “%(section)s” và viết kiến nghị, "
                             "đề xuất của đồng chí dưới tiêu đề đó.")
EMPTY_RECOMMENDATIONS = N_("Mục “%(section)s” đang trống: hãy viết kiến nghị, đề xuất của đồng chí dưới tiêu đề đó.")


def recommendations_message(body: str, spec) -> str | None:
    """The msgid telling what is wrong with the recommendations section (param ``section``), or None."""
    problem = core.recommendations_problem(body, spec.recommendations_section)
    return {"missing": MISSING_RECOMMENDATIONS, "empty": EMPTY_RECOMMENDATIONS}.get(problem) if problem else None


def length_check(body: str, spec) -> core.WordCheck:
    """How a text stands against the scenario's word limits (the confirmation page shows it)."""
    return core.check_length(body, spec.min_words, spec.max_words)


def digest(body: str) -> str:
    """The receipt's fingerprint of a text: sha256 of the exact body, as submit_essay stores it."""
    return core.sha256(body)


def starting_text(spec) -> str:
    """What an empty draft starts from: the scenario's section headings."""
    return core.outline(spec.sections, spec.recommendations_section)


def submit_essay(session: Session, user: m.User, assignment_id: int, body: str, *,
                 now: datetime | None = None) -> Receipt:
    assignment, _ = learner_assignment(session, user, assignment_id)
    body = _check_body(body)
    late = require_submission_open(session, assignment, user, _now(now))
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
    warnings: tuple[str, ...] = ()
    problem = recommendations_message(body, spec)
    if problem and spec.recommendations_check != "warn":
        raise Invalid(problem, {"body": ["recommendations section"]}, section=spec.recommendations_section)
    if problem:
        warnings = (problem,)
    return _store(session, user, assignment, body, _now(now), late=late, warnings=warnings)


def _store(session: Session, user: m.User, assignment: m.Assignment, body: str, at: datetime, *,
           late: bool = False, auto_submitted: bool = False, warnings: tuple[str, ...] = (), **noted) -> Receipt:
    """The one way a cadre's essay is stored: exact body and hash, examiners allocated, similarity queued."""
    previous = (select(func.coalesce(func.max(m.Essay.version), 0)).where(
        m.Essay.assignment_id == assignment.id, m.Essay.user_id == user.id, m.Essay.kind == "essay"))
    if assignment.grades_released_at is not None and session.scalar(previous):
        raise Conflict("Điểm đã được công bố; không thể nộp lại bài")
    # the version is worked out by the INSERT itself (and read back with the id): one round trip, not two
    essay = session.scalars(insert(m.Essay).values(
        assignment_id=assignment.id, user_id=user.id, kind="essay", version=previous.scalar_subquery() + 1,
        body=body, sha256=core.sha256(body), words=core.count_words(body), submitted_at=at, late=late,
        auto_submitted=auto_submitted).returning(m.Essay)).one()
    allocation.open_submission(session, essay)
    details = {"sha256": essay.sha256, "version": essay.version, **noted}
    if late:
        details["late"] = True
    if warnings:
        details["warnings"] = list(warnings)
    audit.record(session, None if auto_submitted else user.id,
                 "essay.auto_submit" if auto_submitted else "essay.submit", "essay", essay.id, **details)
    similarity.request_check(session, essay, new=True)   # its job's INSERT flushes what the others added
    session.flush()
    return receipt_of(essay, warnings)


def auto_submit_draft(session: Session, draft: m.EssayDraft, assignment: m.Assignment, at: datetime) -> Receipt:
    """Submit a draft left at the deadline for its author, exactly as saved: the length rules and the
    recommendations check are not applied (a deadline is not the moment to refuse), only noted."""
    spec = scenario_data(assignment.scenario_version).essay
    author = session.get(m.User, draft.user_id)
    assert author is not None  # a draft's user_id is a foreign key
    check = core.check_length(draft.body, spec.min_words if spec else 0, spec.max_words if spec else None)
    noted: dict[str, Any] = {"draft_saved_at": draft.saved_at.isoformat() if draft.saved_at else None,
                             "words": check.words, "too_short": check.too_short, "too_long": check.too_long,
                             "min_words": check.min_words, "max_words": check.max_words}
    problem = recommendations_message(draft.body, spec) if spec else None
    if problem:
        noted["recommendations"] = "missing" if problem == MISSING_RECOMMENDATIONS else "empty"
    return _store(session, author, assignment, draft.body, at, auto_submitted=True, **noted)


@dataclass(frozen=True)
class EssayWindow:
    """Where one cadre's essay stands against the clock (their extension included)."""
    state: str                  # open | late (accepted, flagged) | closed | not_open
    opens_at: datetime | None
    closes_at: datetime | None
    extended: bool
    late_policy: str

    @property
    def writable(self) -> bool:
        return self.state in ("open", "late")


def essay_window(session: Session, user: m.User, assignment_id: int, now: datetime | None = None) -> EssayWindow:
    assignment, _ = learner_assignment(session, user, assignment_id)
    shown = window_for(session, assignment, user)
    return EssayWindow(submission_state(session, assignment, user, _now(now)), shown.opens_at, shown.closes_at,
                       shown.extended, assignment.late_policy)


def has_content(body: str) -> bool:
    """A draft worth keeping or submitting: words beyond the headings it started from."""
    return core.content_words(body) > 0


@dataclass(frozen=True)
class UnsubmittedDraft:
    user_id: int
    username: str
    name: str
    words: int
    saved_at: datetime


def never_submitted():
    """The condition on EssayDraft: its author has submitted no essay for its assignment."""
    return ~select(m.Essay.id).where(m.Essay.assignment_id == m.EssayDraft.assignment_id,
                                     m.Essay.user_id == m.EssayDraft.user_id, m.Essay.kind == "essay").exists()


def unsubmitted_drafts(session: Session, actor: m.User, assignment_id: int) -> list[UnsubmittedDraft]:
    """For the lecturer: cadres who wrote a draft but never submitted it."""
    policy.require(actor, "draft.read_others")
    rows = session.execute(select(m.EssayDraft, m.User).join(m.User, m.User.id == m.EssayDraft.user_id)
                           .where(m.EssayDraft.assignment_id == assignment_id, never_submitted())
                           .order_by(m.User.display_name, m.User.username)).all()
    return [UnsubmittedDraft(user.id, user.username, user.display_name, core.count_words(draft.body),
                             draft.saved_at) for draft, user in rows if has_content(draft.body)]


def draft_for_staff(session: Session, actor: m.User, assignment_id: int,
                    user_id: int) -> tuple[PersonView, DraftView]:
    """A cadre's draft as last saved, read by a lecturer (read-only)."""
    policy.require(actor, "draft.read_others")
    get_assignment(session, assignment_id)
    draft = session.scalar(select(m.EssayDraft).where(m.EssayDraft.assignment_id == assignment_id,
                                                      m.EssayDraft.user_id == user_id))
    if draft is None:
        raise NotFound("Học viên này không có bản nháp")
    author = session.get(m.User, user_id)
    assert author is not None  # a draft's user_id is a foreign key
    return person_view(author), DraftView(draft.body, draft.saved_at, core.count_words(draft.body))


def _latest_row(session: Session, user_id: int, assignment_id: int) -> m.Essay | None:
    return session.scalar(select(m.Essay).where(m.Essay.assignment_id == assignment_id, m.Essay.user_id == user_id,
                                                m.Essay.kind == "essay")
                          .order_by(m.Essay.version.desc()).limit(1))


def latest_essay(session: Session, user: m.User | PersonView, assignment_id: int) -> EssayView | None:
    """The person's latest essay for the assignment (the caller has checked who may read it)."""
    essay = _latest_row(session, user.id, assignment_id)
    return essay_view(essay) if essay is not None else None


def readable_essay(session: Session, user: m.User, essay_id: int) -> tuple[EssayView, bool]:
    """The essay and whether the reader may see who wrote it (then it carries its ``author``).

    Its author and lecturers see everything; an examiner sees only essays
    given to them to mark, and never the author's identity (blind marking).
    """
    essay = session.get(m.Essay, essay_id, options=[joinedload(m.Essay.author)])
    if essay is None:
        raise NotFound("Không tìm thấy bài thu hoạch")
    policy.require(user, "essay.read", essay)
    named = policy.allowed(user, "essay.read_author", essay)
    return essay_view(essay, person_view(essay.author) if named else None), named


def receipt_of(essay: m.Essay | EssayView, warnings: tuple[str, ...] = ()) -> Receipt:
    return Receipt(essay.id, essay.assignment_id, essay.version, essay.submitted_at, essay.sha256, essay.words,
                   bool(essay.late), bool(essay.auto_submitted), warnings)


def released_mark(session: Session, user: m.User, assignment_id: int) -> float | None:
    """The final mark of the person's latest essay once it is released to them (blind both ways)."""
    learner_assignment(session, user, assignment_id)
    essay = _latest_row(session, user.id, assignment_id)
    if essay is None:
        return None
    result = session.scalar(select(m.EssayResult).where(m.EssayResult.essay_id == essay.id))
    if result is None or result.status != "final" or result.released_at is None:
        return None
    return result.final


def latest_receipt(session: Session, user: m.User, assignment_id: int) -> Receipt | None:
    essay = _latest_row(session, user.id, assignment_id)
    return receipt_of(essay) if essay is not None else None


def progress_counts(session: Session, assignment_id: int) -> tuple[int, int]:
    """Cadres with a draft, cadres who submitted (grouped queries)."""
    drafts = session.scalar(select(func.count(m.EssayDraft.id)).where(m.EssayDraft.assignment_id == assignment_id))
    submitted = session.scalar(select(func.count(func.distinct(m.Essay.user_id))).where(
        m.Essay.assignment_id == assignment_id, m.Essay.kind == "essay"))
    return drafts or 0, submitted or 0


def export_rows(session: Session, assignment_id: int):
    """Every submission's receipt (never the text: the essays ZIP has it), streamed."""
    query = (select(m.User.username, m.User.display_name, m.Essay.version, m.Essay.submitted_at, m.Essay.words,
                    m.Essay.sha256, m.Essay.late)
             .join(m.User, m.User.id == m.Essay.user_id)
             .where(m.Essay.assignment_id == assignment_id, m.Essay.kind == "essay")
             .order_by(m.Essay.user_id, m.Essay.version).execution_options(yield_per=1000))
    for username, name, version, submitted, words, digest_, late in session.execute(query):
        yield username, name, version, submitted.isoformat(), words, digest_, "x" if late else ""
