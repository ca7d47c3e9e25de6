"""Similarity checks in the product: each submitted essay against its cohort, past cohorts and the references.

The engine (core/similarity) judges; this module picks the sources, stores the
report, and answers the examiner and lecturer views. A score points the
examiner to passages worth reading; it is not a verdict.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, inspect, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from ..core.similarity import QueryResult, ReuseDetector
from ..store import models as m
from . import jobs, policy, runtime, similarity_index, similarity_sources
from .content import scenario_data
from .errors import N_, NotFound
from .similarity_sources import ESSAY, EXCLUDE, REFERENCE, Candidate, Document, Scope, Source

CHECK = "similarity.check_essay"
RECHECK = "similarity.recheck_essay"      # a check that asks for no further check


# Read once per process and database: a check runs for every submission, and none of these ever changes (an
# assignment keeps its cohort and scenario version; a version is never edited).
_facts: dict[tuple[str, int], tuple[int, int]] = {}         # assignment -> (course, scenario version)
_scenario_texts: dict[tuple[str, int], str] = {}            # scenario version -> its text


def _database(session: Session) -> str:
    return str(session.get_bind().engine.url)


def assignment_facts(session: Session, assignment_id: int) -> tuple[int, int]:
    """The course and the scenario version of an assignment."""
    key = (_database(session), assignment_id)
    if key not in _facts:
        if len(_facts) > 100_000:
            _facts.clear()
        row = session.execute(select(m.Cohort.course_id, m.Assignment.scenario_version_id)
                              .join(m.Assignment, m.Assignment.cohort_id == m.Cohort.id)
                              .where(m.Assignment.id == assignment_id)).one()
        _facts[key] = (row[0], row[1])
    return _facts[key]


def scenario_text(assignment: m.Assignment) -> str:
    """Everything the scenario itself says: cadres quote it, so it never counts as reuse."""
    session = Session.object_session(assignment)
    if session is None:
        return _scenario_text(assignment.scenario_version)
    return version_text(session, assignment.scenario_version_id)


def version_text(session: Session, version_id: int) -> str:
    """``scenario_text`` of a scenario version, read once per process."""
    key = (_database(session), version_id)
    if key not in _scenario_texts:
        if len(_scenario_texts) > 1024:
            _scenario_texts.clear()
        version = session.get(m.ScenarioVersion, version_id)
        assert version is not None
        _scenario_texts[key] = _scenario_text(version)
    return _scenario_texts[key]


def _scenario_text(version: m.ScenarioVersion) -> str:
    s = scenario_data(version)
    parts = [s.title, s.summary, s.context]
    for stage in s.stages:
        parts.append(stage.prompt)
        parts.extend(f"{c.text}\n{c.feedback}" for c in stage.choices)
    if s.discussion:
        parts.append(s.discussion.prompt)
    if s.essay:
        parts.extend([s.essay.prompt, s.essay.recommendations_section or ""])
    return "\n".join(p for p in parts if p)


def _latest(course_id: int):
    """The newest version of every essay written in any cohort of the course, as a query.

    Essays only: group reports are marked but never similarity-checked, nor sources of an essay's check."""
    newest = (select(m.Essay.assignment_id, m.Essay.user_id, func.max(m.Essay.version).label("v"))
              .where(m.Essay.kind == "essay")
              .group_by(m.Essay.assignment_id, m.Essay.user_id).subquery())
    return (select(m.Essay)
            .join(newest, (newest.c.assignment_id == m.Essay.assignment_id) & (newest.c.user_id == m.Essay.user_id)
                  & (newest.c.v == m.Essay.version))
            .join(m.Assignment, m.Assignment.id == m.Essay.assignment_id)
            .join(m.Cohort, m.Cohort.id == m.Assignment.cohort_id)
            .where(m.Cohort.course_id == course_id, m.Essay.kind == "essay"))


def latest_essays(session: Session, course_id: int, after_id: int | None = None) -> list[m.Essay]:
    """The newest version of every essay of the course; with ``after_id``, only those with a larger id
    (the ones a course index does not hold yet)."""
    query = _latest(course_id)
    if after_id is not None:
        query = query.where(m.Essay.id > after_id)
    return list(session.scalars(query.order_by(m.Essay.id)))


def latest_essay_ids(session: Session, course_id: int) -> list[int]:
    """The ids of the newest version of every essay of the course (a whole-course query: the index jobs' only)."""
    latest = _latest(course_id).subquery()
    return list(session.scalars(select(latest.c.id).order_by(latest.c.id)))


def replaced_essay_keys(session: Session, course_id: int) -> set[str]:
    """The course's essays a newer version replaced, as the index names them (a whole-course query too)."""
    assignments = select(m.Assignment.id).join(m.Cohort).where(m.Cohort.course_id == course_id)
    every = set(session.scalars(select(m.Essay.id).where(m.Essay.kind == "essay",
                                                         m.Essay.assignment_id.in_(assignments))))
    return {f"essay-{i}" for i in every - set(latest_essay_ids(session, course_id))}


@dataclass(frozen=True)
class Sources:
    essays: list[tuple[str, str]]
    references: list[tuple[str, str]]
    exclude: list[tuple[str, str]]
    titles: dict[str, str]       # reference key -> title; essays are shown as "Bài thu hoạch #id"


# ---- the built-in sources (registered by services/builtin_plugins.py like any plugin's) -----------------------

class CourseEssays(Source):
    """The newest version of every essay of the course; an essay's check leaves out its author's others."""
    name = similarity_sources.ESSAYS
    title = N_("bài của học viên khác")

    def candidates(self, session: Session, scope: Scope) -> Iterator[Candidate]:
        essay = scope.essay
        if essay is None:
            for row in latest_essays(session, scope.course_id):
                yield Candidate(row.id, row.body, ESSAY)
            return
        for row in latest_essays(session, scope.course_id, scope.after_id):
            if row.user_id != essay.user_id:
                yield Candidate(row.id, row.body, ESSAY)
        yield Candidate(essay.id, essay.body, ESSAY)      # the essay itself is fitted with the others

    def document(self, session: Session, ident: int) -> Document | None:
        row = session.get(m.Essay, ident)
        return None if row is None else Document(row.body, guarded=row)


class ReferenceTexts(Source):
    """The lecturer's texts of the course and those of every course: sources, or passages never to count.

    Rows are only ever added (services/references.py), so a process reads each text once: a check reads the
    ids and titles, not up to 2,000,000 characters per text every time."""
    name = "ref"
    title = N_("văn bản tham chiếu")
    _bodies: dict[tuple[str, int, datetime], str] = {}
    _c = m.ReferenceText.__table__.c
    _rows = (select(_c.id, _c.kind, _c.title, _c.created_at)
             .where((_c.course_id == bindparam("course")) | _c.course_id.is_(None)).order_by(_c.id))

    def candidates(self, session: Session, scope: Scope) -> Iterator[Candidate]:
        database = _database(session)
        rows = session.execute(self._rows, {"course": scope.course_id}).all()
        missing = [r.id for r in rows if (database, r.id, r.created_at) not in self._bodies]
        if missing:
            if len(self._bodies) > 10_000:
                self._bodies.clear()
            stored = {r.id: r.created_at for r in rows}
            for ident, text in session.execute(select(m.ReferenceText.id, m.ReferenceText.body)
                                               .where(m.ReferenceText.id.in_(missing))):
                self._bodies[(database, ident, stored[ident])] = text
        for r in rows:
            body = self._bodies.get((database, r.id, r.created_at))
            if body is not None:
                yield Candidate(r.id, body, REFERENCE if r.kind == "reference" else EXCLUDE, r.title)

    def document(self, session: Session, ident: int) -> Document | None:
        row = session.get(m.ReferenceText, ident)
        return None if row is None else Document(row.body, guarded=row)


class ScenarioText(Source):
    """The scenario's own words: cadres quote it, so it never counts (every scenario of the course for the index)."""
    name = "scenario"
    title = N_("Tình huống")

    def candidates(self, session: Session, scope: Scope) -> Iterator[Candidate]:
        if scope.essay is not None:
            _course, version_id = assignment_facts(session, scope.essay.assignment_id)
            yield Candidate(version_id, version_text(session, version_id), EXCLUDE)
            return
        assignments = session.scalars(select(m.Assignment).join(m.Cohort).where(m.Cohort.course_id == scope.course_id))
        versions = {a.scenario_version_id: a for a in assignments}
        for version_id, assignment in versions.items():
            yield Candidate(version_id, scenario_text(assignment), EXCLUDE)


def _gather(session: Session, scope: Scope, essays: bool = True) -> Sources:
    """Every registered source's candidates, keyed "<source>-<id>" as reports and the course index name them;
    without ``essays``, all but the course's essays (a course index holds them)."""
    roles: dict[str, list[tuple[str, str]]] = {ESSAY: [], REFERENCE: [], EXCLUDE: []}
    titles: dict[str, str] = {}
    for source in similarity_sources.sources().values():
        if not essays and source.name == similarity_sources.ESSAYS:
            continue
        for candidate in source.candidates(session, scope):
            similarity_sources.checked(source, candidate)
            key = f"{source.name}-{candidate.id}"
            roles[candidate.role].append((key, candidate.text))
            if candidate.title:
                titles[key] = candidate.title
    return Sources(roles[ESSAY], roles[REFERENCE], roles[EXCLUDE], titles)


def gather_sources(session: Session, essay: m.Essay, after_id: int | None = None) -> Sources:
    """What one essay is compared with: the course's essays by others (with ``after_id``, only the newer
    ones), its references and every plugged-in source's texts; its scenario never counts."""
    return _gather(session, Scope(assignment_facts(session, essay.assignment_id)[0], essay, after_id))


def course_sources(session: Session, course_id: int) -> Sources:
    """Everything of a course for its persisted index; every scenario assigned in it is excluded."""
    return _gather(session, Scope(course_id))


def detector(**params: Any) -> ReuseDetector:
    """The engine with the product's settings; a cohort check runs in one process.
    CASELAB_SIMILARITY_BOILERPLATE_SHARE: text in more than this share of a course's essays never counts."""
    share = runtime.settings().similarity_boilerplate_share
    return ReuseDetector(**{"n_jobs": 1, "boilerplate_share": share, **params})


@jobs.task(similarity_index.REBUILD, queue="index", lease_seconds=3600)
def rebuild_index(session: Session, course_id: int) -> dict:
    """Fit the course's index anew when it has none yet, or one saved by an older version or with other
    settings: every latest essay, a chunk at a time; every scenario assigned in the course and every excluded
    text never count. A current index is left as it is (``update_index`` keeps it up to date)."""
    return _refit(session, course_id, force=False)


@jobs.task(similarity_index.UPDATE, queue="index", lease_seconds=1800)
def update_index(session: Session, course_id: int) -> dict:
    """Seal the essays submitted since the index into a segment and merge segments of like size."""
    return similarity_index.update(session, course_id, replaced=lambda: replaced_essay_keys(session, course_id),
                                   refit=lambda: _refit(session, course_id, force=True))


def _refit(session: Session, course_id: int, force: bool) -> dict:
    exclude = _gather(session, Scope(course_id), essays=False).exclude
    return similarity_index.rebuild(session, course_id, params=detector().get_params(),
                                    latest_ids=lambda: latest_essay_ids(session, course_id), exclude=exclude,
                                    force=force)


def _source_entries(result: QueryResult, titles: dict[str, str]) -> list[dict[str, Any]]:
    shares = {s.source: s.share for s in result.sources}
    entries = []
    for match in sorted(result.matches, key=lambda mt: -shares.get(mt.b, mt.score)):
        key = str(match.b)              # documents are named "<source>-<id>" (_gather)
        source, number = key.split("-", 1)
        entries.append({
            "kind": "essay" if match.b_kind == "essay" else "reference", "id": int(number), "source": source,
            "title": titles.get(key, f"Bài thu hoạch #{number}"),
            "share": round(shares.get(match.b, match.score), 4),
            "score": round(match.score, 4), "paraphrase": round(match.paraphrase, 4),
            "passages": [[p.a_start, p.a_end, p.b_start, p.b_end] for p in match.passages],
        })
    return entries


@jobs.task(CHECK)
def check_essay(session: Session, essay_id: int, recheck_matched: bool = True, **params: Any) -> dict[str, Any]:
    """Compare one essay with every other source of its course and store the report (replacing the one there
    is: a check run twice leaves one report). A check that fails rolls the session's transaction back before
    writing the failed report: call it in a transaction of its own, as jobs do.

    Each essay it shares passages with is checked again by a job of its own (``similarity.recheck_essay``,
    one waiting per essay however many essays copy it), so the earlier writer's examiner also sees the pair
    (unless that essay's report shows it already, or its own check still waits: that one will see this essay).
    """
    written = list(session.scalars(_WRITTEN, {"essay": essay_id}))
    essay = next((row for row in written if row.id == essay_id), None)
    if essay is None or essay.kind != "essay":      # group reports are not similarity-checked
        return {"essay_id": essay_id, "status": "missing"}
    own = [f"essay-{row.id}" for row in written if row.kind == "essay"]      # never sources of each other
    try:
        result, titles, index_job = _judge(session, essay, params, own)
    except Exception as exc:   # the report says it failed; the essay itself is untouched
        # a job's work runs in a transaction of its own (jobs.run_job), which has only read so far: rolled back,
        # it is usable again even after a database error (no savepoint: two round trips fewer for every check)
        session.rollback()
        _store_report(session, essay_id, status="failed", error=f"{type(exc).__name__}: {exc}",
                      finished_at=datetime.now(timezone.utc))
        return {"essay_id": essay_id, "status": "failed"}
    entries = _source_entries(result, titles)
    recheck = _to_recheck(session, essay_id, entries) if recheck_matched else []
    # every read done: the writes come last and briefly (SQLite has one writer at a time), the jobs in one
    # order (ids ascending, the index job after), so two checks never wait on each other's job rows crosswise
    score = round(result.score, 4)
    _store_report(session, essay_id, status="done", error=None, score=score,
                  paraphrase=round(max((mt.paraphrase for mt in result.matches), default=0.0), 4),
                  sources=entries, finished_at=datetime.now(timezone.utc))
    for other in recheck:
        jobs.defer(session, RECHECK, essay_id=other)
    if index_job is not None:
        jobs.defer(session, index_job, course_id=assignment_facts(session, essay.assignment_id)[0])
    return {"essay_id": essay_id, "status": "done", "score": score}


def _job_key(name: str, essay_id: int) -> str:
    """The key ``jobs.defer`` gives the job ``name(essay_id=...)`` (one waiting job per key)."""
    return f"{name}:{json.dumps({'essay_id': essay_id}, sort_keys=True, separators=(',', ':'))}"


_reports = cast(Table, m.SimilarityReport.__table__)
# the partial index of waiting jobs' keys is used only with its condition written as a literal
_WAITING = select(m.Job.__table__.c.key).where(m.Job.__table__.c.key.in_(bindparam("keys", expanding=True)),
                                               text("state = 'queued'"))
_SHOWN = (select(_reports.c.essay_id, _reports.c.status, _reports.c.sources)
          .where(_reports.c.essay_id.in_(bindparam("ids", expanding=True))))


def _to_recheck(session: Session, essay_id: int, sources: list[dict[str, Any]]) -> list[int]:
    """The essays this one shares passages with whose report does not show the pair yet, ascending: a report
    already naming this essay would not change (texts never do), and in a deadline rush, when checks lag
    behind submissions, each of two essays copying each other often finds the other. Nor those whose check
    (or re-check) still waits, unclaimed: it begins after this essay was committed, so it compares the two."""
    matched = sorted({entry["id"] for entry in sources if entry["kind"] == "essay"})
    if not matched:
        return []
    keys = {_job_key(name, other): other for other in matched for name in (CHECK, RECHECK)}
    waiting = {keys[key] for key in session.scalars(_WAITING, {"keys": list(keys)})}
    matched = [other for other in matched if other not in waiting]
    if not matched:
        return []
    shown = {row.essay_id for row in session.execute(_SHOWN, {"ids": matched})
             if row.status == "done" and any(entry.get("kind") == "essay" and entry.get("id") == essay_id
                                        for entry in row.sources or [])}
    return [other for other in matched if other not in shown]


@jobs.task(RECHECK)
def recheck_essay(session: Session, essay_id: int) -> dict[str, Any]:
    """Check an essay again because a later one shares passages with it; checks no other essay in turn."""
    return check_essay(session, essay_id, recheck_matched=False)


_author = aliased(m.Essay)
# the essay and its author's other essays, in one statement
_WRITTEN = select(m.Essay).where((m.Essay.id == bindparam("essay")) | (
    (m.Essay.user_id == select(_author.user_id).where(_author.id == bindparam("essay")).scalar_subquery())
    & (m.Essay.kind == "essay")))


_upserts: dict[tuple[str, bool], Any] = {}


def _upsert(dialect: str, done: bool):
    """The statement writing a report, added when missing, replaced otherwise (``done``: with its findings;
    else only that it failed), built once per database kind."""
    key = (dialect, done)
    if key not in _upserts:
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        c = _reports.c
        names = ["status", "error", "finished_at"] + (["score", "paraphrase", "sources"] if done else [])
        statement = insert(_reports).values(essay_id=bindparam("essay"),
                                            **{name: bindparam(f"new_{name}", type_=c[name].type) for name in names})
        _upserts[key] = statement.on_conflict_do_update(index_elements=["essay_id"],
                                                        set_={name: statement.excluded[name] for name in names})
    return _upserts[key]


def _store_report(session: Session, essay_id: int, **values: Any) -> None:
    """Write the essay's report in one statement, added when missing, replaced otherwise: one per essay even
    when two checks of it run at once. A copy of the row the session holds is read again when next used."""
    statement = _upsert(session.get_bind().dialect.name, "sources" in values)
    session.execute(statement, {"essay": essay_id, **{f"new_{name}": value for name, value in values.items()}})
    for held in list(session.identity_map.values()):
        if isinstance(held, m.SimilarityReport) and inspect(held).dict.get("essay_id") == essay_id:
            session.expire(held)


def _judge(session: Session, essay: m.Essay, params: dict[str, Any],
           own: list[str]) -> tuple[QueryResult, dict[str, str], str | None]:
    """The essay's report, the references' titles, and the index job the check asks for, if any (``own``: the
    keys of its author's essays, never its sources).

    With a course index: the segments, this worker's tail of newer essays and the references are queried as
    one (similarity_index.py); no essay the index holds is read, nothing is counted over the course. Without
    one (a small course; or ``params``, another engine setting for this check): every source is fitted."""
    course_id = assignment_facts(session, essay.assignment_id)[0]
    index = None if params else similarity_index.load(course_id)
    if index is None:
        sources = gather_sources(session, essay)
        result = detector(**params).fit(sources.essays, exclude=sources.exclude,
                                        references=sources.references).report(f"essay-{essay.id}")
        wanted = not params and len(sources.essays) >= runtime.settings().similarity_index_at
        return result, sources.titles, similarity_index.REBUILD if wanted else None
    others = _gather(session, Scope(course_id, essay), essays=False)
    result, fresh = similarity_index.query(session, index, essay, references=others.references,
                                           exclude=[text for _key, text in others.exclude],
                                           ignore=own)
    if not index.current or index.params != detector().get_params():
        return result, others.titles, similarity_index.REBUILD
    return result, others.titles, similarity_index.UPDATE if fresh >= similarity_index.tail_limit() else None


def request_check(session: Session, essay: m.Essay, *, new: bool = False) -> None:
    """Mark the report pending and run the check once the submission has committed (``new``: the essay was
    stored in this transaction, so it has no report to look for)."""
    if essay.kind != "essay":
        return
    if new or session.scalar(select(m.SimilarityReport).where(m.SimilarityReport.essay_id == essay.id)) is None:
        session.add(m.SimilarityReport(essay_id=essay.id, status="pending"))
    jobs.defer(session, CHECK, essay_id=essay.id)


CONTEXT = 200      # characters of another cohort's essay shown either side of a shared passage


def excerpts(text: str, spans: list[tuple[int, int]], context: int = CONTEXT) -> list[dict[str, Any]]:
    """The parts of ``text`` around the ``spans``: each with up to ``context`` characters either side, cut at
    word boundaries (never inside a passage), overlapping parts merged; offsets stay those of ``text``."""
    parts: list[list[int]] = []
    for start, end in sorted(spans):
        start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
        if start >= end:
            continue
        lo, hi = max(0, start - context), min(len(text), end + context)
        if lo > 0 and not text[lo - 1].isspace():          # begin at the next word within the context
            gap = re.search(r"\s+", text[lo:start])
            lo = lo + gap.end() if gap else start
        if hi < len(text) and not text[hi].isspace():       # end after the last whole word
            spaces = list(re.finditer(r"\s", text[end:hi]))
            hi = end + spaces[-1].start() if spaces else end
        if parts and lo <= parts[-1][1]:
            parts[-1][1] = max(parts[-1][1], hi)
        else:
            parts.append([lo, hi])
    return [{"start": lo, "end": hi, "text": text[lo:hi]} for lo, hi in parts]


@dataclass(frozen=True)
class ReportView:
    essay_id: int
    status: str
    score: float | None
    paraphrase: float | None
    sources: list[dict[str, Any]]
    body: str
    finished_at: datetime | None


def report_for(session: Session, user: m.User, essay_id: int) -> ReportView:
    """The report for examiners of the essay and lecturers, with the sources' text for side-by-side views.

    A source's whole text only where the policy allows it (``similarity.source_text``); otherwise ``text``
    is None and only ``excerpts`` come along: the shared passages with a little context (an examiner
    reading another cohort's essay). Never who wrote a source."""
    essay = session.get(m.Essay, essay_id)
    if essay is None:
        raise NotFound("Không tìm thấy bài thu hoạch")
    policy.require(user, "similarity.read", essay)
    report = session.scalar(select(m.SimilarityReport).where(m.SimilarityReport.essay_id == essay_id))
    if report is None:
        raise NotFound("Chưa có báo cáo trùng lặp cho bài này")
    sources = []
    registered = similarity_sources.sources()
    for entry in report.sources or []:
        found = _document(session, registered, entry)
        text = found.text if found is not None else ""
        full = found is None or found.guarded is None or policy.allowed(
            user, "similarity.source_text", policy.SourceOf(essay, found.guarded))
        sources.append({**entry, "text": text if full else None, "length": len(text),
                        "excerpts": excerpts(text, [(p[2], p[3]) for p in entry.get("passages") or []])})
    return ReportView(essay_id, report.status, report.score, report.paraphrase, sources, essay.body,
                      report.finished_at)


def _document(session: Session, registered: dict[str, Source], entry: dict[str, Any]) -> Document | None:
    """The text a stored report entry points at; reports written before sources were named say only the kind."""
    name = entry.get("source") or (similarity_sources.ESSAYS if entry.get("kind") == "essay" else ReferenceTexts.name)
    source = registered.get(name)
    return source.document(session, entry["id"]) if source is not None else None


@dataclass(frozen=True)
class CohortView:
    essays: list[dict[str, Any]]      # essay_id, score, top source — highest first
    pairs: list[dict[str, Any]]       # a, b, score (a's share found in b), paraphrase
    clusters: list[list[int]]         # essays linked by reuse above the threshold, largest first
    unchecked: int = 0                # essays whose check is still running or failed


def cohort_view(session: Session, user: m.User, assignment_id: int, min_score: float) -> CohortView:
    """Rank the assignment's essays and pairs by reuse, and group essays that copy from each other.

    Read from the essays' stored reports (each checked in the background against the whole
    course, and checked again when a later essay copies from it), so the page costs one read,
    not a new comparison of the whole cohort.
    """
    policy.require(user, "similarity.cohort")
    assignment = session.get(m.Assignment, assignment_id)
    if assignment is None:
        raise NotFound("Không tìm thấy bài được giao")
    latest = _latest(assignment.cohort.course_id).where(m.Essay.assignment_id == assignment_id).subquery()
    ids = set(session.scalars(select(latest.c.id)))
    reports = session.scalars(select(m.SimilarityReport).join(m.Essay, m.Essay.id == m.SimilarityReport.essay_id)
                              .where(m.Essay.assignment_id == assignment_id, m.SimilarityReport.status == "done"))
    pairs, checked = [], set()
    for report in reports:
        if report.essay_id not in ids:
            continue
        checked.add(report.essay_id)
        for source in report.sources or []:
            share = source.get("share") or 0.0
            if source.get("kind") == "essay" and source.get("id") in ids and share >= min_score:
                pairs.append({"a": report.essay_id, "b": source["id"], "score": round(share, 4),
                              "paraphrase": round(source.get("paraphrase") or 0.0, 4)})
    best: dict[int, tuple[float, int]] = {}
    parent = {i: i for i in ids}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for pair in pairs:
        if pair["score"] > best.get(pair["a"], (0.0, 0))[0]:
            best[pair["a"]] = (pair["score"], pair["b"])
        parent[root(pair["a"])] = root(pair["b"])
    groups: dict[int, list[int]] = {}
    for essay_id in ids:
        groups.setdefault(root(essay_id), []).append(essay_id)
    return CohortView(
        essays=sorted(({"essay_id": a, "score": s, "source": b} for a, (s, b) in best.items()),
                      key=lambda row: (-row["score"], row["essay_id"])),
        pairs=sorted(pairs, key=lambda row: (-row["score"], row["a"], row["b"])),
        clusters=sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g)),
        unchecked=len(ids - checked))
