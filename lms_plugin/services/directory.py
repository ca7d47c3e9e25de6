"""Read-only listings for the organiser's and lecturer's pages: cohorts, groups, people, assignments."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..store import models as m
from . import policy
from .cohorts import get_cohort


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


def courses(session: Session) -> list[m.Course]:
    return list(session.scalars(select(m.Course).order_by(m.Course.id)))


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


def cohorts_of_course(session: Session, course_id: int) -> list[m.Cohort]:
    return list(session.scalars(select(m.Cohort).where(m.Cohort.course_id == course_id).order_by(m.Cohort.name)))


@dataclass(frozen=True)
class GroupMembers:
    group: m.Group | None
    members: tuple[m.User, ...]


def cohort_groups(session: Session, user: m.User, cohort_id: int) -> tuple[m.Cohort, list[GroupMembers]]:
    _require_staff(user)
    cohort = get_cohort(session, cohort_id)
    rows = session.execute(select(m.Membership.group_id, m.User).join(m.User, m.User.id == m.Membership.user_id)
                           .where(m.Membership.cohort_id == cohort.id)
                           .order_by(m.User.display_name, m.User.username)).all()
    by_group: dict[int | None, list[m.User]] = {}
    for group_id, person in rows:
        by_group.setdefault(group_id, []).append(person)
    out = [GroupMembers(g, tuple(by_group.get(g.id, ()))) for g in sorted(cohort.groups, key=lambda g: g.name)]
    if by_group.get(None):
        out.append(GroupMembers(None, tuple(by_group[None])))
    return cohort, out


def accounts(session: Session, user: m.User, role: str | None = None) -> list[m.User]:
    _require_staff(user)
    query = select(m.User).order_by(m.User.role, m.User.username)
    if role:
        query = query.where(m.User.role == role)
    return list(session.scalars(query))


def assignments(session: Session, user: m.User, cohort_id: int | None = None) -> list[m.Assignment]:
    _require_staff(user)
    query = select(m.Assignment).join(m.Cohort).order_by(m.Cohort.name, m.Assignment.id)
    if cohort_id is not None:
        query = query.where(m.Assignment.cohort_id == cohort_id)
    return list(session.scalars(query))


def assignments_of_scenario(session: Session, scenario_id: int) -> list[m.Assignment]:
    return list(session.scalars(select(m.Assignment).join(m.ScenarioVersion)
                                .where(m.ScenarioVersion.scenario_id == scenario_id).order_by(m.Assignment.id)))


def examiners_of(session: Session, assignment_id: int) -> list[m.User]:
    return list(session.scalars(select(m.User).join(m.AssignmentExaminer, m.AssignmentExaminer.examiner_id == m.User.id)
                                .where(m.AssignmentExaminer.assignment_id == assignment_id).order_by(m.User.username)))
