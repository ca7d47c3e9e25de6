"""Roster import from CSV and XLSX: accounts, groups by commune, rejected rows with their row numbers; a second
import of the same list changes nothing; a dry run writes nothing; new accounts get one-time sign-in links."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from lms_plugin.services import accounts, cohorts, roster, sign_in_links
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
Phạm Văn Cũ,Bình An,Sơn Nguyên,,giảng viên,da-co
"""


def plain(msgid, **params):
    return msgid % params if params else msgid


def read(text: str, name: str = "lop.csv") -> list[roster.RosterRow]:
    return roster.read_roster(name, text.encode("utf-8"))


@pytest.fixture
def cohort(session, tree):
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    accounts.create_user(session, "da-co", "cadre")
    admin = accounts.create_user(session, "qt", "admin")
    cohort = cohorts.create_cohort(session, "Lớp 1", "khoa-thu")
    cohorts.group_named(session, cohort, "Xã Tân Hòa", "Tân Hòa")     # an existing group is reused
    session.commit()
    return admin, cohort


def counts(session) -> dict[str, int]:
    return {table.__tablename__: session.scalar(select(func.count()).select_from(table))
            for table in (m.User, m.Membership, m.Group, m.SignInLink, m.AuditEvent)}


def members(session, cohort_id: int) -> dict[str, str]:
    return dict(session.execute(select(m.User.username, m.Group.name)
                                .join(m.Membership, m.Membership.user_id == m.User.id)
                                .join(m.Group, m.Group.id == m.Membership.group_id)
                                .where(m.Membership.cohort_id == cohort_id)).all())


def test_a_csv_roster_creates_the_valid_rows_and_lists_the_rest(session, cohort):
    admin, row = cohort
    rows = read(CSV)
    assert [r.row for r in rows] == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    result = roster.import_roster(session, admin, row.id, rows, base_url="https://caselab.example.vn/")
    reasons = {r.row: r.translated(plain) for r in result.rejected}
    assert reasons == {4: "Thiếu họ tên",
                       5: "Vai trò không rõ: 'thủ quỹ' (học viên, giảng viên, giám khảo, quản trị)",
                       6: "Tên đăng nhập 'trung' trùng ở các dòng 6, 7",
                       7: "Tên đăng nhập 'trung' trùng ở các dòng 6, 7",
                       10: "Tài khoản 'da-co' có vai trò khác ('cadre'); nhập danh sách không đổi vai trò"}
    created = {c.username: c for c in result.created}
    assert set(created) == {"andv", "bichht", "hoalt", "ducdm"}
    assert created["andv"].row == 2 and created["hoalt"].role == "examiner" and created["hoalt"].group == ""
    assert created["andv"].group == created["bichht"].group == "Xã Tân Hòa"      # "Xã Tân Hoà" is the same commune
    assert created["ducdm"].group == "Bình An" and created["ducdm"].role == "cadre"
    an = accounts.get_user(session, "andv")
    assert (an.display_name, an.commune, an.province, an.contact) == ("Đặng Văn An", "Tân Hòa", "Sơn Nguyên",
                                                                        "0912 345 678")
    assert an.password_hash is None and an.must_change_password
    assert members(session, row.id) == {"andv": "Xã Tân Hòa", "bichht": "Xã Tân Hòa", "ducdm": "Bình An"}
    # the link signs the owner in once, to choose a password; only its sha256 was stored
    link = created["andv"].link
    assert link.startswith("https://caselab.example.vn/welcome/")
    raw = link.rsplit("/", 1)[1]
    assert session.scalar(select(func.count()).select_from(m.SignInLink).where(m.SignInLink.token_hash == raw)) == 0
    assert sign_in_links.holder(session, raw).username == "andv"
    sign_in_links.redeem(session, raw, "mat-khau-cua-an")
    session.commit()
    assert accounts.authenticate(session, "andv", "mat-khau-cua-an") is an and not an.must_change_password
    with pytest.raises(Invalid, match="không còn dùng được"):
        sign_in_links.redeem(session, raw, "mat-khau-khac-nua")
    sheet = list(csv.reader(io.StringIO(result.links_csv())))
    assert sheet[0] == ["username", "name", "role", "group", "sign_in_link", "expires"] and len(sheet) == 5
    assert session.scalar(select(m.AuditEvent.details).where(m.AuditEvent.action == "roster.import")) == \
        {"created": 4, "updated": 0, "unchanged": 0, "rejected": 5}


def test_importing_the_same_file_again_creates_nothing_and_changes_nothing(session, cohort):
    admin, row = cohort
    first = roster.import_roster(session, admin, row.id, read(CSV))
    before = counts(session)
    again = roster.import_roster(session, admin, row.id, read(CSV))
    assert again.counts() == {"created": 0, "updated": 0, "unchanged": 4, "rejected": 5}
    assert not again.created and again.links_csv().count("\n") == 1
    assert {p.row: p.matched_by for p in again.plan.rows if p.outcome == "unchanged"} == \
        {2: "name_commune_contact", 3: "username", 8: "name_commune_contact", 9: "name_commune_contact"}
    after = counts(session)
    assert after == {**before, "audit_events": before["audit_events"] + 1}
    assert len(first.created) == 4
    users = session.scalars(select(m.User.username).order_by(m.User.username)).all()
    assert "andv2" not in users and len(users) == len(set(users))


def test_a_name_written_without_diacritics_is_the_same_person_and_a_new_commune_moves_them(session, cohort):
    admin, row = cohort
    roster.import_roster(session, admin, row.id, read(
        "Họ tên,Xã,Liên hệ,Tên đăng nhập,Số định danh\n"
        "Nguyễn Thị Hằng,Tân Hòa,0912 000 111,,\n"
        "Trần Văn Bình,Tân Hòa,,binhtv,\n"
        "Lê Văn Cảnh,Tân Hòa,,,001085012345\n"))
    plan = roster.plan_roster(session, admin, row.id, read(
        "HỌ VÀ TÊN;xã/phường;Điện thoại;Tài khoản;CCCD\n"
        "nguyen thi HANG;xã tân hoà;0912000111;;\n"          # same person, written plainly: nothing to change
        "Trần Văn Bình;Phú Mỹ;;binhtv;\n"                    # moved to another commune
        "Lê Văn Cảnh;Bình An;;;001 085 012 345\n"))          # by the personal number, written with spaces
    by_row = {p.row: p for p in plan.rows}
    assert (by_row[2].outcome, by_row[2].matched_by, by_row[2].username) == \
        ("unchanged", "name_commune_contact", "hangnt")
    assert (by_row[3].outcome, by_row[3].changes, by_row[3].group) == ("updated", ("commune", "move"), "Phú Mỹ")
    assert (by_row[4].outcome, by_row[4].matched_by, by_row[4].translated(plain)) == \
        ("updated", "external_id", "xã, đổi nhóm")
    assert plan.new_groups == ["Phú Mỹ", "Bình An"]
    result = roster.import_roster(session, admin, row.id, [p.source for p in plan.rows])
    assert result.counts() == {"created": 0, "updated": 2, "unchanged": 1, "rejected": 0}
    session.expire_all()
    assert accounts.get_user(session, "hangnt").display_name == "Nguyễn Thị Hằng"     # the diacritics stay
    assert accounts.get_user(session, "binhtv").commune == "Phú Mỹ"
    assert members(session, row.id) == {"hangnt": "Xã Tân Hòa", "binhtv": "Phú Mỹ", "canhlv": "Bình An"}
    fuller = roster.plan_roster(session, admin, row.id, read(
        "Họ tên,Xã,Liên hệ\nNguyen Thi Hang,Tân Hòa,0912 000 111\n"))
    assert fuller.rows[0].outcome == "unchanged"
    assert len(set(session.scalars(select(m.User.username)))) == counts(session)["users"]


def test_a_personal_number_that_belongs_to_someone_else_is_rejected(session, cohort):
    admin, row = cohort
    roster.import_roster(session, admin, row.id, read(
        "Họ tên,Xã,Tên đăng nhập,Mã cán bộ\nĐinh Văn Khoa,Tân Hòa,khoadv,CB-001\n"
        "Mai Thị Lan,Tân Hòa,lanmt,CB-002\nHà Văn Minh,Tân Hòa,minhhv,\n"))
    plan = roster.plan_roster(session, admin, row.id, read(
        "Họ tên,Xã,Tên đăng nhập,external id\n"
        "Đinh Văn Khoa,Tân Hòa,khoa,CB-001\n"             # the number is khoadv's
        "Mai Thị Lan,Tân Hòa,lanmt,CB-009\n"              # lanmt has another number
        "Hà Văn Minh,Tân Hòa,minhhv,CB-003\n"))           # minhhv had none: it is added
    reasons = {p.row: (p.outcome, p.translated(plain)) for p in plan.rows}
    assert reasons == {
        2: ("rejected", "Số định danh 'CB-001' đã thuộc tài khoản 'khoadv', không phải 'khoa' như dòng này ghi"),
        3: ("rejected", "Tài khoản 'lanmt' đã có số định danh khác với số 'CB-009' ở dòng này"),
        4: ("updated", "số định danh")}


def test_ambiguous_rows_are_rejected_with_what_to_add(session, cohort):
    admin, row = cohort
    accounts.create_user(session, "hoa1", "cadre", display_name="Lò Thị Hoa", commune="Tân Hòa")
    accounts.create_user(session, "hoa2", "cadre", display_name="Lò Thị Hoa", commune="Tân Hòa")
    plan = roster.plan_roster(session, admin, row.id, read(
        "Họ tên,Xã,Số định danh\nLò Thị Hoa,Tân Hòa,\nLý Văn Tú,Bình An,\nLý Văn Tú,Bình An,\n"
        "Hà Văn Nam,Bình An,079\nHà Văn Nam,Phú Mỹ,079\n"))
    reasons = {p.row: p.translated(plain) for p in plan.rejected}
    assert reasons == {
        2: "Có 2 tài khoản cùng họ tên, xã và liên hệ này (hoa1, hoa2): thêm cột số định danh hoặc tên đăng nhập "
           "để chỉ rõ",
        3: "Các dòng 3, 4 cùng họ tên, xã và liên hệ: thêm cột số định danh hoặc tên đăng nhập để phân biệt",
        4: "Các dòng 3, 4 cùng họ tên, xã và liên hệ: thêm cột số định danh hoặc tên đăng nhập để phân biệt",
        5: "Số định danh '079' trùng ở các dòng 5, 6",
        6: "Số định danh '079' trùng ở các dòng 5, 6"}


def test_the_dry_run_writes_nothing(session, cohort):
    admin, row = cohort
    before = counts(session)
    plan = roster.plan_roster(session, admin, row.id, read(CSV))
    session.commit()
    assert plan.counts() == {"created": 4, "updated": 0, "unchanged": 0, "rejected": 5}
    assert [p.username for p in plan.first("created", 2)] == ["andv", "bichht"]
    assert plan.new_groups == ["Bình An"]
    assert counts(session) == before


def test_rows_are_written_in_batches_each_committed(session, cohort):
    admin, row = cohort
    commits: list[int] = []

    def commit():
        session.commit()
        commits.append(session.scalar(select(func.count()).select_from(m.User)))

    text = "Họ tên,Xã\n" + "".join(f"Cán bộ Số {i},Tân Hòa\n" for i in range(10))
    result = roster.import_roster(session, admin, row.id, read(text), commit=commit, batch_rows=4)
    assert len(result.created) == 10 and result.batches == 3 and result.longest_batch_seconds > 0
    base = commits[0]
    assert commits[1:4] == [base + 4, base + 8, base + 10]          # after the plan: 4, 4 and 2 rows per batch
    assert [c.username for c in result.created][:3] == ["0cbs", "1cbs", "2cbs"]


def test_the_links_file_escapes_cells_a_spreadsheet_would_run(session, cohort):
    admin, row = cohort
    result = roster.import_roster(session, admin, row.id, read(
        'Họ tên,Xã,Tên đăng nhập\n"=HYPERLINK(""http://x"",""a"")",+cmd,hostile\n'))
    sheet = list(csv.reader(io.StringIO(result.links_csv())))
    assert sheet[1][1] == "'=HYPERLINK(\"http://x\",\"a\")" and sheet[1][3] == "'+cmd"


def test_a_link_expires_and_a_deactivated_account_cannot_use_it(session, cohort):
    admin, row = cohort
    then = datetime.now(timezone.utc) - timedelta(days=sign_in_links.LINK_DAYS + 1)
    old = roster.import_roster(session, admin, row.id, read("Họ tên,Xã\nCao Văn Cũ,Tân Hòa\n"), now=then)
    raw = old.created[0].link.rsplit("/", 1)[1]
    assert sign_in_links.holder(session, raw) is None
    with pytest.raises(Invalid):
        sign_in_links.redeem(session, raw, "mat-khau-moi-1")
    fresh = roster.import_roster(session, admin, row.id, read("Họ tên,Xã\nCao Văn Mới,Tân Hòa\n"))
    raw = fresh.created[0].link.rsplit("/", 1)[1]
    accounts.get_user(session, "moicv").active = False
    session.commit()
    assert sign_in_links.holder(session, raw) is None


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
    # the phone typed as a number lost its zero; written properly next time, it is the same person
    again = roster.plan_roster(session, admin, row.id, read("Họ tên,Xã,Liên hệ\nTrần Văn An,Phú Mỹ,0912 345 678\n"))
    assert again.rows[0].outcome == "unchanged" and again.rows[0].username == "antv"


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


def test_personal_number_headers_in_vietnamese_and_english():
    for header in ("Số định danh", "CCCD", "Mã cán bộ", "External ID", "số   định danh cá nhân"):
        (row,) = roster.read_roster("a.csv", f"Họ tên,{header}\nAn,012\n".encode())
        assert row.external_id == "012", header


def test_semicolon_separated_csv_from_a_vietnamese_excel(session, cohort):
    rows = roster.read_roster("a.csv", "Họ và tên;Xã/Phường\r\nĐặng Văn An;Tân Hòa\r\n".encode())
    assert [(r.name, r.commune) for r in rows] == [("Đặng Văn An", "Tân Hòa")]


def test_only_organisers_import(session, cohort):
    _, row = cohort
    lecturer = accounts.create_user(session, "gv", "lecturer")
    with pytest.raises(Forbidden):
        roster.plan_roster(session, lecturer, row.id, [])
    with pytest.raises(Forbidden):
        roster.import_roster(session, lecturer, row.id, [])


def test_usernames_follow_the_vietnamese_habit():
    assert roster.username_for("Đặng Văn An") == "andv"
    assert roster.username_for("  Nguyễn   Thị Minh Khai ") == "khaintm"
    assert roster.username_for("Ê-đê H'Hen Niê") == "nieedhh"


def test_keys_fold_what_people_write_differently():
    assert roster.commune_key("Xã Tân Hoà") == roster.commune_key("tân hòa") == roster.commune_key("TAN  HOA")
    assert roster.contact_key("+84 912.345.678") == roster.contact_key("912345678") == "0912345678"
    assert roster.contact_key("Bich@Example.vn") == "bich@example.vn"
