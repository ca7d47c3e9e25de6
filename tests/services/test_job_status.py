"""What organisers see of the background jobs (services/job_status.py): counts per queue and state, the oldest
waiting job, the pace of the checks, failed jobs a page at a time, and retrying them (one, or all)."""
from __future__ import annotations

import itertools
import json
import os
from datetime import datetime, timedelta, timezone

import pytest
from kombu import Connection
from sqlalchemy import event, select

from lms_plugin.services import accounts, job_status, runtime, similarity
from lms_plugin.services.errors import Conflict, Forbidden, Invalid, NotFound
from lms_plugin.settings import Settings
from lms_plugin.store import models as m

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
CHECK, REBUILD = similarity.CHECK, "similarity.rebuild_index"      # importing similarity declares its tasks
_essays = itertools.count(1000)


def add_job(session, name: str = CHECK, state: str = "failed", *, queue: str = "checks", ago: timedelta | None = None,
            finished_ago: timedelta | None = None, attempts: int = 5, error: str | None = "RuntimeError: hỏng",
            now: datetime = NOW, **ids: int) -> m.Job:
    """A row as services/jobs.py leaves it (its key names the task and its ids), written ``ago`` before ``now``;
    a failed one failed when it was written unless told otherwise."""
    ids = ids or {"essay_id": next(_essays)}
    created = now - (ago or timedelta(minutes=1))
    if state == "failed" and finished_ago is None:
        finished_ago = ago or timedelta(minutes=1)
    job = m.Job(name=name, args=ids, key=f"{name}:{json.dumps(ids, sort_keys=True, separators=(',', ':'))}",
                queue=queue, state=state, attempts=attempts if state == "failed" else 0, due_at=created,
                error=error if state == "failed" else None, created_at=created,
                finished_at=None if finished_ago is None else now - finished_ago)
    session.add(job)
    session.flush()
    return job


def sent(queue: str = "checks") -> list[dict]:
    """Take every message waiting in kombu's in-memory broker ``queue``: their kwargs."""
    out = []
    with Connection("memory://") as conn:
        waiting = conn.SimpleQueue(queue)
        while True:
            try:
                message = waiting.get(block=False)
            except waiting.Empty:
                break
            out.append(message.decode()[1])
            message.ack()
        waiting.close()
    return out


@pytest.fixture
def memory_broker():
    """Jobs go to Celery over kombu's in-memory transport: nothing runs in this process, a hand-off is a message
    one can read back."""
    runtime.configure(Settings.load({"JOBS": "celery", "BROKER_URL": "memory://"}))
    sent("checks"), sent("index")
    yield sent
    sent("checks"), sent("index")


@pytest.fixture
def people(session):
    found = {role: accounts.create_user(session, f"{role}-1", role) for role in accounts.ROLES}
    session.commit()
    return found


def test_the_overview_counts_each_queue_and_state_and_done_jobs_of_the_last_hour_only(session, people):
    for minutes in (15, 3, 1):
        add_job(session, state="queued", ago=timedelta(minutes=minutes))
    add_job(session, state="running")
    add_job(session)
    add_job(session)
    for minutes in (1, 2, 5, 9):                                  # the last ten minutes: 4 checks
        add_job(session, state="done", finished_ago=timedelta(minutes=minutes))
    add_job(session, state="done", finished_ago=timedelta(minutes=30))
    add_job(session, state="done", finished_ago=timedelta(hours=2))
    add_job(session, state="done", finished_ago=timedelta(days=3))
    add_job(session, REBUILD, "queued", queue="index", course_id=1)
    add_job(session, REBUILD, "failed", queue="index", course_id=2)
    add_job(session, REBUILD, "done", queue="index", finished_ago=timedelta(minutes=2), course_id=3)
    session.commit()

    seen = job_status.overview(session, people["admin"], now=NOW)
    checks, index = seen.queues
    assert (checks.queue, checks.queued, checks.running, checks.failed, checks.done_last_hour) == ("checks", 3, 1, 2, 5)
    assert (index.queue, index.queued, index.running, index.failed, index.done_last_hour) == ("index", 1, 0, 1, 1)
    assert (seen.queued, seen.failed) == (4, 3)
    assert seen.oldest_waiting_since == NOW - timedelta(minutes=15) and seen.oldest_waiting_seconds == 15 * 60
    assert seen.stale
    assert seen.checks_per_minute == 0.4                          # the index rebuild is no check
    assert seen.minutes_to_drain == 8                             # 3 waiting checks at 0.4 a minute
    assert (seen.mode, seen.broker, checks.backlog, index.backlog) == ("inline", "not used", None, None)


def test_an_empty_table_is_all_zeros_and_nothing_waits(session, people):
    seen = job_status.overview(session, people["admin"], now=NOW)
    assert [(q.queued, q.running, q.failed, q.done_last_hour) for q in seen.queues] == [(0, 0, 0, 0)] * 2
    assert (seen.oldest_waiting_seconds, seen.stale, seen.checks_per_minute, seen.minutes_to_drain) == \
        (None, False, 0.0, None)
    assert job_status.attention(session, people["admin"], now=NOW) is None


def test_the_home_page_is_told_of_failed_jobs_and_of_work_waiting_over_ten_minutes(session, people):
    add_job(session, state="queued", ago=timedelta(minutes=9))
    session.commit()
    assert job_status.attention(session, people["admin"], now=NOW) is None
    add_job(session, state="queued", ago=timedelta(minutes=11))
    found = job_status.attention(session, people["admin"], now=NOW)
    assert found is not None and found.stale and found.failed == 0
    session.execute(m.Job.__table__.delete())
    add_job(session)
    found = job_status.attention(session, people["admin"], now=NOW)
    assert found is not None and found.failed == 1 and not found.stale


def test_failed_jobs_come_newest_first_a_page_at_a_time_with_their_names_in_vietnamese(session, people):
    rows = [add_job(session, CHECK, essay_id=12), add_job(session, "similarity.recheck_essay", essay_id=13),
            add_job(session, REBUILD, queue="index", course_id=3), add_job(session, "bao_cao.tong_hop", cohort_id=4),
            add_job(session, CHECK, error="TimeoutError: quá thời gian", essay_id=14)]
    session.commit()
    admin = people["admin"]
    first = job_status.failed_jobs(session, admin, limit=2)
    second = job_status.failed_jobs(session, admin, after_id=first.next_after, limit=2)
    last = job_status.failed_jobs(session, admin, after_id=second.next_after, limit=2)
    ids = [job.id for page in (first, second, last) for job in page.jobs]
    assert ids == [row.id for row in reversed(rows)] and last.next_after is None
    assert [len(page.jobs) for page in (first, second, last)] == [2, 2, 1]

    def gettext(msgid, **params):
        return msgid % params
    shown = [job.translated(gettext) for page in (first, second, last) for job in page.jobs]
    assert shown == ["Kiểm tra trùng lặp bài #14", "bao_cao.tong_hop", "Dựng lại chỉ mục khóa học #3",
                     "Kiểm tra lại bài #13", "Kiểm tra trùng lặp bài #12"]      # an unknown task: its name
    newest = first.jobs[0]
    assert (newest.attempts, newest.error, newest.queue, newest.failed_at) == (
        5, "TimeoutError: quá thời gian", "checks", NOW - timedelta(minutes=1))
    assert job_status.failed_jobs(session, admin, after_id=rows[0].id).jobs == ()


def test_every_task_caselab_declares_is_shown_by_a_vietnamese_title_naming_what_it_works_on(session, people):
    """A task missing from TITLES would be shown by its code name (``similarity.update_index``)."""
    from lms_plugin import worker
    from lms_plugin.services import jobs
    assert worker.TASK_MODULES                   # every module that declares tasks is loaded
    ours = sorted(name for name, spec in jobs.tasks().items() if spec.fn.__module__.startswith("lms_plugin."))
    shown = {name: job_status.view_of(add_job(session, name, essay_id=6, course_id=5, import_id=4)).translated(
        lambda msgid, **p: msgid % p) for name in ours}
    assert shown == {CHECK: "Kiểm tra trùng lặp bài #6", "similarity.recheck_essay": "Kiểm tra lại bài #6",
                     REBUILD: "Dựng lại chỉ mục khóa học #5", "similarity.update_index": "Cập nhật chỉ mục khóa học #5",
                     "roster.import": "Nhập danh sách học viên (lần nhập #4)"}


def test_a_retried_job_waits_again_from_zero_attempts_and_the_retry_is_audited(session, people):
    job = add_job(session, CHECK, finished_ago=timedelta(minutes=5), essay_id=7)
    session.commit()
    shown = job_status.retry_job(session, people["admin"], job.id)
    assert shown.translated(lambda msgid, **p: msgid % p) == "Kiểm tra trùng lặp bài #7"
    session.flush()
    row = session.get(m.Job, job.id)
    assert (row.state, row.attempts, row.finished_at) == ("queued", 0, None)
    event_ = session.scalar(select(m.AuditEvent).where(m.AuditEvent.action == "job.retry"))
    assert (event_.actor_id, event_.target_type, event_.target_id) == (people["admin"].id, "job", str(job.id))
    assert event_.details == {"name": CHECK, "queue": "checks"}


def test_a_retried_check_runs_once_committed(session, people):
    """Inline (a trial): the job is handed over after the commit and runs; essay 7 is gone, so it ends done."""
    job = add_job(session, CHECK, essay_id=7)
    session.commit()
    job_status.retry_job(session, people["admin"], job.id)
    session.commit()
    session.expire_all()
    assert (session.get(m.Job, job.id).state, session.get(m.Job, job.id).attempts) == ("done", 1)


def test_retrying_what_is_not_there_has_not_failed_or_already_waits_is_refused(session, people):
    admin = people["admin"]
    with pytest.raises(NotFound) as missing:
        job_status.retry_job(session, admin, 424242)
    assert missing.value.message == "Không tìm thấy việc chạy nền #424242"
    waiting = add_job(session, state="queued", essay_id=8)
    with pytest.raises(Conflict) as not_failed:
        job_status.retry_job(session, admin, waiting.id)
    assert not_failed.value.message == f"Việc #{waiting.id} không ở trạng thái lỗi nên không cần chạy lại"
    twin = add_job(session, essay_id=8)                         # the same check failed earlier; one waits now
    session.commit()
    with pytest.raises(Conflict) as twin_waits:
        job_status.retry_job(session, admin, twin.id)
    assert "giống hệt" in twin_waits.value.message
    session.expire_all()
    assert session.get(m.Job, twin.id).state == "failed"
    assert session.scalar(select(m.AuditEvent).where(m.AuditEvent.action == "job.retry")) is None


def test_retry_all_goes_in_batches_skips_a_job_whose_twin_waits_and_keeps_to_its_queue(session, people,
                                                                                      monkeypatch, memory_broker):
    monkeypatch.setattr(job_status, "RETRY_BATCH", 2)
    checks = [add_job(session, essay_id=n) for n in range(20, 25)]
    add_job(session, state="queued", essay_id=30)
    twin = add_job(session, essay_id=30)
    rebuild = add_job(session, REBUILD, queue="index", course_id=1)
    session.commit()
    assert job_status.retry_all_failed(session, people["admin"], "checks") == 5
    session.flush()
    states = {job_id: state for job_id, state in session.execute(select(m.Job.id, m.Job.state))}
    assert {states[job.id] for job in checks} == {"queued"}
    assert (states[twin.id], states[rebuild.id]) == ("failed", "failed")
    audited = session.scalar(select(m.AuditEvent).where(m.AuditEvent.action == "job.retry_failed"))
    assert (audited.target_id, audited.details) == ("checks", {"retried": 5})
    with pytest.raises(Invalid):
        job_status.retry_all_failed(session, people["admin"], "khac")


def test_retry_all_stops_at_its_bound_for_the_jobs_mode(session, people, monkeypatch, memory_broker):
    monkeypatch.setattr(job_status, "RETRY_BATCH", 2)
    monkeypatch.setitem(job_status.RETRY_ALL_AT_MOST, "celery", 3)
    for n in range(5):
        add_job(session, essay_id=40 + n)
    session.commit()
    assert job_status.retry_all_failed(session, people["admin"]) == 3
    session.flush()
    assert job_status.failed_count(session, people["admin"]) == 2
    oldest_first = session.scalars(select(m.Job.state).order_by(m.Job.id)).all()
    assert oldest_first == ["queued"] * 3 + ["failed"] * 2


def test_retried_jobs_are_handed_over_only_once_committed_and_each_once(session, people, memory_broker):
    failed = [add_job(session, essay_id=50 + n) for n in range(3)]
    session.commit()
    assert job_status.retry_all_failed(session, people["admin"]) == 3
    early = memory_broker()
    session.commit()
    assert (early, sorted(kwargs["job_id"] for kwargs in memory_broker())) == ([], [job.id for job in failed])


def test_a_job_whose_twin_waits_does_not_stop_the_others_being_handed_over(session, people, memory_broker):
    retried = add_job(session, essay_id=60)
    add_job(session, state="queued", essay_id=61)
    add_job(session, essay_id=61)
    session.commit()
    memory_broker()                                   # the waiting job's own message, if any
    assert job_status.retry_all_failed(session, people["admin"]) == 1
    session.commit()
    assert memory_broker() == [{"job_id": retried.id}]


def test_only_organisers_see_and_retry_jobs(session, people):
    job = add_job(session)
    session.commit()
    calls = [(job_status.overview, ()), (job_status.failed_jobs, ()), (job_status.attention, ()),
             (job_status.failed_count, ()), (job_status.retry_job, (job.id,)), (job_status.retry_all_failed, ())]
    for role in ("lecturer", "cadre", "examiner"):
        for call, args in calls:
            with pytest.raises(Forbidden):
                call(session, people[role], *args)
    assert session.get(m.Job, job.id).state == "failed"


def test_the_pages_queries_search_the_jobs_by_index_never_scan_them(session, people, engine):
    """SQLite's plan for each statement: a full scan of jobs would read every done row of the week."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's EXPLAIN QUERY PLAN; PostgreSQL plans by its statistics")
    for n in range(30):
        add_job(session, state="done", finished_ago=timedelta(minutes=n), essay_id=n)
    add_job(session, essay_id=99)
    session.commit()
    statements: list[tuple[str, object]] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if " jobs" in statement and statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))
    event.listen(engine, "before_cursor_execute", seen)
    try:
        admin = people["admin"]
        job_status.overview(session, admin, now=NOW)
        job_status.attention(session, admin, now=NOW)
        page = job_status.failed_jobs(session, admin, limit=1)
        job_status.failed_jobs(session, admin, after_id=page.jobs[0].id + 1)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(statements) >= 6
    with engine.connect() as conn:
        for statement, parameters in statements:
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            reads = [step for step in plan if " jobs" in f" {step}"]
            assert reads and all(step.startswith("SEARCH jobs USING") for step in reads), (statement, plan)


def test_with_celery_an_unreachable_broker_is_said_so_quickly(session, people):
    runtime.configure(Settings.load({"JOBS": "celery", "BROKER_URL": "redis://127.0.0.1:1/0"}))
    seen = job_status.overview(session, people["admin"], now=NOW)
    assert (seen.mode, seen.broker) == ("celery", "unreachable")
    assert [q.backlog for q in seen.queues] == [None, None]


@pytest.mark.skipif(not os.environ.get("CASELAB_TEST_REDIS_URL"), reason="CASELAB_TEST_REDIS_URL names no Redis")
def test_with_celery_on_redis_the_broker_answers_and_its_queues_are_counted(session, people):
    runtime.configure(Settings.load({"JOBS": "celery", "BROKER_URL": os.environ["CASELAB_TEST_REDIS_URL"]}))
    seen = job_status.overview(session, people["admin"], now=NOW)
    assert seen.broker == "ok"
    assert all(isinstance(q.backlog, int) and q.backlog >= 0 for q in seen.queues)   # an empty queue counts 0

