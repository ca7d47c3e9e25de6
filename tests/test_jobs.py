"""Background jobs are rows written with the work that asks for them (services/jobs.py): nothing is lost when a
process dies or the broker forgets, nothing runs twice, and a message carries one job id and nothing else."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from kombu import Connection
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms_plugin.services import jobs, similarity
from lms_plugin.store import models as m

SECRET_URL = "postgresql+psycopg://caselab:s3cret-pw@db.invalid:5432/caselab"
RUNS: list[int] = []
FAILURES: dict[int, int] = {}


@jobs.task("test.note")
def _note(session: Session, number: int) -> None:
    """Writes one audit row per number, whatever the number of runs (idempotent, like every task)."""
    RUNS.append(number)
    if FAILURES.get(number, 0) > 0:
        FAILURES[number] -= 1
        raise RuntimeError(f"số {number} hỏng")
    if session.scalar(select(m.AuditEvent).where(m.AuditEvent.action == "test.note",
                                                 m.AuditEvent.target_id == str(number))) is None:
        session.add(m.AuditEvent(action="test.note", target_type="test", target_id=str(number), details={}))


@pytest.fixture(autouse=True)
def _fresh():
    RUNS.clear()
    FAILURES.clear()


def _jobs(session) -> list[m.Job]:
    session.expire_all()
    return list(session.scalars(select(m.Job).order_by(m.Job.id)))


def _notes(session) -> int:
    return session.scalar(select(func.count()).select_from(m.AuditEvent).where(m.AuditEvent.action == "test.note"))


def test_a_job_is_a_row_of_the_same_transaction(session):
    jobs.defer(session, "test.note", number=1)
    session.rollback()
    assert _jobs(session) == [] and RUNS == []
    jobs.defer(session, "test.note", number=2)
    session.commit()                                   # inline: run once the commit is done
    [job] = _jobs(session)
    assert (job.state, job.attempts, job.args, job.queue) == ("done", 1, {"number": 2}, "checks")
    assert RUNS == [2] and _notes(session) == 1


def test_the_same_waiting_job_is_written_once(session, monkeypatch):
    monkeypatch.setenv("CASELAB_JOBS", "thread")
    monkeypatch.setattr(jobs, "hand_off", lambda *a, **k: None)       # the runner never gets it: it waits
    first = jobs.defer(session, "test.note", number=3)
    again = jobs.defer(session, "test.note", number=3)
    other = jobs.defer(session, "test.note", number=4)
    more = [jobs.defer(session, "test.note", number=n) for n in (3, 4) * 4]   # psycopg prepares from the 5th
    session.commit()
    assert first is not None and again is None and other is not None and more == [None] * 8
    assert [j.args["number"] for j in _jobs(session)] == [3, 4]


def test_a_job_handed_twice_runs_once(session, engine, monkeypatch):
    monkeypatch.setattr(jobs, "hand_off", lambda *a, **k: None)
    job_id = jobs.defer(session, "test.note", number=5)
    session.commit()
    assert jobs.run_job(job_id, engine) == "done"
    assert jobs.run_job(job_id, engine) == "skipped"
    assert RUNS == [5] and _notes(session) == 1


def test_a_lost_hand_off_is_handed_again_by_the_dispatcher(session, engine, session_factory, monkeypatch):
    """A web worker killed between its commit and the hand-off: the row waits, the dispatcher runs it."""
    monkeypatch.setattr(jobs, "hand_off", lambda *a, **k: None)
    jobs.defer(session, "test.note", number=6)
    session.commit()
    monkeypatch.undo()
    assert jobs.dispatch(session_factory) == 0                         # within its grace: not yet
    later = datetime.now(timezone.utc) + jobs.grace() + timedelta(seconds=1)
    assert jobs.dispatch(session_factory, now=later) == 1
    assert [j.state for j in _jobs(session)] == ["done"] and RUNS == [6]


def test_a_run_cut_off_is_handed_again_when_its_lease_ends(session, session_factory, monkeypatch):
    """A worker killed mid-task leaves the job running; after its lease the dispatcher gives it out again."""
    monkeypatch.setattr(jobs, "hand_off", lambda *a, **k: None)
    job_id = jobs.defer(session, "test.note", number=7)
    session.commit()
    job = session.get(m.Job, job_id)
    job.state, job.attempts, job.due_at = "running", 1, datetime.now(timezone.utc) + timedelta(seconds=120)
    session.commit()
    monkeypatch.undo()
    assert jobs.dispatch(session_factory) == 0                         # its runner may still be working
    later = datetime.now(timezone.utc) + timedelta(seconds=121)
    assert jobs.dispatch(session_factory, now=later) == 1               # presumed dead: handed again
    [job] = _jobs(session)
    assert (job.state, job.attempts) == ("done", 2) and RUNS == [7] and _notes(session) == 1


def test_a_run_whose_process_died_on_this_machine_is_handed_again_at_once(session, session_factory, monkeypatch):
    """No need to wait out a long lease (an index rebuild's is an hour) when the runner's pid is gone."""
    import subprocess
    import sys
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    monkeypatch.setattr(jobs, "hand_off", lambda *a, **k: None)
    job_id = jobs.defer(session, "test.note", number=9)
    session.commit()
    job = session.get(m.Job, job_id)
    job.state, job.attempts, job.runner = "running", 1, f"{jobs.HOST}:{gone.pid}"
    job.due_at = datetime.now(timezone.utc) + timedelta(hours=1)
    session.commit()
    monkeypatch.undo()
    assert jobs.dispatch(session_factory) == 1
    [job] = _jobs(session)
    assert (job.state, job.attempts, job.runner) == ("done", 2, jobs.RUNNER) and RUNS == [9]


def test_a_failing_job_is_tried_again_then_left_failed_for_an_organiser(session, engine, session_factory,
                                                                        monkeypatch):
    FAILURES[8] = jobs.MAX_ATTEMPTS
    jobs.defer(session, "test.note", number=8)
    session.commit()                                   # attempt 1 fails after the commit: nothing raises here
    when = datetime.now(timezone.utc)
    for _ in range(jobs.MAX_ATTEMPTS - 1):
        when += timedelta(hours=1)
        jobs.dispatch(session_factory, now=when)
    [job] = _jobs(session)
    assert (job.state, job.attempts) == ("failed", jobs.MAX_ATTEMPTS)
    assert "RuntimeError: số 8 hỏng" in job.error and _notes(session) == 0
    assert jobs.retry(session, job.id) is True
    session.commit()                                   # handed at once; it works now
    [job] = _jobs(session)
    assert job.state == "done" and _notes(session) == 1


@pytest.fixture
def memory_broker(monkeypatch):
    """Celery over kombu's in-memory transport: the message as it would travel, read back off the queue. The
    process is configured as a worker is, by its environment (nobody calls runtime.configure there)."""
    monkeypatch.setenv("CASELAB_JOBS", "celery")
    monkeypatch.setenv("CASELAB_BROKER_URL", "memory://")
    return jobs.celery_app()


def _sent(queue_name: str) -> list:
    messages = []
    with Connection("memory://") as conn:
        queue = conn.SimpleQueue(queue_name)
        while True:
            try:
                message = queue.get(block=False)
            except queue.Empty:
                break
            messages.append(message)
            message.ack()
        queue.close()
    return messages


def test_a_message_carries_the_job_id_and_no_database_url(memory_broker, engine, session):
    session.bind = engine
    job_id = jobs.defer(session, similarity.CHECK, essay_id=7)
    session.commit()
    [message] = _sent("checks")
    raw = repr(message.headers) + repr(message.body)      # kwargsrepr in the headers, the kwargs in the body
    for secret in ("postgresql", "sqlite", "database_url", "essay_id"):
        assert secret not in raw
    args, kwargs, _embed = message.decode()
    assert (message.headers["task"], args, kwargs) == ("caselab." + similarity.CHECK, [], {"job_id": job_id})


def test_jobs_take_ids_only():
    with Session() as session:
        with pytest.raises(ValueError):
            jobs.defer(session, similarity.CHECK, essay_id=7, database_url=SECRET_URL)
        with pytest.raises(ValueError):
            jobs.defer(session, similarity.CHECK, essay_id="7")


def test_a_worker_refuses_a_message_that_names_a_database(memory_broker, engine, tmp_path, monkeypatch):
    """A forged message pointing at another database is refused: nothing is opened or written there."""
    elsewhere = tmp_path / "attacker.db"
    monkeypatch.setenv("CASELAB_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    task = memory_broker.tasks["caselab." + similarity.CHECK]
    with pytest.raises(ValueError):
        task.run(job_id=1, database_url=f"sqlite:///{elsewhere}")
    assert not elsewhere.exists()
    with pytest.raises(ValueError):
        task.run(essay_id=1)
    with pytest.raises(ValueError):
        task.run(job_id="1")


def test_a_worker_opens_the_database_its_environment_names(memory_broker, engine, session, monkeypatch):
    monkeypatch.setenv("CASELAB_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr(jobs, "hand_off", lambda *a, **k: None)
    session.bind = engine
    job_id = jobs.defer(session, similarity.CHECK, essay_id=424242)
    session.commit()
    assert memory_broker.tasks["caselab." + similarity.CHECK].run(job_id=job_id) == "done"
    assert [j.state for j in _jobs(session)] == ["done"]
    assert session.scalar(select(m.SimilarityReport)) is None           # no such essay: nothing to report


def test_the_worker_host_knows_every_task_and_its_queue():
    """`caselab worker` runs what services declare; jobs itself imports no service."""
    from lms_plugin import worker
    from lms_plugin.services import similarity_index
    assert {"caselab." + similarity.CHECK, "caselab." + similarity_index.REBUILD} <= set(worker.app.tasks)
    routes = worker.app.conf.task_routes
    assert routes["caselab." + similarity.CHECK] == {"queue": "checks"}
    assert routes["caselab." + similarity_index.REBUILD] == {"queue": "index"}   # never behind the checks


def test_a_job_waiting_in_a_queue_no_worker_reads_is_handed_again_whatever_the_broker_counts(
        memory_broker, engine, session, session_factory, monkeypatch):
    """The broker holds the job's message, but no worker takes anything from the queue (none is running, or one
    stopped consuming after the broker restarted): counting messages alone would leave the job waiting for ever,
    without a word. After STALE_GRACES graces it is handed again, then at gaps that grow with its age; the
    worker that finally reads all the messages runs it once. While workers are taking the queue's jobs, its
    messages are read in turn: a long queue in a rush gets no duplicates."""
    monkeypatch.setenv("CASELAB_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    session.bind = engine
    _sent("checks")                                                     # another test's leftovers
    job_id = jobs.defer(session, "test.note", number=11)
    session.commit()                                                   # handed: one message waits, unread
    written, grace = datetime.now(timezone.utc), jobs.grace()
    assert jobs.dispatch(session_factory, now=written + grace * 2) == 0             # the broker holds it
    stale = written + grace * jobs.STALE_GRACES + timedelta(seconds=1)
    other = m.Job(name="test.note", args={"number": 12}, key="test.note:other", queue="checks", state="done",
                  attempts=1, due_at=written, created_at=written, finished_at=stale - grace)
    session.add(other)
    session.commit()
    assert jobs.dispatch(session_factory, now=stale) == 0              # a worker finished one lately: it reads
    session.delete(other)
    session.commit()
    assert jobs.dispatch(session_factory, now=stale) == 1              # nobody reads: handed again
    assert jobs.dispatch(session_factory, now=stale + grace * jobs.STALE_GRACES) == 0    # not every few graces
    assert jobs.dispatch(session_factory, now=stale + grace * jobs.STALE_GRACES * 3) == 1
    messages = _sent("checks")
    assert len(messages) == 3
    task = memory_broker.tasks["caselab.test.note"]
    assert [task.run(**message.decode()[1]) for message in messages] == ["done", "skipped", "skipped"]
    assert RUNS == [11] and [j.id for j in _jobs(session) if j.state == "done"] == [job_id]


PREPARED = """
import json, sys
from datetime import datetime, timedelta, timezone
from lms_plugin.services import jobs, runtime, similarity
from lms_plugin.store import db
engine = runtime.make_engine()
db.upgrade(engine)
factory = db.session_factory(engine)
jobs.start_dispatcher(factory, 3600)
loaded = set(sys.modules)
with db.unit_of_work(factory) as session:
    jobs.defer(session, similarity.CHECK, essay_id=1)       # handed over once committed
handed = jobs.dispatch(factory, now=datetime.now(timezone.utc) + timedelta(hours=1))
print(json.dumps([handed, sorted(set(sys.modules) - loaded)]))
"""


@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")
def test_once_the_dispatcher_is_started_dispatching_and_handing_over_load_no_module(tmp_path):
    """gunicorn's master dispatches in a thread and forks a web worker whenever one dies; a module that thread
    is importing at the fork stays locked in the new worker, which then hangs on its first hand-off until
    gunicorn kills it. So start_dispatcher loads first, in its caller's thread, all that dispatching and handing
    over to Redis load. (In a fresh interpreter: this one has loaded everything already.)"""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                              "--bind", "127.0.0.1"], stdout=subprocess.DEVNULL)
    try:
        env = {**os.environ, "CASELAB_JOBS": "celery", "CASELAB_BROKER_URL": f"redis://127.0.0.1:{port}/0",
               "CASELAB_DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.db'}"}
        for _ in range(100):                               # Redis listens within moments
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        done = subprocess.run([sys.executable, "-c", PREPARED], env=env, capture_output=True, text=True,
                              timeout=120, cwd=Path(__file__).resolve().parent.parent)
    finally:
        redis.terminate()
        redis.wait()
    assert done.returncode == 0, done.stderr[-3000:]
    handed, loaded_later = json.loads(done.stdout.strip().splitlines()[-1])
    assert handed == 1 and loaded_later == []


def test_a_forked_process_builds_its_own_celery_application(memory_broker):
    """gunicorn forks a new web worker from the master, which dispatches and so holds broker connections: the
    child must open its own, and take no lock a thread of the master held at the fork."""
    parent = jobs.celery_app()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # the child: report, then leave without pytest's clean-up
        try:
            own = jobs.celery_app()
            os.write(write, b"1" if own is not parent and own.conf.broker_url == parent.conf.broker_url else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert jobs.celery_app() is parent
