"""Content files on disk -> a validated catalog of courses, scenarios and rubrics.

The checks that need more than one file live here: the topic exists in the
scenario's course, the essay rubric exists, attachments exist, ids are unique.
A scenario's course is the course.yaml in its folder or the nearest parent
folder; rubrics are those given plus any ``rubrics/`` folder between the
scenario's folder and the course folder's parent.
"""
from __future__ import annotations

import hashlib
import mimetypes
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.courses import Course
from ..core.rubrics import Rubric
from ..core.scenarios import Problem, Scenario
from ..schemas.files import MAX_BYTES, TOO_BIG, ContentError, FileError, load_document, locate

YAML_SUFFIXES = {".yaml", ".yml"}
COURSE_FILE = "course.yaml"


@dataclass(frozen=True)
class LoadedAttachment:
    file: str
    title: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    source: str          # the file's text, as stored in the database
    sha256: str


@dataclass(frozen=True)
class LoadedCourse(LoadedFile):
    course: Course


@dataclass(frozen=True)
class LoadedRubric(LoadedFile):
    rubric: Rubric


@dataclass(frozen=True)
class LoadedScenario(LoadedFile):
    scenario: Scenario
    course: Course
    attachments: tuple[LoadedAttachment, ...] = ()


@dataclass
class Catalog:
    courses: list[LoadedCourse] = field(default_factory=list)
    rubrics: list[LoadedRubric] = field(default_factory=list)
    scenarios: list[LoadedScenario] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def rubric(self, rubric_id: str) -> Rubric | None:
        return next((r.rubric for r in self.rubrics if r.rubric.id == rubric_id), None)

    def per_topic(self) -> dict[tuple[str, str], int]:
        """(course id, topic id) -> number of scenarios, in course then topic order."""
        counts: dict[tuple[str, str], int] = {}
        for loaded in self.courses:
            for topic in loaded.course.topics:
                counts[(loaded.course.id, str(topic.id))] = 0
        for entry in self.scenarios:
            key = (entry.course.id, str(entry.scenario.topic))
            counts[key] = counts.get(key, 0) + 1
        return counts


def display_name(path: Path) -> str:
    """Paths in messages as the user typed them: relative to the working folder when inside it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file()))
        else:
            files.append(path)
    seen, unique = set(), []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def _kind(path: Path, raw: bytes) -> str:
    if path.name == COURSE_FILE:
        return "course"
    if path.parent.name == "rubrics":
        return "rubric"
    return "rubric" if b"\ncriteria:" in b"\n" + raw else "scenario"


def _fingerprint(raw: bytes, attachments: tuple[LoadedAttachment, ...] = ()) -> str:
    digest = hashlib.sha256(raw)
    for att in attachments:
        digest.update(att.file.encode() + b"\0" + hashlib.sha256(att.content).digest())
    return digest.hexdigest()


class _Loader:
    def __init__(self) -> None:
        self.catalog = Catalog()
        self._rubric_dirs_seen: set[Path] = set()
        self._loaded_paths: set[Path] = set()

    def _read(self, path: Path, kind: str):
        name = display_name(path)
        try:
            if path.stat().st_size > MAX_BYTES:     # refused before a byte is read (schemas/files.py words it)
                raise ContentError([FileError(name, None, "", TOO_BIG % {"size": path.stat().st_size,
                                                                         "max": MAX_BYTES})])
            raw = path.read_bytes()
        except ContentError as exc:
            self.catalog.errors.extend(exc.errors)
            return None
        except OSError as exc:
            self.catalog.errors.append(FileError(name, None, "", f"cannot read: {exc.strerror}"))
            return None
        try:
            obj, located = load_document(raw, name, kind)
        except ContentError as exc:
            self.catalog.errors.extend(exc.errors)
            return None
        return raw, obj, located

    def add_course(self, path: Path) -> LoadedCourse | None:
        got = self._read(path, "course")
        self._loaded_paths.add(path.resolve())
        if got is None:
            return None
        raw, course, _ = got
        loaded = LoadedCourse(path, raw.decode("utf-8-sig"), _fingerprint(raw), course)
        self.catalog.courses.append(loaded)
        return loaded

    def add_rubric(self, path: Path) -> None:
        if path.resolve() in self._loaded_paths:
            return
        self._loaded_paths.add(path.resolve())
        got = self._read(path, "rubric")
        if got is None:
            return
        raw, rubric, located = got
        if any(r.rubric.id == rubric.id for r in self.catalog.rubrics):
            self.catalog.errors.append(FileError(display_name(path), located.line_of(("id",)), "id",
                                                 f"rubric '{rubric.id}' is defined twice"))
            return
        self.catalog.rubrics.append(LoadedRubric(path, raw.decode("utf-8-sig"), _fingerprint(raw), rubric))

    def course_file_for(self, path: Path) -> Path | None:
        for folder in [path.resolve().parent, *path.resolve().parent.parents]:
            if (folder / COURSE_FILE).is_file():
                return folder / COURSE_FILE
        return None

    def course_for(self, course_file: Path) -> LoadedCourse | None:
        known = next((c for c in self.catalog.courses if c.path.resolve() == course_file), None)
        if known is None and course_file not in self._loaded_paths:
            known = self.add_course(course_file)
        return known

    def discover_rubrics(self, path: Path, course_file: Path | None) -> None:
        """``rubrics/`` folders from the scenario's folder up to the course folder's parent."""
        folders = [path.resolve().parent, *path.resolve().parent.parents]
        if course_file is not None and course_file.parent.parent in folders:
            folders = folders[: folders.index(course_file.parent.parent) + 1]
        for folder in folders:
            rubric_dir = folder / "rubrics"
            if rubric_dir.is_dir() and rubric_dir not in self._rubric_dirs_seen:
                self._rubric_dirs_seen.add(rubric_dir)
                for file in sorted(rubric_dir.glob("*.y*ml")):
                    self.add_rubric(file)

    def add_scenario(self, path: Path) -> None:
        got = self._read(path, "scenario")
        if got is None:
            return
        raw, scenario, located = got
        name = display_name(path)
        problems: list[Problem] = []
        course_file = self.course_file_for(path)
        loaded_course = self.course_for(course_file) if course_file else None
        if course_file is None:
            problems.append(Problem(("topic",), f"no {COURSE_FILE} in this folder or a parent folder"))
        elif loaded_course is None:
            problems.append(Problem(("topic",), f"the course file {display_name(course_file)} has errors"))
        elif loaded_course.course.topic(scenario.topic) is None:
            known = ", ".join(str(t.id) for t in loaded_course.course.topics)
            problems.append(Problem(("topic",), f"topic {scenario.topic!r} is not in course "
                                                f"'{loaded_course.course.id}' (topics: {known})"))
        self.discover_rubrics(path, course_file)
        for key, spec in (("essay", scenario.essay), ("discussion", scenario.discussion)):
            if spec is not None and spec.rubric and self.catalog.rubric(spec.rubric) is None:
                problems.append(Problem((key, "rubric"), f"unknown rubric '{spec.rubric}'"))
        attachments = []
        for i, att in enumerate(scenario.attachments):
            target = (path.parent / att.file)
            inside = target.resolve().is_relative_to(path.parent.resolve())
            if not inside or not target.is_file():
                why = "must stay inside the scenario's folder" if not inside else "file not found"
                problems.append(Problem(("attachments", i, "file"), f"{why}: {att.file}"))
                continue
            media_type = mimetypes.guess_type(att.file)[0] or "application/octet-stream"
            attachments.append(LoadedAttachment(att.file, att.title, media_type, target.read_bytes()))
        duplicate = next((s for s in self.catalog.scenarios if s.scenario.id == scenario.id), None)
        if duplicate is not None:
            problems.append(Problem(("id",), f"scenario '{scenario.id}' is also defined in "
                                             f"{display_name(duplicate.path)}"))
        if problems:
            self.catalog.errors.extend(locate(problems, located, name))
            return
        attached = tuple(attachments)
        assert loaded_course is not None  # else a problem was recorded above
        self.catalog.scenarios.append(LoadedScenario(
            path, raw.decode("utf-8-sig"), _fingerprint(raw, attached), scenario,
            loaded_course.course, attached))


def load_catalog(paths: list[str | Path]) -> Catalog:
    """Load and check every YAML file under ``paths`` (files or folders)."""
    loader = _Loader()
    files = _expand([Path(p) for p in paths])
    for path in files:
        if not path.exists():
            loader.catalog.errors.append(FileError(display_name(path), None, "", "no such file or folder"))
    files = [f for f in files if f.exists()]
    kinds = {}
    for path in files:
        try:
            with path.open("rb") as head:
                kinds[path] = _kind(path, head.read(65536))
        except OSError:
            kinds[path] = "scenario"
    for path in files:
        if kinds[path] == "course" and path.resolve() not in loader._loaded_paths:
            loader.add_course(path)
    for path in files:
        if kinds[path] == "rubric":
            loader.add_rubric(path)
    for path in files:
        if kinds[path] == "scenario":
            loader.add_scenario(path)
    return loader.catalog
