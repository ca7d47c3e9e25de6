"""Content in the store: import a catalog (idempotent, versioned) and read it back.

A file whose bytes (and attachments) are unchanged imports as "unchanged"; a
changed file becomes a new version, and attempts and essays keep the version
they started on because assignments point at a version, never at the slug.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager

from ..core.courses import Course as CourseData
from ..core.rubrics import Rubric as RubricData
from ..core.scenarios import Scenario as ScenarioData
from ..core.tables import csv_rows
from ..schemas.content import CourseSchema
from ..schemas.files import load_document
from ..store import models as m
from .catalog import Catalog, LoadedRubric, LoadedScenario, display_name
from .errors import NotFound


@dataclass(frozen=True)
class Imported:
    kind: str        # course | rubric | scenario
    id: str
    version: int | None
    status: str      # new | updated | unchanged
    path: str


def _import_course(session: Session, loaded) -> Imported:
    course = loaded.course
    row = session.scalar(select(m.Course).where(m.Course.slug == course.id))
    topics = CourseSchema().dump(course)["topics"]
    status = "unchanged"
    if row is None:
        row = m.Course(slug=course.id)
        session.add(row)
        status = "new"
    elif row.source != loaded.source:
        status = "updated"
    row.title, row.description, row.topics, row.source = course.title, course.description, topics, loaded.source
    return Imported("course", course.id, None, status, display_name(loaded.path))


def _next_number(session: Session, column, owner_column, owner_id: int) -> int:
    return (session.scalar(select(func.max(column)).where(owner_column == owner_id)) or 0) + 1


def _import_rubric(session: Session, loaded: LoadedRubric) -> Imported:
    rubric = loaded.rubric
    row = session.scalar(select(m.Rubric).where(m.Rubric.slug == rubric.id))
    if row is None:
        row = m.Rubric(slug=rubric.id)
        session.add(row)
        session.flush()
    latest = row.versions[-1] if row.versions else None
    if latest is not None and latest.sha256 == loaded.sha256:
        return Imported("rubric", rubric.id, latest.number, "unchanged", display_name(loaded.path))
    number = _next_number(session, m.RubricVersion.number, m.RubricVersion.rubric_id, row.id)
    session.add(m.RubricVersion(rubric_id=row.id, number=number, title=rubric.title,
                                source=loaded.source, sha256=loaded.sha256))
    session.flush()
    session.refresh(row)
    return Imported("rubric", rubric.id, number, "new" if latest is None else "updated",
                    display_name(loaded.path))


def add_scenario_version(session: Session, loaded: LoadedScenario, actor_id: int | None = None) -> Imported:
    scenario = loaded.scenario
    course = session.scalar(select(m.Course).where(m.Course.slug == loaded.course.id))
    if course is None:
        raise LookupError(f"course '{loaded.course.id}' is not in the store")
    row = session.scalar(select(m.Scenario).where(m.Scenario.slug == scenario.id))
    if row is None:
        row = m.Scenario(slug=scenario.id, course_id=course.id)
        session.add(row)
        session.flush()
    latest = row.versions[-1] if row.versions else None
    if latest is not None and latest.sha256 == loaded.sha256:
        return Imported("scenario", scenario.id, latest.number, "unchanged", display_name(loaded.path))
    number = _next_number(session, m.ScenarioVersion.number, m.ScenarioVersion.scenario_id, row.id)
    version = m.ScenarioVersion(
        scenario_id=row.id, number=number, declared_version=scenario.version, topic=str(scenario.topic),
        title=scenario.title, source=loaded.source, sha256=loaded.sha256, created_by_id=actor_id)
    version.attachments = [
        m.ScenarioAttachment(position=i, file=a.file, title=a.title, media_type=a.media_type, content=a.content)
        for i, a in enumerate(loaded.attachments)]
    session.add(version)
    session.flush()
    session.refresh(row)
    return Imported("scenario", scenario.id, number, "new" if latest is None else "updated",
                    display_name(loaded.path))


def import_catalog(session: Session, catalog: Catalog, actor_id: int | None = None) -> list[Imported]:
    """Store every course, rubric and scenario of a valid catalog. The caller commits."""
    if not catalog.ok:
        raise ValueError("the catalog has errors; validate before importing")
    done = [_import_course(session, c) for c in catalog.courses]
    session.flush()
    done += [_import_rubric(session, r) for r in catalog.rubrics]
    done += [add_scenario_version(session, s, actor_id) for s in catalog.scenarios]
    return done


# Reading content back. Versions are immutable, so parsing is cached by content hash.

@lru_cache(maxsize=512)
def _parse(source: str, sha256: str, kind: str):
    return load_document(source.encode("utf-8"), f"{kind}:{sha256[:12]}", kind)[0]


def scenario_data(version: m.ScenarioVersion) -> ScenarioData:
    return _parse(version.source, version.sha256, "scenario")


def rubric_data(version: m.RubricVersion) -> RubricData:
    return _parse(version.source, version.sha256, "rubric")


@dataclass(frozen=True)
class AttachmentView:
    """A file of a scenario version, with its bytes (hosts send it, or show a CSV as a table)."""
    position: int
    file: str
    title: str
    media_type: str
    content: bytes


def attachment_view(attachment: m.ScenarioAttachment) -> AttachmentView:
    return AttachmentView(attachment.position, attachment.file, attachment.title, attachment.media_type,
                          attachment.content)


def attachment_table(attachment: m.ScenarioAttachment | AttachmentView,
                     max_rows: int | None = None) -> list[list[str]] | None:
    """A CSV attachment as rows to show inline (header first); None when it is not a readable CSV or,
    with ``max_rows``, a longer one (hosts offer it as a download)."""
    if not (attachment.media_type in ("text/csv", "application/csv") or attachment.file.lower().endswith(".csv")):
        return None
    return csv_rows(attachment.content, max_rows)


def course_data(course: m.Course) -> CourseData:
    return CourseSchema().load({"id": course.slug, "title": course.title,
                                "description": course.description, "topics": course.topics})


def latest_rubric_version(session: Session, slug: str) -> m.RubricVersion | None:
    return session.scalar(select(m.RubricVersion).join(m.Rubric).where(m.Rubric.slug == slug)
                          .order_by(m.RubricVersion.number.desc()).limit(1))


def latest_scenario_versions(session: Session) -> list[m.ScenarioVersion]:
    newest = (select(m.ScenarioVersion.scenario_id, func.max(m.ScenarioVersion.number).label("n"))
              .group_by(m.ScenarioVersion.scenario_id).subquery())
    return list(session.scalars(
        select(m.ScenarioVersion)
        .join(newest, (newest.c.scenario_id == m.ScenarioVersion.scenario_id)
              & (newest.c.n == m.ScenarioVersion.number))
        .join(m.Scenario).order_by(m.ScenarioVersion.topic, m.Scenario.slug)))


@dataclass(frozen=True)
class CatalogueEntry:
    """The latest version of one scenario, as the catalogues list it."""
    slug: str
    number: int                     # the latest version's number
    versions: int                   # how many versions the scenario has
    topic: str
    title: str
    summary: str
    course_id: int
    course_slug: str


def scenario_catalogue(session: Session) -> list[CatalogueEntry]:
    """Every scenario's latest version by topic then id, with its course (two queries in all)."""
    counts = dict(session.execute(select(m.ScenarioVersion.scenario_id, func.count())
                                  .group_by(m.ScenarioVersion.scenario_id)).all())
    newest = (select(m.ScenarioVersion.scenario_id, func.max(m.ScenarioVersion.number).label("n"))
              .group_by(m.ScenarioVersion.scenario_id).subquery())
    versions = session.scalars(
        select(m.ScenarioVersion)
        .join(newest, (newest.c.scenario_id == m.ScenarioVersion.scenario_id)
              & (newest.c.n == m.ScenarioVersion.number))
        .join(m.ScenarioVersion.scenario).join(m.Scenario.course)
        .options(contains_eager(m.ScenarioVersion.scenario).contains_eager(m.Scenario.course))
        .order_by(m.ScenarioVersion.topic, m.Scenario.slug))
    return [CatalogueEntry(v.scenario.slug, v.number, counts.get(v.scenario_id, 1), v.topic, v.title,
                           scenario_data(v).summary, v.scenario.course_id, v.scenario.course.slug)
            for v in versions]


def courses_of(session: Session, course_ids: list[int]) -> dict[int, CourseData]:
    """The courses with these ids, as their course.yaml describes them."""
    return {c.id: course_data(c) for c in session.scalars(select(m.Course).where(m.Course.id.in_(course_ids)))}


def essay_rubric(assignment: m.Assignment) -> RubricData:
    if assignment.essay_rubric_version is None:
        raise NotFound("Bài được giao này không có tiêu chí chấm bài thu hoạch")
    return rubric_data(assignment.essay_rubric_version)


def rubric_for(essay: m.Essay) -> RubricData:
    """The rubric the scenario names for this kind of submission (essay, or group report)."""
    if essay.kind == "report":
        if essay.assignment.report_rubric_version is None:
            raise NotFound("Bài được giao này không có tiêu chí chấm báo cáo nhóm")
        return rubric_data(essay.assignment.report_rubric_version)
    return essay_rubric(essay.assignment)
