"""The web's roster import as a background job (services/roster_imports.py): the job notes its rows done after each
batch, ends with the counts and the links for one download, and a run cut off halfway is run again without creating
anyone twice, the accounts it had made getting their links after all."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select, text

from lms_plugin.services import jobs, roster, roster_files, roster_imports, runtime, sign_in_links
from lms_plugin.settings import Settings
from lms_plugin.store import models as m
from tests.services.test_roster import cohort  # noqa: F401  (the fixture)

PEOPLE = 25
ROSTER = ("Họ tên,Xã,Tỉnh,Liên hệ,Vai trò,Tên đăng nhập,CCCD\n"
          + "".join(f"Cán bộ Thứ {i:02d},Xã Số {i % 3},Tỉnh Sơn Nguyên,0912{i:06d},học viên,,0010900000{i:02d}\n"
                    for i in range(PEOPLE))
          + ",Xã Số 1,Tỉnh Sơn Nguyên,,học viên,,\n").encode("utf-8")


@pytest.fixture
def instance(tmp_path):
    """The settings a worker would read: the instance folder the web keeps the checked files in."""
    folder = tmp_path / "instance"
    runtime.configure(Settings.load({"INSTANCE": str(folder), "BASE_URL": "https://caselab.example.vn"}))
    return folder


@pytest.fixture
def batches_of_ten(monkeypatch):
    monkeypatch.setattr(roster_imports, "BATCH_ROWS", 10)


def kept(instance, raw: bytes = ROSTER) -> tuple[str, str]:
    return roster_files.keep_upload(instance, "danh-sach.csv", raw)


def people(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(m.User))


def links_of(instance, ticket: str) -> dict[str, str]:
    body = roster_files.take_links(instance, ticket)
    assert body is not None
    sheet = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    return {row[0]: row[4] for row in sheet[1:]}


def test_the_job_notes_its_progress_and_ends_with_the_counts_and_the_links(
        session, engine, cohort, instance, batches_of_ten, monkeypatch):  # noqa: F811
    admin, row = cohort
    before = people(session)
    seen: list[tuple[str, int, int | None]] = []      # what the page would read before each batch is written
    write = roster._write_batch

    def spying(*args, **kwargs):
        with engine.connect() as other:
            seen.append(tuple(other.execute(text(
                "SELECT state, rows_done, rows_total FROM roster_imports ORDER BY id DESC LIMIT 1")).one()))
        return write(*args, **kwargs)
    monkeypatch.setattr(roster, "_write_batch", spying)

    digest, kind = kept(instance)
    import_id = roster_imports.start(session, admin, row.id, digest, kind)
    queued = roster_imports.progress(session, admin, row.id, import_id)
    assert (queued.state, queued.rows_done, queued.rows_total, queued.finished) == ("queued", 0, None, False)
    session.commit()                                  # inline: the job runs once this commits
    assert seen == [("running", 0, PEOPLE + 1), ("running", 10, PEOPLE + 1), ("running", 20, PEOPLE + 1)]

    done = roster_imports.progress(session, admin, row.id, import_id)
    assert (done.state, done.rows_done, done.rows_total) == ("done", PEOPLE + 1, PEOPLE + 1)
    assert dict(done.counts) == {"created": PEOPLE, "updated": 0, "unchanged": 0, "rejected": 1}
    assert [(r.row, r.translated(lambda s, **p: s % p if p else s)) for r in done.rejected] == [(PEOPLE + 2,
                                                                                                "Thiếu họ tên")]
    assert [c.row for c in done.created] == list(range(2, PEOPLE + 2)) and done.created[0].role == "cadre"
    assert people(session) == before + PEOPLE
    links = links_of(instance, done.links_ticket)
    assert len(links) == PEOPLE and all(url.startswith("https://caselab.example.vn/welcome/") for url in links.values())
    assert not list((instance / roster_files.UPLOADS).glob("*.csv"))          # imported: the kept file is gone
    job = session.scalar(select(m.Job).where(m.Job.name == roster_imports.TASK))
    assert (job.state, job.args, job.queue) == ("done", {"import_id": import_id}, "index")

    # the same file again: a new import that creates nothing, and a finished import run again changes nothing
    again = roster_imports.start(session, admin, row.id, *kept(instance))
    session.commit()
    view = roster_imports.progress(session, admin, row.id, again)
    assert dict(view.counts) == {"created": 0, "updated": 0, "unchanged": PEOPLE, "rejected": 1}
    assert view.links_ticket is None and not view.created and people(session) == before + PEOPLE
    assert roster_imports.run_import(session, again) == {"import_id": again, "state": "done"}
    session.commit()
    assert people(session) == before + PEOPLE


def test_a_run_cut_off_halfway_is_run_again_without_creating_anyone_twice(
        session, engine, cohort, instance, batches_of_ten, monkeypatch):  # noqa: F811
    admin, row = cohort
    before = people(session)
    monkeypatch.setattr(jobs, "hand_off", lambda *a, **k: None)      # the test runs the job itself
    write, calls = roster._write_batch, []

    def dies_at_the_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("máy chủ cơ sở dữ liệu mất kết nối")
        return write(*args, **kwargs)
    monkeypatch.setattr(roster, "_write_batch", dies_at_the_second_batch)

    import_id = roster_imports.start(session, admin, row.id, *kept(instance))
    session.commit()
    job_id = session.scalar(select(m.Job.id).where(m.Job.name == roster_imports.TASK))
    assert jobs.run_job(job_id, engine) == "retry"
    assert people(session) == before + 10                              # the first batch was committed
    cut = roster_imports.progress(session, admin, row.id, import_id)
    assert (cut.state, cut.rows_done) == ("retrying", 10)
    assert "RuntimeError: máy chủ cơ sở dữ liệu mất kết nối" in cut.job_error

    monkeypatch.setattr(roster, "_write_batch", write)
    assert jobs.run_job(job_id, engine) == "done"
    assert people(session) == before + PEOPLE                          # nobody twice
    done = roster_imports.progress(session, admin, row.id, import_id)
    # the ten accounts of the cut-off run count as created, as an uninterrupted run would have said
    assert dict(done.counts) == {"created": PEOPLE, "updated": 0, "unchanged": 0, "rejected": 1}
    links = links_of(instance, done.links_ticket)
    assert len(links) == PEOPLE
    for username, url in links.items():                                 # every link works, the ten of them too
        holder = sign_in_links.holder(session, url.rsplit("/", 1)[1])
        assert holder is not None and holder.username == username
    per_account = session.execute(select(m.SignInLink.user_id, func.count()).group_by(m.SignInLink.user_id)).all()
    assert len(per_account) == PEOPLE and {n for _user, n in per_account} == {1}


def test_a_file_gone_before_the_job_ran_ends_the_import_with_the_reason(
        session, cohort, instance, monkeypatch):  # noqa: F811
    admin, row = cohort
    monkeypatch.setattr(jobs, "hand_off", lambda *a, **k: None)
    digest, kind = kept(instance)
    import_id = roster_imports.start(session, admin, row.id, digest, kind)
    assert roster_imports.start(session, admin, row.id, digest, kind) == import_id   # "Nhập" twice: one import
    session.commit()
    roster_files.discard_upload(instance, digest, kind)
    job_id = session.scalar(select(m.Job.id).where(m.Job.name == roster_imports.TASK))
    assert jobs.run_job(job_id, session.get_bind()) == "done"        # nothing to try again: the job is over
    view = roster_imports.progress(session, admin, row.id, import_id)
    assert view.state == "failed" and view.error == roster_files.GONE and not view.can_retry
