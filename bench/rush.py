"""The deadline rush on this machine: CaseLab's essay submission against the floor, the similarity backlog's
drain, and faults in the middle of a burst. PostgreSQL, gunicorn, Celery on a Redis the bench starts itself.

    .venv/bin/python bench/rush.py [--quick] [--database postgresql://postgres@127.0.0.1:5432/caselab_rush]

1. The course: ``caselab demo --cadres 100000 --communes 3300 --essays 50000`` into the database (once; a
   rerun reuses it), then the course's similarity index is built as the index job builds it.
2. Throughput: distinct cadres each submit one essay through the API (``POST /api/v1/assignments/<id>/essay``
   with a token), driven by the same aiohttp client load as the floor: bench/rush_bare.py (Flask + SQLAlchemy,
   parse, hash, insert one row), both served by gunicorn with the same workers; for each client count the two
   run in turn for ``--seconds``. The Celery workers are stopped meanwhile: on this 2-core machine they would
   take the cores the web side is measured on (the checks wait in the queue, as in a rush).
3. Drain: two ``caselab worker`` processes start; the time until every check of the bursts is done.
4. Faults: another burst with the workers running; one gunicorn worker is SIGKILLed, a Celery worker is
   SIGKILLed mid-task and restarted, Redis is restarted (it keeps nothing on disk: its queue is lost). Then
   every 201 receipt must be in the database with the same sha256, and every essay must end with exactly one
   finished similarity report.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import rush_bare
from serving import BIN, ROOT, caselab, ensure_database, free_port
from sqlalchemy import func, insert, select

from lms_plugin.services import jobs, similarity  # noqa: F401  # similarity declares the index job
from lms_plugin.services.content import scenario_data
from lms_plugin.services.demo_text import EssayWriter
from lms_plugin.store import db, models as m

PASSWORD = "rush-demo-password"


# ---- processes ------------------------------------------------------------------------------------------



def wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answers on port {port}")


class Redis:
    """A Redis of the bench's own, keeping nothing on disk, so a restart loses its queue as a crash would."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no",
                                      "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


class Servers:
    def __init__(self, args, database: str, redis: Redis, log_dir: Path) -> None:
        self.args, self.database, self.redis, self.log_dir = args, database, redis, log_dir
        self.product_port, self.bare_port = free_port(), free_port()
        self.product: subprocess.Popen | None = None
        self.bare: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    def env(self) -> dict[str, str]:
        return {**os.environ, "CASELAB_DATABASE_URL": self.database, "CASELAB_JOBS": "celery",
                "CASELAB_BROKER_URL": self.redis.url, "CASELAB_TICK_SECONDS": "30",
                "CASELAB_SECRET_KEY": "rush-bench", "CASELAB_INSTANCE": str(self.log_dir / "instance"),
                "CASELAB_INDEX_DIR": str(self.log_dir / "index"), "RUSH_BARE_DATABASE_URL": self.database}

    def _log(self, name: str):
        return open(self.log_dir / f"{name}.log", "ab")

    def start_web(self) -> None:
        a = self.args
        engine = db.make_engine(self.database)      # the floor's table, made once (its workers would race to it)
        rush_bare.metadata.create_all(engine)
        engine.dispose()
        self.product = subprocess.Popen(
            [str(BIN / "caselab"), "serve", "--workers", str(a.web_workers), "--threads", str(a.threads),
             "--port", str(self.product_port)], env=self.env(), cwd=self.log_dir,
            stdout=subprocess.DEVNULL, stderr=self._log("product"))
        self.bare = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", str(a.web_workers), "--threads", str(a.threads), "--worker-class",
             "gthread" if a.threads > 1 else "sync", "--no-control-socket", "-b", f"127.0.0.1:{self.bare_port}",
             "--log-level", "warning", "bench.rush_bare:create()"], env=self.env(), cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=self._log("bare"))
        wait_for_port(self.product_port)
        wait_for_port(self.bare_port)
        time.sleep(2)            # every worker has booted

    def start_worker(self) -> subprocess.Popen:
        proc = subprocess.Popen([str(BIN / "caselab"), "worker", "--queues", "checks,index", "--loglevel", "warning"],
                                env=self.env(), cwd=self.log_dir, stdout=subprocess.DEVNULL,
                                stderr=self._log("worker"))
        self.workers.append(proc)
        return proc

    def web_worker_pids(self) -> list[int]:
        assert self.product is not None
        out = subprocess.run(["pgrep", "-P", str(self.product.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def stop_workers(self) -> None:
        for proc in self.workers:
            proc.terminate()
        for proc in self.workers:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.workers = []

    def stop(self) -> None:
        self.stop_workers()
        for proc in (self.product, self.bare):
            if proc:
                proc.terminate()
                proc.wait(30)


# ---- the course -----------------------------------------------------------------------------------------





@dataclass
class Course:
    assignment_id: int
    course_id: int
    scenario: object
    spec: object
    fresh: list[int]                 # cadres (user ids) with no essay yet
    essays_before: int


def seed(args, database: str) -> Course:
    ensure_database(database)
    engine = db.make_engine(database)
    db.upgrade(engine)
    with engine.connect() as conn:
        cadres = conn.scalar(select(func.count()).select_from(m.User).where(m.User.role == "cadre")) or 0
        have = conn.scalar(select(func.count()).select_from(m.Essay)) or 0
    if cadres < args.cadres or have < args.essays:
        caselab(database, "import", "scenarios", "rubrics")
        spent = caselab(database, "demo", "--password", PASSWORD, "--cadres", str(args.cadres),
                        "--communes", str(args.communes), "--essays", str(args.essays))
        print(f"seeded {args.cadres:,} cadres in {args.communes:,} communes with {args.essays:,} essays: {spent:.0f} s")
    factory = db.session_factory(engine)
    with factory() as session:
        assignment_id = session.scalar(select(m.Essay.assignment_id).group_by(m.Essay.assignment_id)
                                       .order_by(func.count().desc()).limit(1))
        assignment = session.get(m.Assignment, assignment_id)
        course_id = assignment.cohort.course_id
        scenario = scenario_data(assignment.scenario_version)
        spec = scenario.essay
        written = select(m.Essay.user_id).where(m.Essay.assignment_id == assignment_id)
        fresh = list(session.scalars(select(m.Membership.user_id)
                                     .where(m.Membership.cohort_id == assignment.cohort_id,
                                            m.Membership.user_id.not_in(written)).order_by(m.Membership.user_id)))
        before = session.scalar(select(func.count()).select_from(m.Essay)
                                .where(m.Essay.assignment_id == assignment_id)) or 0
    engine.dispose()
    return Course(assignment_id, course_id, scenario, spec, fresh, before)


def build_index(database: str, course: Course, log_dir: Path) -> float:
    """The course index as the index job builds it (the seeded essays are in it)."""
    os.environ["CASELAB_INDEX_DIR"] = str(log_dir / "index")
    os.environ["CASELAB_DATABASE_URL"] = database
    engine = db.make_engine(database)
    started = time.perf_counter()
    with db.unit_of_work(db.session_factory(engine)) as session:
        jobs.tasks()["similarity.rebuild_index"].fn(session, course_id=course.course_id)
    engine.dispose()
    return time.perf_counter() - started


def tokens_for(database: str, user_ids: list[int]) -> dict[int, str]:
    """API tokens for the cadres who will submit, written as the token service stores them (sha256 only)."""
    raw = {uid: secrets.token_urlsafe(24) for uid in user_ids}
    now = datetime.now(timezone.utc)
    engine = db.make_engine(database)
    with engine.begin() as conn:
        rows = [{"user_id": uid, "token_hash": hashlib.sha256(t.encode()).hexdigest(), "created_at": now,
                 "expires_at": now + timedelta(days=1)} for uid, t in raw.items()]
        for start in range(0, len(rows), 5000):
            conn.execute(insert(m.ApiToken), rows[start:start + 5000])
    engine.dispose()
    return raw


# ---- essays ---------------------------------------------------------------------------------------------

class Writer:
    """A different essay per cadre, written as the demo writes them (services/demo_text.py): the scenario's
    sentences, varied analysis, a recommendations section; one cadre in five copies from a neighbour."""

    def __init__(self, scenario, spec) -> None:
        self.writer = EssayWriter(scenario, spec)

    def essay(self, n: int) -> str:
        commune = f"Bình Minh {n % 3300}"
        copies = n - 3300 if n % 5 == 0 and n > 3300 else None
        return self.writer.write(n, commune, "Tỉnh Đông Hải", copies=copies).body


# ---- load -----------------------------------------------------------------------------------------------

@dataclass
class Run:
    name: str
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    receipts: list[tuple[int, str, int]] = field(default_factory=list)   # cadre, sha256 sent, essay id
    errors: dict[str, int] = field(default_factory=dict)
    samples: dict[str, str] = field(default_factory=dict)     # the first answer of each kind of error

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


async def drive(name: str, url_of, headers_of, body_of, cadres, clients: int, seconds: float) -> Run:
    run = Run(name, clients, seconds)
    queue = iter(cadres)
    stop = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients), timeout=timeout) as http:
        async def client() -> None:
            while time.monotonic() < stop:
                cadre = next(queue, None)
                if cadre is None:
                    return
                body = body_of(cadre)
                started = time.perf_counter()
                try:
                    async with http.post(url_of(cadre), json={"body": body}, headers=headers_of(cadre)) as resp:
                        data = await resp.json(content_type=None) if resp.status == 201 else await resp.text()
                        status = resp.status
                except (TimeoutError, aiohttp.ClientError) as exc:
                    run.errors[type(exc).__name__] = run.errors.get(type(exc).__name__, 0) + 1
                    continue
                if status != 201:
                    run.errors[str(status)] = run.errors.get(str(status), 0) + 1
                    run.samples.setdefault(str(status), str(data)[:300])
                    continue
                run.latencies.append(time.perf_counter() - started)
                sent = hashlib.sha256(body.encode("utf-8")).hexdigest()
                run.receipts.append((cadre, sent, int(data["id"])))
                if data["sha256"] != sent:
                    run.errors["sha256 differs"] = run.errors.get("sha256 differs", 0) + 1
        await asyncio.gather(*(client() for _ in range(clients)))
    return run


def show(run: Run, floor: Run | None = None) -> None:
    ratio = f"{run.rate / floor.rate:5.2f}" if floor else "  -  "
    errors = ", ".join(f"{k}: {v}" for k, v in run.errors.items()) or "0"
    print(f"  {run.name:<9} {run.clients:>3} clients  {run.rate:7.1f} essays/s  p50 {run.p(0.5):6.1f} ms  "
          f"p99 {run.p(0.99):7.1f} ms  ratio {ratio}  errors {errors}")
    for status, sample in run.samples.items():
        print(f"      {status}: {sample}")


# ---- checks ---------------------------------------------------------------------------------------------

def backlog(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        rows = dict(conn.execute(select(m.Job.state, func.count()).group_by(m.Job.state)).all())
    return rows.get("queued", 0) + rows.get("running", 0), rows.get("done", 0), rows.get("failed", 0)


def wait_drained(engine, limit: float, label: str) -> tuple[float, int]:
    started = time.perf_counter()
    waiting, done_at_start, _ = backlog(engine)
    last = started
    while True:
        waiting, done, failed = backlog(engine)
        if waiting == 0:
            return time.perf_counter() - started, done - done_at_start
        if time.perf_counter() - started > limit:
            raise RuntimeError(f"{label}: {waiting} jobs still waiting after {limit:.0f} s")
        if time.perf_counter() - last > 15:
            print(f"    ... {waiting:,} waiting, {done - done_at_start:,} done, {failed} failed")
            last = time.perf_counter()
        time.sleep(0.5)


def verify(engine, runs: list[Run]) -> None:
    receipts = [r for run in runs for r in run.receipts]
    ids = [essay_id for _cadre, _sha, essay_id in receipts]
    with engine.connect() as conn:
        stored = {}
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            stored.update(dict(conn.execute(select(m.Essay.id, m.Essay.sha256).where(m.Essay.id.in_(chunk))).all()))
        reports: dict[int, list[str]] = {}
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            for essay_id, status in conn.execute(select(m.SimilarityReport.essay_id, m.SimilarityReport.status)
                                                 .where(m.SimilarityReport.essay_id.in_(chunk))):
                reports.setdefault(essay_id, []).append(status)
        failed_jobs = conn.scalar(select(func.count()).select_from(m.Job).where(m.Job.state == "failed"))
    missing = [i for i in ids if i not in stored]
    changed = [i for _c, sha, i in receipts if i in stored and stored[i] != sha]
    unfinished = [i for i in ids if reports.get(i) != ["done"]]
    print(f"  receipts 201: {len(receipts):,}; in the database: {len(ids) - len(missing):,}; "
          f"with another sha256: {len(changed)}")
    print(f"  essays with exactly one finished report: {len(ids) - len(unfinished):,} of {len(ids):,}; "
          f"failed jobs: {failed_jobs}")
    if missing or changed or unfinished:
        sample = {i: reports.get(i) for i in unfinished[:5]}
        raise SystemExit(f"FAULT TEST FAILED: missing {len(missing)}, changed {len(changed)}, "
                         f"without one finished report {len(unfinished)} (e.g. {sample})")


async def faulty_burst(servers: Servers, redis: Redis, load, clients: int, seconds: float) -> Run:
    task = asyncio.ensure_future(load("faults", clients, seconds))
    await asyncio.sleep(seconds * 0.15)
    victim = servers.web_worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    print(f"    t={seconds * 0.15:.0f}s SIGKILL gunicorn worker {victim}")
    await asyncio.sleep(seconds * 0.15)
    worker = servers.workers[0]
    os.kill(worker.pid, signal.SIGKILL)
    print(f"    t={seconds * 0.30:.0f}s SIGKILL celery worker {worker.pid} (mid-task: the queue is full)")
    servers.workers.remove(worker)
    await asyncio.sleep(2)
    servers.start_worker()
    print(f"    t={seconds * 0.30 + 2:.0f}s celery worker restarted")
    await asyncio.sleep(seconds * 0.2)
    redis.stop()
    await asyncio.sleep(1)
    redis.start()
    print(f"    t={seconds * 0.5 + 3:.0f}s Redis restarted (its queue is gone)")
    return await task


# ---- main -----------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/caselab_rush")
    parser.add_argument("--cadres", type=int, default=100_000)
    parser.add_argument("--communes", type=int, default=3_300)
    parser.add_argument("--essays", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", default="16,64")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--check-workers", type=int, default=2)
    parser.add_argument("--fault-seconds", type=float, default=30)
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--quick", action="store_true", help="20,000 cadres, 10,000 essays, 15 s runs")
    args = parser.parse_args()
    if args.quick:
        args.cadres, args.communes, args.essays, args.seconds, args.fault_seconds = 20_000, 660, 10_000, 15, 15
        if args.database.endswith("/caselab_rush"):
            args.database += "_quick"
    database = db.database_url(args.database)
    log_dir = Path(os.environ.get("RUSH_DIR", "/tmp/caselab-rush"))
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"CaseLab deadline rush: {args.cadres:,} cadres, {args.essays:,} essays already in, gunicorn "
          f"{args.web_workers} worker(s) x {args.threads} thread(s), {os.cpu_count()} cores")
    course = seed(args, database)
    print(f"course index of {course.essays_before:,} essays built in {build_index(database, course, log_dir):.1f} s")
    clients = [int(c) for c in args.clients.split(",")]
    need = int(sum(clients) * args.seconds * 700) + (0 if args.no_faults else int(64 * args.fault_seconds * 400))
    cadres = course.fresh[:need]
    print(f"{len(course.fresh):,} cadres have not submitted; tokens for {len(cadres):,}")
    tokens = tokens_for(database, cadres)
    writer = Writer(course.scenario, course.spec)
    bodies: dict[int, str] = {}

    def body_of(cadre: int) -> str:
        if cadre not in bodies:
            bodies[cadre] = writer.essay(cadre)
        return bodies.pop(cadre)

    redis = Redis()
    redis.start()
    servers = Servers(args, database, redis, log_dir)
    engine = db.make_engine(database)
    pool = iter(cadres)

    def take(n: int):
        return (c for c, _ in zip(pool, range(n)))

    product_url = f"http://127.0.0.1:{servers.product_port}/api/v1/assignments/{course.assignment_id}/essay"
    bare_url = f"http://127.0.0.1:{servers.bare_port}/essay/"
    runs: list[Run] = []
    try:
        servers.start_web()
        for url, auth, pool_ in ((bare_url, False, range(9_000_000, 9_002_000)), (product_url, True, take(400))):
            asyncio.run(drive("warm-up", (lambda c, u=url, a=auth: u if a else u + str(c)),
                              (lambda c, a=auth: {"Authorization": f"Bearer {tokens[c]}"} if a else {}),
                              body_of, pool_, 8, 4))          # every worker has loaded what it caches
        print("\nsubmissions (the Celery workers stopped: checks queue up)")
        for n in clients:
            budget = int(n * args.seconds * 700)
            floor = asyncio.run(drive("bare", lambda c: bare_url + str(c), lambda c: {}, body_of,
                                      range(10_000_000 + n * 1_000_000, 10_000_000 + n * 1_000_000 + budget), n,
                                      args.seconds))
            show(floor)
            product = asyncio.run(drive("caselab", lambda c: product_url,
                                        lambda c: {"Authorization": f"Bearer {tokens[c]}"}, body_of,
                                        take(budget), n, args.seconds))
            show(product, floor)
            runs.append(product)
        waiting, _, _ = backlog(engine)
        print(f"\nbacklog after the bursts: {waiting:,} jobs; {args.check_workers} Celery workers start")
        for _ in range(args.check_workers):
            servers.start_worker()
        spent, done = wait_drained(engine, 3600, "drain")
        print(f"  drained {done:,} jobs in {spent:.1f} s: {done / spent:.0f} checks/s")
        if not args.no_faults:
            print(f"\nfaults during a {args.fault_seconds:.0f} s burst of 64 clients, workers running")

            async def load(name: str, n: int, seconds: float) -> Run:
                return await drive(name, lambda c: product_url, lambda c: {"Authorization": f"Bearer {tokens[c]}"},
                                   body_of, take(int(n * seconds * 700)), n, seconds)
            faults = asyncio.run(faulty_burst(servers, redis, load, 64, args.fault_seconds))
            show(faults)
            runs.append(faults)
            spent, done = wait_drained(engine, 1800, "drain after faults")
            print(f"  backlog after the faults drained in {spent:.1f} s ({done:,} jobs)")
        print("\nevery receipt of the bench's bursts:")
        verify(engine, runs)
    finally:
        servers.stop()
        redis.stop()
        engine.dispose()


if __name__ == "__main__":
    main()
