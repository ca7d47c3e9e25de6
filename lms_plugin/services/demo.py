"""A demo cohort to try every role: two communes, six cadres, a lecturer, two examiners.

Idempotent: running it again resets the demo passwords and adds only what is missing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store import models as m
from . import accounts, cohorts
from .content import latest_scenario_versions
from .errors import NotFound

COHORT = "Lớp trình diễn"
GROUPS = [("Xã Tân Hòa", "Tân Hòa"), ("Xã Bình An", "Bình An")]
PEOPLE = [
    ("lecturer1", "lecturer", "Giảng viên Nguyễn Thị Lan", None),
    ("examiner1", "examiner", "Giám khảo Trần Văn Minh", None),
    ("examiner2", "examiner", "Giám khảo Lê Thị Hoa", None),
    ("admin1", "admin", "Quản trị Phạm Quốc Huy", None),
    ("cadre1", "cadre", "Đặng Văn An", 0),
    ("cadre2", "cadre", "Hoàng Thị Bích", 0),
    ("cadre3", "cadre", "Vũ Đức Cường", 0),
    ("cadre4", "cadre", "Bùi Thị Dung", 1),
    ("cadre5", "cadre", "Đỗ Minh Đức", 1),
    ("cadre6", "cadre", "Ngô Thị Giang", 1),
]


@dataclass(frozen=True)
class DemoSummary:
    cohort: str
    usernames: tuple[str, ...]
    assignments: int


def seed_demo(session: Session, password: str, *, days_open: int = 30, now: datetime | None = None) -> DemoSummary:
    versions = latest_scenario_versions(session)
    if not versions:
        raise NotFound("Chưa có tình huống nào: hãy chạy 'caselab import scenarios rubrics' trước")
    course = versions[0].scenario.course
    cohort = session.scalar(select(m.Cohort).where(m.Cohort.name == COHORT)) or \
        cohorts.create_cohort(session, COHORT, course.slug)
    groups = [cohorts.group_named(session, cohort, name, commune) for name, commune in GROUPS]
    users = {}
    for username, role, name, group_index in PEOPLE:
        user = session.scalar(select(m.User).where(m.User.username == username))
        if user is None:
            user = accounts.create_user(session, username, role, password, display_name=name,
                                        province="Tỉnh Đông Hải", commune=GROUPS[group_index][1]
                                        if group_index is not None else "")
        else:
            accounts.set_password(user, password)
        users[username] = user
        if role == "cadre":
            assert group_index is not None  # every demo cadre has a group
            cohorts.add_member(session, cohort, user, groups[group_index])
    now = now or datetime.now(timezone.utc)
    assigned = {a.scenario_version.scenario_id for a in session.scalars(
        select(m.Assignment).where(m.Assignment.cohort_id == cohort.id))}
    examiners = [users["examiner1"], users["examiner2"]]
    count = len(assigned)
    for version in versions:
        if version.scenario.course_id != course.id or version.scenario_id in assigned:
            continue
        cohorts.assign_scenario(session, cohort, version.scenario.slug, opens_at=now - timedelta(hours=1),
                                closes_at=now + timedelta(days=days_open), examiners=examiners)
        count += 1
    return DemoSummary(cohort.name, tuple(users), count)
