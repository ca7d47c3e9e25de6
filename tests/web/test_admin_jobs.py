"""The organisers' page of background jobs (/admin/jobs): counts, failed jobs a page at a time, retrying them, and
the warning on the organisers' home page."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from lms_plugin.store import models as m
from lms_plugin.web import create_app
from tests.services import test_job_status
from tests.services.test_job_status import REBUILD, sent
from tests.web.conftest import PASSWORD, login


def add_job(session, *args, **kwargs) -> m.Job:
    """A job row written a minute (or ``ago``) before now: the page measures waiting against the clock."""
    return test_job_status.add_job(session, *args, now=datetime.now(timezone.utc), **kwargs)


def app_handing_jobs_to_celery(engine, tmp_path, **config):
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test-secret", "TESTING": True, "JOBS": "celery",
                      "BROKER_URL": "memory://", **config})
    app.instance_path = str(tmp_path)
    return app


@pytest.fixture
def celery_app(engine, content, tmp_path):
    """The app handing jobs to Celery over kombu's in-memory broker: a retried job stays queued for a worker
    (none runs here), and the message handed over can be read back."""
    sent("checks"), sent("index")
    yield app_handing_jobs_to_celery(engine, tmp_path, WTF_CSRF_ENABLED=False)
    sent("checks"), sent("index")


def text_of_html(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", page))


def text_of(response) -> str:
    return text_of_html(response.text)


def shown(page: str, test: str) -> str:
    found = re.search(rf'data-test="{re.escape(test)}"[^>]*>([^<]*)<', page)
    assert found, test
    return found.group(1).strip()


def test_an_organiser_sees_the_counts_the_failed_jobs_and_their_buttons(client, demo, session):
    for minutes in (25, 2):
        add_job(session, state="queued", ago=timedelta(minutes=minutes))
    add_job(session, state="running")
    failed = add_job(session, error="OperationalError: máy chủ cơ sở dữ liệu không trả lời", essay_id=7)
    add_job(session, REBUILD, queue="index", course_id=2)
    add_job(session, state="done", finished_ago=timedelta(minutes=3))
    session.commit()
    login(client, "admin1")
    response = client.get("/admin/jobs")
    assert response.status_code == 200
    page = response.text
    assert [shown(page, f"checks-{state}") for state in ("queued", "running", "failed")] == ["2", "1", "1"]
    assert (shown(page, "index-failed"), shown(page, "index-queued")) == ("1", "0")
    # the rows were written at a fixed time: only the relative figures depend on the clock
    readable = text_of(response)
    assert "Kiểm tra trùng lặp bài #7" in readable and "Dựng lại chỉ mục khóa học #2" in readable
    assert "OperationalError: máy chủ cơ sở dữ liệu không trả lời" in readable
    assert "Việc đang chờ lâu nhất được tạo lúc" in readable and "(25 phút trước)" in readable
    assert "Có việc được tạo hơn 10 phút trước vẫn đang chờ" in readable
    assert f'data-test="retry-{failed.id}"' in page and 'data-test="retry-all"' in page
    form = re.search(rf'<form method="post" action="/admin/jobs/{failed.id}/retry"[^>]*>(.*?)</form>', page, re.S)
    assert form and 'name="csrf_token"' in form.group(1)
    assert 'href="/admin/jobs" data-test="nav-jobs"' in page


def test_retrying_a_failed_job_puts_it_back_in_the_queue_for_a_worker_and_audits_it(celery_app, demo, session):
    job = add_job(session, essay_id=7)
    session.commit()
    client = celery_app.test_client()
    login(client, "admin1")
    response = client.post(f"/admin/jobs/{job.id}/retry")
    assert response.status_code == 302 and response.location.endswith("/admin/jobs")
    raw = client.get(response.location).text
    page = text_of_html(raw)
    assert "Đã đưa việc “Kiểm tra trùng lặp bài #7” trở lại hàng chờ." in page
    assert (shown(raw, "broker"), shown(raw, "checks-queued"), shown(raw, "checks-backlog")) == (
        "Hàng đợi tin nhắn: kết nối được", "1", "1")             # its message waits for a worker
    assert f'data-test="retry-{job.id}"' not in page and "Không có việc nào bị lỗi." in page
    session.expire_all()
    row = session.get(m.Job, job.id)
    assert (row.state, row.attempts, row.finished_at) == ("queued", 0, None)
    assert sent("checks") == [{"job_id": job.id}]               # handed to Celery once committed
    audited = session.scalar(select(m.AuditEvent).where(m.AuditEvent.action == "job.retry"))
    admin = session.scalar(select(m.User).where(m.User.username == "admin1"))
    assert (audited.actor_id, audited.target_id) == (admin.id, str(job.id))
    again = client.post(f"/admin/jobs/{job.id}/retry")         # a second click: it is waiting already
    assert f"Việc #{job.id} không ở trạng thái lỗi nên không cần chạy lại" in text_of(client.get(again.location))
    missing = client.post("/admin/jobs/424242/retry")
    assert "Không tìm thấy việc chạy nền #424242" in text_of(client.get(missing.location))


def test_retry_all_puts_every_failed_job_back_and_says_how_many(celery_app, demo, session):
    jobs = [add_job(session, essay_id=n) for n in (11, 12, 13)]
    add_job(session, state="queued", essay_id=14)
    twin = add_job(session, essay_id=14)                         # the same check waits already
    session.commit()
    client = celery_app.test_client()
    login(client, "admin1")
    response = client.post("/admin/jobs/retry-failed")
    page = text_of(client.get(response.location))
    assert "Đã đưa 3 việc lỗi trở lại hàng chờ." in page
    assert "Còn 1 việc lỗi chưa chạy lại" in page and f'data-test="retry-{twin.id}"' in page
    session.expire_all()
    assert [session.get(m.Job, job.id).state for job in jobs] == ["queued"] * 3


def test_failed_jobs_are_shown_fifty_at_a_time_with_more_on_demand(client, demo, session):
    rows = [add_job(session, essay_id=100 + n) for n in range(55)]
    session.commit()
    login(client, "admin1")
    first = client.get("/admin/jobs").text
    listed = [int(n) for n in re.findall(r'data-test="failed-(\d+)"', first)]
    assert listed == [row.id for row in reversed(rows)][:50]
    more = re.search(r'href="([^"]+)" data-test="more-failed"', first)
    assert more and 'data-test="first-failed"' not in first
    second = client.get(html.unescape(more.group(1))).text
    assert [int(n) for n in re.findall(r'data-test="failed-(\d+)"', second)] == [row.id for row in rows[4::-1]]
    assert 'data-test="more-failed"' not in second and 'data-test="first-failed"' in second
    assert shown(second, "checks-failed") == "55"                 # the counts stay those of the whole table


def test_the_organisers_home_page_points_at_failed_or_long_waiting_jobs(client, demo, session):
    login(client, "admin1")
    assert 'data-test="jobs-attention"' not in client.get("/admin/").text
    add_job(session)
    session.commit()
    page = client.get("/admin/").text
    warning = re.search(r'data-test="jobs-attention">(.*?)</p>', page, re.S)
    assert warning and "Việc chạy nền bị lỗi: 1." in warning.group(1) and 'href="/admin/jobs"' in warning.group(1)
    session.execute(m.Job.__table__.delete())
    add_job(session, state="queued", ago=timedelta(minutes=11))
    session.commit()
    warning = re.search(r'data-test="jobs-attention">(.*?)</p>', client.get("/admin/").text, re.S)
    assert warning and "Có việc chạy nền được tạo hơn 10 phút trước vẫn đang chờ." in warning.group(1)


def test_the_retry_buttons_carry_the_csrf_token_the_app_asks_for(engine, content, tmp_path, demo, session):
    job = add_job(session, essay_id=5)
    session.commit()
    sent("checks")
    client = app_handing_jobs_to_celery(engine, tmp_path).test_client()       # CSRF on, as in production
    page = client.get("/login").text
    token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    assert client.post("/login", data={"username": "admin1", "password": PASSWORD, "csrf_token": token}) \
        .status_code == 302
    jobs_page = client.get("/admin/jobs").text
    assert client.post(f"/admin/jobs/{job.id}/retry").status_code == 400       # no token: refused
    session.expire_all()
    assert session.get(m.Job, job.id).state == "failed"
    form = re.search(rf'action="/admin/jobs/{job.id}/retry"[^>]*>\s*<input type="hidden" name="csrf_token" '
                     r'value="([^"]+)"', jobs_page)
    assert form
    assert client.post(f"/admin/jobs/{job.id}/retry", data={"csrf_token": form.group(1)}).status_code == 302
    session.expire_all()
    assert session.get(m.Job, job.id).state == "queued"
    assert sent("checks") == [{"job_id": job.id}]


def test_lecturers_are_refused(client, demo):
    login(client, "lecturer1")
    assert client.get("/admin/jobs").status_code == 403
    assert client.post("/admin/jobs/retry-failed").status_code == 403
