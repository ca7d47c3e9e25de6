"""A course's similarity index: sealed segments on disk that every worker shares, and a fresh tail in each worker.

A deadline brings hundreds of essays a second to a national course, and each is checked; so a check never
refits the course, nor counts it:

- **Segments** (``CASELAB_INDEX_DIR``/course-<id>/): each a ReuseDetector fitted over a range of essays and
  saved as a folder of memory-mapped arrays (core/similarity/storage.py), so the worker processes of a
  machine, or of several on a shared volume, read the same pages, and opening one takes milliseconds.
  ``course-<id>.json`` (the manifest, replaced atomically) lists them and the last essay id they hold; a
  segment never changes once written.
- **The tail**: each worker process keeps the course's essays newer than the manifest's last essay id in
  memory, added with ``partial_fit`` as it meets them (in parts of ``TAIL_AT`` essays): a check reads the
  ids after the last one it read (few) and those it skipped as not yet committed, and the texts of those it
  lacks, under the IDF of the segments; so a check sees every essay committed before it began.
- A check queries the segments, the tail and the course's references as one index (``query_segments``:
  boilerplate and the first/last-holder rule are judged over all of them), so an essay finds copies written
  before and after the last index job alike.
- The index jobs run in their own queue (``index``), never behind the checks, one at a time per course (a
  file lock): ``similarity.update_index`` seals the tail into a new segment once it holds ``TAIL_AT``
  essays (a check that sees it so long asks for it) and merges the newest segments while the newer is at
  least half the size of the one before, without refitting (so a course of N essays has at most about
  log2(N / TAIL_AT) segments, and each essay is copied about as often); ``similarity.rebuild_index`` fits
  the course anew from the database, a chunk of essays at a time merged into one segment, when it has no
  index yet (from CASELAB_SIMILARITY_INDEX_AT essays) or one saved by an older version or with other
  settings.

A merged-away segment stays on disk for ``KEEP_RETIRED`` so a worker that has not yet seen the new manifest
still reads it. Essays replaced by a newer version are dropped when their segment is merged; until then they
remain sources of other essays' reports, as before (never of their author's).
"""
from __future__ import annotations

import copy
import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from ..core.similarity import QueryResult, ReuseDetector, kgram_set, merge_segments, query_segments, report_segments
from ..store import models as m
from . import runtime

REBUILD = "similarity.rebuild_index"
UPDATE = "similarity.update_index"
FORMAT = "caselab-course-index-2"
TAIL_AT = 256               # essays in a worker's tail that ask for it to be sealed (at most INDEX_AT)
RESCAN = 10.0               # seconds between two reads of every id of a worker's tail
MAX_GAPS = 1000             # ids a worker's tail reads again one by one (uncommitted when it read past them)
CHUNK = 4096                # essays a rebuild fits at a time: its memory stays that of one chunk
KEEP_RETIRED = 600.0        # seconds a merged-away segment stays for workers still reading it
LOCK_TIMEOUT = "10s"        # PostgreSQL: how long an index job waits to see every essay below an id committed

EssayRow = tuple[int, int, int, int]      # id, assignment_id, user_id, version


@dataclass(frozen=True)
class CourseIndex:
    """The saved index of a course as one worker read it."""
    course_id: int
    segments: tuple[ReuseDetector, ...]
    last_essay_id: int        # essays with a larger id are not in a segment yet
    essays: int               # essays the segments hold
    built_at: str
    stamp: tuple[int, int]    # the manifest this was read from
    path: Path                # ... and where it is
    current: bool = True      # False: saved by an older version (one .npz); a rebuild is due

    @property
    def params(self) -> dict[str, Any]:
        return self.segments[0].get_params()

    @property
    def idf(self) -> np.ndarray:
        return self.segments[0].idf_


def index_dir() -> Path:
    return Path.cwd() / runtime.settings().index_dir    # a relative folder is in the working folder


def _manifest_path(course_id: int) -> Path:
    return index_dir() / f"course-{course_id}.json"


def _segments_dir(course_id: int) -> Path:
    return index_dir() / f"course-{course_id}"


# ---- reading: every check -----------------------------------------------------------------------------------

_loaded: dict[Path, CourseIndex] = {}          # manifest path -> the index read from it
_segments: dict[Path, ReuseDetector] = {}      # segment folder -> its detector, memory-mapped (never changes)
_read_lock = threading.Lock()


def load(course_id: int) -> CourseIndex | None:
    """The course's index: the manifest is looked at on every call (one ``stat``), read again only when an
    index job replaced it; segments are opened once per process."""
    path = _manifest_path(course_id)
    for _attempt in range(3):
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        stamp = (st.st_ino, st.st_mtime_ns)
        cached = _loaded.get(path)
        if cached is not None and cached.stamp == stamp:
            return cached
        with _read_lock:
            try:
                index = _read(course_id, path, stamp)
            except FileNotFoundError:      # replaced while read, or a segment retired meanwhile: read again
                continue
            if index is not None:
                _loaded[path] = index
            return index
    return None


def _read(course_id: int, path: Path, stamp: tuple[int, int]) -> CourseIndex | None:
    info = json.loads(path.read_text(encoding="utf-8"))
    if "segments" not in info:        # one .npz, as saved before segments: used until the rebuild it asks for
        fitted = ReuseDetector.load(path.parent / info["file"])
        return CourseIndex(course_id, (fitted,), info["last_essay_id"], info["essays"], info["built_at"], stamp,
                           path, current=False)
    if not info["segments"]:
        return None
    folder = path.parent / f"course-{course_id}"
    segments = []
    for entry in info["segments"]:
        where = folder / entry["name"]
        if where not in _segments:
            _segments[where] = ReuseDetector.load(where)
        segments.append(_segments[where])
    for gone in [p for p in _segments if p.parent == folder and p.name not in {e["name"] for e in info["segments"]}]:
        del _segments[gone]
    idf = segments[0].idf_
    for seg in segments[1:]:    # one IDF object: the query weighs the essay once for all segments
        if seg.idf_ is not idf and np.array_equal(seg.idf_, idf):
            seg.idf_ = idf
    return CourseIndex(course_id, tuple(segments), info["last_essay_id"], info["essays"], info["built_at"], stamp,
                       path, current=info.get("format") == FORMAT)


@dataclass
class _Tail:
    """One process's essays of a course newer than its index, fitted as they came: in parts of ``TAIL_AT``
    essays, so adding one costs the same however long the tail grew while an index job was busy (a full part
    is never changed again, and its paraphrase postings are built once)."""
    stamp: tuple[int, int]
    after: int
    full: tuple[ReuseDetector, ...] = ()      # parts that hold TAIL_AT essays
    growing: ReuseDetector | None = None      # the part essays are added to
    held: dict[int, str] = field(default_factory=dict)     # essay id -> its text, for a refit after a seal
    newest: dict[tuple[int, int], EssayRow] = field(default_factory=dict)   # (assignment, author) -> newest
    replaced: set[int] = field(default_factory=set)        # ids a newer version replaced
    high: int = 0                             # the largest essay id read
    gaps: set[int] = field(default_factory=set)   # ids below it not read yet (see ``note``)
    scanned: float = float("-inf")          # when every id after ``after`` was last read (never: the first read is)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self, rows: list[EssayRow]) -> None:
        for row in rows:
            self.high = max(self.high, row[0])
            key = (row[1], row[2])
            known = self.newest.get(key)
            if known is not None and known[0] == row[0]:
                continue
            if known is None or row[3] > known[3]:
                self.newest[key] = row
                if known is not None:
                    self.replaced.add(known[0])
            else:
                self.replaced.add(row[0])

    def note(self, start: int, seen: set[int], whole: bool) -> None:
        """After reading the essays above ``start`` (and the gaps): the ids below the largest one read that were
        not there are gaps, read again by id until they come. On PostgreSQL an id is handed out before its
        essay commits, so a smaller one may commit after a larger one was read; without this a worker would
        not see it until its next whole read, and a check it runs meanwhile would miss an essay committed before
        it began. (An id whose insert rolled back stays a gap until the index moves past it.)"""
        top = max(seen, default=start)
        if whole:
            self.gaps = set()
        else:
            self.gaps -= seen
        if top - start - sum(1 for i in seen if i > start) > MAX_GAPS:
            self.scanned = float("-inf")      # too many to follow one by one: the next read is a whole one
        else:
            self.gaps |= set(range(start + 1, top)) - seen
        self.high = max(self.high, top)

    def add(self, index: CourseIndex, docs: list[tuple[str, str]]) -> None:
        while docs:
            room = TAIL_AT - (self.growing.n_essays_ if self.growing is not None else 0)
            batch, docs = docs[:room], docs[room:]
            if self.growing is None:
                self.growing = ReuseDetector(**index.params).fit(batch, idf=index.idf,
                                                                 cohort_essays=index.essays + len(self.held))
            else:      # a copy: a check running in another thread keeps querying the one it has
                self.growing = copy.copy(self.growing).partial_fit(batch)
            if self.growing.n_essays_ >= TAIL_AT:
                self.growing._transposed_tfidf()
                self.full, self.growing = (*self.full, self.growing), None

    def parts(self) -> tuple[ReuseDetector, ...]:
        return self.full if self.growing is None else (*self.full, self.growing)


@dataclass(frozen=True)
class Fresh:
    """A snapshot of the tail for one check: what it holds that still counts."""
    parts: tuple[ReuseDetector, ...]
    replaced: tuple[str, ...]       # keys of essays it holds that a newer version replaced
    essays: int                     # latest essays of the course after the index


_tails: dict[tuple[Path, int], _Tail] = {}
_tails_lock = threading.Lock()


# statements of every check, built once (building a statement costs more than SQLite running it). A range of the
# primary key alone, every course and kind (filtered here): a condition on the course lets PostgreSQL's generic
# plan walk every essay of the assignment instead, a cost growing with the course
_e = m.Essay.__table__.c
_AFTER = (select(_e.id, _e.assignment_id, _e.user_id, _e.version, _e.kind)
          .where(((_e.id > bindparam("after")) & (_e.id <= bindparam("upto")))
                 | _e.id.in_(bindparam("gaps", expanding=True)))
          .order_by(_e.id))
_COURSES = (select(m.Assignment.__table__.c.id, m.Cohort.__table__.c.course_id)
            .join_from(m.Assignment.__table__, m.Cohort.__table__)
            .where(m.Assignment.__table__.c.id.in_(bindparam("ids", expanding=True))))
_TEXTS = select(_e.id, _e.body).where(_e.id.in_(bindparam("ids", expanding=True)))
_OWN = select(_e.id).where(_e.user_id == bindparam("user"), _e.kind == "essay")
_NO_LIMIT = 2**31 - 1            # the largest id an INTEGER column holds
_course_of: dict[tuple[str, int], int] = {}      # (database, assignment) -> course: an assignment never moves


def tail_rows(session: Session, course_id: int, after: int, upto: int | None = None, *,
              gaps: Sequence[int] = (), seen: set[int] | None = None) -> list[EssayRow]:
    """Id, assignment, author and version of the course's essays with an id above ``after`` (up to ``upto``)
    or among ``gaps``: one range of the essays' primary key, whatever the size of the course. ``seen`` gets
    the id of every essay read, of any course."""
    rows = session.execute(_AFTER, {"after": after, "upto": _NO_LIMIT if upto is None else upto,
                                    "gaps": list(gaps)}).all()
    if seen is not None:
        seen.update(r[0] for r in rows)
    database = str(session.get_bind().engine.url)
    unknown = sorted({r[1] for r in rows if (database, r[1]) not in _course_of})
    if unknown:
        if len(_course_of) > 100_000:
            _course_of.clear()
        _course_of.update(((database, a), c) for a, c in session.execute(_COURSES, {"ids": unknown}))
    return [(r[0], r[1], r[2], r[3]) for r in rows
            if r[4] == "essay" and _course_of.get((database, r[1])) == course_id]


def essay_texts(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """The texts of the essays ``ids``, read by primary key a batch at a time."""
    out: dict[int, str] = {}
    for lo in range(0, len(ids), 500):
        out.update((row[0], row[1]) for row in session.execute(_TEXTS, {"ids": list(ids[lo:lo + 500])}))
    return out


def _latest_of(rows: list[EssayRow]) -> tuple[list[int], list[int]]:
    """The ids of the rows that are their author's newest version of an assignment, and of the others."""
    newest: dict[tuple[int, int], EssayRow] = {}
    for row in rows:
        key = (row[1], row[2])
        if key not in newest or row[3] > newest[key][3]:
            newest[key] = row
    latest = {row[0] for row in newest.values()}
    return sorted(latest), sorted(row[0] for row in rows if row[0] not in latest)


def fresh(session: Session, index: CourseIndex) -> Fresh:
    """This process's tail of the course brought up to date: the essays after the last one it read (and every
    ``RESCAN`` seconds all those after the index: on PostgreSQL an id may commit after a larger one) are read,
    and the texts it lacks added; when a job sealed some of them into a segment, the rest is fitted again on
    its own."""
    key = (index.path, index.course_id)
    with _tails_lock:
        tail = _tails.get(key)
        if tail is None or tail.stamp != index.stamp:
            tail = _tails[key] = _rebased(tail, index)
    with tail.lock:
        now = time.monotonic()
        whole = now - tail.scanned >= RESCAN
        start, seen = (tail.after if whole else tail.high), set[int]()
        tail.read(tail_rows(session, index.course_id, start, gaps=() if whole else sorted(tail.gaps), seen=seen))
        if whole:
            tail.scanned = now
        tail.note(start, seen, whole)
        missing = sorted(row[0] for row in tail.newest.values() if row[0] not in tail.held)
        if missing:
            texts = essay_texts(session, missing)
            docs = [(f"essay-{i}", texts[i]) for i in missing if i in texts]
            tail.held.update((i, texts[i]) for i in missing if i in texts)
            tail.add(index, docs)
        return Fresh(tail.parts(), tuple(f"essay-{i}" for i in tail.replaced if i in tail.held), len(tail.newest))


def _rebased(old: _Tail | None, index: CourseIndex) -> _Tail:
    """A tail following a new manifest: the essays a job has not sealed yet, fitted again (few)."""
    tail = _Tail(index.stamp, index.last_essay_id, high=index.last_essay_id)
    if old is not None:
        tail.read([row for row in old.newest.values() if row[0] > index.last_essay_id])
        tail.replaced |= {i for i in old.replaced if i > index.last_essay_id}
        tail.high, tail.scanned = max(old.high, index.last_essay_id), old.scanned
        tail.gaps = {i for i in old.gaps if i > index.last_essay_id}
        kept = {i: t for i, t in old.held.items() if i > index.last_essay_id}
        if kept:
            tail.held = kept
            tail.add(index, [(f"essay-{i}", t) for i, t in sorted(kept.items())])
    return tail


def _fit(index: CourseIndex, docs: list[tuple[str, str]], new: int) -> ReuseDetector:
    return ReuseDetector(**index.params).fit(docs, idf=index.idf, cohort_essays=index.essays + new)


_references: dict[tuple[Path, int], tuple[np.ndarray, Any, ReuseDetector]] = {}
_stops: dict[Any, np.ndarray] = {}


def _references_part(index: CourseIndex, references: list[tuple[str, str]]) -> ReuseDetector | None:
    """The course's reference texts fitted once per process (again when they change), after the essays."""
    if not references:
        return None
    key = (index.path, index.course_id)
    wanted = tuple((k, len(t), hash(t)) for k, t in references)
    cached = _references.get(key)
    if cached is None or cached[0] is not index.idf or cached[1] != wanted:    # a rebuild brings a new IDF
        fitted = ReuseDetector(**index.params).fit([], references=references, idf=index.idf,
                                                   cohort_essays=index.essays)
        cached = _references[key] = (index.idf, wanted, fitted)
    return cached[2]


def _stop(k: int, exclude: list[str]) -> np.ndarray:
    """Every k-gram of the texts that never count, computed once per process for each set of texts."""
    wanted = (k, tuple((len(t), hash(t)) for t in exclude))
    if wanted not in _stops:
        if len(_stops) > 256:
            _stops.clear()
        _stops[wanted] = kgram_set(exclude, k)
    return _stops[wanted]


def query(session: Session, index: CourseIndex, essay: m.Essay, *, references: list[tuple[str, str]],
          exclude: list[str], ignore: Sequence[str]) -> tuple[QueryResult, int]:
    """One essay's report against the segments, this process's tail and the references; and how many essays
    the tail holds (the check asks for a seal when they are many). ``ignore``: keys of essays never to count
    (its author's); ``exclude``: texts whose passages never count."""
    tail = fresh(session, index)
    parts = [*index.segments, *tail.parts]
    refs = _references_part(index, references)
    if refs is not None:
        parts.append(refs)
    key, stop = f"essay-{essay.id}", _stop(index.segments[0].k, exclude)
    ignore = [*ignore, *tail.replaced]
    try:       # fitted already, in the tail or a segment: its text need not be hashed again
        result = report_segments(parts, key, ignore=ignore, stop=stop)
    except KeyError:
        result = query_segments(parts, essay.body, ignore=ignore, stop=stop)
    return result, tail.essays


def tail_limit() -> int:
    return min(TAIL_AT, runtime.settings().similarity_index_at)


def indexed_essay_keys(session: Session, essay: m.Essay) -> list[str]:
    """The author's own essays, which never count as sources of each other."""
    return [f"essay-{i}" for i in session.scalars(_OWN, {"user": essay.user_id})]


# ---- writing: the index jobs (queue "index") ---------------------------------------------------------------

@contextmanager
def _course_lock(course_id: int) -> Iterator[None]:
    """One index job at a time per course, across the processes sharing the folder."""
    folder = index_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"course-{course_id}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def settled_last_id(session: Session) -> int:
    """The largest essay id such that every essay with a smaller one has committed (or never will).

    PostgreSQL hands out ids before the inserting transaction commits, so an essay with a smaller id may
    commit after a larger one is seen: the index would then skip it for good. Taking a SHARE lock on the
    essays in a transaction of its own waits for the inserts under way, and lets the next ones wait only for
    that instant. SQLite writes one transaction at a time: ids commit in order."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        with bind.engine.connect() as conn, conn.begin():
            conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            conn.execute(text(f"LOCK TABLE {m.Essay.__tablename__} IN SHARE MODE"))
            return conn.scalar(select(func.max(m.Essay.id))) or 0
    return session.scalar(select(func.max(m.Essay.id))) or 0


@dataclass
class _Entry:
    name: str
    essays: int
    last_essay_id: int


def _manifest(course_id: int) -> dict[str, Any] | None:
    try:
        return dict(json.loads(_manifest_path(course_id).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


def _write_manifest(course_id: int, entries: list[_Entry], retired: list[dict[str, Any]]) -> dict[str, Any]:
    meta = {"format": FORMAT, "segments": [e.__dict__ for e in entries],
            "last_essay_id": max((e.last_essay_id for e in entries), default=0),
            "essays": sum(e.essays for e in entries),
            "built_at": datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f"), "retired": retired}
    path = _manifest_path(course_id)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp, path)
    return meta


def _save_segment(course_id: int, fitted: ReuseDetector, last_essay_id: int) -> _Entry:
    name = f"seg-{last_essay_id}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}-{os.getpid()}"
    folder = _segments_dir(course_id)
    folder.mkdir(parents=True, exist_ok=True)
    fitted.save(folder / name)
    return _Entry(name, fitted.n_essays_, last_essay_id)


def _merged(course_id: int, entries: list[_Entry], retired: list[dict[str, Any]],
            replaced: Callable[[], set[str]], cohort: int, published: set[str], whole: bool = False) -> list[_Entry]:
    """Merge the two newest segments while the newer holds at least half as many essays as the other
    (``whole``: until one is left; ``cohort``: the course's essays, of which the boilerplate share is taken).
    A merged-away segment a manifest listed (``published``) is retired: workers may still read it; the others
    are deleted."""
    folder = _segments_dir(course_id)
    while len(entries) >= 2 and (whole or 2 * entries[-1].essays >= entries[-2].essays):
        older, newer = entries[-2], entries[-1]
        parts = [ReuseDetector.load(folder / e.name) for e in (older, newer)]
        fitted = merge_segments(parts, drop=replaced(), cohort_essays=cohort)
        del parts
        entries = [*entries[:-2], _save_segment(course_id, fitted, newer.last_essay_id)]
        del fitted
        for gone in (older, newer):
            if gone.name in published:
                retired.append({"name": gone.name, "at": time.time()})
            else:
                shutil.rmtree(folder / gone.name, ignore_errors=True)
    return entries


def _clean(course_id: int, entries: list[_Entry], retired: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Delete retired segments (and leftovers of a job that died) older than KEEP_RETIRED."""
    folder = _segments_dir(course_id)
    now = time.time()
    keep_retired = [r for r in retired if now - r["at"] < KEEP_RETIRED]
    wanted = {e.name for e in entries} | {r["name"] for r in keep_retired}
    if folder.is_dir():
        for path in folder.iterdir():
            if path.name not in wanted and now - path.stat().st_mtime >= KEEP_RETIRED:
                shutil.rmtree(path, ignore_errors=True)
            elif path.name not in wanted and path.name in {r["name"] for r in retired}:
                shutil.rmtree(path, ignore_errors=True)
    for old in index_dir().glob(f"course-{course_id}-*.npz"):     # an index saved before segments
        old.unlink(missing_ok=True)
    return keep_retired


def rebuild(session: Session, course_id: int, *, params: dict[str, Any], latest_ids: Callable[[], list[int]],
            exclude: list[tuple[str, str]], force: bool = False) -> dict[str, Any]:
    """Fit the course's index anew when it has none, or one saved by an older version or with other
    parameters (``force``: in any case): the latest essays up to the settled id, ``CHUNK`` at a time, each
    chunk a segment (the first fits the IDF, the others take it), merged as they come and into one at the end
    (its memory is that of one merge, not of fitting the whole course at once)."""
    with _course_lock(course_id):
        index = load(course_id)
        if index is not None and index.current and index.params == params and not force:
            return {"status": "current", "essays": index.essays}
        last = settled_last_id(session)
        ids = [i for i in latest_ids() if i <= last]
        old = _manifest(course_id) or {}
        retired = list(old.get("retired", []))
        now = time.time()
        retired.extend({"name": e["name"], "at": now} for e in old.get("segments", []) if isinstance(e, dict))
        entries: list[_Entry] = []
        idf = None
        for lo in range(0, len(ids), CHUNK):
            chunk = ids[lo:lo + CHUNK]
            texts = essay_texts(session, chunk)
            docs = [(f"essay-{i}", texts[i]) for i in chunk if i in texts]
            fitted = ReuseDetector(**params).fit(docs, exclude=exclude, idf=idf, cohort_essays=len(ids))
            idf = fitted.idf_
            entries.append(_save_segment(course_id, fitted, chunk[-1]))
            del fitted, texts, docs
            entries = _merged(course_id, entries, retired, set, len(ids), published=set())
        # one segment: the checks of a rush query fewer, and the next merge into it is as far away as can be
        entries = _merged(course_id, entries, retired, set, len(ids), published=set(), whole=True)
        if entries:
            entries[-1].last_essay_id = max(entries[-1].last_essay_id, last)
        meta = _write_manifest(course_id, entries, _clean(course_id, entries, retired))
        return {"status": "built", "essays": meta["essays"], "segments": len(entries),
                "last_essay_id": meta["last_essay_id"]}


def update(session: Session, course_id: int, *, replaced: Callable[[], set[str]],
           refit: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Seal the essays after the index (up to the settled id) into a segment, then merge segments of like
    size; ``replaced()`` gives the keys of essays a newer version replaced (dropped when merged). While the
    index holds fewer essays than its IDF is fitted on (``idf_sample``), ``refit()`` fits it anew instead
    (a second at most), so a young course's IDF grows with it and freezes once it is taken from enough."""
    index = load(course_id)
    if index is not None and index.current and index.essays < index.params["idf_sample"]:
        return refit()
    with _course_lock(course_id):
        index = load(course_id)
        old = _manifest(course_id)
        if index is None or not index.current or old is None:
            return {"status": "no index"}
        last = settled_last_id(session)
        latest, _ = _latest_of(tail_rows(session, course_id, index.last_essay_id, upto=last))
        if not latest:
            return {"status": "nothing new", "essays": index.essays}
        entries = [_Entry(**e) for e in old["segments"]]
        retired = list(old.get("retired", []))
        texts = essay_texts(session, latest)
        docs = [(f"essay-{i}", texts[i]) for i in latest if i in texts]
        fitted = _fit(index, docs, len(docs))
        entries.append(_save_segment(course_id, fitted, last))
        del fitted, texts, docs
        _write_manifest(course_id, entries, retired)         # the workers' tails shrink from now on
        cache: dict[str, set[str]] = {}

        def replaced_once() -> set[str]:
            if "keys" not in cache:
                cache["keys"] = replaced()
            return cache["keys"]
        merged = _merged(course_id, entries, retired, replaced_once, index.essays + len(latest),
                         published={e.name for e in entries})
        meta = _write_manifest(course_id, merged, _clean(course_id, merged, retired))
        return {"status": "sealed", "sealed": len(latest), "essays": meta["essays"], "segments": len(merged),
                "last_essay_id": meta["last_essay_id"]}
