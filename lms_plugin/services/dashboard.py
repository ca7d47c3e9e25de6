"""What a cadre sees at a glance: their assignments, deadlines and progress; the case's files.

Read-only views built from the other use cases' tables, so the dashboard and
an assignment's overview show the same progress marks.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.scenarios import Scenario as ScenarioData
from ..store import models as m
from ..units import registry
from . import policy
from .cohorts import Window, assignments_for, get_assignment, learner_assignment, window_for
from .content import AttachmentView, attachment_view, scenario_data
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
    # every unit type that applies, (type id, title msgid), built-ins first: hosts give each a tab
    units: tuple[tuple[str, str], ...] = ()


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
        min_words=spec.min_words if spec else 0, max_words=spec.max_words if spec else None,
        units=tuple((u.type_id, u.title) for u in registry.units_for(scenario)))


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


def attachment(session: Session, user: m.User, assignment_id: int, position: int) -> AttachmentView:
    """A file of the assignment's scenario: for the cohort's members and for lecturers."""
    assignment = get_assignment(session, assignment_id)
    policy.require(user, "assignment.read", assignment)
    found = session.scalar(select(m.ScenarioAttachment).where(
        m.ScenarioAttachment.version_id == assignment.scenario_version_id, m.ScenarioAttachment.position == position))
    if found is None:
        raise NotFound("Không tìm thấy tệp đính kèm")
    return attachment_view(found)


def learner_scenario(session: Session, user: m.User, assignment_id: int) -> ScenarioData:
    """The scenario version this cadre's assignment uses (a member of its cohort, else NotFound)."""
    assignment, _member = learner_assignment(session, user, assignment_id)
    return scenario_data(assignment.scenario_version)


def learner_attachments(session: Session, user: m.User, assignment_id: int) -> list[AttachmentView]:
    """The files of the scenario version this cadre's assignment uses, in their order."""
    assignment, _member = learner_assignment(session, user, assignment_id)
    return [attachment_view(a) for a in assignment.scenario_version.attachments]


@dataclass(frozen=True)
class ScenarioRef:
    id: str                         # the scenario's id (slug)
    title: str
    topic: str
    version: int


@dataclass(frozen=True)
class GroupRef:
    id: int
    name: str


@dataclass(frozen=True)
class LearnerAssignment:
    """One of a cadre's assignments as the API lists them, in their own window (an extension counts)."""
    id: int
    scenario: ScenarioRef
    group: GroupRef | None
    opens_at: datetime | None
    closes_at: datetime | None
    state: str                      # not_open | open | closed
    grades_released: bool


def learner_assignments(session: Session, user: m.User, now: datetime | None = None) -> list[LearnerAssignment]:
    """The cadre's assignments, earliest deadline first: one query for them, one for their extensions."""
    now = now or datetime.now(timezone.utc)
    rows = session.execute(
        select(m.Assignment, m.Scenario.slug, m.ScenarioVersion.title, m.ScenarioVersion.topic,
               m.ScenarioVersion.number, m.Group.id, m.Group.name)
        .join(m.Membership, m.Membership.cohort_id == m.Assignment.cohort_id)
        .join(m.ScenarioVersion, m.ScenarioVersion.id == m.Assignment.scenario_version_id)
        .join(m.Scenario, m.Scenario.id == m.ScenarioVersion.scenario_id)
        .outerjoin(m.Group, m.Group.id == m.Membership.group_id)
        .where(m.Membership.user_id == user.id).order_by(m.Assignment.closes_at, m.Assignment.id)).all()
    extended = dict(session.execute(
        select(m.AssignmentExtension.assignment_id, m.AssignmentExtension.closes_at)
        .where(m.AssignmentExtension.user_id == user.id,
               m.AssignmentExtension.assignment_id.in_([row[0].id for row in rows]))).all()) if rows else {}
    out = []
    for assignment, slug, title, topic, number, group_id, group_name in rows:
        shown = Window(assignment.opens_at, assignment.closes_at)
        later = extended.get(assignment.id)        # as window_for: an extension moves a deadline later, never earlier
        if later is not None and shown.closes_at is not None and later > shown.closes_at:
            shown = Window(shown.opens_at, later, extended=True)
        out.append(LearnerAssignment(
            assignment.id, ScenarioRef(slug, title, topic, number),
            GroupRef(group_id, group_name) if group_id is not None else None,
            shown.opens_at, shown.closes_at, shown.state(now), assignment.grades_released_at is not None))
    return out
