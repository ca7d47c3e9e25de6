"""The organiser's roster import through the test client: a dry run first, "Nhập" imports exactly the checked
file, the sign-in links are downloaded once, and the same file again changes nothing."""
from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import func, select

from lms_plugin.services import roster_files
from lms_plugin.store import models as m
from tests.web.conftest import login
from tests.web.test_admin import ROSTER_CSV, demo_cohort, post_roster


def confirm(client, cohort_id: int, page: str, **override):
    """"Nhập" on the dry run's page; an import that started is followed to its page (with the inline runner of
    the tests the job has run by then: the result)."""
    fields = dict(re.findall(r'name="(digest|kind)" value="([^"]*)"', page))
    response = client.post(f"/admin/cohorts/{cohort_id}/roster/confirm", data={**fields, **override})
    if response.status_code != 303:
        return response
    assert re.fullmatch(rf"/admin/cohorts/{cohort_id}/roster/imports/\d+", response.location)
    return client.get(response.location)


def table_rows(page: str, outcome: str) -> dict[str, list[str]]:
    found = re.search(rf'data-test="roster-{outcome}">(.*?)</table>', page, re.S)
    if not found:
        return {}
    return {number: re.findall(r"<td>(.*?)</td>", cells) for number, cells in
            re.findall(r'data-test="row-(\d+)">(.*?)</tr>', found.group(1), re.S)}


def written(session) -> tuple[int, ...]:
    session.expire_all()
    return tuple(session.scalar(select(func.count()).select_from(t)) for t in (m.User, m.Membership, m.SignInLink))


def test_the_dry_run_writes_nothing_then_confirm_imports_and_the_same_file_again_changes_nothing(
        client, demo, session, app):
    login(client, "admin1")
    cohort = demo_cohort(session, demo)
    before = written(session)
    preview = post_roster(client, cohort.id, "danh-sach.csv", ROSTER_CSV.encode("utf-8"))
    assert preview.status_code == 200
    page = html.unescape(preview.text)
    assert written(session) == before                                     # nothing yet
    counts = dict(re.findall(r'data-test="count-(\w+)">(\d+)<', page))
    assert counts == {"created": "2", "updated": "1", "unchanged": "0", "rejected": "2"}
    assert table_rows(page, "rejected") == {
        "4": ["4", "", "", "", "từ chối", "Thiếu họ tên"],
        "5": ["5", "Mạc Văn Tùng", "", "", "từ chối",
              "Vai trò không rõ: 'bảo vệ' (học viên, giảng viên, giám khảo, quản trị)"]}
    assert table_rows(page, "created")["2"] == ["2", "Trịnh Văn Sơn", "sontv", "Xã Tân Hòa", "tạo mới", ""]
    assert table_rows(page, "updated")["6"][4:] == ["cập nhật", "họ tên, xã, đổi nhóm (khớp theo tên đăng nhập)"]

    done = confirm(client, cohort.id, preview.text)
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    result = html.unescape(done.text)
    assert "Đã tạo 2 tài khoản, cập nhật 1, 0 không đổi; 2 dòng bị từ chối." in result
    assert written(session) == (before[0] + 2, before[1] + 2, before[2] + 2)
    assert not list((Path(app.instance_path) / roster_files.UPLOADS).glob("*.csv"))   # the upload is gone
    href = re.search(r'href="([^"]+)" data-test="links-download"', result).group(1)
    download = client.get(href)
    assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
    sheet = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert sheet[0] == ["username", "name", "role", "group", "sign_in_link", "expires"]
    links = {row[0]: row[4] for row in sheet[1:]}
    assert set(links) == {"sontv", "mailt"}
    again = client.get(href)                                          # once only
    assert again.status_code == 302 and "đã được tải về" in html.unescape(client.get(again.location).text)

    # the owner opens the link, chooses a password and is signed in
    client.post("/logout")
    path = links["sontv"].split("localhost:5000", 1)[1]
    welcome = html.unescape(client.get(path).text)
    assert "Tên đăng nhập của bạn là sontv" in welcome
    chosen = client.post(path, data={"new": "mat-khau-cua-son", "confirm": "mat-khau-cua-son"})
    assert chosen.status_code == 302 and client.get("/cadre/").status_code == 200
    client.post("/logout")
    assert client.get(path).status_code == 404                        # used
    login(client, "sontv", "mat-khau-cua-son")
    client.post("/logout")

    login(client, "admin1")
    before = written(session)
    preview = html.unescape(post_roster(client, cohort.id, "danh-sach.csv", ROSTER_CSV.encode("utf-8")).text)
    assert dict(re.findall(r'data-test="count-(\w+)">(\d+)<', preview)) == \
        {"created": "0", "updated": "0", "unchanged": "3", "rejected": "2"}
    assert {row[4] for row in table_rows(preview, "unchanged").values()} == {"không đổi"}
    assert 'data-test="roster-nothing"' in preview and 'data-test="roster-confirm"' not in preview
    assert written(session) == before


def test_the_confirmation_names_only_a_kept_file(client, demo, session, app):
    login(client, "admin1")
    cohort = demo_cohort(session, demo)
    for digest, kind in (("../../secret_key", "csv"), ("a" * 64, "csv"), ("a" * 64, "../x"), ("", "")):
        response = confirm(client, cohort.id, "", digest=digest, kind=kind)
        assert response.status_code == 422
        assert re.search(r'data-test="error-file">(Yêu cầu nhập không hợp lệ|Tệp đã kiểm tra không còn)',
                         html.unescape(response.text))
    preview = post_roster(client, cohort.id, "ds.csv", "Họ tên,Xã\nLưu Văn Tâm,Tân Hòa\n".encode())
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', preview.text).group(1)
    kept = Path(app.instance_path) / roster_files.UPLOADS / f"{digest}.csv"
    kept.write_bytes("Họ tên,Xã\nKẻ Lạ,Tân Hòa\n".encode())              # changed on disk after the check
    response = confirm(client, cohort.id, preview.text)
    assert response.status_code == 422 and "Tệp đã kiểm tra không còn" in html.unescape(response.text)
    assert session.scalar(select(func.count()).select_from(m.User).where(m.User.display_name == "Kẻ Lạ")) == 0


def test_an_xlsx_roster_and_a_file_that_cannot_be_read(client, demo, session):
    login(client, "admin1")
    cohort = demo_cohort(session, demo)
    book = Workbook()
    book.active.append(["name", "commune", "province", "contact", "role", "username", "CCCD"])
    book.active.append(["Kiều Văn Hải", "Bình An", "Tỉnh Đông Hải", 912000222, "cadre", "haikv", "001090000001"])
    book.active.append(["Kiều Văn Hà", "Bình An", "Tỉnh Đông Hải", None, "examiner", "haikv", None])
    out = io.BytesIO()
    book.save(out)
    page = html.unescape(post_roster(client, cohort.id, "ds.xlsx", out.getvalue()).text)
    assert table_rows(page, "rejected")["3"][5] == "Tên đăng nhập 'haikv' trùng ở các dòng 2, 3"
    book.active.delete_rows(3)
    out = io.BytesIO()
    book.save(out)
    preview = post_roster(client, cohort.id, "ds.xlsx", out.getvalue()).text
    assert 'data-test="created-haikv"' in confirm(client, cohort.id, preview).text
    session.expire_all()
    hai = session.scalar(select(m.User).where(m.User.username == "haikv"))
    assert (hai.contact, hai.external_id) == ("912000222", "001090000001")
    assert session.scalar(select(m.Membership).where(m.Membership.user_id == hai.id)).group.name == "Xã Bình An"
    broken = post_roster(client, cohort.id, "ds.xlsx", b"PK\x03\x04 broken")
    assert broken.status_code == 422 and 'data-test="error-file">Không đọc được tệp Excel' in broken.text


def test_a_roster_larger_than_an_essay_is_accepted_and_the_csrf_token_is_still_checked(csrf_app, demo, session):
    client = csrf_app.test_client()
    login_page = client.get("/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"username": "admin1", "password": "mat-khau-demo", "csrf_token": token})
    cohort = demo_cohort(session, demo)
    page = client.get(f"/admin/cohorts/{cohort.id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    rows = "".join(f"Cán bộ Thứ {i:05d},Xã Số {i % 300},Tỉnh Đông Hải,09{i:08d},học viên,,{i:012d}\n"
                   for i in range(40_000))
    raw = ("Họ tên,Xã,Tỉnh,Liên hệ,Vai trò,Tên đăng nhập,CCCD\n" + rows).encode()
    assert len(raw) > csrf_app.config["MAX_CONTENT_LENGTH"]
    data = {"file": (io.BytesIO(raw), "lon.csv")}
    refused = client.post(f"/admin/cohorts/{cohort.id}/roster", content_type="multipart/form-data", data=data)
    assert refused.status_code in (400, 422)                            # no token: refused
    data = {"file": (io.BytesIO(raw), "lon.csv"), "csrf_token": token}
    preview = client.post(f"/admin/cohorts/{cohort.id}/roster", content_type="multipart/form-data", data=data)
    assert preview.status_code == 200
    assert dict(re.findall(r'data-test="count-(\w+)">(\d+)<', preview.text))["created"] == "40000"
