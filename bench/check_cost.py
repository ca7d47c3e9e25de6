"""What one similarity check costs as a course grows, and how fast workers drain a deadline burst.

For courses of 2,000, 20,000 and 50,000 synthetic Vietnamese essays (syllables chained as they follow each
other in viwiki-sample, 1,000 per essay; 10 % carry a lightly edited copy of another) stored in a database
(SQLite, or PostgreSQL with ``--database``), it prints:

- building the course index (``similarity.rebuild_index``: chunks fitted and merged into memory-mapped
  segments) against fitting every essay at once into one .npz as before: time and peak memory, each in a
  process of its own;
- the cost of one check (``similarity.check_essay`` run as the job it is, database work included) of new
  essays of 600-1,500 syllables, one worker, the index jobs they ask for run between them as their own
  queue would: CPU and wall median and p99; and whether the copies planted in them are found;
- the check as it was before (query the .npz index, fit every essay newer than it, merge by tokenizing the
  essay, count the course's latest essays) with 0, 200 and 1,000 essays newer than the index;
- at the largest size, the memory of two check workers sharing the segments (proportional share, private)
  against a worker holding the .npz index; then a burst of new essays submitted at 200 a second, drained by
  two check workers and one index worker (processes): jobs done per second, how long a check waited, and
  whether the planted copies (of essays in the index, of essays earlier in the same burst) are found.

    .venv/bin/python bench/check_cost.py                 # 2,000 / 20,000 / 50,000 essays
    .venv/bin/python bench/check_cost.py --quick         # 2,000 / 5,000 essays, a burst of 600
    .venv/bin/python bench/check_cost.py --database postgresql://postgres@127.0.0.1:5432/test
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_VIWIKI = ROOT.parent / "shared" / "datasets" / "viwiki-sample"
SCENARIO = "t1-ton-dong-ho-so-dat-dai"
MEMORY_CHECKS = 40


# ---- helpers shared by the parent and its worker processes --------------------------------------------------

def memory() -> dict[str, float]:
    """This process's memory in MB: resident, proportional share (a page shared with other processes counts
    for its share), anonymous (its own: not pages of a file it maps, which the system may drop and read again),
    and the resident peak."""
    out: dict[str, float] = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if parts[0] in ("Rss:", "Pss:", "Anonymous:"):
            out[parts[0].rstrip(":")] = int(parts[1]) / 1024
    out["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(role: str, env: dict[str, str], **args) -> dict:
    """Run this script as ``role`` in a process of its own (its memory is its own) and read its JSON answer."""
    done = subprocess.run([sys.executable, __file__, "--child", role, json.dumps(args)], capture_output=True,
                          text=True, env={**os.environ, **env}, check=False)
    if done.returncode:
        raise SystemExit(f"{role} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def settings_env(url: str, index_dir: Path) -> dict[str, str]:
    return {"CASELAB_DATABASE_URL": url, "CASELAB_INDEX_DIR": str(index_dir), "CASELAB_JOBS": "inline",
            "CASELAB_SIMILARITY_INDEX_AT": "200", "CASELAB_PASSWORD_HASH": "pbkdf2:sha256:1000"}


def quiet_jobs():
    """Jobs stay in their table for a worker to take (nothing runs inline after a commit); the settings are read
    once, as ``caselab worker`` reads them (not from the environment at every use)."""
    from lms_plugin.services import jobs, runtime
    from lms_plugin.settings import Settings
    runtime.configure(Settings.load())
    jobs.hand_off = lambda *args, **kwargs: None
    return jobs


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


# ---- the database -------------------------------------------------------------------------------------------

def new_database(base: str | None, folder: Path) -> tuple[str, str | None]:
    """A new database: a SQLite file in ``folder``, or a schema of its own on PostgreSQL (its name returned,
    to be dropped when done)."""
    from sqlalchemy import text

    from lms_plugin.store import db
    schema = None
    if base is None:
        url = f"sqlite:///{folder / 'course.db'}"
    else:
        schema = "bench_" + uuid.uuid4().hex[:8]
        admin = db.make_engine(base)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    return url, schema


def drop_schema(base: str | None, schema: str | None) -> None:
    from sqlalchemy import text

    from lms_plugin.store import db
    if base is None or schema is None:
        return
    admin = db.make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def seed_course(url: str, n_people: int) -> tuple[int, int, list[int]]:
    """A course, a cohort, the assignment of one scenario, ``n_people`` cadres: (course, assignment, users)."""
    from sqlalchemy import insert, select

    from lms_plugin.services import cohorts
    from lms_plugin.services.catalog import load_catalog
    from lms_plugin.services.content import import_catalog
    from lms_plugin.store import db, models as m
    engine = db.make_engine(url)
    factory = db.session_factory(engine)
    with db.unit_of_work(factory) as session:
        import_catalog(session, load_catalog([ROOT / "scenarios", ROOT / "rubrics"]))
        cohort = cohorts.create_cohort(session, "Lớp toàn quốc", "boi-duong-can-bo-co-so-2026")
        assignment = cohorts.assign_scenario(session, cohort, SCENARIO)
        course_id, assignment_id = cohort.course_id, assignment.id
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        for lo in range(0, n_people, 5000):
            conn.execute(insert(m.User), [{"username": f"hv{i}", "role": "cadre", "password_hash": None,
                                           "created_at": now} for i in range(lo, min(n_people, lo + 5000))])
        users = list(conn.scalars(select(m.User.id).where(m.User.role == "cadre").order_by(m.User.id)))
    engine.dispose()
    return course_id, assignment_id, users


def essay_rows(assignment_id: int, users: list[int], texts: list[str]) -> list[dict]:
    now = datetime.now(timezone.utc)
    return [{"assignment_id": assignment_id, "user_id": u, "kind": "essay", "version": 1, "body": t,
             "sha256": hashlib.sha256(t.encode()).hexdigest(), "words": t.count(" ") + 1, "submitted_at": now}
            for u, t in zip(users, texts)]


def insert_essays(engine, assignment_id: int, users: list[int], texts: list[str]) -> list[int]:
    from sqlalchemy import insert, select

    from lms_plugin.store import models as m
    with engine.begin() as conn:
        for lo in range(0, len(texts), 2000):
            conn.execute(insert(m.Essay), essay_rows(assignment_id, users[lo:lo + 2000], texts[lo:lo + 2000]))
        return list(conn.scalars(select(m.Essay.id).order_by(m.Essay.id)))


def submit(factory, assignment_id: int, users: list[int], texts: list[str]) -> list[int]:
    """New essays as a submission stores them for the check: the row, a pending report, the check job."""
    from lms_plugin.services import similarity
    from lms_plugin.store import db, models as m
    with db.unit_of_work(factory) as session:
        rows = [m.Essay(**row) for row in essay_rows(assignment_id, users, texts)]
        session.add_all(rows)
        session.flush()
        for row in rows:
            similarity.request_check(session, row)
        return [row.id for row in rows]


def found(factory, pairs: list[tuple[int, int]]) -> int:
    """How many (essay, source) pairs have the source in the essay's report."""
    from sqlalchemy import select

    from lms_plugin.store import models as m
    with factory() as session:
        reports = {r.essay_id: r.sources or [] for r in session.scalars(
            select(m.SimilarityReport).where(m.SimilarityReport.essay_id.in_({a for a, _ in pairs})))}
    return sum(any(e["id"] == src for e in reports.get(a, [])) for a, src in pairs)


def failed(factory, ids: list[int]) -> int:
    from sqlalchemy import func, select

    from lms_plugin.store import models as m
    with factory() as session:
        return session.scalar(select(func.count()).select_from(m.SimilarityReport).where(
            m.SimilarityReport.essay_id.in_(ids), m.SimilarityReport.status != "done")) or 0


# ---- the essays ---------------------------------------------------------------------------------------------

class Texts:
    def __init__(self, viwiki: Path):
        from bench.synthetic import bigram_model, syllable_distribution
        self.words, self.p = syllable_distribution(viwiki)
        self.chains = bigram_model(viwiki)

    def course(self, n: int, seed: int) -> list[str]:
        from bench.synthetic import make_cohort
        return make_cohort(self.words, self.p, n, length=1000, seed=seed, chains=self.chains).texts

    def new(self, n: int, course: list[str], seed: int):
        """``n`` new essays of 600-1,500 syllables: a quarter copy 20-40 % of a course essay, a quarter of an
        essay a little earlier among the new ones. Returns the texts, the (new, course essay) and the
        (new, earlier new) positions."""
        from bench.synthetic import essay_maker
        maker = essay_maker(self.words, self.p, seed, self.chains)
        rng = np.random.default_rng(seed)
        lengths = rng.integers(600, 1501, size=n).tolist()
        texts = [" ".join(t.split(" ")[:k]) for t, k in zip(maker.essays(n, 1500), lengths)]
        from_course, from_new = [], []
        for i in range(n):
            if i % 4 == 0 or (i % 4 == 1 and i < 16):
                src_at = int(rng.integers(len(course)))
                src = course[src_at].split(" ")
                from_course.append((i, src_at))
            elif i % 4 == 1:
                src_at = int(rng.integers(max(0, i - 300), i - 8))
                src = texts[src_at].split(" ")
                from_new.append((i, src_at))
            else:
                continue
            dst = texts[i].split(" ")
            span = int(len(dst) * rng.uniform(0.2, 0.4))
            at, put = int(rng.integers(len(src) - span)), int(rng.integers(len(dst) - span))
            texts[i] = " ".join(dst[:put] + maker.edit(src[at:at + span]) + dst[put + span:])
        return texts, from_course, from_new


# ---- the check as it was before segments (services/similarity.py of the previous release) ----------------

def old_check(session, index, essay, after_id: int, params: dict) -> None:
    """Query the .npz index; fit every essay newer than it with the essay; merge by tokenizing the essay;
    count the course's latest essays (the rebuild rule)."""
    from sqlalchemy import func, select

    from lms_plugin.core.similarity import Match, QueryResult, ReuseDetector, SourceShare
    from lms_plugin.core.text import tokenize
    from lms_plugin.services import similarity, similarity_index

    def covered_share(text, spans):
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

    def merge(text, *results):
        best: dict = {}
        for result in results:
            for match in result.matches:
                if match.b not in best or match.score > best[match.b].score:
                    best[match.b] = match
        matches: tuple[Match, ...] = tuple(sorted(best.values(), key=lambda mt: -mt.score))
        spans = [(p.a_start, p.a_end) for mt in matches for p in mt.passages]
        return QueryResult(covered_share(text, spans), tuple(SourceShare(mt.b, mt.b_kind, mt.score)
                                                             for mt in matches), matches)

    key = f"essay-{essay.id}"
    course_id = essay.assignment.cohort.course_id
    sources = similarity._gather(session, similarity.Scope(course_id, essay, after_id))
    from_index = index.query(essay.body, ignore=similarity_index.indexed_essay_keys(session, essay))
    newer = [(k, t) for k, t in sources.essays if k != key]
    from_newer = (ReuseDetector(**params).fit(newer + [(key, essay.body)], exclude=sources.exclude).report(key)
                  if newer else QueryResult(0.0, (), ()))
    merge(essay.body, from_index, from_newer)
    session.scalar(select(func.count()).select_from(similarity._latest(course_id).subquery()))


# ---- child processes ----------------------------------------------------------------------------------------

def child_rebuild(course_id: int) -> dict:
    from lms_plugin.services import runtime, similarity
    from lms_plugin.store import db
    quiet_jobs()
    factory = db.session_factory(runtime.make_engine())
    started, spent = time.perf_counter(), cpu()
    with db.unit_of_work(factory) as session:
        out = similarity.rebuild_index(session, course_id)
    return {**out, "seconds": time.perf_counter() - started, "cpu": cpu() - spent, "memory": memory()}


def child_old_build(course_id: int, path: str) -> dict:
    """The index as it was built before: every latest essay fitted at once, saved as one .npz."""
    from lms_plugin.services import runtime, similarity
    from lms_plugin.store import db
    factory = db.session_factory(runtime.make_engine())
    started, spent = time.perf_counter(), cpu()
    with factory() as session:
        sources = similarity.course_sources(session, course_id)
        fitted = similarity.detector().fit(sources.essays, exclude=sources.exclude, references=sources.references)
        fitted.save(path)
    return {"seconds": time.perf_counter() - started, "cpu": cpu() - spent, "memory": memory()}


def child_checks(essay_ids: list[int], index_jobs: bool) -> dict:
    """Run the check jobs of ``essay_ids`` one after the other (and, with ``index_jobs``, the index jobs they
    ask for between them, not counted): CPU and wall time of each job, database work included."""
    from sqlalchemy import select

    from lms_plugin.services import runtime, similarity, similarity_index
    from lms_plugin.store import db, models as m
    jobs = quiet_jobs()
    engine = runtime.make_engine()
    factory = db.session_factory(engine)
    with factory() as session:
        course_id = session.get(m.Essay, essay_ids[0]).assignment.cohort.course_id
        wanted = {row.args["essay_id"]: row.id for row in session.scalars(
            select(m.Job).where(m.Job.name == similarity.CHECK, m.Job.state == "queued"))}
    started = time.perf_counter()
    similarity_index.load(course_id)
    opened = time.perf_counter() - started
    cpu_ms, wall_ms, index_runs = [], [], 0
    for essay_id in essay_ids:
        t0, c0 = time.perf_counter(), time.process_time()
        assert jobs.run_job(wanted[essay_id], engine) == "done"
        cpu_ms.append((time.process_time() - c0) * 1e3)
        wall_ms.append((time.perf_counter() - t0) * 1e3)
        if index_jobs:
            with factory() as session:
                waiting = list(session.scalars(select(m.Job.id).where(m.Job.queue == "index",
                                                                      m.Job.state == "queued")))
            for job_id in waiting:
                jobs.run_job(job_id, engine)
                index_runs += 1
    return {"cpu_ms": cpu_ms, "wall_ms": wall_ms, "index_jobs": index_runs, "opened_ms": opened * 1e3,
            "memory": memory()}


def child_old_checks(npz: str, essay_ids: list[int], after_ids: list[int]) -> dict:
    """The previous check with the .npz index, for each ``after_id`` (essays newer than the index)."""
    from lms_plugin.core.similarity import ReuseDetector
    from lms_plugin.services import runtime, similarity
    from lms_plugin.store import db, models as m
    factory = db.session_factory(runtime.make_engine())
    before = memory()
    started = time.perf_counter()
    index = ReuseDetector.load(npz)
    index.query("khởi động")           # the transposed paraphrase matrix, built once per worker
    loaded = time.perf_counter() - started
    after_load = memory()
    params = similarity.detector().get_params()
    out = {}
    with factory() as session:
        for after_id in after_ids:
            spent = []
            for essay_id in essay_ids:
                essay = session.get(m.Essay, essay_id)
                c0 = time.process_time()
                old_check(session, index, essay, after_id, params)
                spent.append((time.process_time() - c0) * 1e3)
            out[str(after_id)] = spent
    return {"cpu_ms": out, "load_s": loaded, "memory_before": before, "memory": after_load}


def child_worker(queue: str, slot: int, slots: int, stop: str) -> dict:
    """A worker of ``queue``, taking the waiting jobs whose id is ``slot`` modulo ``slots`` first, until
    ``stop`` exists and nothing waits."""
    from sqlalchemy import select

    from lms_plugin.services import runtime, similarity  # noqa: F401 - declares the tasks
    from lms_plugin.store import db, models as m
    jobs = quiet_jobs()
    engine = runtime.make_engine()
    factory = db.session_factory(engine)
    ran, cpu_ms = 0, []
    while True:
        with factory() as session:
            ids = list(session.scalars(select(m.Job.id).where(m.Job.queue == queue, m.Job.state == "queued")
                                       .order_by(m.Job.id).limit(100)))
        mine = [i for i in ids if i % slots == slot] or ids[-1:]
        if not mine:
            if Path(stop).exists():
                break
            time.sleep(0.02)
            continue
        for job_id in mine:
            c0 = time.process_time()
            if jobs.run_job(job_id, engine) == "done":
                ran += 1
                cpu_ms.append((time.process_time() - c0) * 1e3)
    return {"ran": ran, "cpu": cpu(), "cpu_ms": cpu_ms, "memory": memory()}


CHILDREN = {"rebuild": child_rebuild, "old_build": child_old_build, "checks": child_checks,
            "old_checks": child_old_checks, "worker": child_worker}


# ---- the parent ---------------------------------------------------------------------------------------------

class Course:
    """One course of the run: its database, settings for the worker processes, essays and planted copies."""

    def __init__(self, n: int, n_new: int, args, texts: Texts, work: Path):
        from lms_plugin.services import runtime
        from lms_plugin.store import db
        self.n, self.folder = n, work / f"n{n}"
        self.folder.mkdir()
        self.url, self.schema = new_database(args.database, self.folder)
        self.index_dir = self.folder / "index"
        self.env = settings_env(self.url, self.index_dir)
        os.environ.update(self.env)
        runtime.configure(None)
        course = texts.course(n, seed=n)
        self.new, self.from_course, self.from_new = texts.new(n_new, course, seed=n + 1)
        self.course_id, self.assignment_id, self.users = seed_course(self.url, n + n_new)
        self.engine = db.make_engine(self.url)
        self.factory = db.session_factory(self.engine)
        self.course_ids = insert_essays(self.engine, self.assignment_id, self.users[:n], course)
        self.chars = sum(len(t) for t in course)
        self.ids: list[int | None] = [None] * n_new       # essay ids of the new essays, once submitted

    def submit(self, lo: int, hi: int) -> list[int]:
        ids = submit(self.factory, self.assignment_id, self.users[self.n + lo:self.n + hi], self.new[lo:hi])
        self.ids[lo:hi] = ids
        return ids

    def planted(self, lo: int, hi: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The planted (copy, source) essay ids among the new essays lo..hi: of course essays, of new ones."""
        of_course = [(self.ids[i], self.course_ids[s]) for i, s in self.from_course if lo <= i < hi]
        of_new = [(self.ids[i], self.ids[s]) for i, s in self.from_new if lo <= i < hi and self.ids[s] is not None]
        return of_course, of_new  # type: ignore[return-value]


def one_size(n: int, args, texts: Texts, work: Path) -> None:
    from sqlalchemy import delete, select

    from lms_plugin.store import models as m
    quiet_jobs()
    largest = n == args.sizes[-1]
    print(f"\n== a course of {n:,} essays", flush=True)
    t0 = time.perf_counter()
    course = Course(n, args.checks + (MEMORY_CHECKS + args.burst if largest else 0), args, texts, work)
    print(f"generated and stored in {time.perf_counter() - t0:.0f} s (not timed): {course.chars / 1e6:.0f} M "
          f"characters, {course.engine.dialect.name}", flush=True)

    build = child("rebuild", course.env, course_id=course.course_id)
    print(f"index build (similarity.rebuild_index): {build['seconds']:.1f} s wall, {build['cpu']:.1f} s CPU, "
          f"peak RSS {build['memory']['peak']:.0f} MB; {build['segments']} segment(s), "
          f"{folder_mb(course.index_dir):.0f} MB on disk", flush=True)
    npz = course.folder / "old-index.npz"
    old = child("old_build", course.env, course_id=course.course_id, path=str(npz))
    print(f"  as before (every essay fitted at once into one .npz): {old['seconds']:.1f} s wall, "
          f"{old['cpu']:.1f} s CPU, peak RSS {old['memory']['peak']:.0f} MB", flush=True)

    checks = course.submit(0, args.checks)
    result = child("checks", course.env, essay_ids=checks, index_jobs=True)
    cpu_ms, wall_ms = result["cpu_ms"][5:], result["wall_ms"][5:]
    print(f"check of a new essay, one worker, {len(checks)} checks (the first 5 left out; the index opened in "
          f"{result['opened_ms']:.0f} ms; {result['index_jobs']} index job(s) ran between them): CPU median "
          f"{statistics.median(cpu_ms):.1f} ms, p99 {pct(cpu_ms, 99):.1f} ms; wall median "
          f"{statistics.median(wall_ms):.1f} ms, p99 {pct(wall_ms, 99):.1f} ms", flush=True)
    of_course, of_new = course.planted(0, args.checks)
    print(f"  planted copies found: of essays in the index {found(course.factory, of_course)} of {len(of_course)}, "
          f"of new essays checked a little earlier {found(course.factory, of_new)} of {len(of_new)}; "
          f"failed checks: {failed(course.factory, checks)}", flush=True)

    shared = None
    if largest:
        shared = workers_memory(course, args.checks)
        with course.engine.begin() as conn:     # re-checks the checks above asked for: not the burst's work
            conn.execute(delete(m.Job).where(m.Job.queue == "checks", m.Job.state == "queued"))
        burst(course, args.checks + MEMORY_CHECKS, args.burst)

    with course.factory() as session:
        every = list(session.scalars(select(m.Essay.id).order_by(m.Essay.id)))
    newer = [k for k in (0, 200, 1000) if k < len(every) - n]
    former = child("old_checks", course.env, npz=str(npz), essay_ids=checks[-5:],
                   after_ids=[every[-k - 1] for k in newer])
    print("the check as it was (query the .npz index, fit the essays newer than it, merge, count the course), "
          "the same essays:", flush=True)
    for k in newer:
        spent = former["cpu_ms"][str(every[-k - 1])]
        print(f"  with {k:>5,} essays newer than the index: CPU median {statistics.median(spent):.0f} ms, "
              f"max {max(spent):.0f} ms ({len(spent)} checks)", flush=True)
    if shared is not None:
        mem = former["memory"]
        print(f"  a worker holding that index ({npz.stat().st_size / 2**20:.0f} MB .npz, read whole in "
              f"{former['load_s']:.1f} s): RSS {mem['Rss']:.0f} MB, its own (anonymous) {mem['Anonymous']:.0f} MB "
              f"({mem['Anonymous'] - former['memory_before']['Anonymous']:.0f} MB for the index), against "
              f"{shared:.0f} MB in a worker sharing the segments", flush=True)
    course.engine.dispose()
    drop_schema(args.database, course.schema)


def workers_memory(course: Course, lo: int) -> float:
    """Two check workers at once on new essays: their memory. Returns the larger one's own memory."""
    ids = course.submit(lo, lo + MEMORY_CHECKS)
    outcome: dict[int, dict] = {}

    def run(slot: int) -> None:
        outcome[slot] = child("checks", course.env, essay_ids=ids[slot::2], index_jobs=False)
    threads = [threading.Thread(target=run, args=(s,)) for s in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for slot, out in sorted(outcome.items()):
        mem = out["memory"]
        print(f"check worker {slot + 1} of 2 running at once ({len(ids) // 2} checks each): RSS {mem['Rss']:.0f} MB, "
              f"proportional share {mem['Pss']:.0f} MB, its own (anonymous) {mem['Anonymous']:.0f} MB; the "
              f"segments ({folder_mb(course.index_dir):.0f} MB on disk) are mapped by both", flush=True)
    return max(out["memory"]["Anonymous"] for out in outcome.values())


def burst(course: Course, lo: int, size: int) -> None:
    from sqlalchemy import select

    from lms_plugin.services import similarity
    from lms_plugin.store import models as m
    stop = course.folder / "stop"
    outcome: dict[str, dict] = {}
    roles = [("checks", 0, 2), ("checks", 1, 2), ("index", 0, 1)]

    def run(queue: str, slot: int, slots: int) -> None:
        outcome[f"{queue} worker {slot + 1}"] = child("worker", course.env, queue=queue, slot=slot, slots=slots,
                                                      stop=str(stop))
    threads = [threading.Thread(target=run, args=role) for role in roles]
    for t in threads:
        t.start()
    time.sleep(2)                                # the workers are up
    started = time.perf_counter()
    ids: list[int] = []
    for at in range(lo, lo + size, 50):          # 50 essays every quarter of a second: 200 a second
        ids += course.submit(at, min(at + 50, lo + size))
        time.sleep(max(0.0, started + (at - lo + 50) / 200 - time.perf_counter()))
    submitted = time.perf_counter() - started
    from bench.serving import wait_checks_drained
    wait_checks_drained(course.engine)
    drained = time.perf_counter() - started
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    stop.touch()
    for t in threads:
        t.join()
    with course.factory() as session:
        done = session.execute(select(m.Job.name, m.Job.args, m.Job.created_at, m.Job.finished_at)
                               .where(m.Job.queue == "checks", m.Job.state == "done")).all()
    mine = set(ids)
    waits = [(d.finished_at - d.created_at).total_seconds() for d in done
             if d.name == similarity.CHECK and d.args.get("essay_id") in mine]
    work = sum(o["ran"] for k, o in outcome.items() if k.startswith("checks"))
    segments = json.loads((course.index_dir / f"course-{course.course_id}.json").read_text())["segments"]
    print(f"\n== burst: {len(ids):,} essays submitted in {submitted:.1f} s into the {course.n:,}-essay course; "
          f"two check workers and one index worker (processes)", flush=True)
    print(f"every check and re-check done {drained:.1f} s after the first submission: {work:,} jobs "
          f"({len(ids):,} checks, {work - len(ids):,} re-checks), {work / drained:.0f} jobs a second; a check "
          f"waited median {statistics.median(waits):.1f} s, p99 {pct(waits, 99):.1f} s from its submission "
          f"to its report", flush=True)
    busy = sum(o["cpu"] for k, o in outcome.items() if k.startswith("checks"))
    print(f"  the check workers had {busy / drained:.2f} of the machine's {os.cpu_count()} cores on average (load "
          f"average at the end {load}: the index worker, the submissions and whatever else runs share them); "
          f"at their CPU time per job, two whole cores would do {2 * work / busy:.0f} jobs a second", flush=True)
    for key, out in sorted(outcome.items()):
        mem, spent = out["memory"], out["cpu_ms"]
        print(f"  {key}: {out['ran']:,} jobs, CPU {out['cpu']:.1f} s (median "
              f"{statistics.median(spent) if spent else 0:.1f} ms a job), RSS {mem['Rss']:.0f} MB, proportional "
              f"share {mem['Pss']:.0f} MB, its own {mem['Anonymous']:.0f} MB", flush=True)
    print(f"  segments after the burst (essays): {[s['essays'] for s in segments]}", flush=True)
    of_course, of_new = course.planted(lo, lo + size)
    of_new = [(a, s) for a, s in of_new if s in mine]
    back = found(course.factory, [(s, a) for a, s in of_new])
    print(f"  planted copies found: of essays in the index {found(course.factory, of_course)} of {len(of_course)}; "
          f"of essays earlier in the burst {found(course.factory, of_new)} of {len(of_new)}, and the earlier "
          f"essay's report names the copy (its re-check) {back} of {len(of_new)}; failed checks: "
          f"{failed(course.factory, ids)}", flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--viwiki", type=Path, default=DEFAULT_VIWIKI)
    ap.add_argument("--sizes", default="2000,20000,50000")
    ap.add_argument("--checks", type=int, default=300, help="new essays checked one after the other per size")
    ap.add_argument("--burst", type=int, default=4000, help="essays of the burst at the largest size")
    ap.add_argument("--database", default=None, help="a PostgreSQL URL (a schema of its own); default SQLite")
    ap.add_argument("--quick", action="store_true", help="2,000 and 5,000 essays, 150 checks, a burst of 600")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        role, given = args.child
        print(json.dumps(CHILDREN[role](**json.loads(given))))
        return
    if args.quick:
        args.sizes, args.checks, args.burst = "2000,5000", 150, 600
    args.sizes = [int(s) for s in args.sizes.split(",")]
    print("command:", " ".join([sys.executable, *sys.argv]))
    print(f"machine: {os.cpu_count()} cores, load average before the run "
          f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    started = time.perf_counter()
    texts = Texts(args.viwiki)
    with tempfile.TemporaryDirectory(prefix="check-cost-") as work:
        for n in args.sizes:
            one_size(n, args, texts, Path(work))
    print(f"\nrun time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
