"""Group discussion (threaded posts, edits kept, moderation) and the group's shared report."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..core.essays import count_words, sha256
from ..sanitize import clean_post, to_text
from ..store import models as m
from . import allocation, audit, grading, policy
from .cohorts import get_assignment, learner_assignment, require_open, require_open_for
from .errors import Conflict, Forbidden, Invalid, NotFound
from .limits import MAX_ID, bounded_text

MAX_POST_CHARS = 20_000
MAX_REPORT_CHARS = 200_000


@dataclass(frozen=True)
class PostView:
    id: int
    parent_id: int | None
    author: str
    author_id: int
    body: str                    # sanitised HTML; a hidden post's body is shown to staff only
    created_at: datetime
    edited_at: datetime | None
    hidden: bool
    hidden_reason: str | None
    edits: int


@dataclass(frozen=True)
class ReportView:
    assignment_id: int
    group_id: int
    body: str
    revision: int
    updated_at: datetime | None
    updated_by: str | None
    submitted_at: datetime | None
    submitted_by: str | None
    sha256: str | None


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _group_of(session: Session, user: m.User, assignment_id: int, group_id: int | None) -> tuple[m.Assignment, int]:
    """The group whose discussion ``user`` may read: their own; staff name one."""
    if policy.allowed(user, "discussion.read_any"):
        assignment = get_assignment(session, assignment_id)
        group = session.get(m.Group, group_id) if group_id else None
        if group is None or group.cohort_id != assignment.cohort_id:
            raise NotFound("Không có nhóm này trong lớp của bài được giao")
        return assignment, group.id
    assignment, member = learner_assignment(session, user, assignment_id)
    if member.group_id is None:
        raise Forbidden("Bạn chưa thuộc nhóm nào của lớp này")
    if group_id is not None and group_id != member.group_id:
        raise NotFound("Không tìm thấy nhóm")
    return assignment, member.group_id


def _view(post: m.Post, viewer: m.User) -> PostView:
    hidden = post.hidden_at is not None
    body = post.body if (not hidden or policy.allowed(viewer, "post.moderate")) else ""
    return PostView(post.id, post.parent_id, post.author.display_name, post.author_id, body, post.created_at,
                    post.edited_at, hidden, post.hidden_reason if hidden else None, len(post.edits))


def _clean_body(body: str, limit: int) -> str:
    if body is None or not isinstance(body, str):
        raise Invalid("Thiếu nội dung", {"body": ["required"]})
    if len(body) > limit:
        raise Invalid("Nội dung dài quá %(n)s ký tự", {"body": ["too long"]}, n=limit)
    clean = clean_post(body)
    if not to_text(clean).strip():
        raise Invalid("Nội dung đang trống", {"body": ["empty"]})
    return clean


def list_posts(session: Session, user: m.User, assignment_id: int, group_id: int | None = None,
               after_id: int = 0) -> list[PostView]:
    _, group = _group_of(session, user, assignment_id, group_id)
    posts = session.scalars(select(m.Post).where(m.Post.assignment_id == assignment_id, m.Post.group_id == group,
                                                 m.Post.id > after_id).order_by(m.Post.id)
                            .options(selectinload(m.Post.author), selectinload(m.Post.edits)))   # not one per post
    return [_view(p, user) for p in posts]


def post_message(session: Session, user: m.User, assignment_id: int, body: str, parent_id: int | None = None,
                 *, now: datetime | None = None) -> PostView:
    policy.require(user, "post.write")
    assignment, group = _group_of(session, user, assignment_id, None)
    require_open_for(session, assignment, user, _now(now))
    if parent_id is not None:
        parent = session.get(m.Post, parent_id) if 0 < parent_id <= MAX_ID else None
        if parent is None or parent.group_id != group or parent.assignment_id != assignment_id:
            raise Invalid("Bài bạn trả lời không thuộc cuộc thảo luận này", {"parent_id": ["unknown"]})
    post = m.Post(assignment_id=assignment_id, group_id=group, author_id=user.id, parent_id=parent_id,
                  body=_clean_body(body, MAX_POST_CHARS), created_at=_now(now))
    session.add(post)
    session.flush()
    return _view(post, user)


def edit_post(session: Session, user: m.User, post_id: int, body: str, *, now: datetime | None = None) -> PostView:
    post = session.get(m.Post, post_id)
    if post is None:
        raise NotFound("Không tìm thấy bài đăng của bạn")
    policy.require(user, "post.edit", post)
    if post.hidden_at is not None:
        raise Conflict("Không thể sửa bài đăng đã bị ẩn")
    require_open_for(session, post_assignment(session, post), user, _now(now))
    post.edits.append(m.PostEdit(body=post.body, replaced_at=_now(now)))
    post.body, post.edited_at = _clean_body(body, MAX_POST_CHARS), _now(now)
    session.flush()
    return _view(post, user)


def post_assignment(session: Session, post: m.Post) -> m.Assignment:
    return get_assignment(session, post.assignment_id)


def hide_post(session: Session, user: m.User, post_id: int, reason: str, *, now: datetime | None = None) -> PostView:
    policy.require(user, "post.moderate")
    post = session.get(m.Post, post_id)
    if post is None:
        raise NotFound("Không tìm thấy bài đăng")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Hãy nêu lý do ẩn bài đăng", {"reason": ["required"]})
    reason = bounded_text(reason, "reason", 500)
    post.hidden_at, post.hidden_by_id, post.hidden_reason = _now(now), user.id, reason
    audit.record(session, user.id, "post.hide", "post", post.id, reason=reason)
    return _view(post, user)


def _report(session: Session, assignment_id: int, group_id: int) -> m.GroupReport | None:
    return session.scalar(select(m.GroupReport).where(m.GroupReport.assignment_id == assignment_id,
                                                      m.GroupReport.group_id == group_id))


def _report_view(session: Session, report: m.GroupReport | None, assignment_id: int, group_id: int) -> ReportView:
    if report is None:
        return ReportView(assignment_id, group_id, "", 0, None, None, None, None, None)
    def name(uid: int | None) -> str | None:
        user = session.get(m.User, uid) if uid else None
        return user.display_name if user is not None else None

    return ReportView(assignment_id, group_id, report.body, report.revision, report.updated_at,
                      name(report.updated_by_id), report.submitted_at, name(report.submitted_by_id), report.sha256)


def get_group_report(session: Session, user: m.User, assignment_id: int, group_id: int | None = None) -> ReportView:
    _, group = _group_of(session, user, assignment_id, group_id)
    return _report_view(session, _report(session, assignment_id, group), assignment_id, group)


def save_group_report(session: Session, user: m.User, assignment_id: int, body: str, revision: int, *,
                      now: datetime | None = None) -> ReportView:
    """Co-editing: a save must name the revision it was based on, so nobody overwrites another's work unseen."""
    assignment, group = _group_of(session, user, assignment_id, None)
    require_open_for(session, assignment, user, _now(now))
    report = _report(session, assignment_id, group)
    if report is not None and report.submitted_at is not None:
        raise Conflict("Báo cáo nhóm đã được nộp")
    current = report.revision if report else 0
    if revision != current:
        raise Conflict("Một thành viên khác vừa lưu báo cáo (bản %(n)s); hãy tải lại và hợp nhất nội dung",
                       {"revision": [str(current)]}, n=current)
    if report is None:
        report = m.GroupReport(assignment_id=assignment_id, group_id=group)
        session.add(report)
    report.body = _clean_body(body, MAX_REPORT_CHARS)
    report.revision, report.updated_at, report.updated_by_id = current + 1, _now(now), user.id
    session.flush()
    return _report_view(session, report, assignment_id, group)


def submit_group_report(session: Session, user: m.User, assignment_id: int, *,
                        now: datetime | None = None) -> ReportView:
    assignment, group = _group_of(session, user, assignment_id, None)
    require_open(assignment, _now(now))
    report = _report(session, assignment_id, group)
    if report is None or not to_text(report.body).strip():
        raise Invalid("Báo cáo nhóm đang trống")
    if report.submitted_at is not None:
        raise Conflict("Báo cáo nhóm đã được nộp trước đó")
    report.submitted_at, report.submitted_by_id, report.sha256 = _now(now), user.id, sha256(report.body)
    audit.record(session, user.id, "group_report.submit", "group_report", report.id, sha256=report.sha256)
    _open_report_submission(session, user, assignment, group, report)
    session.flush()
    return _report_view(session, report, assignment_id, group)


def _open_report_submission(session: Session, user: m.User, assignment: m.Assignment, group_id: int,
                            report: m.GroupReport) -> m.Essay | None:
    """The submitted report becomes an immutable submission (kind "report") marked like an essay: two blind
    examiners from the pool, with the rubric the scenario names for the report. Without one it is not marked.

    A group submits once today (submitting locks the report); the version still counts the group's earlier
    submissions so a later resubmission rule adds a version and only the latest is marked for the record.
    """
    if assignment.report_rubric_version_id is None:
        return None
    previous = session.scalar(select(func.max(m.Essay.version)).where(
        m.Essay.assignment_id == assignment.id, m.Essay.kind == "report", m.Essay.group_id == group_id)) or 0
    essay = m.Essay(assignment_id=assignment.id, user_id=user.id, kind="report", group_id=group_id,
                    version=previous + 1, body=report.body, sha256=sha256(report.body),
                    words=count_words(to_text(report.body)), submitted_at=report.submitted_at)
    session.add(essay)
    session.flush()
    allocation.open_submission(session, essay)
    audit.record(session, user.id, "report.submit", "essay", essay.id, sha256=essay.sha256, version=essay.version,
                 group_id=group_id)
    return essay


def latest_report_submission(session: Session, assignment_id: int, group_id: int) -> m.Essay | None:
    return session.scalar(select(m.Essay).where(m.Essay.assignment_id == assignment_id, m.Essay.kind == "report",
                                                m.Essay.group_id == group_id)
                          .order_by(m.Essay.version.desc()).limit(1))


def report_grade(session: Session, user: m.User, assignment_id: int) -> grading.GradeReport | None:
    """The released mark of the group's report, as every member sees it; None until it is released."""
    _, group = _group_of(session, user, assignment_id, None)
    essay = latest_report_submission(session, assignment_id, group)
    if essay is None:
        return None
    try:
        return grading.grade_for_author(session, user, essay.id)
    except Forbidden:           # submitted, not released yet: blind until then
        return None


def thread_version(session: Session, user: m.User, assignment_id: int) -> str:
    """Changes whenever the person's group thread or report would look different (live refresh)."""
    _, group = _group_of(session, user, assignment_id, None)
    posts, last_edit, last_hide = session.execute(
        select(func.count(m.Post.id), func.max(m.Post.edited_at), func.max(m.Post.hidden_at))
        .where(m.Post.assignment_id == assignment_id, m.Post.group_id == group)).one()
    report = session.execute(select(m.GroupReport.revision, m.GroupReport.submitted_at).where(
        m.GroupReport.assignment_id == assignment_id, m.GroupReport.group_id == group)).first()
    return "|".join(str(x) for x in (group, posts, last_edit, last_hide, *(report or (0, None))))


def progress_counts(session: Session, assignment_id: int) -> tuple[int, int, int]:
    """Posts, groups that posted, group reports submitted (grouped queries)."""
    posts, groups = session.execute(select(func.count(m.Post.id), func.count(func.distinct(m.Post.group_id)))
                                    .where(m.Post.assignment_id == assignment_id)).one()
    reports = session.scalar(select(func.count(m.GroupReport.id)).where(
        m.GroupReport.assignment_id == assignment_id, m.GroupReport.submitted_at.is_not(None))) or 0
    return posts, groups, reports


def export_rows(session: Session, assignment_id: int):
    """Every post of the assignment as text, thread by thread, streamed."""
    query = (select(m.Group.name, m.User.username, m.User.display_name, m.Post.created_at, m.Post.parent_id,
                    m.Post.body, m.Post.hidden_at)
             .join(m.User, m.User.id == m.Post.author_id).join(m.Group, m.Group.id == m.Post.group_id)
             .where(m.Post.assignment_id == assignment_id).order_by(m.Post.group_id, m.Post.id)
             .execution_options(yield_per=1000))
    for group, username, name, created, parent, body, hidden in session.execute(query):
        yield group, username, name, created.isoformat(), parent or "", to_text(body), "x" if hidden else ""
