"""Notifications: what a person should know, kept as rows (the bell) and mailed in batches.

``notify`` is called by the use cases inside their own transaction, so a
notification exists exactly when the event it tells of was committed.
The bell lists and counts them here; services/mailer.py sends one mail per
person per run; ``remind_deadlines`` runs from ``caselab tick``.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import CursorResult, Select, exists, func, or_, select, update
from sqlalchemy.orm import Session

from ..store import models as m
from .content import scenario_data
from .errors import N_, Invalid, NotFound

# kind -> the sentence under the bell and in the mail (a msgid; params fill it)
KINDS = {
    "to_mark": N_("Có bài mới cần bạn chấm"),
    "third_needed": N_("Một bài cần bạn chấm lần ba vì hai giám khảo chấm lệch nhau"),
    "needs_examiner": N_("Có bài đang chờ phân công giám khảo"),
    "deadline_soon": N_("Bài “%(title)s” hết hạn sau chưa đầy 24 giờ; bạn chưa nộp"),
    "released": N_("Đã có điểm bài “%(title)s”"),
    "corrected": N_("Điểm bài “%(title)s” đã được điều chỉnh"),
    "appeal_filed": N_("Có đơn phúc khảo mới cần phân công"),
    "appeal_outcome": N_("Đã có kết quả phúc khảo bài “%(title)s”"),
}


def notify(session: Session, user_ids: Iterable[int], kind: str, *, link: str = "", dedupe_key: str | None = None,
           new: bool = False, **params: Any) -> int:
    """Add one notification per person; with ``dedupe_key`` a person is told of the same event once. ``new``:
    the event has just happened (its key names a row written in this transaction), so nobody can have been told."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind: {kind}")
    ids = list(dict.fromkeys(user_ids))
    if dedupe_key is not None and ids and not new:
        told = set(session.scalars(select(m.Notification.user_id).where(
            m.Notification.user_id.in_(ids), m.Notification.dedupe_key == dedupe_key)))
        ids = [i for i in ids if i not in told]
    for user_id in ids:
        session.add(m.Notification(user_id=user_id, kind=kind, params=params, link=link, dedupe_key=dedupe_key))
    return len(ids)


# ---- the bell -------------------------------------------------------------------------------------------------

PAGE_SIZE = 50
# An address mail can go to: one @, a dotted domain, nothing that could break a header.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s.]+")


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    params: dict[str, Any]
    link: str
    created_at: datetime
    read: bool


@dataclass(frozen=True)
class NotificationPage:
    items: list[NotificationView]
    next_before: int | None     # pass as ``before`` for the older page; None on the last page


def message(kind: str, params: dict[str, Any], gettext: Callable[[str], str]) -> str:
    """The sentence a person reads, in the language ``gettext`` translates to (Flask's or a babel catalogue's)."""
    msgid = KINDS.get(kind)
    if msgid is None:
        return kind
    text = gettext(msgid)
    try:
        return text % params if "%(" in text else text
    except (KeyError, TypeError, ValueError):      # a catalogue entry that lost a placeholder
        return msgid % params if "%(" in msgid else msgid


def safe_link(link: str) -> str | None:
    """A stored link only when it stays on this site: a path starting with "/" (never "//" or "/\\")."""
    if not link or not link.startswith("/") or link.startswith(("//", "/\\")):
        return None
    if any(ch in link for ch in "\r\n\t\\"):
        return None
    return link


def _view(row: m.Notification) -> NotificationView:
    return NotificationView(row.id, row.kind, dict(row.params or {}), row.link, row.created_at, row.read_at is not None)


def list_notifications(session: Session, user: m.User, *, before: int | None = None,
                       limit: int = PAGE_SIZE) -> NotificationPage:
    """The person's notifications, newest first; ``before`` (an id) continues from the previous page."""
    limit = max(1, min(limit, PAGE_SIZE))
    query = select(m.Notification).where(m.Notification.user_id == user.id)
    if before is not None:
        query = query.where(m.Notification.id < before)
    rows = list(session.scalars(query.order_by(m.Notification.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return NotificationPage([_view(r) for r in rows], rows[-1].id if more else None)


def unread_count(session: Session, user_id: int) -> int:
    """One COUNT on ix_notifications_unread (user_id, read_at): the bell is on every page."""
    return session.scalar(select(func.count()).select_from(m.Notification).where(
        m.Notification.user_id == user_id, m.Notification.read_at.is_(None))) or 0


def mark_read(session: Session, user: m.User, notification_id: int, now: datetime | None = None) -> NotificationView:
    """Mark one of the person's own notifications read (someone else's is NotFound, never a hint it exists)."""
    row = session.get(m.Notification, notification_id)
    if row is None or row.user_id != user.id:
        raise NotFound("Không tìm thấy thông báo")
    if row.read_at is None:
        row.read_at = now or datetime.now(timezone.utc)
        session.flush()
    return _view(row)


def mark_all_read(session: Session, user: m.User, now: datetime | None = None) -> int:
    """Mark every unread notification of the person read; returns how many were unread."""
    result = session.execute(update(m.Notification).where(
        m.Notification.user_id == user.id, m.Notification.read_at.is_(None)).values(
        read_at=now or datetime.now(timezone.utc)).execution_options(synchronize_session=False))
    assert isinstance(result, CursorResult)  # an UPDATE answers with a cursor result, which counts rows
    return result.rowcount or 0


# ---- mail preferences ------------------------------------------------------------------------------------------

def valid_email(address: str) -> bool:
    return len(address) <= 254 and _EMAIL.fullmatch(address) is not None


def set_email_preferences(session: Session, user: m.User, email: str, enabled: bool) -> m.User:
    """The address notifications are mailed to, and whether they are mailed at all (empty: no mail)."""
    email = unicodedata.normalize("NFC", (email or "").strip())
    if email and not valid_email(email):
        raise Invalid("Địa chỉ email không hợp lệ", {"email": ["invalid"]})
    user.email, user.email_notifications = email, bool(enabled)
    session.flush()
    return user


# ---- deadline reminders ----------------------------------------------------------------------------------------

REMIND_BEFORE = timedelta(hours=24)
BATCH = 1000       # members per query and per insert: a cohort may hold 10,000 cadres


def deadline_key(assignment_id: int, closes_at: datetime) -> str:
    """One key per deadline: the store hands back aware UTC times, so one instant has one spelling."""
    return f"deadline:{assignment_id}:{closes_at.isoformat()}"


def remind_deadlines(session: Session, now: datetime | None = None) -> int:
    """Tell each cadre who has not submitted an essay that their deadline is less than 24 hours away, once.

    A member whose extension closes later than the assignment is reminded before the extension instead.
    Returns how many reminders were added.
    """
    now = now or datetime.now(timezone.utc)
    horizon = now + REMIND_BEFORE
    added = 0
    due = session.execute(select(m.Assignment.id, m.Assignment.closes_at).where(
        m.Assignment.closes_at.is_not(None), m.Assignment.closes_at > now, m.Assignment.closes_at <= horizon,
        or_(m.Assignment.opens_at.is_(None), m.Assignment.opens_at <= now))).all()
    for assignment_id, closes_at in due:
        assert closes_at is not None  # the query keeps assignments with a deadline
        added += _remind(session, assignment_id, closes_at, _members_due(assignment_id, closes_at))
    # extensions that end within the window, later than their assignment's own deadline
    extended = session.execute(
        select(m.AssignmentExtension.assignment_id, m.AssignmentExtension.closes_at, m.AssignmentExtension.user_id)
        .join(m.Assignment, m.Assignment.id == m.AssignmentExtension.assignment_id)
        .where(m.AssignmentExtension.closes_at > now, m.AssignmentExtension.closes_at <= horizon,
               m.Assignment.closes_at.is_not(None), m.AssignmentExtension.closes_at > m.Assignment.closes_at,
               or_(m.Assignment.opens_at.is_(None), m.Assignment.opens_at <= now))
        .order_by(m.AssignmentExtension.assignment_id, m.AssignmentExtension.closes_at)).all()
    by_deadline: dict[tuple[int, datetime], list[int]] = {}
    for assignment_id, closes_at, user_id in extended:
        by_deadline.setdefault((assignment_id, closes_at), []).append(user_id)
    for (assignment_id, closes_at), user_ids in by_deadline.items():
        query = _pending(assignment_id, closes_at).where(m.Membership.user_id.in_(user_ids))
        added += _remind(session, assignment_id, closes_at, query)
    return added


def _pending(assignment_id: int, closes_at: datetime) -> Select:
    """Cadres of the assignment's cohort with no essay for it and no reminder for this deadline yet."""
    key = deadline_key(assignment_id, closes_at)
    submitted = select(m.Essay.id).where(m.Essay.assignment_id == assignment_id, m.Essay.kind == "essay",
                                         m.Essay.user_id == m.Membership.user_id)
    told = select(m.Notification.id).where(m.Notification.user_id == m.Membership.user_id,
                                           m.Notification.dedupe_key == key)
    return (select(m.Membership.user_id)
            .join(m.Assignment, m.Assignment.cohort_id == m.Membership.cohort_id)
            .join(m.User, m.User.id == m.Membership.user_id)
            .where(m.Assignment.id == assignment_id, m.User.active.is_(True), m.User.role == "cadre",
                   ~exists(submitted), ~exists(told)))


def _members_due(assignment_id: int, closes_at: datetime) -> Select:
    """Members reminded before the assignment's own deadline: not those whose extension ends later."""
    later = select(m.AssignmentExtension.id).where(
        m.AssignmentExtension.assignment_id == assignment_id, m.AssignmentExtension.user_id == m.Membership.user_id,
        m.AssignmentExtension.closes_at > closes_at)
    return _pending(assignment_id, closes_at).where(~exists(later))


def _remind(session: Session, assignment_id: int, closes_at: datetime, query: Select) -> int:
    assignment = session.get(m.Assignment, assignment_id)
    assert assignment is not None  # the ids come from the query just run
    title = scenario_data(assignment.scenario_version).title
    key = deadline_key(assignment_id, closes_at)
    link = f"/cadre/assignments/{assignment_id}"
    added, after = 0, 0
    while True:     # keyset batches by user id: each query and insert handles at most BATCH members
        user_ids = list(session.scalars(query.where(m.Membership.user_id > after)
                                        .order_by(m.Membership.user_id).limit(BATCH)))
        if not user_ids:
            return added
        added += notify(session, user_ids, "deadline_soon", link=link, dedupe_key=key, title=title,
                        closes_at=closes_at.isoformat())
        session.flush()
        after = user_ids[-1]
