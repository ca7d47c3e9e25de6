"""In chromium: an organiser uploads a small roster, reads the dry run in Vietnamese, confirms, sees the result
and downloads the sign-in links; a new cadre opens one and chooses a password; the same file uploaded again
shows every row "không đổi"."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

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


def test_a_roster_dry_run_then_import_then_the_same_file_again(live_server, new_page, tmp_path):
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

    page.click("[data-test=roster-confirm]")
    summary = page.locator("[data-test=roster-summary]").inner_text()
    assert summary == "Đã tạo 2 tài khoản, cập nhật 0, 0 không đổi; 1 dòng bị từ chối."
    shot(page, "roster-02-result")
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
    shot(cadre, "roster-03-first-password")

    upload(page, base, cohort_id, tmp_path)
    counts = {o: page.locator(f"[data-test=count-{o}]").inner_text() for o in
              ("created", "updated", "unchanged", "rejected")}
    assert counts == {"created": "0", "updated": "0", "unchanged": "2", "rejected": "1"}
    outcomes = page.locator("[data-test=roster-unchanged] tbody tr td:nth-child(5)").all_inner_texts()
    assert outcomes == ["không đổi", "không đổi"]
    assert page.locator("[data-test=roster-nothing]").is_visible()
    assert page.locator("[data-test=roster-confirm]").count() == 0
    shot(page, "roster-04-again")
