"""How far each group of an assignment has come: who started and finished the case, posted, submitted.

Counted with one query per kind of activity (not one per member), so a cohort
of a thousand cadres loads as fast as one of ten.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from ..store import models as m
from . import policy
from .cohorts import get_assignment


@dataclass(frozen=True)
class MemberProgress:
    user_id: int
    username: str
    name: str
    started: bool
    finished: bool
    posts: int
    essays: int            # submitted versions


@dataclass(frozen=True)
class GroupProgress:
    group_id: int | None   # None: members not yet placed in a group
    name: str
    commune: str
    members: tuple[MemberProgress, ...]
    posts: int
    hidden_posts: int
    report_submitted_at: datetime | None

    @property
    def started(self) -> int:
        return sum(p.started for p in self.members)

    @property
    def finished(self) -> int:
        return sum(p.finished for p in self.members)

    @property
    def essays_submitted(self) -> int:
        """Members with at least one submitted essay."""
        return sum(p.essays > 0 for p in self.members)

    @property
    def report_submitted(self) -> bool:
        return self.report_submitted_at is not None


def require_staff(user: m.User) -> None:
    policy.require(user, "progress.read")


def _per_user(session: Session, query) -> dict[int, int]:
    return {uid: n for uid, n in session.execute(query).all()}


def assignment_progress(session: Session, user: m.User, assignment_id: int) -> list[GroupProgress]:
    require_staff(user)
    assignment = get_assignment(session, assignment_id)
    members = session.execute(
        select(m.Membership.group_id, m.User).join(m.User, m.User.id == m.Membership.user_id)
        .where(m.Membership.cohort_id == assignment.cohort_id).order_by(m.User.display_name, m.User.username)).all()
    started = _per_user(session, select(m.Attempt.user_id, func.count()).where(
        m.Attempt.assignment_id == assignment_id).group_by(m.Attempt.user_id))
    finished = _per_user(session, select(m.Attempt.user_id, func.count()).where(
        m.Attempt.assignment_id == assignment_id, m.Attempt.finished_at.is_not(None)).group_by(m.Attempt.user_id))
    posts = _per_user(session, select(m.Post.author_id, func.count()).where(
        m.Post.assignment_id == assignment_id).group_by(m.Post.author_id))
    essays = _per_user(session, select(m.Essay.user_id, func.count()).where(   # a group report is no one's essay
        m.Essay.assignment_id == assignment_id, m.Essay.kind == "essay").group_by(m.Essay.user_id))
    post_counts = {(gid, hidden): n for gid, hidden, n in session.execute(
        select(m.Post.group_id, m.Post.hidden_at.is_not(None), func.count())
        .where(m.Post.assignment_id == assignment_id).group_by(m.Post.group_id, m.Post.hidden_at.is_not(None)))}
    reports = dict(session.execute(select(m.GroupReport.group_id, m.GroupReport.submitted_at)
                                   .where(m.GroupReport.assignment_id == assignment_id)).all())
    by_group: dict[int | None, list[MemberProgress]] = {}
    for group_id, person in members:
        by_group.setdefault(group_id, []).append(MemberProgress(
            person.id, person.username, person.display_name, person.id in started, person.id in finished,
            posts.get(person.id, 0), essays.get(person.id, 0)))
    groups = list(session.scalars(select(m.Group).where(m.Group.cohort_id == assignment.cohort_id)
                                  .order_by(m.Group.name)))
    out = [GroupProgress(g.id, g.name, g.commune, tuple(by_group.get(g.id, ())),
                         post_counts.get((g.id, False), 0) + post_counts.get((g.id, True), 0),
                         post_counts.get((g.id, True), 0), reports.get(g.id)) for g in groups]
    if by_group.get(None):
        out.append(GroupProgress(None, "", "", tuple(by_group[None]), 0, 0, None))
    return out


@dataclass(frozen=True)
class TrailEntry:
    at: datetime
    actor: str | None
    action: str
    target_type: str
    target_id: str
    details: dict


def assignment_trail(session: Session, user: m.User, assignment_id: int, limit: int = 500) -> list[TrailEntry]:
    """The audit events of an assignment and of its posts, reports and essays, newest first."""
    require_staff(user)
    get_assignment(session, assignment_id)

    def ids(column, where):
        return select(cast(column, String)).where(where)

    event = m.AuditEvent
    rows = session.execute(
        select(event, m.User.username).outerjoin(m.User, m.User.id == event.actor_id)
        .where(or_(
            and_(event.target_type == "assignment", event.target_id == str(assignment_id)),
            and_(event.target_type == "post", event.target_id.in_(
                ids(m.Post.id, m.Post.assignment_id == assignment_id))),
            and_(event.target_type == "group_report", event.target_id.in_(
                ids(m.GroupReport.id, m.GroupReport.assignment_id == assignment_id))),
            and_(event.target_type == "essay", event.target_id.in_(
                ids(m.Essay.id, m.Essay.assignment_id == assignment_id)))))
        .order_by(event.at.desc(), event.id.desc()).limit(limit)).all()
    return [TrailEntry(e.at, username, e.action, e.target_type, e.target_id, e.details or {}) for e, username in rows]
