"""Background work as rows: written in the transaction that asks for it, run once, handed again when lost.

A service calls ``defer(session, "similarity.check_essay", essay_id=7)``: that inserts a ``jobs`` row in the
service's own transaction (a transactional outbox), so a job exists exactly when the work that asked for it
was committed, and an identical job already waiting is not added twice. Once the transaction commits, the
new jobs are handed to the runner the settings name (``CASELAB_JOBS``):

- ``inline`` (default): run right after the commit, in the same process;
- ``thread``: run in a small thread pool, so the request returns first;
- ``celery``: a message carrying the job's id alone goes to Celery over Redis (``CASELAB_BROKER_URL``), to the
  job's queue (``checks``, or ``index`` for course index rebuilds, which never wait behind checks);
  ``caselab worker`` runs a worker.

Nothing after the commit can fail the caller: a hand-off or a job that fails is logged and stays in the table.
``dispatch`` (run every few seconds by ``caselab worker``, ``caselab serve`` and ``caselab tick``) hands again
what was lost: a job not begun some time after it was written (the web worker died before the hand-off, the
broker restarted and forgot it), a job whose runner stopped answering (a worker killed mid-task: its lease
ran out), and a job waiting in a queue no worker reads although the broker holds its message. A job is claimed
before it runs, so a job handed twice runs once; tasks are idempotent anyway (a check replaces its report). The
work and the job's "done" commit together. A job that keeps failing ends ``failed`` with its error, shown to
organisers, who may retry it.

A job carries ids only, never a secret: anyone who reaches the broker can read a message, and a worker opens
the database its own settings name (``CASELAB_DATABASE_URL``). This module knows no task: a service declares
its own with ``@task`` when it is imported, so jobs never imports the services that import it.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, event, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..store import db, models as m
from . import runtime

log = logging.getLogger(__name__)

QUEUES = ("checks", "index")
MAX_ATTEMPTS = 5                         # runs that raised before a job is left failed for an organiser
KEEP_DONE = timedelta(days=7)            # finished jobs are kept this long (the organisers' page counts them)
STALE_GRACES = 4                         # graces a job waits in a queue nobody reads before it is handed again
LONGEST_GAP = timedelta(minutes=30)      # ... and at most this long between two such hand-offs of it
_PENDING = "caselab.jobs"
HOST = socket.gethostname()
RUNNER = f"{HOST}:{os.getpid()}"      # recomputed in a forked child (see _after_fork)


def _after_fork() -> None:
    """A forked child (a gunicorn worker, forked by the master that dispatches) names itself, and builds its own
    Celery application when it first needs one: the parent's holds the parent's broker connections."""
    global RUNNER, _celery_lock
    RUNNER = f"{HOST}:{os.getpid()}"
    _celery_apps.clear()
    _celery_lock = threading.Lock()     # a thread of the parent may have held it at the fork


os.register_at_fork(after_in_child=_after_fork)


@dataclass(frozen=True)
class Task:
    name: str
    fn: Callable[..., Any]
    queue: str
    lease_seconds: int | None   # a run not finished by then is presumed dead and handed again

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds or runtime.settings().job_lease_seconds)


def grace() -> timedelta:
    """How long after its commit a job not begun may have been lost, and between two hand-offs of it."""
    return timedelta(seconds=runtime.settings().job_grace_seconds)


_TASKS: dict[str, Task] = {}
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_celery_apps: dict[str, Any] = {}       # one Celery application per broker URL (and process: see _after_fork)
_celery_lock = threading.Lock()
REHEARSAL = "caselab.rehearsal"         # kombu's in-memory queue of _load_broker's rehearsal


def task(name: str, *, queue: str = "checks", lease_seconds: int | None = None):
    """Register ``fn(session, **ids)`` as the task ``name``, run from ``queue``. It must be idempotent: a job
    handed twice is claimed once, but a run cut off after its work committed may be run again.
    ``lease_seconds``: how long a run may take before it is presumed cut off (default CASELAB_JOB_LEASE_SECONDS)."""
    if queue not in QUEUES:
        raise ValueError(f"task {name}: unknown queue {queue!r}")

    def register(fn):
        _TASKS[name] = Task(name, fn, queue, lease_seconds)
        return fn
    return register


def tasks() -> dict[str, Task]:
    return dict(_TASKS)


def _ids_only(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The one rule for what a job may carry: named whole numbers (ids). Raises ValueError otherwise."""
    wrong = sorted(key for key, value in kwargs.items() if type(value) is not int)
    if wrong:
        raise ValueError(f"job {name}: only ids may travel with a job, not {', '.join(wrong)}")
    return kwargs


def _now() -> datetime:
    return datetime.now(timezone.utc)


def defer(session: Session, name: str, **ids: Any) -> int | None:
    """Write the job ``name(**ids)`` in the session's transaction; it is handed to the runner once that commits.
    Returns its id, or None when the same job is already waiting (it will do this work too)."""
    args = _ids_only(name, ids)
    if name not in _TASKS:
        raise ValueError(f"job {name}: no such task (the module declaring it is not imported)")
    spec = _TASKS[name]
    now = _now()
    key = f"{name}:{json.dumps(args, sort_keys=True, separators=(',', ':'))}"
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(m.Job).values(name=name, args=args, key=key, queue=spec.queue, state="queued", attempts=0,
                                     due_at=now + grace(), created_at=now)
    # the partial index's condition as a literal: PostgreSQL cannot match a bound parameter to it once
    # psycopg prepares the statement (from its fifth run on a connection)
    job_id = session.execute(statement.on_conflict_do_nothing(index_elements=["key"],
                                                              index_where=text("state = 'queued'"))
                             .returning(m.Job.id)).scalar()
    if job_id is not None:
        session.info.setdefault(_PENDING, []).append((job_id, name))
    return job_id


@event.listens_for(Session, "after_commit")
def _hand_off_committed(session: Session) -> None:
    if session.in_nested_transaction():      # a savepoint released: the outer transaction may still roll back
        return
    pending = session.info.pop(_PENDING, [])
    if pending:
        hand_off(pending, session.get_bind())


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    if session.in_nested_transaction():      # a savepoint rolled back: what the outer transaction wrote stays
        return
    session.info.pop(_PENDING, None)


def hand_off(jobs: Iterable[tuple[int, str]], engine=None) -> None:
    """Give committed jobs (id, task name) to the runner. Never raises: what could not be handed waits for
    ``dispatch``."""
    mode = runtime.settings().jobs
    for job_id, name in jobs:
        try:
            if mode == "celery":
                _send(job_id, name)
            elif mode == "thread":
                _thread_pool().submit(_run_logged, job_id, engine)
            else:
                _run_logged(job_id, engine)
        except Exception:          # the broker is down, the pool is shutting down: the row stays queued
            log.exception("job %s could not be handed to the %s runner; it waits for the dispatcher", job_id, mode)


def _thread_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="caselab-job")
        return _pool


def _run_logged(job_id: int, engine) -> None:
    try:
        run_job(job_id, engine)
    except Exception:
        log.exception("job %s could not be run", job_id)


def run_job(job_id: int, engine=None) -> str:
    """Claim the job, run its task and mark it done in the task's own transaction; returns what happened:
    ``done``, ``retry`` (raised; handed again later), ``failed`` (raised too often) or ``skipped`` (not waiting:
    another runner has it, or it is finished). Without ``engine``: the database this process's settings name."""
    own_engine = engine is None
    engine = engine or runtime.make_engine()
    if isinstance(engine, Connection):      # handed on by a job's own session, bound to its connection (below)
        engine = engine.engine
    try:
        # one connection for the claim and the work: taking one from the pool costs a round trip (its ping); the
        # claim is one statement, committed as it runs (no BEGIN and COMMIT to wait for)
        with engine.connect() as connection:
            factory = sessionmaker(connection, expire_on_commit=False)
            connection.execution_options(isolation_level="AUTOCOMMIT")
            try:
                claimed = _claim(factory, job_id)
            finally:
                connection.execution_options(isolation_level=connection.default_isolation_level)
            if claimed is None:
                return "skipped"
            spec, args, attempt = claimed
            try:
                with db.unit_of_work(factory) as session:
                    spec.fn(session, **args)
                    session.execute(_DONE, {"job_id": job_id, "attempt": attempt, "at": _now()})
            except Exception as exc:
                log.exception("job %s %s%r failed (attempt %s)", job_id, spec.name, args, attempt)
                return _after_failure(factory, job_id, attempt, f"{type(exc).__name__}: {exc}")
            return "done"
    finally:
        if own_engine:
            engine.dispose()


# the statements of every job, built once, on the table (an ORM statement costs more to run than its SQL)
_JOBS = cast(Table, m.Job.__table__)
_jobs = _JOBS.c
_CLAIM = (update(_JOBS)
          .where(_jobs.id == bindparam("job_id"), _jobs.state == "queued",
                 _jobs.name.in_(bindparam("names", expanding=True)))
          .values(state="running", attempts=_jobs.attempts + 1, started_at=bindparam("at"), due_at=bindparam("until"),
                  runner=bindparam("by"))
          .returning(_jobs.name, _jobs.args, _jobs.attempts))
_DONE = (update(_JOBS).where(_jobs.id == bindparam("job_id"), _jobs.attempts == bindparam("attempt"))
         .values(state="done", error=None, finished_at=bindparam("at")))


def _claim(factory, job_id: int) -> tuple[Task, dict[str, Any], int] | None:
    """Mark the job running, in one statement: another runner's claim of it waits for this one, then finds it
    no longer waiting. (Run with each statement committed as it runs.)"""
    with db.unit_of_work(factory) as session:
        now = _now()
        lease = timedelta(seconds=runtime.settings().job_lease_seconds)
        row = session.execute(_CLAIM, {"job_id": job_id, "names": sorted(_TASKS), "at": now, "until": now + lease,
                                       "by": RUNNER}).first()
        if row is None:       # another runner has it, it is finished, or this process does not know its task
            name = session.scalar(select(m.Job.name).where(m.Job.id == job_id, m.Job.state == "queued"))
            if name is not None and name not in _TASKS:
                raise LookupError(f"job {job_id}: no task {name} in this process")
            return None
        spec = _TASKS[row.name]
        if spec.lease != lease:
            session.execute(update(_JOBS).where(_jobs.id == job_id).values(due_at=now + spec.lease))
        return spec, _ids_only(row.name, dict(row.args)), row.attempts


def _after_failure(factory, job_id: int, attempt: int, error: str) -> str:
    state = "failed" if attempt >= MAX_ATTEMPTS else "queued"
    now = _now()
    values: dict[str, Any] = {"state": state, "error": error[:2000],
                              "due_at": now + grace() * attempt}
    if state == "failed":
        values["finished_at"] = now
    try:
        with db.unit_of_work(factory) as session:
            session.execute(update(m.Job).where(m.Job.id == job_id, m.Job.attempts == attempt).values(**values))
    except IntegrityError:          # the same job is waiting already: it will do this work
        with db.unit_of_work(factory) as session:
            session.execute(update(m.Job).where(m.Job.id == job_id).values(
                state="done", finished_at=now,
                error=f"đã có lần chạy giống hệt đang chờ; lỗi trước đó: {error[:1900]}"))
        return "skipped"
    return "failed" if state == "failed" else "retry"


# ---- the dispatcher ------------------------------------------------------------------------------------

def dispatch(factory: Callable[[], Session], *, now: datetime | None = None, limit: int = 2000) -> int:
    """Hand again what was lost; returns how many jobs were handed. Safe to run in many processes at once.

    - running past its lease: its runner died (a worker killed mid-task); it waits again;
    - waiting past its due time: never handed, or handed to a broker that lost it. With Celery only as many as
      the broker is missing are handed again: in a deadline rush the queue may simply be long;
    - waiting STALE_GRACES graces since it was last handed while no worker has taken a job of its queue for as
      long: handed again whatever the broker counts. The count says messages wait, not that anyone reads them
      (no worker alive, or one that stopped consuming), and by itself it would leave such a job waiting for ever
      without a word. A duplicate message costs a claim that finds the job taken; such a job is handed again
      at gaps that grow with its age (``_gap``), so a broker nobody reads is not flooded."""
    now = now or _now()
    with db.unit_of_work(factory) as session:
        for job in session.scalars(select(m.Job).where(m.Job.state == "running", m.Job.due_at <= now)
                                   .order_by(m.Job.due_at).limit(limit)):
            _requeue_abandoned(session, job, now)
        for job in session.scalars(select(m.Job).where(m.Job.state == "running", m.Job.runner.startswith(HOST + ":"))
                                   .order_by(m.Job.id).limit(limit)):
            if not _alive(job.runner):      # its process on this machine is gone: no need to wait for the lease
                _requeue_abandoned(session, job, now)
    handed: list[tuple[int, str]] = []
    unread: dict[str, int] = {}
    with db.unit_of_work(factory) as session:
        for queue in QUEUES:
            lost, stale = _to_hand_again(session, queue, now, limit)
            if lost:
                session.execute(update(m.Job).where(m.Job.id.in_([i for i, _ in lost])).values(due_at=now + grace()))
            if stale:       # an UPDATE by primary key, one statement for the lot
                session.execute(update(m.Job), [{"id": i, "due_at": now + gap} for i, _, gap in stale])
                unread[queue] = len(stale)
            handed.extend(lost)
            handed.extend((i, name) for i, name, _ in stale)
        session.execute(delete(m.Job).where(m.Job.state == "done", m.Job.finished_at < now - KEEP_DONE))
    if handed:
        log.warning("handing %s job(s) again", len(handed))
        for queue, count in unread.items():
            log.warning("%s of them had waited %s s or more since their last hand-off, their messages in the broker "
                        "but no job of the %s queue taken: is a worker running and consuming it?", count,
                        int(grace().total_seconds() * STALE_GRACES), queue)
        with factory() as session:
            engine = session.get_bind()
        hand_off(handed, engine)
    return len(handed)


def _to_hand_again(session: Session, queue: str, now: datetime,
                   limit: int) -> tuple[list[tuple[int, str]], list[tuple[int, str, timedelta]]]:
    """The due jobs of ``queue`` to hand again, oldest due first and locked against other dispatchers: those
    the broker is missing (due again a grace later), and those waiting in a queue nobody reads, each with the
    gap until its next hand-off."""
    missing = _missing_from_broker(session, queue)
    if missing is None:        # the broker cannot be reached: nothing can be handed now
        return [], []
    waiting = (m.Job.state == "queued", m.Job.queue == queue)
    # a hand-off sets the due time a grace ahead: due this long ago, a job has waited STALE_GRACES graces
    stale = session.scalar(select(func.count()).select_from(m.Job)
                           .where(*waiting, m.Job.due_at <= now - grace() * (STALE_GRACES - 1))) or 0
    if stale > max(missing, 0) and _taken_lately(session, queue, now):
        stale = 0              # workers are reading the queue: the broker's count is right, the queue is long
    wanted = min(limit, max(missing, stale))
    if wanted <= 0:
        return [], []
    due = select(m.Job.id, m.Job.name, m.Job.created_at).where(*waiting, m.Job.due_at <= now) \
        .order_by(m.Job.due_at, m.Job.id).limit(wanted)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)     # two dispatchers never hand the same job
    rows = list(session.execute(due))
    count = max(missing, 0)
    return ([(row.id, row.name) for row in rows[:count]],
            [(row.id, row.name, _gap(now - row.created_at)) for row in rows[count:]])


def _taken_lately(session: Session, queue: str, now: datetime) -> bool:
    """Whether a worker began or finished a job of ``queue`` in the last STALE_GRACES graces (few rows, found
    through the state indexes)."""
    since = now - grace() * STALE_GRACES
    begun = select(m.Job.id).where(m.Job.state == "running", m.Job.queue == queue, m.Job.started_at >= since)
    ended = select(m.Job.id).where(m.Job.state.in_(("done", "failed")), m.Job.queue == queue,
                                   m.Job.finished_at >= since)
    return any(session.execute(query.limit(1)).first() is not None for query in (begun, ended))


def _gap(age: timedelta) -> timedelta:
    """How long a job handed again whatever the broker counts waits before the next such hand-off: as long as
    it has waited so far (it is handed at doubling ages), at least a grace, at most LONGEST_GAP."""
    return min(max(age, grace()), LONGEST_GAP)


def _alive(runner: str | None) -> bool:
    try:
        os.kill(int((runner or "").rsplit(":", 1)[1]), 0)
    except ProcessLookupError:
        return False
    except (ValueError, IndexError, PermissionError):      # not a pid, or another user's live process
        return True
    return True


def _requeue_abandoned(session: Session, job: m.Job, now: datetime) -> None:
    try:
        with session.begin_nested():
            job.state, job.due_at = "queued", now
            job.error = f"lần chạy thứ {job.attempts} không kết thúc (tiến trình đã dừng); chạy lại"
            session.flush()
    except IntegrityError:     # the same job waits already
        job.state, job.finished_at, job.error = "done", now, "đã có lần chạy giống hệt đang chờ"


def _missing_from_broker(session: Session, queue: str) -> int | None:
    """How many waiting jobs of ``queue`` the runner may not hold: all of them unless Celery's queue is
    longer than the backlog in the table (negative then); None when the broker cannot be reached."""
    waiting = session.scalar(select(func.count()).select_from(m.Job)
                             .where(m.Job.state == "queued", m.Job.queue == queue)) or 0
    if not waiting or runtime.settings().jobs != "celery":
        return waiting
    try:
        return waiting - broker_backlog(queue)
    except Exception:      # the broker is down: nothing can be handed now
        log.warning("the broker cannot be reached; jobs wait", exc_info=True)
        return None


def broker_backlog(queue: str) -> int:
    """Messages waiting in Celery's queue ``queue`` (not those a worker holds). The queue is declared first: a
    broker that restarted without its data has forgotten it and its binding, and would drop what is sent."""
    return _queue_length(celery_app(), queue)


def _queue_length(app, queue: str) -> int:
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        app.amqp.queues[queue].bind(channel).declare()
        try:
            return int(channel.queue_declare(queue=queue, passive=True).message_count)
        except conn.channel_errors:      # Redis keeps no empty list: an empty queue is "not found"
            return 0


def retry(session: Session, job_id: int) -> bool:
    """An organiser's retry of a failed job: it waits again, with its attempts counted from zero."""
    job = session.get(m.Job, job_id)
    if job is None or job.state != "failed":
        return False
    try:
        with session.begin_nested():
            job.state, job.attempts, job.due_at, job.finished_at = "queued", 0, _now(), None
            session.flush()
    except IntegrityError:     # the same job waits already
        return False
    session.info.setdefault(_PENDING, []).append((job.id, job.name))
    return True


def start_dispatcher(factory: Callable[[], Session], seconds: float) -> threading.Event:
    """``dispatch`` every ``seconds`` in a daemon thread until the returned event is set; errors are logged.

    What dispatching loads is loaded first, in the calling thread: a module that a thread is still importing
    when the process forks stays locked in the child for ever. (gunicorn's master dispatches and forks a new
    worker whenever one dies; that worker hung on its first hand-off until gunicorn killed it.)"""
    _load_broker()
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(seconds):
            try:
                dispatch(factory)
            except Exception:
                log.exception("dispatching jobs failed; trying again")
    threading.Thread(target=loop, name="caselab-dispatch", daemon=True).start()
    return stop


# ---- Celery ----------------------------------------------------------------------------------------------

def _load_broker() -> None:
    """With Celery: load what handing jobs over and counting a queue use, in this thread, without the broker:
    its transport's modules, and a rehearsal (a message sent, counted and dropped) on kombu's in-memory one."""
    if runtime.settings().jobs != "celery":
        return
    with celery_app().connection_for_write() as conn:
        conn.get_transport_cls()                       # kombu.transport.redis and redis-py: not connecting
    "localhost".encode("idna")                         # what resolving the broker's host name loads
    rehearsal = _new_celery_app("memory://")
    try:
        rehearsal.send_task("caselab.rehearsal", kwargs={"job_id": 0}, queue=REHEARSAL)
        _queue_length(rehearsal, REHEARSAL)
        with rehearsal.connection_for_write() as conn:
            conn.default_channel.queue_delete(REHEARSAL)
    finally:
        rehearsal.close()


def _send(job_id: int, name: str) -> None:
    spec = _TASKS[name]
    celery_app().send_task(f"caselab.{name}", kwargs={"job_id": job_id}, queue=spec.queue)


def celery_app():
    """The Celery application on the settings' broker. One Celery task per CaseLab task (``caselab.<name>``),
    routed to the task's queue; its message is ``{"job_id": N}``."""
    broker = runtime.settings().broker_url
    with _celery_lock:
        if broker not in _celery_apps:
            _celery_apps[broker] = _new_celery_app(broker)
        return _celery_apps[broker]


def _new_celery_app(broker: str):
    from celery import Celery
    app = Celery("caselab", broker=broker, set_as_current=False)
    app.conf.update(
        task_serializer="json", accept_content=["json"], task_ignore_result=True,
        task_acks_late=True,                 # a message is acknowledged when its task has finished ...
        task_reject_on_worker_lost=True,     # ... and given back when the worker dies under it
        worker_prefetch_multiplier=1, task_default_queue="checks",
        broker_transport_options={
            "visibility_timeout": 300,       # unacknowledged messages come back
            # a broker that stops answering without closing the connection (a frozen host, a dropped route)
            # fails a hand-off after these seconds instead of holding the request; the dispatcher hands it again
            "socket_timeout": 5, "socket_connect_timeout": 5, "socket_keepalive": True},
        # a worker reconnects to a broker that went away for as long as it takes (by default it gives up after
        # 100 tries and exits), from its start on
        broker_connection_retry=True, broker_connection_max_retries=None, broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # when Redis goes away mid-task, give the task back and start clean: without it a reconnected worker
        # can go on counting the lost message against its prefetch and never take another
        worker_cancel_long_running_tasks_on_connection_loss=True,
        task_routes={f"caselab.{spec.name}": {"queue": spec.queue} for spec in _TASKS.values()})
    for spec in _TASKS.values():
        app.task(name=f"caselab.{spec.name}", shared=False)(_worker_task(spec.name))   # this app's only
    return app


def _worker_task(name: str) -> Callable[..., Any]:
    def runner(**kwargs: Any) -> str:
        # a message is input from the broker: one id (a forged ``database_url`` is refused, never opened)
        if set(kwargs) != {"job_id"}:
            raise ValueError(f"job {name}: a message carries the job's id and nothing else")
        return run_job(_ids_only(name, kwargs)["job_id"], _worker_engine())
    runner.__name__ = runner.__qualname__ = name.replace(".", "_")
    return runner


def run_worker(queues: list[str], concurrency: int = 1, loglevel: str = "info") -> None:
    """Run a Celery worker on ``queues`` in this process until it is stopped. With one process (``solo``) the
    worker runs tasks itself and a SIGKILL loses only the task it was running, which the dispatcher hands
    again when its lease runs out (and Redis redelivers the unacknowledged message)."""
    # solo with a concurrency of 1: besides the task it runs, the worker holds no message (a prefetch of 1)
    pool = ["--pool", "solo" if concurrency == 1 else "prefork", "--concurrency", str(concurrency)]
    celery_app().worker_main(["worker", "--queues", ",".join(queues), "--loglevel", loglevel.upper(),
                              "--without-gossip", "--without-mingle", "--without-heartbeat", *pool])


_engines: dict[str, Any] = {}
_engines_lock = threading.Lock()


def _worker_engine():
    """One engine per worker process, on the database its settings name, surviving stale connections."""
    url = runtime.database_url()
    with _engines_lock:
        if url not in _engines:
            _engines[url] = runtime.make_engine(pool_pre_ping=True)
        return _engines[url]
