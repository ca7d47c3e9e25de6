"""Roster import from CSV and XLSX: accounts, groups by commune, rejected rows with their row numbers."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from lms_plugin.services import accounts, cohorts, roster
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.services.errors import Forbidden, Invalid
from lms_plugin.store import models as m

CSV = """\
Họ tên,Xã,Tỉnh,Liên hệ,Vai trò,Tên đăng nhập
Đặng Văn An,Tân Hòa,Sơn Nguyên,0912 345 678,học viên,
Hoàng Thị Bích,Xã Tân Hoà,Sơn Nguyên,bich@example.vn,Học viên,bichht
,Bình An,Sơn Nguyên,,học viên,
Vũ Đức Cường,Bình An,Sơn Nguyên,,thủ quỹ,
Bùi Thị Dung,Bình An,Sơn Nguyên,,học viên,trung
Ngô Văn Trung,Bình An,Sơn Nguyên,,học viên,trung
Lê Thị Hoa,,,,giám khảo,
Đỗ Minh Đức,Bình An,Sơn Nguyên,,,
Phạm Văn Cũ,Bình An,Sơn Nguyên,,học viên,da-co
"""


@pytest.fixture
def cohort(session, tree):
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    accounts.create_user(session, "da-co", "cadre")
    admin = accounts.create_user(session, "qt", "admin")
    cohort = cohorts.create_cohort(session, "Lớp 1", "khoa-thu")
    cohorts.group_named(session, cohort, "Xã Tân Hòa", "Tân Hòa")     # an existing group is reused
    session.commit()
    return admin, cohort


def test_a_csv_roster_creates_the_valid_rows_and_lists_the_rest(session, cohort):
    admin, row = cohort
    rows = roster.read_roster("lop1.csv", CSV.encode("utf-8-sig"))
    assert [r.row for r in rows] == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    result = roster.import_roster(session, admin, row.id, rows)
    session.commit()
    reasons = {r.row: r.translated(lambda s, **kw: s % kw if kw else s) for r in result.rejected}
    assert reasons == {4: "Thiếu họ tên",
                       5: "Vai trò không rõ: 'thủ quỹ' (học viên, giảng viên, giám khảo, quản trị)",
                       6: "Tên đăng nhập 'trung' trùng ở các dòng 6, 7",
                       7: "Tên đăng nhập 'trung' trùng ở các dòng 6, 7",
                       10: "Tên đăng nhập 'da-co' đã có người dùng"}
    created = {c.username: c for c in result.created}
    assert set(created) == {"andv", "bichht", "hoalt", "ducdm"}
    assert created["andv"].row == 2 and created["hoalt"].role == "examiner" and created["hoalt"].group == ""
    assert created["andv"].group == created["bichht"].group == "Xã Tân Hòa"      # "Xã Tân Hoà" is the same commune
    assert created["ducdm"].group == "Bình An" and created["ducdm"].role == "cadre"
    an = accounts.get_user(session, "andv")
    assert (an.display_name, an.commune, an.province, an.contact) == ("Đặng Văn An", "Tân Hòa", "Sơn Nguyên",
                                                                        "0912 345 678")
    assert accounts.authenticate(session, "andv", created["andv"].password) is an
    assert created["andv"].password not in (an.password_hash or "")
    groups = {g.name: g for g in session.scalars(select(m.Group).where(m.Group.cohort_id == row.id))}
    assert set(groups) == {"Xã Tân Hòa", "Bình An"}
    members = {mem.user.username: mem.group_id for mem in session.scalars(
        select(m.Membership).where(m.Membership.cohort_id == row.id))}
    assert members == {"andv": groups["Xã Tân Hòa"].id, "bichht": groups["Xã Tân Hòa"].id,
                       "ducdm": groups["Bình An"].id}
    lines = result.passwords_csv().splitlines()
    assert lines[0] == "username,name,role,group,password" and len(lines) == 5
    assert session.scalar(select(m.AuditEvent.details).where(m.AuditEvent.action == "roster.import")) == \
        {"created": 4, "rejected": 5}


def test_an_xlsx_roster_with_english_headers_and_generated_usernames_that_collide(session, cohort):
    admin, row = cohort
    book = Workbook()
    sheet = book.active
    sheet.append(["name", "commune", "province", "contact", "role"])
    sheet.append(["Trần Văn An", "Phú Mỹ", "Sơn Nguyên", 912345678, "cadre"])
    sheet.append([None, None, None, None, None])
    sheet.append(["Tạ Văn An", "Phú Mỹ", "Sơn Nguyên", None, "lecturer"])
    sheet.append(["Nguyễn An", "", "", None, "cadre"])
    out = io.BytesIO()
    book.save(out)
    rows = roster.read_roster("Lop1.XLSX", out.getvalue())
    assert [r.row for r in rows] == [2, 4, 5] and rows[0].contact == "912345678"
    result = roster.import_roster(session, admin, row.id, rows)
    assert [(c.row, c.username, c.role, c.group) for c in result.created] == \
        [(2, "antv", "cadre", "Phú Mỹ"), (4, "antv2", "lecturer", "")]
    assert [(r.row, r.reason) for r in result.rejected] == [(5, "Học viên cần có xã để xếp nhóm")]


@pytest.mark.parametrize("name, raw, message", [
    ("a.csv", "Tên,Xã\nAn,Tân\n".encode("latin-1"), "UTF-8"),
    ("a.csv", "Xã,Tỉnh\nTân Hòa,Sơn Nguyên\n".encode(), "Họ tên"),
    ("a.xlsx", b"not a workbook", "Excel"),
    ("a.pdf", b"%PDF", ".csv"),
])
def test_files_that_cannot_be_read_are_refused_whole(name, raw, message):
    with pytest.raises(Invalid) as caught:
        roster.read_roster(name, raw)
    assert message in caught.value.message


def test_semicolon_separated_csv_from_a_vietnamese_excel(session, cohort):
    rows = roster.read_roster("a.csv", "Họ và tên;Xã/Phường\r\nĐặng Văn An;Tân Hòa\r\n".encode())
    assert [(r.name, r.commune) for r in rows] == [("Đặng Văn An", "Tân Hòa")]


def test_only_organisers_import(session, cohort):
    _, row = cohort
    lecturer = accounts.create_user(session, "gv", "lecturer")
    with pytest.raises(Forbidden):
        roster.import_roster(session, lecturer, row.id, [])


def test_usernames_follow_the_vietnamese_habit():
    assert roster.username_for("Đặng Văn An") == "andv"
    assert roster.username_for("  Nguyễn   Thị Minh Khai ") == "khaintm"
    assert roster.username_for("Ê-đê H'Hen Niê") == "nieedhh"
