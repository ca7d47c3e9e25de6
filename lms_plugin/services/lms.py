"""Open edX learners, course runs and grades mapped onto CaseLab (used by the XBlocks).

* An LMS learner is the CaseLab cadre whose ``external_id`` is their anonymous
  student id (``accounts.learner_for_external_id``), created on first sight.
* An LMS course run is one CaseLab cohort per CaseLab course it uses, named
  ``"<LMS course id> · <CaseLab course id>"``, created on first use.
* A scenario in that course run is one assignment per (cohort, scenario
  version); without a version the first assignment of the scenario is reused,
  so a later import does not split the course run between two versions.
* A learner's group is their Open edX team when the LMS has one, else the group
  the console gave them in the cohort, else the cohort's default group.
* Examiners come from the console (or the ``EXAMINERS`` setting for new
  assignments); essay marks are published back to the LMS once final.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.rubrics import Rubric as RubricData
from ..core.scenarios import Scenario as ScenarioData
from ..store import models as m
from . import accounts, cohorts, policy
from .cohorts import AssignmentView, GroupView, assignment_view_of, group_view
from .content import (
    AttachmentView,
    attachment_view,
    essay_rubric as _essay_rubric,
    latest_scenario_versions,
    scenario_data,
)
from .errors import NotFound

DEFAULT_GROUP = "Nhóm chung"
MAX_COHORT_NAME = 200


@dataclass(frozen=True)
class Placement:
    """Where an LMS learner works on one scenario. ``user`` is the signed-in learner's handle: the blocks pass
    it back to services as the actor."""
    user: m.User
    assignment: AssignmentView
    scenario: ScenarioData
    group: GroupView


def _version_row(session: Session, slug: str, number: int | None = None) -> m.ScenarioVersion:
    """The version ``number`` of a scenario, or its latest."""
    scenario = session.scalar(select(m.Scenario).where(m.Scenario.slug == (slug or "")))
    if scenario is None or not scenario.versions:
        raise NotFound("Không có tình huống '%(id)s'", id=slug or "")
    if number is None:
        return scenario.versions[-1]
    chosen = next((v for v in scenario.versions if v.number == number), None)
    if chosen is None:
        raise NotFound("Tình huống '%(id)s' không có phiên bản %(version)s", id=slug, version=number)
    return chosen


def scenario(session: Session, slug: str, number: int | None = None) -> ScenarioData:
    """The content of version ``number`` of a scenario, or of its latest."""
    return scenario_data(_version_row(session, slug, number))


def scenario_choices(session: Session) -> list[dict[str, Any]]:
    """Every scenario in the store, latest title first, for the Studio editor."""
    return [{"id": v.scenario.slug, "title": v.title, "topic": v.topic, "latest": v.number,
             "data": scenario_data(v)} for v in latest_scenario_versions(session)]


def cohort_name(lms_course_id: str, course_slug: str) -> str:
    name = f"{lms_course_id} · {course_slug}"
    if len(name) <= MAX_COHORT_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return name[:MAX_COHORT_NAME - 13] + "~" + digest


def course_run_cohort(session: Session, lms_course_id: str, course: m.Course) -> m.Cohort:
    name = cohort_name(lms_course_id, course.slug)
    cohort = session.scalar(select(m.Cohort).where(m.Cohort.name == name))
    return cohort or cohorts.create_cohort(session, name, course.slug)


def course_run_assignment(session: Session, cohort: m.Cohort, slug: str, number: int | None = None,
                          examiners: Sequence[str] = ()) -> m.Assignment:
    """The cohort's assignment of the scenario (the given version, else the one already in use)."""
    query = (select(m.Assignment).join(m.ScenarioVersion, m.ScenarioVersion.id == m.Assignment.scenario_version_id)
             .join(m.Scenario, m.Scenario.id == m.ScenarioVersion.scenario_id)
             .where(m.Assignment.cohort_id == cohort.id, m.Scenario.slug == slug))
    if number is not None:
        query = query.where(m.ScenarioVersion.number == number)
    found = session.scalar(query.order_by(m.Assignment.id).limit(1))
    if found is not None:
        return found
    pool = [u for u in (session.scalar(select(m.User).where(m.User.username == name)) for name in examiners)
            if u is not None and policy.allowed(u, "marking.named_examiner")]
    return cohorts.assign_scenario(session, cohort, slug, version=number, examiners=pool)


def place_learner(session: Session, *, external_id: str, display_name: str, lms_course_id: str, slug: str,
                  version: int | None = None, team: str | None = None, examiners: Sequence[str] = ()) -> Placement:
    """The learner, their assignment of the scenario and their group, created on first use."""
    chosen = _version_row(session, slug, version)
    user = accounts.learner_for_external_id(session, external_id, display_name)
    cohort = course_run_cohort(session, lms_course_id, chosen.scenario.course)
    assignment = course_run_assignment(session, cohort, slug, version, examiners)
    member = cohorts.membership(session, user.id, cohort.id)
    group = member.group if member is not None else None
    if team:
        group = cohorts.group_named(session, cohort, team[:MAX_COHORT_NAME])
    elif group is None:
        group = cohorts.group_named(session, cohort, DEFAULT_GROUP)
    if member is None or member.group_id != group.id:
        cohorts.add_member(session, cohort, user, group)
    return Placement(user, assignment_view_of(assignment), scenario_data(assignment.scenario_version),
                     group_view(group))


def attachments(session: Session, assignment_id: int) -> list[AttachmentView]:
    """The files of the scenario version the assignment uses, in their order."""
    assignment = cohorts.get_assignment(session, assignment_id)
    return [attachment_view(a) for a in assignment.scenario_version.attachments]


def essay_rubric(session: Session, assignment_id: int) -> RubricData:
    """The rubric the assignment's essays are marked with."""
    return _essay_rubric(cohorts.get_assignment(session, assignment_id))


def _essay_result(session: Session, essay: m.Essay | None) -> m.EssayResult | None:
    if essay is None:
        return None
    return session.scalar(select(m.EssayResult).where(m.EssayResult.essay_id == essay.id))


@dataclass(frozen=True)
class GradeToPublish:
    essay_id: int
    final: float
    scale: float                    # the essay rubric's scale: the LMS receives final / scale of its own maximum


def grade_to_publish(session: Session, user: m.User, assignment_id: int) -> GradeToPublish | None:
    """The final mark of the learner's latest essay when it is due to reach the LMS: final, released to its
    author, not yet sent.

    Blind both ways: an LMS gradebook shows marks to the learner, so nothing goes there before the release;
    a corrected or appealed mark clears ``published_at`` and is sent again.
    """
    essay = session.scalar(select(m.Essay).where(m.Essay.assignment_id == assignment_id, m.Essay.user_id == user.id,
                                                 m.Essay.kind == "essay").order_by(m.Essay.version.desc()).limit(1))
    result = _essay_result(session, essay)
    if result is None or result.status != "final" or result.final is None or result.published_at is not None:
        return None
    if result.released_at is None:
        return None
    assert essay is not None  # a result belongs to an essay
    return GradeToPublish(essay.id, result.final, _essay_rubric(essay.assignment).scale)


def mark_published(session: Session, essay_id: int, now: datetime | None = None) -> None:
    """The essay's final mark has reached the LMS."""
    result = session.scalar(select(m.EssayResult).where(m.EssayResult.essay_id == essay_id))
    if result is not None:
        result.published_at = now or datetime.now(timezone.utc)


def submissions_overview(session: Session, assignment_id: int) -> list[dict[str, Any]]:
    """Staff view: the latest essay of each learner with its mark and similarity report."""
    essays = session.scalars(select(m.Essay).where(m.Essay.assignment_id == assignment_id, m.Essay.kind == "essay")
                             .order_by(m.Essay.user_id, m.Essay.version.desc()))
    latest: dict[int, m.Essay] = {}
    for essay in essays:
        latest.setdefault(essay.user_id, essay)
    rows = []
    for essay in sorted(latest.values(), key=lambda e: e.submitted_at):
        result = _essay_result(session, essay)
        report = session.scalar(select(m.SimilarityReport).where(m.SimilarityReport.essay_id == essay.id))
        sources = sorted(report.sources or [], key=lambda s: -(s.get("share") or 0))[:3] if report else []
        rows.append({"essay_id": essay.id, "learner": essay.author.display_name, "version": essay.version,
                     "words": essay.words, "submitted_at": essay.submitted_at,
                     "status": result.status if result else "awaiting_marks",
                     "final": result.final if result else None,
                     "similarity_status": report.status if report else None,
                     "similarity": report.score if report else None,
                     "paraphrase": report.paraphrase if report else None,
                     "sources": [{"title": s.get("title", ""), "share": s.get("share")} for s in sources]})
    return rows
