"""Read-only listings for the organiser's and lecturer's pages: cohorts, groups, people, assignments.

Each is a list of views (frozen dataclasses) built in a fixed number of queries, whatever its length."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.courses import Topic
from ..store import models as m
from . import policy
from .cohorts import (
    AssignmentView,
    CohortView,
    GroupView,
    assignment_views,
    cohort_view_of,
    get_cohort,
    group_view,
)
from .content import course_data
from .people import PERSON_COLUMNS, PersonView, person_from_columns


def _require_staff(user: m.User) -> None:
    policy.require(user, "directory.read")


@dataclass(frozen=True)
class CohortSummary:
    id: int
    name: str
    course: str
    groups: int
    members: int
    assignments: int


@dataclass(frozen=True)
class CourseView:
    id: int
    slug: str
    title: str
    topics: tuple[Topic, ...]


def courses(session: Session) -> list[CourseView]:
    return [CourseView(c.id, c.slug, c.title, course_data(c).topics)
            for c in session.scalars(select(m.Course).order_by(m.Course.id))]


def rubric_slugs(session: Session) -> list[str]:
    return list(session.scalars(select(m.Rubric.slug).order_by(m.Rubric.slug)))


def cohort_summaries(session: Session, user: m.User) -> list[CohortSummary]:
    _require_staff(user)
    counts = {}
    for model in (m.Group, m.Membership, m.Assignment):
        counts[model] = dict(session.execute(select(model.cohort_id, func.count()).group_by(model.cohort_id)).all())
    return [CohortSummary(c.id, c.name, c.course.title, counts[m.Group].get(c.id, 0),
                          counts[m.Membership].get(c.id, 0), counts[m.Assignment].get(c.id, 0))
            for c in session.scalars(select(m.Cohort).order_by(m.Cohort.created_at.desc(), m.Cohort.id.desc()))]


def cohorts_of_course(session: Session, course_id: int) -> list[CohortView]:
    return [CohortView(c.id, c.name, c.course_id, title, c.starts_at, c.ends_at) for c, title in session.execute(
        select(m.Cohort, m.Course.title).join(m.Course, m.Course.id == m.Cohort.course_id)
        .where(m.Cohort.course_id == course_id).order_by(m.Cohort.name))]


@dataclass(frozen=True)
class GroupMembers:
    group: GroupView | None
    members: tuple[PersonView, ...]


def cohort_groups(session: Session, user: m.User, cohort_id: int) -> tuple[CohortView, list[GroupMembers]]:
    _require_staff(user)
    cohort = get_cohort(session, cohort_id)
    rows = session.execute(select(*PERSON_COLUMNS, m.Membership.group_id)
                           .join(m.Membership, m.Membership.user_id == m.User.id)
                           .where(m.Membership.cohort_id == cohort.id)
                           .order_by(m.User.display_name, m.User.username))
    by_group: dict[int | None, list[PersonView]] = {}
    for row in rows:
        by_group.setdefault(row[-1], []).append(person_from_columns(row))
    out = [GroupMembers(group_view(g), tuple(by_group.get(g.id, ())))
           for g in sorted(cohort.groups, key=lambda g: g.name)]
    if by_group.get(None):
        out.append(GroupMembers(None, tuple(by_group[None])))
    return cohort_view_of(cohort), out


def accounts(session: Session, user: m.User, role: str | None = None) -> list[PersonView]:
    _require_staff(user)
    query = select(*PERSON_COLUMNS).order_by(m.User.role, m.User.username)
    if role:
        query = query.where(m.User.role == role)
    return [person_from_columns(row) for row in session.execute(query)]


def assignments(session: Session, user: m.User, cohort_id: int | None = None) -> list[AssignmentView]:
    _require_staff(user)
    where = [m.Assignment.cohort_id == cohort_id] if cohort_id is not None else []
    return assignment_views(session, *where, order_by=(m.Cohort.name, m.Assignment.id))


def assignments_of_scenario(session: Session, scenario_id: int) -> list[AssignmentView]:
    return assignment_views(session, m.ScenarioVersion.scenario_id == scenario_id)


def examiners_of(session: Session, assignment_id: int) -> list[PersonView]:
    return [person_from_columns(row) for row in session.execute(
        select(*PERSON_COLUMNS).join(m.AssignmentExaminer, m.AssignmentExaminer.examiner_id == m.User.id)
        .where(m.AssignmentExaminer.assignment_id == assignment_id).order_by(m.User.username))]
