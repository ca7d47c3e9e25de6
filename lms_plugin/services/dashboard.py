"""What a cadre sees at a glance: their assignments, deadlines and progress; the case's files.

Read-only views built from the other use cases' tables, so the dashboard and
an assignment's overview show the same progress marks.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..store import models as m
from . import policy
from .cohorts import assignments_for, get_assignment, learner_assignment, window_for
from .content import scenario_data
from .errors import NotFound


@dataclass(frozen=True)
class AssignmentCard:
    assignment_id: int
    title: str
    summary: str
    topic: str
    state: str                      # not_open | open | closed
    opens_at: datetime | None
    closes_at: datetime | None
    group_name: str | None
    has_discussion: bool
    has_report: bool
    has_essay: bool
    case_started: bool
    case_finished: bool
    my_posts: int
    group_posts: int
    report_submitted: bool
    essay_id: int | None            # the latest submission, if any
    essay_submitted_at: datetime | None
    grades_released: bool
    min_words: int
    max_words: int | None


def _card(session: Session, user: m.User, assignment: m.Assignment, member: m.Membership,
          now: datetime) -> AssignmentCard:
    scenario = scenario_data(assignment.scenario_version)
    window_ = window_for(session, assignment, user)
    attempt = session.scalar(select(m.Attempt).where(m.Attempt.assignment_id == assignment.id,
                                                     m.Attempt.user_id == user.id)
                             .order_by(m.Attempt.number.desc()).limit(1))
    group_posts = my_posts = 0
    report = None
    if member.group_id is not None:
        counts = session.execute(
            select(m.Post.author_id, func.count()).where(m.Post.assignment_id == assignment.id,
                                                         m.Post.group_id == member.group_id)
            .group_by(m.Post.author_id)).all()
        group_posts = sum(n for _, n in counts)
        my_posts = sum(n for author, n in counts if author == user.id)
        report = session.scalar(select(m.GroupReport).where(m.GroupReport.assignment_id == assignment.id,
                                                            m.GroupReport.group_id == member.group_id))
    essay = session.scalar(select(m.Essay).where(m.Essay.assignment_id == assignment.id,
                                                 m.Essay.user_id == user.id, m.Essay.kind == "essay")
                           .order_by(m.Essay.version.desc()).limit(1))
    spec = scenario.essay
    return AssignmentCard(
        assignment_id=assignment.id, title=scenario.title, summary=scenario.summary, topic=str(scenario.topic),
        state=window_.state(now), opens_at=window_.opens_at, closes_at=window_.closes_at,
        group_name=member.group.name if member.group else None,
        has_discussion=scenario.discussion is not None,
        has_report=bool(scenario.discussion and scenario.discussion.group_report),
        has_essay=spec is not None,
        case_started=attempt is not None, case_finished=bool(attempt and attempt.finished_at),
        my_posts=my_posts, group_posts=group_posts,
        report_submitted=bool(report and report.submitted_at),
        essay_id=essay.id if essay else None, essay_submitted_at=essay.submitted_at if essay else None,
        grades_released=assignment.grades_released_at is not None,
        min_words=spec.min_words if spec else 0, max_words=spec.max_words if spec else None)


def assignment_cards(session: Session, user: m.User, now: datetime | None = None) -> list[AssignmentCard]:
    """Open work first, then what has not opened yet, then closed; earliest deadline first within each."""
    now = now or datetime.now(timezone.utc)
    cards = [_card(session, user, a, member, now) for a, member in assignments_for(session, user)]
    order = {"open": 0, "not_open": 1, "closed": 2}
    far = datetime(9999, 12, 31, tzinfo=timezone.utc)      # no deadline: last in its group
    return sorted(cards, key=lambda c: (order[c.state], c.closes_at or far, c.assignment_id))


def assignment_card(session: Session, user: m.User, assignment_id: int,
                    now: datetime | None = None) -> AssignmentCard:
    assignment, member = learner_assignment(session, user, assignment_id)
    return _card(session, user, assignment, member, now or datetime.now(timezone.utc))


def attachment(session: Session, user: m.User, assignment_id: int, position: int) -> m.ScenarioAttachment:
    """A file of the assignment's scenario: for the cohort's members and for lecturers."""
    assignment = get_assignment(session, assignment_id)
    policy.require(user, "assignment.read", assignment)
    found = next((a for a in assignment.scenario_version.attachments if a.position == position), None)
    if found is None:
        raise NotFound("Không tìm thấy tệp đính kèm")
    return found
