"""The organiser's "Nhập" starts a background job and answers at once with the import's page: a progress bar that
reloads itself until the job is done, then the result (counts, rejected rows, the one-time links download); a job
that gave up says why and can be run again. Only its organiser, or a national organiser, sees it."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from lms_plugin.services import accounts, jobs, roster, roster_imports
from lms_plugin.services.demo import PROVINCE
from lms_plugin.store import models as m
from tests.web.conftest import PASSWORD, login
from tests.web.test_admin import ROSTER_CSV, demo_cohort, post_roster

SUMMARY = "Đã tạo 2 tài khoản, cập nhật 1, 0 không đổi; 2 dòng bị từ chối."


def readable(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.text))


def start_import(client, cohort_id: int) -> str:
    """The dry run, then "Nhập": the answer is a redirect to the import's page."""
    preview = post_roster(client, cohort_id, "danh-sach.csv", ROSTER_CSV.encode("utf-8")).text
    fields = dict(re.findall(r'name="(digest|kind)" value="([^"]*)"', preview))
    started = client.post(f"/admin/cohorts/{cohort_id}/roster/confirm", data=fields)
    assert started.status_code == 303
    assert re.fullmatch(rf"/admin/cohorts/{cohort_id}/roster/imports/\d+", started.location)
    return started.location


def the_job(session) -> m.Job:
    session.expire_all()
    return session.scalar(select(m.Job).where(m.Job.name == roster_imports.TASK).order_by(m.Job.id.desc()))


def test_nhap_answers_at_once_with_a_progress_page_then_the_result(client, demo, session, engine, monkeypatch):
    monkeypatch.setattr(jobs, "hand_off", lambda *a, **k: None)     # a worker that has not begun yet
    login(client, "admin1")
    cohort = demo_cohort(session, demo)
    people = session.scalar(select(func.count()).select_from(m.User))
    page_url = start_import(client, cohort.id)
    assert session.scalar(select(func.count()).select_from(m.User)) == people      # nothing written in the request

    waiting = client.get(page_url)
    assert waiting.status_code == 200 and waiting.headers["Refresh"] == "2"
    assert waiting.headers["Cache-Control"] == "no-store"
    assert "Đang chờ bắt đầu nhập danh sách" in readable(waiting)
    assert re.search(r'<progress class="bar" data-test="roster-import-bar">', waiting.text)

    # halfway through a national roster, as the job notes it after each batch
    import_id = int(page_url.rsplit("/", 1)[1])
    session.execute(update(m.RosterImport).where(m.RosterImport.id == import_id)
                    .values(state="running", rows_total=100_000, rows_done=12_000))
    session.commit()
    halfway = client.get(page_url)
    assert "Đang nhập danh sách: 12.000 / 100.000 dòng" in readable(halfway)
    assert 'value="12000" max="100000"' in halfway.text and halfway.headers["Refresh"] == "2"
    assert "Tải liên kết" not in readable(halfway)

    assert jobs.run_job(the_job(session).id, engine) == "done"      # the worker's turn
    done = client.get(page_url)
    assert done.status_code == 200 and "Refresh" not in done.headers and done.headers["Cache-Control"] == "no-store"
    page = readable(done)
    assert SUMMARY in page and "Thiếu họ tên" in page
    assert 'data-test="created-sontv"' in done.text and 'data-test="rejected-4"' in done.text
    href = re.search(r'href="([^"]+)" data-test="links-download"', done.text).group(1)
    assert "sontv," in client.get(href).data.decode("utf-8-sig")
    assert session.scalar(select(func.count()).select_from(m.User)) == people + 2


def test_with_the_inline_runner_the_page_after_nhap_is_already_the_result(client, demo, session):
    login(client, "admin1")
    page_url = start_import(client, demo_cohort(session, demo).id)
    done = client.get(page_url)
    assert SUMMARY in readable(done) and "Refresh" not in done.headers
    assert the_job(session).state == "done"


def test_a_job_that_gave_up_says_why_and_runs_again_from_its_page(client, demo, session, session_factory,
                                                                   monkeypatch):
    apply = roster.apply_roster

    def broken(*args, **kwargs):
        raise RuntimeError("mất kết nối cơ sở dữ liệu")
    monkeypatch.setattr(roster, "apply_roster", broken)
    login(client, "admin1")
    cohort = demo_cohort(session, demo)
    page_url = start_import(client, cohort.id)                    # the first run fails after the redirect
    retrying = readable(client.get(page_url))
    assert "Lần chạy trước gặp lỗi (RuntimeError: mất kết nối cơ sở dữ liệu)" in retrying
    when = datetime.now(timezone.utc)
    for _ in range(jobs.MAX_ATTEMPTS - 1):                          # the dispatcher tries it again, in vain
        when += timedelta(hours=1)
        jobs.dispatch(session_factory, now=when)
    assert the_job(session).state == "failed"
    failed = client.get(page_url)
    assert "Refresh" not in failed.headers
    text = readable(failed)
    assert "Lần nhập đã dừng vì lỗi sau nhiều lần chạy: RuntimeError: mất kết nối cơ sở dữ liệu" in text
    assert 'data-test="roster-import-retry"' in failed.text

    monkeypatch.setattr(roster, "apply_roster", apply)             # the database is back
    again = client.post(f"{page_url}/retry")
    assert again.status_code == 302 and again.location == page_url
    done = readable(client.get(page_url))
    assert "Lần nhập được chạy lại với cùng tệp" in done and SUMMARY in done
    assert client.post(f"{page_url}/retry").status_code == 302        # done: nothing to run again
    assert "không dừng vì lỗi nên không cần chạy lại" in readable(client.get(page_url))


@pytest.fixture
def organisers(session, demo):
    """admin2, an organiser of the same province as admin1; quocgia, a national organiser (no province)."""
    accounts.create_user(session, "admin2", "admin", PASSWORD, province=PROVINCE)
    accounts.create_user(session, "quocgia", "admin", PASSWORD)
    session.commit()


def test_only_its_organiser_or_a_national_one_sees_an_import(app, client, demo, session, organisers):
    login(client, "admin1")
    page_url = start_import(client, demo_cohort(session, demo).id)
    other_cohort = re.sub(r"/cohorts/\d+/", "/cohorts/999999/", page_url)
    assert client.get(other_cohort).status_code == 404

    other = app.test_client()
    login(other, "admin2")
    for response in (other.get(page_url), other.post(f"{page_url}/retry")):
        assert response.status_code == 404 and "Đã tạo" not in readable(response)
    assert other.get(page_url.rsplit("/", 1)[0] + "/999999").status_code == 404

    national = app.test_client()
    login(national, "quocgia")
    seen = national.get(page_url)
    assert seen.status_code == 200 and SUMMARY in readable(seen)
    assert 'data-test="links-download"' not in seen.text and 'data-test="links-not-yours"' in seen.text

    lecturer = app.test_client()
    login(lecturer, "lecturer1")
    assert lecturer.get(page_url).status_code == 403
    assert 'data-test="links-download"' in client.get(page_url).text               # its organiser: the links
