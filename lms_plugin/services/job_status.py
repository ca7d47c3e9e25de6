"""What the organisers see of the background work (services/jobs.py): how much waits, runs, failed; retrying.

Every figure is read from the ``jobs`` table through its indexes, so the page costs the same at 100,000 jobs as
at 100: counts of waiting, running and failed rows (few, and found by state), finished rows only within a time
window (never all the week's done rows), failed rows a page at a time by id. With Celery the broker is asked too,
with a short timeout: a broker that is down shows as "unreachable" and never holds the page up.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..store import models as m
from . import audit, jobs, policy, runtime
from .errors import N_, Conflict, Invalid, NotFound

log = logging.getLogger(__name__)

OPEN_STATES = ("queued", "running", "failed")
DONE_WINDOW = timedelta(hours=1)          # "done" is counted over the last hour
DRAIN_WINDOW = timedelta(minutes=10)      # checks finished per minute, averaged over this
STALE_AFTER = timedelta(minutes=10)       # a job waiting longer than this is worth an organiser's look
BROKER_TIMEOUT = 2.0                      # seconds a broker may take to answer the page or the health check
FAILED_PAGE = 50
RETRY_BATCH = 200                         # failed jobs read and retried at a time
# a retry of everything stops after this many jobs; inline, each retried job runs inside the organiser's request
RETRY_ALL_AT_MOST = {"inline": 20, "thread": 1000, "celery": 1000}

# task name -> (Vietnamese msgid, the id it names); other names are shown as they are
TITLES: dict[str, tuple[str, str]] = {
    "similarity.check_essay": (N_("Kiểm tra trùng lặp bài #%(id)s"), "essay_id"),
    "similarity.recheck_essay": (N_("Kiểm tra lại bài #%(id)s"), "essay_id"),
    "similarity.rebuild_index": (N_("Dựng lại chỉ mục khóa học #%(id)s"), "course_id"),
    "similarity.update_index": (N_("Cập nhật chỉ mục khóa học #%(id)s"), "course_id"),
    "roster.import": (N_("Nhập danh sách học viên (lần nhập #%(id)s)"), "import_id"),
}


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class QueueStatus:
    queue: str
    queued: int
    running: int
    failed: int
    done_last_hour: int
    backlog: int | None        # messages waiting in the broker (Celery); None: no broker, or it did not answer


@dataclass(frozen=True)
class JobOverview:
    mode: str                              # inline | thread | celery
    broker: str                            # "not used" | "ok" | "unreachable"
    queues: tuple[QueueStatus, ...]
    oldest_waiting_since: datetime | None  # when the oldest waiting job was written (a retried one: first written)
    oldest_waiting_seconds: int | None     # its age
    checks_per_minute: float               # similarity checks finished per minute over the last ten minutes

    @property
    def queued(self) -> int:
        return sum(q.queued for q in self.queues)

    @property
    def failed(self) -> int:
        return sum(q.failed for q in self.queues)

    @property
    def stale(self) -> bool:
        return self.oldest_waiting_seconds is not None and self.oldest_waiting_seconds > STALE_AFTER.total_seconds()

    @property
    def minutes_to_drain(self) -> int | None:
        """At the current pace, minutes until the waiting checks are done (None: nothing is finishing)."""
        waiting = next((q.queued for q in self.queues if q.queue == "checks"), 0)
        if not waiting or self.checks_per_minute <= 0:
            return None
        return max(1, round(waiting / self.checks_per_minute))


@dataclass(frozen=True)
class JobView:
    id: int
    name: str                    # the task's name, as the code knows it
    title: str                   # Vietnamese msgid, or the name itself for a task this page does not know
    params: Mapping[str, Any] = field(default_factory=dict)
    queue: str = "checks"
    attempts: int = 0
    error: str | None = None
    failed_at: datetime | None = None
    created_at: datetime | None = None

    def translated(self, gettext: Callable[..., str]) -> str:
        return gettext(self.title, **self.params) if self.params else self.title


@dataclass(frozen=True)
class FailedPage:
    jobs: tuple[JobView, ...]
    next_after: int | None       # pass as ``after_id`` for the next (older) page; None: this is the last


@dataclass(frozen=True)
class Attention:
    """Why the organisers' home page points at the jobs page."""
    failed: int
    oldest_waiting_seconds: int | None

    @property
    def stale(self) -> bool:
        return self.oldest_waiting_seconds is not None and self.oldest_waiting_seconds > STALE_AFTER.total_seconds()


def view_of(job: Any) -> JobView:
    """A job row (or a row with the same columns) as the page shows it."""
    title, params = job.name, {}
    known = TITLES.get(job.name)
    args = job.args if isinstance(job.args, dict) else {}
    if known and type(args.get(known[1])) is int:
        title, params = known[0], {"id": args[known[1]]}
    return JobView(job.id, job.name, title, params, job.queue, job.attempts, job.error, job.finished_at,
                   job.created_at)


# ---- reading ---------------------------------------------------------------------------------------

def _seconds_since(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else max(0, int((now - moment).total_seconds()))


def _oldest_waiting(session: Session) -> datetime | None:
    # waiting rows are few and found by state (ix_jobs_state_due)
    return session.scalar(select(func.min(m.Job.created_at)).where(m.Job.state == "queued"))


def overview(session: Session, user: m.User, *, now: datetime | None = None) -> JobOverview:
    policy.require(user, "jobs.read")
    now = now or _now()
    counts: dict[tuple[str, str], int] = {}
    for queue, state, n in session.execute(select(m.Job.queue, m.Job.state, func.count())
                                           .where(m.Job.state.in_(OPEN_STATES))
                                           .group_by(m.Job.queue, m.Job.state)):
        counts[(queue, state)] = n
    # done rows of the window only (a week of them is kept); an index on (state, finished_at) reads just those
    done = {queue: n for queue, n in session.execute(
        select(m.Job.queue, func.count()).where(m.Job.state == "done", m.Job.finished_at >= now - DONE_WINDOW)
        .group_by(m.Job.queue))}
    drained = session.scalar(select(func.count()).select_from(m.Job).where(
        m.Job.state == "done", m.Job.queue == "checks", m.Job.finished_at >= now - DRAIN_WINDOW)) or 0
    mode = runtime.settings().jobs
    broker = broker_status()
    backlog = _backlog() if broker == "ok" else {}
    queues = tuple(QueueStatus(queue, counts.get((queue, "queued"), 0), counts.get((queue, "running"), 0),
                               counts.get((queue, "failed"), 0), done.get(queue, 0), backlog.get(queue))
                   for queue in jobs.QUEUES)
    oldest = _oldest_waiting(session)
    return JobOverview(mode, broker, queues, oldest, _seconds_since(oldest, now),
                       round(drained / (DRAIN_WINDOW.total_seconds() / 60), 1))


def attention(session: Session, user: m.User, *, now: datetime | None = None) -> Attention | None:
    """For the organisers' home page: failed jobs, or work waiting too long; None when all is well."""
    policy.require(user, "jobs.read")
    failed = session.scalar(select(func.count()).select_from(m.Job).where(m.Job.state == "failed")) or 0
    found = Attention(failed, _seconds_since(_oldest_waiting(session), now or _now()))
    return found if found.failed or found.stale else None


def failed_jobs(session: Session, user: m.User, *, after_id: int | None = None,
                limit: int = FAILED_PAGE) -> FailedPage:
    """Failed jobs, newest first, ``limit`` at a time; the next page starts after ``next_after``."""
    policy.require(user, "jobs.read")
    limit = max(1, min(limit, 200))
    query = select(m.Job).where(m.Job.state == "failed")
    if after_id is not None:
        query = query.where(m.Job.id < after_id)
    rows = list(session.scalars(query.order_by(m.Job.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return FailedPage(tuple(view_of(job) for job in rows), rows[-1].id if more else None)


# ---- the broker --------------------------------------------------------------------------------------

def broker_status() -> str:
    """"not used" unless jobs go through Celery; then "ok" when the broker answers within BROKER_TIMEOUT,
    else "unreachable" (the reason is logged, never shown: it may name the broker's address)."""
    if runtime.settings().jobs != "celery":
        return "not used"
    # Celery's messaging library, loaded only when Celery is used
    from kombu import Connection
    try:
        with Connection(runtime.settings().broker_url, connect_timeout=BROKER_TIMEOUT,
                        transport_options={"socket_timeout": BROKER_TIMEOUT}) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT)
    except Exception:
        log.warning("the broker did not answer", exc_info=True)
        return "unreachable"
    return "ok"


def _backlog() -> dict[str, int]:
    """Messages waiting in each queue of the broker; a queue it cannot tell is left out."""
    from kombu.exceptions import ChannelError
    out = {}
    for queue in jobs.QUEUES:
        try:
            out[queue] = jobs.broker_backlog(queue)
        except ChannelError:           # Redis keeps no empty queue: "no queue 'checks'" means none waits
            out[queue] = 0
        except Exception:
            log.warning("the broker's %s queue could not be read", queue, exc_info=True)
    return out


# ---- retrying ----------------------------------------------------------------------------------------

def retry_job(session: Session, user: m.User, job_id: int) -> JobView:
    """A failed job waits again, its attempts counted from zero; it is handed to the runner once the caller
    commits. Raises NotFound, or Conflict when it has not failed or the same job already waits."""
    policy.require(user, "jobs.retry")
    job = session.get(m.Job, job_id)
    if job is None:
        raise NotFound("Không tìm thấy việc chạy nền #%(id)s", id=job_id)
    if job.state != "failed":
        raise Conflict("Việc #%(id)s không ở trạng thái lỗi nên không cần chạy lại", id=job_id)
    if not jobs.retry(session, job_id):
        raise Conflict("Một việc giống hệt việc #%(id)s đang chờ chạy; không cần chạy lại việc này", id=job_id)
    audit.record(session, user.id, "job.retry", "job", job_id, name=job.name, queue=job.queue)
    return view_of(job)


def retry_all_failed(session: Session, user: m.User, queue: str | None = None) -> int:
    """Retry failed jobs (of ``queue``, or all), oldest first, RETRY_BATCH at a time and at most
    RETRY_ALL_AT_MOST for the jobs mode in one call; returns how many wait again. A job whose twin already
    waits stays failed."""
    policy.require(user, "jobs.retry")
    if queue is not None and queue not in jobs.QUEUES:
        raise Invalid("Không có hàng việc '%(queue)s'", queue=queue)
    at_most = RETRY_ALL_AT_MOST.get(runtime.settings().jobs, RETRY_BATCH)
    retried, seen, after = 0, 0, 0
    while seen < at_most:
        query = select(m.Job).where(m.Job.state == "failed", m.Job.id > after)
        if queue is not None:
            query = query.where(m.Job.queue == queue)
        batch = list(session.scalars(query.order_by(m.Job.id).limit(min(RETRY_BATCH, at_most - seen))))
        if not batch:
            break
        for job in batch:              # already in the session: jobs.retry finds each without a query
            retried += jobs.retry(session, job.id)
        seen += len(batch)
        after = batch[-1].id
    if retried:
        audit.record(session, user.id, "job.retry_failed", "job_queue", queue or "*", retried=retried)
    return retried


def failed_count(session: Session, user: m.User) -> int:
    policy.require(user, "jobs.read")
    return session.scalar(select(func.count()).select_from(m.Job).where(m.Job.state == "failed")) or 0
