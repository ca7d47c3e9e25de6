"""Faults in the middle of a submission burst, on the production parts: gunicorn (`caselab serve --workers 2`),
a Celery worker (`caselab worker`) on a Redis of the test's own, PostgreSQL. A web worker is SIGKILLed mid-burst
(gunicorn forks another from the master, which dispatches jobs), the Celery worker is SIGKILLed mid-task and
another started, then Redis restarts under that worker, mid-task, and forgets every message. Every 201 receipt
is in the database with the same sha256, every essay ends with exactly one finished similarity report, and the
Celery worker is still there and taking work. bench/rush.py runs the same at a national course's size.

Each fault waits for the state it needs (a job running on the worker to be killed, the new worker holding a
job before Redis goes) instead of sleeping, so it happens the same way on a fast or a loaded machine."""
from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from lms_plugin.services import accounts, cohorts, credentials, demo, jobs
from lms_plugin.store import db, models as m
from tests.conftest import POSTGRES_URL, _postgres_engine
from tests.web.test_api import ESSAY

pytestmark = pytest.mark.skipif(not POSTGRES_URL or not shutil.which("redis-server"),
                                reason="needs PostgreSQL (CASELAB_TEST_POSTGRES_URL) and redis-server")
BIN = Path(sys.executable).parent
BURST = 12                  # submissions in each of the three bursts
CADRES = 3 * BURST
PATIENCE = 90.0             # seconds any one awaited state may take on a loaded machine (usually one or two)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quiet_port() -> int:
    """A free port below the kernel's range for outgoing connections: while Redis is down, a port of that
    range may be handed to a client's connection, and the restarted Redis could not listen on it again."""
    ports = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(ports.read_text().split()[0]) if ports.exists() else 32768
    for port in random.sample(range(min(20000, low - 1000), low), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below the outgoing range")


def wait_until(what: str, found: Callable[[], object], seconds: float = PATIENCE, every: float = 0.05,
               story: Callable[[], str] = lambda: ""):
    """``found()``'s first true value, asked every ``every`` seconds; fails naming ``what`` (and telling
    ``story()``, the processes' logs) after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = found()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds:.0f} s for {what}; {story()}")
        time.sleep(every)


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


class Redis:
    def __init__(self, log: Path) -> None:
        self.port, self.log, self.proc = quiet_port(), log, None

    def start(self) -> None:
        # no dump, no append-only file: a restart forgets every message, as a broker that lost its data does
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no",
                                      "--bind", "127.0.0.1"], stdout=open(self.log, "ab"))
        wait_until(f"Redis on port {self.port}", lambda: answers(self.port) or self.proc.poll() is not None)
        assert self.proc.poll() is None, self.log.read_text()[-2000:]

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(20)
            self.proc = None

    def consumers(self) -> int:
        """Clients blocked waiting for a message (a Celery worker idle on its queues)."""
        import redis
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)
        try:
            return sum(1 for c in client.client_list() if c.get("cmd") in ("brpop", "blpop"))
        except redis.RedisError:
            return 0
        finally:
            client.close()


@pytest.fixture
def course(shipped_catalog):
    """The shipped course on a PostgreSQL schema of its own, the demo and CADRES more cadres with tokens."""
    from lms_plugin.services.content import import_catalog
    engine, drop = _postgres_engine()
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with db.unit_of_work(factory) as session:
        import_catalog(session, shipped_catalog)
    with db.unit_of_work(factory) as session:
        demo.seed_demo(session, "mat-khau-demo")
    tokens = {}
    with db.unit_of_work(factory) as session:
        cohort = session.scalar(select(m.Cohort))
        group = session.scalar(select(m.Group))
        for i in range(CADRES):
            cadre = accounts.create_user(session, f"hv{i}", "cadre", "mat-khau-123")
            cohorts.add_member(session, cohort, cadre, group)
            session.flush()
            tokens[cadre.id] = credentials.issue_token(session, cadre, days=1)
        assignment = next(a for a in session.scalars(select(m.Assignment).order_by(m.Assignment.id))
                          if a.scenario_version.scenario.slug.startswith("t1-"))
        assignment_id = assignment.id
    yield engine, tokens, assignment_id
    engine.dispose()
    drop()


def test_receipts_and_reports_survive_killed_workers_and_a_restarted_broker(course, tmp_path):
    engine, tokens, assignment_id = course
    started = time.monotonic()
    redis = Redis(tmp_path / "redis.log")
    redis.start()
    env = {**os.environ, "CASELAB_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "CASELAB_JOBS": "celery", "CASELAB_BROKER_URL": f"redis://127.0.0.1:{redis.port}/0",
           "CASELAB_JOB_GRACE_SECONDS": "2", "CASELAB_JOB_LEASE_SECONDS": "6", "CASELAB_TICK_SECONDS": "1",
           "CASELAB_SECRET_KEY": "faults", "CASELAB_INSTANCE": str(tmp_path / "instance"),
           "CASELAB_INDEX_DIR": str(tmp_path / "index")}
    port = free_port()
    web = subprocess.Popen([str(BIN / "caselab"), "serve", "--workers", "2", "--port", str(port)], env=env,
                           cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "web.log", "wb"))

    def worker() -> subprocess.Popen:
        return subprocess.Popen([str(BIN / "caselab"), "worker", "--loglevel", "info"], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=open(tmp_path / "worker.log", "ab"))

    def running_on(proc: subprocess.Popen) -> bool:
        with engine.connect() as conn:
            return conn.execute(select(m.Job.id).where(m.Job.state == "running",
                                                       m.Job.runner == f"{jobs.HOST}:{proc.pid}")).first() is not None

    def web_workers() -> list[int]:
        found = subprocess.run(["pgrep", "-P", str(web.pid)], capture_output=True, text=True).stdout.split()
        return [int(pid) for pid in found]

    def story() -> str:
        logs = "".join(f"\n--- {name} (end)\n" + (tmp_path / name).read_text(errors="replace")[-4000:]
                       for name in ("worker.log", "web.log"))
        return f"after {time.monotonic() - started:.0f} s{logs}"

    celery = worker()
    receipts: list[tuple[str, dict]] = []
    url = f"http://127.0.0.1:{port}/api/v1/assignments/{assignment_id}/essay"
    items = list(tokens.items())

    def submit(item: tuple[int, str]) -> None:
        user_id, token = item
        body = f"Ý kiến của học viên số {user_id}: " + ESSAY
        try:
            # a web worker that hangs (rather than dies) fails the test here
            answer = requests.post(url, json={"body": body}, headers={"Authorization": f"Bearer {token}"},
                                   timeout=60)
        except requests.ConnectionError:      # the request the killed web worker had: no receipt was given
            return
        assert answer.status_code == 201, answer.text
        receipts.append((hashlib.sha256(body.encode("utf-8")).hexdigest(), answer.json()))

    try:
        wait_until("the web server", lambda: answers(port))
        wait_until("both web workers", lambda: len(web_workers()) == 2)
        wait_until("the Celery worker to take messages", redis.consumers, every=0.2, story=story)
        with ThreadPoolExecutor(4) as pool:
            # 1. a web worker dies mid-burst; gunicorn's master (which dispatches) forks another
            burst = pool.map(submit, items[:BURST])
            wait_until("the first receipts", lambda: len(receipts) >= 3, every=0.01)
            os.kill(web_workers()[0], signal.SIGKILL)
            list(burst)
            # 2. the Celery worker dies mid-task, with checks waiting; another one starts
            burst = pool.map(submit, items[BURST:2 * BURST])
            wait_until("a check running on the Celery worker", lambda: running_on(celery), every=0.01, story=story)
            os.kill(celery.pid, signal.SIGKILL)
            celery.wait()
            killed, celery = celery, worker()
            list(burst)
            # 3. Redis restarts under the new worker while it runs a check, and forgets every message
            wait_until("a check running on the new Celery worker", lambda: running_on(celery), every=0.01,
                       story=story)
            redis.stop()
            redis.start()
            list(pool.map(submit, items[2 * BURST:]))
        assert len(receipts) >= CADRES - 4, story()
        assert killed.returncode == -signal.SIGKILL

        # every job finishes: a loaded machine may take long, but not PATIENCE seconds without finishing one
        finished, since = -1, time.monotonic()
        while True:
            with engine.connect() as conn:
                waiting = conn.execute(select(m.Job.id, m.Job.name, m.Job.state, m.Job.attempts, m.Job.runner,
                                              m.Job.due_at).where(m.Job.state.in_(("queued", "running")))).all()
                done = conn.execute(select(func.count()).select_from(m.Job)
                                    .where(m.Job.state.in_(("done", "failed")))).scalar()
            if not waiting:
                break
            if done != finished:
                finished, since = done, time.monotonic()
            assert time.monotonic() - since < PATIENCE, (
                f"{len(waiting)} job(s) waited {PATIENCE:.0f} s with none finishing, e.g. {waiting[:5]}; "
                f"{redis.consumers()} client(s) waiting on Redis's queues; {story()}")
            time.sleep(0.2)
        assert celery.poll() is None, f"the Celery worker exited; {story()}"
        assert redis.consumers() >= 1, f"the Celery worker stopped taking messages; {story()}"
    finally:
        stoppers = [threading.Thread(target=stop, args=(proc,)) for proc in (web, celery)]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()
        redis.stop()

    ids = [receipt["id"] for _sha, receipt in receipts]
    with engine.connect() as conn:
        stored = dict(conn.execute(select(m.Essay.id, m.Essay.sha256).where(m.Essay.id.in_(ids))).all())
        essays = conn.execute(select(m.Essay.id).where(m.Essay.kind == "essay")).scalars().all()
        reports = conn.execute(select(m.SimilarityReport.essay_id, m.SimilarityReport.status)).all()
        failed = conn.execute(select(m.Job.name, m.Job.args, m.Job.error).where(m.Job.state == "failed")).all()
    assert {receipt["id"]: sha for sha, receipt in receipts} == stored          # every receipt, same sha256
    assert all(receipt["sha256"] == sha for sha, receipt in receipts)
    # one finished report per essay: those with a receipt, and any a killed web worker committed unanswered
    assert sorted(essay_id for essay_id, _status in reports) == sorted(essays) and set(ids) <= set(essays)
    assert {status for _id, status in reports} == {"done"} and failed == []


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
