"""Scenarios written in the browser: a YAML upload or the web form, checked as `caselab validate` checks files.

Both paths end in the same bytes -> ``load_document`` -> cross-file checks ->
new version, so a lecturer sees exactly the messages the command line prints
("file:line: field: message"). The cross-file checks read the store instead
of the disk: the course of the scenario, the rubrics, and the attachments
(uploaded now, or kept from the previous version under the same file name).
"""
from __future__ import annotations

import mimetypes
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.scenarios import Problem, Scenario as ScenarioData
from ..schemas.content import ScenarioSchema
from ..schemas.files import ContentError, FileError, load_document, locate, parse_yaml
from ..store import models as m
from . import audit, policy
from .catalog import LoadedAttachment, LoadedScenario, _fingerprint
from .content import (
    AttachmentView,
    Imported,
    add_scenario_version,
    attachment_view,
    course_data,
    latest_rubric_version,
    scenario_data,
)
from .errors import N_, Invalid, NotFound

FORM_NAME = "form"


class ScenarioRejected(Invalid):
    """The scenario has errors; nothing was stored. ``errors`` are the validator's FileErrors."""

    def __init__(self, errors: list[FileError]):
        fields: dict[str, list[str]] = {}
        for error in errors:
            fields.setdefault(error.field, []).append(str(error))
        super().__init__(N_("Tình huống có %(n)s lỗi; chưa lưu gì"), fields, n=len(errors))
        self.errors = errors


def _require_author(user: m.User) -> None:
    policy.require(user, "scenario.author")


def _course_for(session: Session, scenario: ScenarioData, course_slug: str | None) -> m.Course | Problem:
    existing = session.scalar(select(m.Scenario).where(m.Scenario.slug == scenario.id))
    if existing is not None:
        return existing.course
    if course_slug:
        course = session.scalar(select(m.Course).where(m.Course.slug == course_slug))
        return course or Problem(("topic",), f"course '{course_slug}' is not in the store")
    courses = list(session.scalars(select(m.Course).order_by(m.Course.id).limit(2)))
    if len(courses) == 1:
        return courses[0]
    return Problem(("topic",), "no course in the store" if not courses else "several courses: choose one")


def _previous_attachments(session: Session, slug: str) -> dict[str, m.ScenarioAttachment]:
    row = session.scalar(select(m.Scenario).where(m.Scenario.slug == slug))
    if row is None or not row.versions:
        return {}
    return {a.file: a for a in row.versions[-1].attachments}


def _attachments(session: Session, scenario: ScenarioData, uploaded: Mapping[str, bytes],
                 problems: list[Problem]) -> tuple[LoadedAttachment, ...]:
    """Each attachment from this upload (by path or bare file name), else from the previous version."""
    previous = _previous_attachments(session, scenario.id)
    by_name = {posixpath.basename(k): v for k, v in uploaded.items()}
    found = []
    for i, att in enumerate(scenario.attachments):
        normal = posixpath.normpath(att.file)
        if att.file.startswith("/") or normal.startswith(".."):
            problems.append(Problem(("attachments", i, "file"),
                                    f"must stay inside the scenario's folder: {att.file}"))
            continue
        content = uploaded.get(att.file, by_name.get(posixpath.basename(att.file)))
        if content is None and att.file in previous:
            content = previous[att.file].content
        if content is None:
            problems.append(Problem(("attachments", i, "file"), f"file not found: {att.file}"))
            continue
        media_type = mimetypes.guess_type(att.file)[0] or "application/octet-stream"
        found.append(LoadedAttachment(att.file, att.title, media_type, content))
    return tuple(found)


def check_scenario(session: Session, raw: bytes, name: str, attachments: Mapping[str, bytes] | None = None,
                   *, course_slug: str | None = None, must_be_new: bool = False) -> LoadedScenario:
    """The file as ``caselab validate`` sees it, with the store standing in for the folder. Raises ScenarioRejected."""
    try:
        scenario, located = load_document(raw, name, "scenario")
    except ContentError as exc:
        raise ScenarioRejected(exc.errors) from None
    problems: list[Problem] = []
    course_row = _course_for(session, scenario, course_slug)
    course = None
    if isinstance(course_row, Problem):
        problems.append(course_row)
    else:
        course = course_data(course_row)
        if course.topic(scenario.topic) is None:
            known = ", ".join(str(t.id) for t in course.topics)
            problems.append(Problem(("topic",), f"topic {scenario.topic!r} is not in course "
                                                f"'{course.id}' (topics: {known})"))
    for key, spec in (("essay", scenario.essay), ("discussion", scenario.discussion)):
        if spec is not None and spec.rubric and latest_rubric_version(session, spec.rubric) is None:
            problems.append(Problem((key, "rubric"), f"unknown rubric '{spec.rubric}'"))
    if must_be_new and session.scalar(select(m.Scenario.id).where(m.Scenario.slug == scenario.id)):
        problems.append(Problem(("id",), f"scenario '{scenario.id}' already exists: edit it instead"))
    loaded_attachments = _attachments(session, scenario, attachments or {}, problems)
    if problems:
        raise ScenarioRejected(locate(problems, located, name))
    assert course is not None  # else a problem was recorded above
    return LoadedScenario(Path(name), raw.decode("utf-8-sig"), _fingerprint(raw, loaded_attachments),
                          scenario, course, loaded_attachments)


def save_scenario(session: Session, user: m.User, raw: bytes, name: str,
                  attachments: Mapping[str, bytes] | None = None, *, course_slug: str | None = None,
                  must_be_new: bool = False) -> Imported:
    """Check, then store as a new version (or "unchanged" when the bytes and attachments are the same)."""
    _require_author(user)
    loaded = check_scenario(session, raw, name, attachments, course_slug=course_slug, must_be_new=must_be_new)
    done = add_scenario_version(session, loaded, actor_id=user.id)
    if done.status != "unchanged":
        audit.record(session, user.id, "scenario.save", "scenario", done.id, version=done.version, file=name)
    return done


@dataclass(frozen=True)
class ScenarioHistory:
    """A scenario as the editor opens it: its versions and the latest one's content."""
    slug: str
    course_slug: str
    numbers: tuple[int, ...]        # every version, oldest first
    latest: ScenarioData


@dataclass(frozen=True)
class VersionView:
    """One version of a scenario (the preview, a new assignment): its content and its place among the others."""
    id: int
    scenario_id: int
    slug: str
    number: int
    course_id: int
    numbers: tuple[int, ...]        # every version of the scenario, oldest first
    data: ScenarioData


def _scenario_row(session: Session, slug: str) -> m.Scenario:
    row = session.scalar(select(m.Scenario).where(m.Scenario.slug == slug))
    if row is None or not row.versions:
        raise NotFound("Không có tình huống '%(id)s'", id=slug)
    return row


def _version_row(session: Session, slug: str, number: int | None = None) -> m.ScenarioVersion:
    versions = _scenario_row(session, slug).versions
    chosen = versions[-1] if number is None else next((v for v in versions if v.number == number), None)
    if chosen is None:
        raise NotFound("Tình huống '%(id)s' không có phiên bản %(version)s", id=slug, version=number)
    return chosen


def scenario_versions(session: Session, slug: str) -> ScenarioHistory:
    row = _scenario_row(session, slug)
    return ScenarioHistory(row.slug, row.course.slug, tuple(v.number for v in row.versions),
                           scenario_data(row.versions[-1]))


def scenario_version(session: Session, slug: str, number: int | None = None) -> VersionView:
    """The version ``number`` of a scenario, or its latest."""
    chosen = _version_row(session, slug, number)
    scenario = chosen.scenario
    return VersionView(chosen.id, scenario.id, scenario.slug, chosen.number, scenario.course_id,
                       tuple(v.number for v in scenario.versions), scenario_data(chosen))


def attachments(session: Session, slug: str, number: int | None = None) -> list[AttachmentView]:
    """The files of a version of a scenario (of its latest without ``number``), in their order."""
    return [attachment_view(a) for a in _version_row(session, slug, number).attachments]


def attachment(session: Session, slug: str, number: int, position: int) -> AttachmentView | None:
    """One file of a version of a scenario; None when the version has no file at ``position``."""
    version = _version_row(session, slug, number)
    found = session.scalar(select(m.ScenarioAttachment).where(m.ScenarioAttachment.version_id == version.id,
                                                               m.ScenarioAttachment.position == position))
    return attachment_view(found) if found is not None else None


# The web form: the file's fields as separate inputs, the structured parts as small YAML texts.

class _BlockDumper(yaml.SafeDumper):
    """Multi-line text as literal blocks, so the stored file reads like a hand-written one."""


def _represent_str(dumper, value: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_BlockDumper.add_representer(str, _represent_str)


def to_yaml(data: Any) -> str:
    if data in (None, [], {}):
        return ""
    return yaml.dump(data, Dumper=_BlockDumper, allow_unicode=True, sort_keys=False, width=100)


@dataclass
class ScenarioFields:
    """What the editor shows: plain fields, and YAML for each stage and for the other sections."""

    id: str = ""
    title: str = ""
    topic: str = ""
    summary: str = ""
    context: str = ""
    stages: list[str] = field(default_factory=list)
    attachments: str = ""
    discussion: str = ""
    essay: str = ""
    allow_cycles: bool = False
    allow_retry: bool = False


def fields_of(scenario: ScenarioData) -> ScenarioFields:
    data = ScenarioSchema().dump(scenario)
    return ScenarioFields(
        id=scenario.id, title=scenario.title, topic=str(scenario.topic), summary=scenario.summary,
        context=scenario.context, stages=[to_yaml(s) for s in data["stages"]],
        attachments=to_yaml(data.get("attachments")), discussion=to_yaml(data.get("discussion")),
        essay=to_yaml(data.get("essay")), allow_cycles=scenario.allow_cycles, allow_retry=scenario.allow_retry)


def _text(value: str | None) -> str:
    return (value or "").replace("\r\n", "\n").replace("\r", "\n")


def _parse_part(text: str, path: str, errors: list[FileError]) -> Any:
    try:
        return parse_yaml(text.encode("utf-8"), FORM_NAME).data
    except ContentError as exc:
        for error in exc.errors:
            where = f"line {error.line}: " if error.line else ""
            errors.append(FileError(FORM_NAME, None, path, where + error.message))
        return None


def form_source(fields: ScenarioFields, declared_version: int = 1) -> tuple[bytes, dict[int, int]]:
    """The editor's fields as the bytes of a scenario file, plus data stage index -> editor stage index.

    Blank stage boxes are left out (that is how a stage is removed). A YAML
    mistake inside one box raises ScenarioRejected naming that box's field path.
    """
    errors: list[FileError] = []
    stage_boxes = [(i, _text(s)) for i, s in enumerate(fields.stages or []) if _text(s).strip()]
    stages = [_parse_part(text, f"stages[{n}]", errors) for n, (_, text) in enumerate(stage_boxes)]
    parts = {key: _parse_part(_text(getattr(fields, key)), key, errors) if _text(getattr(fields, key)).strip()
             else None for key in ("attachments", "discussion", "essay")}
    if errors:
        raise ScenarioRejected([_to_editor(e, {n: i for n, (i, _) in enumerate(stage_boxes)}) for e in errors])
    topic = _text(fields.topic).strip()
    data: dict[str, Any] = {
        "id": _text(fields.id).strip(), "version": declared_version,
        "topic": int(topic) if topic.isdigit() else topic,
        "title": _text(fields.title).strip(), "summary": _text(fields.summary).strip(),
        "context": _text(fields.context)}
    if parts["attachments"] is not None:
        data["attachments"] = parts["attachments"]
    data["stages"] = stages
    for key in ("discussion", "essay"):
        if parts[key] is not None:
            data[key] = parts[key]
    if fields.allow_cycles:
        data["allow_cycles"] = True
    if fields.allow_retry:
        data["allow_retry"] = True
    for key in ("summary", "context"):
        if not data[key]:
            data.pop(key)
    return to_yaml(data).encode("utf-8"), {n: i for n, (i, _) in enumerate(stage_boxes)}


def _to_editor(error: FileError, stage_index: dict[int, int]) -> FileError:
    """Renumber stages[n] to the editor's box number and drop the generated file's line."""
    name = error.field
    if name.startswith("stages["):
        number, rest = name[len("stages["):].split("]", 1)
        if number.isdigit():
            name = f"stages[{stage_index.get(int(number), int(number))}]{rest}"
    return FileError(FORM_NAME, None, name, error.message)


def save_form(session: Session, user: m.User, fields: ScenarioFields, *, existing_slug: str | None = None,
              course_slug: str | None = None) -> Imported:
    """A new scenario (``existing_slug`` None) or a new version of one, from the editor's fields."""
    _require_author(user)
    if existing_slug is None:
        raw, stage_index = form_source(fields, 1)
    else:
        latest = _version_row(session, existing_slug)
        fields.id = existing_slug          # assignments and files refer to the slug; it never changes
        base = scenario_data(latest)
        raw, stage_index = form_source(fields, base.version)
        try:
            unchanged = load_document(raw, FORM_NAME, "scenario")[0] == base
        except ContentError:
            unchanged = False
        if unchanged:
            return Imported("scenario", existing_slug, latest.number, "unchanged", FORM_NAME)
        raw, stage_index = form_source(fields, base.version + 1)
    try:
        return save_scenario(session, user, raw, FORM_NAME, course_slug=course_slug,
                             must_be_new=existing_slug is None)
    except ScenarioRejected as exc:
        raise ScenarioRejected([_to_editor(e, stage_index) for e in exc.errors]) from None


def editor_field(error: FileError) -> str:
    """Which input an error belongs next to: "stages[2].choices[0].next" -> "stages-2"; "essay.rubric" -> "essay"."""
    head = error.field.split(".", 1)[0]
    if head.startswith("stages[") and "]" in head:
        return "stages-" + head[len("stages["):head.index("]")]
    head = head.split("[", 1)[0]
    return head or "general"
