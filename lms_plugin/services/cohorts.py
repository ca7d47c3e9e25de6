"""Cohorts (one course run), groups by commune, members, and assignments of scenarios."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store import models as m
from .content import latest_rubric_version, scenario_data
from .errors import Conflict, Forbidden, Invalid, NotFound


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def create_cohort(session: Session, name: str, course_slug: str, *, starts_at: datetime | None = None,
                  ends_at: datetime | None = None) -> m.Cohort:
    course = session.scalar(select(m.Course).where(m.Course.slug == course_slug))
    if course is None:
        raise NotFound("Không có khóa học '%(id)s': hãy nhập tệp course.yaml trước", id=course_slug)
    if session.scalar(select(m.Cohort).where(m.Cohort.name == name)):
        raise Conflict("Lớp '%(name)s' đã tồn tại", {"name": ["taken"]}, name=name)
    cohort = m.Cohort(name=name, course_id=course.id, starts_at=starts_at, ends_at=ends_at)
    session.add(cohort)
    session.flush()
    return cohort


def get_cohort(session: Session, name_or_id: str | int) -> m.Cohort:
    query = select(m.Cohort).where(m.Cohort.id == int(name_or_id)) if str(name_or_id).isdigit() \
        else select(m.Cohort).where(m.Cohort.name == name_or_id)
    cohort = session.scalar(query)
    if cohort is None:
        raise NotFound("Không có lớp '%(name)s'", name=name_or_id)
    return cohort


def group_named(session: Session, cohort: m.Cohort, name: str, commune: str = "") -> m.Group:
    group = session.scalar(select(m.Group).where(m.Group.cohort_id == cohort.id, m.Group.name == name))
    if group is None:
        group = m.Group(cohort_id=cohort.id, name=name, commune=commune or name)
        session.add(group)
        session.flush()
    return group


def add_member(session: Session, cohort: m.Cohort, user: m.User, group: m.Group | None = None) -> m.Membership:
    if group is not None and group.cohort_id != cohort.id:
        raise Invalid("Nhóm này thuộc lớp khác")
    member = session.scalar(select(m.Membership).where(m.Membership.cohort_id == cohort.id,
                                                       m.Membership.user_id == user.id))
    if member is None:
        member = m.Membership(cohort_id=cohort.id, user_id=user.id)
        session.add(member)
    member.group_id = group.id if group else None
    session.flush()
    return member


def membership(session: Session, user_id: int, cohort_id: int) -> m.Membership | None:
    return session.scalar(select(m.Membership).where(m.Membership.cohort_id == cohort_id,
                                                     m.Membership.user_id == user_id))


def assign_scenario(session: Session, cohort: m.Cohort, scenario_slug: str, *,
                    opens_at: datetime | None = None, closes_at: datetime | None = None,
                    allow_retry: bool | None = None, version: int | None = None,
                    examiners: list[m.User] = ()) -> m.Assignment:
    scenario = session.scalar(select(m.Scenario).where(m.Scenario.slug == scenario_slug))
    if scenario is None or not scenario.versions:
        raise NotFound("Không có tình huống '%(id)s'", id=scenario_slug)
    if scenario.course_id != cohort.course_id:
        raise Invalid("Tình huống '%(id)s' thuộc khóa học khác với lớp '%(cohort)s'",
                      id=scenario_slug, cohort=cohort.name)
    chosen = scenario.versions[-1] if version is None else next(
        (v for v in scenario.versions if v.number == version), None)
    if chosen is None:
        raise NotFound("Tình huống '%(id)s' không có phiên bản %(version)s", id=scenario_slug, version=version)
    if opens_at and closes_at and closes_at <= opens_at:
        raise Invalid("Thời điểm đóng phải sau thời điểm mở", {"closes_at": ["before opening"]})
    if session.scalar(select(m.Assignment.id).where(m.Assignment.cohort_id == cohort.id,
                                                      m.Assignment.scenario_version_id == chosen.id)):
        raise Conflict("Phiên bản %(version)s của tình huống '%(id)s' đã được giao cho lớp '%(cohort)s'",
                       id=scenario_slug, version=chosen.number, cohort=cohort.name)
    data = scenario_data(chosen)
    rubric_versions = {}
    for key, spec in (("essay", data.essay), ("report", data.discussion)):
        if spec is not None and spec.rubric:
            rubric_versions[key] = latest_rubric_version(session, spec.rubric)
            if rubric_versions[key] is None:
                raise NotFound("Chưa có tiêu chí chấm '%(id)s': hãy nhập trước", id=spec.rubric)
    assignment = m.Assignment(
        cohort_id=cohort.id, scenario_version_id=chosen.id, opens_at=opens_at, closes_at=closes_at,
        allow_retry=data.allow_retry if allow_retry is None else allow_retry,
        essay_rubric_version=rubric_versions.get("essay"), report_rubric_version=rubric_versions.get("report"))
    session.add(assignment)
    session.flush()
    for examiner in examiners:
        add_examiner(session, assignment, examiner)
    return assignment


def add_examiner(session: Session, assignment: m.Assignment, examiner: m.User) -> None:
    """Put an examiner in the assignment's pool; rounds waiting for an examiner go to them at once."""
    if examiner.role != "examiner":
        raise Invalid("'%(name)s' không phải giám khảo", name=examiner.username)
    from .allocation import add_to_pool      # allocation reads assignments; this keeps the import one-way
    add_to_pool(session, None, assignment.id, examiner.id)


@dataclass(frozen=True)
class Window:
    opens_at: datetime | None
    closes_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.opens_at and now < self.opens_at:
            return "not_open"
        if self.closes_at and now >= self.closes_at:
            return "closed"
        return "open"


def window(assignment: m.Assignment) -> Window:
    return Window(_aware(assignment.opens_at), _aware(assignment.closes_at))


def get_assignment(session: Session, assignment_id: int) -> m.Assignment:
    assignment = session.get(m.Assignment, assignment_id)
    if assignment is None:
        raise NotFound("Không tìm thấy bài được giao")
    return assignment


def learner_assignment(session: Session, user: m.User, assignment_id: int) -> tuple[m.Assignment, m.Membership]:
    """The assignment if ``user`` is a member of its cohort; else NotFound (no hint that it exists)."""
    assignment = session.get(m.Assignment, assignment_id)
    member = assignment and membership(session, user.id, assignment.cohort_id)
    if assignment is None or member is None:
        raise NotFound("Không tìm thấy bài được giao")
    return assignment, member


def require_open(assignment: m.Assignment, now: datetime) -> None:
    state = window(assignment).state(now)
    if state == "not_open":
        raise Forbidden("Bài này chưa mở")
    if state == "closed":
        raise Forbidden("Bài này đã hết hạn")


def assignments_for(session: Session, user: m.User) -> list[tuple[m.Assignment, m.Membership]]:
    rows = session.execute(
        select(m.Assignment, m.Membership)
        .join(m.Membership, m.Membership.cohort_id == m.Assignment.cohort_id)
        .where(m.Membership.user_id == user.id).order_by(m.Assignment.closes_at, m.Assignment.id))
    return [(a, mem) for a, mem in rows]
