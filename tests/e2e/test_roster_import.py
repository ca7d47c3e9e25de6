"""In chromium: an organiser uploads a small roster, reads the dry run in Vietnamese, confirms, watches the
import's page reload itself until the background job is done and it shows the result, and downloads the sign-in
links; a new cadre opens one and chooses a password; the same file uploaded again shows every row "không đổi"."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select, update

from lms_plugin.services import jobs
from lms_plugin.store import models as m
from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e

ROSTER = """\
Họ tên,Xã,Tỉnh,Số điện thoại,Số định danh
Trịnh Thị Thu Hà,Xã Tân Hòa,Tỉnh Đông Hải,0912 777 001,001190000001
Phan Văn Lợi,Xã Bình An,Tỉnh Đông Hải,0912 777 002,
,Xã Bình An,Tỉnh Đông Hải,,
"""


def upload(page, base: str, cohort_id: int, tmp_path) -> None:
    path = tmp_path / "danh-sach.csv"
    path.write_text(ROSTER, encoding="utf-8")
    page.goto(f"{base}/admin/cohorts/{cohort_id}")
    page.set_input_files("[data-test=roster-file]", str(path))
    page.click("[data-test=roster-submit]")
    page.wait_for_selector("[data-test=roster-counts]")


def test_a_roster_dry_run_then_import_then_the_same_file_again(live_server, new_page, tmp_path, monkeypatch):
    base = live_server["url"]
    with live_server["sessions"]() as session:
        cohort_id = session.scalar(select(m.Cohort.id).order_by(m.Cohort.id))
    page = new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, base, "admin1")
    upload(page, base, cohort_id, tmp_path)
    assert "Kiểm tra danh sách trước khi nhập" in page.locator("h1").inner_text()
    counts = {o: page.locator(f"[data-test=count-{o}]").inner_text() for o in
              ("created", "updated", "unchanged", "rejected")}
    assert counts == {"created": "2", "updated": "0", "unchanged": "0", "rejected": "1"}
    assert "Thiếu họ tên" in page.locator("[data-test=roster-rejected] [data-test=row-4]").inner_text()
    assert "tạo mới" in page.locator("[data-test=roster-created] [data-test=row-2]").inner_text()
    shot(page, "roster-01-dry-run")

    # "Nhập" answers at once with the import's page; the job runs after (held here until the page was seen)
    held: list[tuple] = []
    hand_off = jobs.hand_off
    monkeypatch.setattr(jobs, "hand_off", lambda pending, engine=None: held.append((list(pending), engine)))
    page.click("[data-test=roster-confirm]")
    page.wait_for_selector("[data-test=roster-import-progress]")
    assert re.search(rf"/admin/cohorts/{cohort_id}/roster/imports/\d+$", page.url)
    assert "Đang chờ bắt đầu nhập danh sách" in page.locator("[data-test=roster-import-status]").inner_text()
    assert page.locator("progress[data-test=roster-import-bar]").is_visible()
    import_id = int(page.url.rsplit("/", 1)[1])
    with live_server["sessions"]() as session:              # halfway, as the job notes it after each batch
        session.execute(update(m.RosterImport).where(m.RosterImport.id == import_id)
                        .values(state="running", rows_total=3, rows_done=1))
        session.commit()
    page.locator("[data-test=roster-import-status]", has_text="Đang nhập danh sách: 1 / 3 dòng").wait_for(
        timeout=10_000)                                     # the page reloaded itself
    assert page.locator("progress[data-test=roster-import-bar]").get_attribute("value") == "1"
    shot(page, "roster-02-progress")
    monkeypatch.setattr(jobs, "hand_off", hand_off)
    for pending, engine in held:
        hand_off(pending, engine)                   # the worker's turn; the page reloads itself meanwhile
    page.wait_for_selector("[data-test=roster-summary]", timeout=15_000)
    summary = page.locator("[data-test=roster-summary]").inner_text()
    assert summary == "Đã tạo 2 tài khoản, cập nhật 0, 0 không đổi; 1 dòng bị từ chối."
    shot(page, "roster-03-result")
    with page.expect_download() as download:
        page.click("[data-test=links-download]")
    sheet = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))
    link = next(row[4] for row in sheet[1:] if row[1] == "Trịnh Thị Thu Hà")

    cadre = new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    cadre.goto(base + link.split("localhost:5000", 1)[1])
    assert "Trịnh Thị Thu Hà" in cadre.locator("[data-test=welcome-person]").inner_text()
    cadre.fill("input[name=new]", "mật-khẩu-của-hà-2026")
    cadre.fill("input[name=confirm]", "mật-khẩu-của-hà-2026")
    cadre.click("[data-test=welcome-submit]")
    cadre.wait_for_url(f"{base}/cadre/")
    shot(cadre, "roster-04-first-password")

    upload(page, base, cohort_id, tmp_path)
    counts = {o: page.locator(f"[data-test=count-{o}]").inner_text() for o in
              ("created", "updated", "unchanged", "rejected")}
    assert counts == {"created": "0", "updated": "0", "unchanged": "2", "rejected": "1"}
    outcomes = page.locator("[data-test=roster-unchanged] tbody tr td:nth-child(5)").all_inner_texts()
    assert outcomes == ["không đổi", "không đổi"]
    assert page.locator("[data-test=roster-nothing]").is_visible()
    assert page.locator("[data-test=roster-confirm]").count() == 0
    shot(page, "roster-05-again")
