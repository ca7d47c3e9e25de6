"""A course's fitted similarity index on disk, so a check need not refit the whole course.

Small courses are checked by fitting every source each time (fast enough).
Once a course has CASELAB_SIMILARITY_INDEX_AT essays, a job fits all of them once and saves
the index under ``CASELAB_INDEX_DIR`` (a folder every worker can read, e.g. a
shared volume). A check then queries that index and fits only the essays
submitted since it was built; the index is rebuilt when that delta grows.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.similarity import Match, QueryResult, ReuseDetector, SourceShare
from ..core.text import tokenize
from ..store import models as m
from . import runtime

REBUILD = "similarity.rebuild_index"
REBUILD_AFTER = 0.1        # share of new essays since the build that calls for a fresh index

_loaded: dict[Path, tuple[float, CourseIndex]] = {}


@dataclass(frozen=True)
class CourseIndex:
    detector: ReuseDetector
    last_essay_id: int        # essays with a larger id came after the build
    essays: int
    built_at: str


def index_dir() -> Path:
    return Path.cwd() / runtime.settings().index_dir    # a relative folder is in the working folder


def _meta_path(course_id: int) -> Path:
    return index_dir() / f"course-{course_id}.json"


def load(course_id: int) -> CourseIndex | None:
    """The course's index, read once per process and again only when a rebuild replaced it."""
    meta = _meta_path(course_id)
    try:
        stamp = meta.stat().st_mtime
    except FileNotFoundError:
        return None
    cached = _loaded.get(meta)
    if cached and cached[0] == stamp:
        return cached[1]
    info = json.loads(meta.read_text(encoding="utf-8"))
    index = CourseIndex(ReuseDetector.load(index_dir() / info["file"]), info["last_essay_id"], info["essays"],
                        info["built_at"])
    _loaded[meta] = (stamp, index)
    return index


def save(course_id: int, fitted: ReuseDetector, essay_keys: list[str]) -> dict:
    """Save the course's freshly fitted index and swap it in atomically (the job is similarity.rebuild_index);
    ``essay_keys``: the "essay-<id>" key of every essay fitted."""
    folder = index_dir()
    folder.mkdir(parents=True, exist_ok=True)
    built_at = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    name = f"course-{course_id}-{built_at}.npz"
    fitted.save(folder / name)
    last = max((int(key.split("-")[1]) for key in essay_keys), default=0)
    meta = {"file": name, "last_essay_id": last, "essays": len(essay_keys), "built_at": built_at}
    tmp = _meta_path(course_id).with_suffix(".tmp")
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp, _meta_path(course_id))
    for old in folder.glob(f"course-{course_id}-*.npz"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return meta


def needs_rebuild(index: CourseIndex | None, essays_now: int) -> bool:
    if index is None:
        return essays_now >= runtime.settings().similarity_index_at
    return essays_now - index.essays > max(50, REBUILD_AFTER * index.essays)


def covered_share(text: str, spans: list[tuple[int, int]]) -> float:
    """Share of the text, from its first to its last word, inside the union of ``spans``."""
    tokens = tokenize(text)
    if not tokens or not spans:
        return 0.0
    length = tokens[-1].end - tokens[0].start
    covered, reach = 0, 0
    for start, end in sorted(spans):
        start = max(start, reach)
        if end > start:
            covered += end - start
            reach = end
    return min(1.0, covered / length) if length else 0.0


def merge(text: str, *results: QueryResult) -> QueryResult:
    """One report from the indexed sources and the newer ones; overlaps count once."""
    best: dict = {}
    for result in results:
        for match in result.matches:
            if match.b not in best or match.score > best[match.b].score:
                best[match.b] = match
    matches: tuple[Match, ...] = tuple(sorted(best.values(), key=lambda mt: -mt.score))
    spans = [(p.a_start, p.a_end) for mt in matches for p in mt.passages]
    return QueryResult(covered_share(text, spans), tuple(SourceShare(mt.b, mt.b_kind, mt.score) for mt in matches),
                       matches)


def indexed_essay_keys(session: Session, essay: m.Essay) -> list[str]:
    """The author's own essays, which never count as sources of each other."""
    return [f"essay-{i}" for i in session.scalars(select(m.Essay.id).where(m.Essay.user_id == essay.user_id,
                                                                          m.Essay.kind == "essay"))]
