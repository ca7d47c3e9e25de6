"""Similarity checks in the product: each submitted essay against its cohort, past cohorts and the references.

The engine (core/similarity) judges; this module picks the sources, stores the
report, and answers the examiner and lecturer views. A score points the
examiner to passages worth reading; it is not a verdict.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.similarity import QueryResult, ReuseDetector
from ..store import models as m
from . import jobs, policy, runtime, similarity_index, similarity_sources
from .content import scenario_data
from .errors import N_, NotFound
from .similarity_sources import ESSAY, EXCLUDE, REFERENCE, Candidate, Document, Scope, Source

CHECK = "similarity.check_essay"


def scenario_text(assignment: m.Assignment) -> str:
    """Everything the scenario itself says: cadres quote it, so it never counts as reuse."""
    s = scenario_data(assignment.scenario_version)
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


def count_latest_essays(session: Session, course_id: int) -> int:
    return session.scalar(select(func.count()).select_from(_latest(course_id).subquery())) or 0


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
    """The lecturer's texts of the course and those of every course: sources, or passages never to count."""
    name = "ref"
    title = N_("văn bản tham chiếu")

    def candidates(self, session: Session, scope: Scope) -> Iterator[Candidate]:
        for ref in session.scalars(select(m.ReferenceText).where(
                (m.ReferenceText.course_id == scope.course_id) | m.ReferenceText.course_id.is_(None))):
            yield Candidate(ref.id, ref.body, REFERENCE if ref.kind == "reference" else EXCLUDE, ref.title)

    def document(self, session: Session, ident: int) -> Document | None:
        row = session.get(m.ReferenceText, ident)
        return None if row is None else Document(row.body, guarded=row)


class ScenarioText(Source):
    """The scenario's own words: cadres quote it, so it never counts (every scenario of the course for the index)."""
    name = "scenario"
    title = N_("Tình huống")

    def candidates(self, session: Session, scope: Scope) -> Iterator[Candidate]:
        if scope.essay is not None:
            assignment = scope.essay.assignment
            yield Candidate(assignment.scenario_version_id, scenario_text(assignment), EXCLUDE)
            return
        assignments = session.scalars(select(m.Assignment).join(m.Cohort).where(m.Cohort.course_id == scope.course_id))
        versions = {a.scenario_version_id: a for a in assignments}
        for version_id, assignment in versions.items():
            yield Candidate(version_id, scenario_text(assignment), EXCLUDE)


def _gather(session: Session, scope: Scope) -> Sources:
    """Every registered source's candidates, keyed "<source>-<id>" as reports and the course index name them."""
    roles: dict[str, list[tuple[str, str]]] = {ESSAY: [], REFERENCE: [], EXCLUDE: []}
    titles: dict[str, str] = {}
    for source in similarity_sources.sources().values():
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
    return _gather(session, Scope(essay.assignment.cohort.course_id, essay, after_id))


def course_sources(session: Session, course_id: int) -> Sources:
    """Everything of a course for its persisted index; every scenario assigned in it is excluded."""
    return _gather(session, Scope(course_id))


def detector(**params: Any) -> ReuseDetector:
    """The engine with the product's settings; a cohort check runs in one process.
    CASELAB_SIMILARITY_BOILERPLATE_SHARE: text in more than this share of a course's essays never counts."""
    share = runtime.settings().similarity_boilerplate_share
    return ReuseDetector(**{"n_jobs": 1, "boilerplate_share": share, **params})


@jobs.task(similarity_index.REBUILD)
def rebuild_index(session: Session, course_id: int) -> dict:
    """Fit every latest essay, reference and excluded text of the course, then swap the index in atomically."""
    sources = course_sources(session, course_id)
    fitted = detector().fit(sources.essays, exclude=sources.exclude, references=sources.references)
    return similarity_index.save(course_id, fitted, [key for key, _text in sources.essays])


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
    """Compare one essay with every other source of its course and store the report.

    Essays it shares passages with are checked again, so the earlier writer's
    examiner also sees the pair.
    """
    essay = session.get(m.Essay, essay_id)
    if essay is None or essay.kind != "essay":      # group reports are not similarity-checked
        return {"essay_id": essay_id, "status": "missing"}
    report = session.scalar(select(m.SimilarityReport).where(m.SimilarityReport.essay_id == essay_id)) \
        or m.SimilarityReport(essay_id=essay_id)
    session.add(report)
    try:
        result, sources = _judge(session, essay, params)
    except Exception as exc:   # the report says it failed; the essay itself is untouched
        report.status, report.error = "failed", f"{type(exc).__name__}: {exc}"
        report.finished_at = datetime.now(timezone.utc)
        return {"essay_id": essay_id, "status": "failed"}
    report.status, report.error = "done", None
    report.score = round(result.score, 4)
    report.paraphrase = round(max((mt.paraphrase for mt in result.matches), default=0.0), 4)
    report.sources = _source_entries(result, sources.titles)
    report.finished_at = datetime.now(timezone.utc)
    if recheck_matched:
        for entry in report.sources:
            if entry["kind"] == "essay":
                check_essay(session, entry["id"], recheck_matched=False, **params)
    return {"essay_id": essay_id, "status": "done", "score": report.score}


def _judge(session: Session, essay: m.Essay, params: dict[str, Any]) -> tuple[QueryResult, Sources]:
    """With a course index: query it and fit only the essays it does not hold (read from the database
    alone, so a check on a national course does not load every essay); without: fit every source."""
    course_id = essay.assignment.cohort.course_id
    key = f"essay-{essay.id}"
    index = similarity_index.load(course_id)
    sources = gather_sources(session, essay, after_id=index.last_essay_id if index else None)
    if index is None:
        result = detector(**params).fit(sources.essays, exclude=sources.exclude,
                                        references=sources.references).report(key)
    else:
        from_index = index.detector.query(essay.body, ignore=similarity_index.indexed_essay_keys(session, essay))
        newer = [(k, text) for k, text in sources.essays if k != key]
        from_newer = (detector(**params).fit(newer + [(key, essay.body)], exclude=sources.exclude).report(key)
                      if newer else QueryResult(0.0, (), ()))
        result = similarity_index.merge(essay.body, from_index, from_newer)
    if similarity_index.needs_rebuild(index, count_latest_essays(session, course_id)):
        jobs.defer(session, similarity_index.REBUILD, course_id=course_id)
    return result, sources


def request_check(session: Session, essay: m.Essay) -> None:
    """Mark the report pending and run the check once the submission has committed."""
    if essay.kind != "essay":
        return
    if session.scalar(select(m.SimilarityReport).where(m.SimilarityReport.essay_id == essay.id)) is None:
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
