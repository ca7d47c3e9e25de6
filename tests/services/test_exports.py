"""Grade and essay exports of a cohort after double marking, a third examiner, a group report and an appeal,
on every backend."""
from __future__ import annotations

import csv
import hashlib
import io
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from lms_plugin.services import allocation, appeals, discussion, essays, exports, grading, release
from lms_plugin.services.errors import Forbidden
from lms_plugin.store import models as m
from tests.services.marking_course import REPORT_BODY, build, mark

# Exact bytes matter: CRLF, a decomposed "ệ", trailing spaces, a tab, an emoji and no final newline.
BODY_A = ("Xã Tân Hòa cần số hóa hồ sơ đất đai.\r\nKiến nghị: công khai quy trình một cửa cho người dân ở thôn xa."
          "  \tThe\u0302\u0323m 👍")
BODY_B = "Xã Bình An nên mở điểm tiếp nhận lưu động và công khai số hồ sơ trễ hạn hằng tuần cho người dân."

HEADERS_VI = ["Lớp", "Nhóm", "Xã", "Tên đăng nhập", "Họ tên", "Mã tình huống", "Tình huống", "Lần nộp", "Số chữ",
              "Nộp lúc", "Nộp muộn", "Tự động nộp", "Trạng thái",
              "GK1 – Phân tích", "GK2 – Phân tích", "GK3 – Phân tích",
              "GK1 – Tổng điểm", "GK2 – Tổng điểm", "GK3 – Tổng điểm",
              "Điểm cuối cùng", "Đã công bố điểm", "Phúc khảo: trạng thái", "Phúc khảo: điểm trước",
              "Phúc khảo: kết quả", "Báo cáo nhóm: trạng thái", "Báo cáo nhóm: điểm cuối cùng",
              "Báo cáo nhóm: đã công bố điểm"]
# What the English catalogue says (new entries are merged into it at the end of issue 9).
ENGLISH = {"Lớp": "Cohort", "Nhóm": "Group", "Xã": "Commune", "Tên đăng nhập": "Username", "Họ tên": "Full name",
           "Mã tình huống": "Scenario id", "Tình huống": "Scenario", "Lần nộp": "Version", "Số chữ": "Word count",
           "Nộp lúc": "Submitted at", "Nộp muộn": "Late", "Tự động nộp": "Auto-submitted", "Trạng thái": "Status",
           "GK%(n)s – %(criterion)s": "Examiner %(n)s – %(criterion)s", "Tổng điểm": "Total",
           "Điểm cuối cùng": "Final mark", "Đã công bố điểm": "Released", "Phúc khảo: trạng thái": "Appeal: status",
           "Phúc khảo: điểm trước": "Appeal: previous mark", "Phúc khảo: kết quả": "Appeal: outcome",
           "Báo cáo nhóm: trạng thái": "Group report: status",
           "Báo cáo nhóm: điểm cuối cùng": "Group report: final mark",
           "Báo cáo nhóm: đã công bố điểm": "Group report: released",
           "Chưa nộp": "Not submitted", "Đang chấm": "Being marked", "Đã có điểm cuối": "Final mark available",
           "Có": "Yes", "Không": "No"}


@pytest.fixture
def graded(session, tree):
    """hv1 resubmits (the second version goes to a third examiner), hv2 agrees at 10, hv3 and hv4 submit
    nothing; Xã Tân Hòa's report is marked 7.5."""
    course = build(session, tree)
    people, assignment = course.people, course.assignment
    a1 = essays.submit_essay(session, people["hv1"], assignment.id, BODY_A)
    a2 = essays.submit_essay(session, people["hv1"], assignment.id, BODY_A + " Bổ sung.")
    b = essays.submit_essay(session, people["hv2"], assignment.id, BODY_B)
    mark(session, a2.id, [2, 0, 2])            # disagree: a third examiner decides
    mark(session, b.id, [2, 2])                # agree: final 10
    discussion.save_group_report(session, people["hv3"], assignment.id, REPORT_BODY, revision=0)
    discussion.submit_group_report(session, people["hv1"], assignment.id)
    report = session.scalar(select(m.Essay).where(m.Essay.kind == "report"))
    mark(session, report.id, [3, 3], criterion="lap-luan")
    session.commit()
    return course, (a1, a2, b)


def by_user(table: exports.GradeTable, columns=HEADERS_VI) -> dict[str, dict]:
    return {row[3]: dict(zip(columns, row)) for row in table.rows}


def test_every_cadre_has_a_row_for_their_latest_essay_with_each_rounds_points(session, graded):
    course, (a1, a2, b) = graded
    table = exports.grade_table(session, course.people["qt"], course.cohort.id)
    assert table.columns == HEADERS_VI
    assert [row[3] for row in table.rows] == ["hv2", "hv4", "hv1", "hv3"]     # by group, then name
    rows = by_user(table)
    first = rows["hv1"]
    assert (first["Lớp"], first["Nhóm"], first["Xã"], first["Họ tên"], first["Mã tình huống"], first["Tình huống"]) \
        == ("Lớp 1", "Xã Tân Hòa", "Tân Hòa", "Đặng Văn An", "t1-mau", "Tình huống mẫu")
    assert (first["Lần nộp"], first["Số chữ"], first["Nộp muộn"], first["Tự động nộp"]) == (2, a2.words, "Không",
                                                                                            "Không")
    assert first["Nộp lúc"].endswith("+00:00")
    assert (first["GK1 – Phân tích"], first["GK2 – Phân tích"], first["GK3 – Phân tích"]) == (2, 0, 2)
    assert (first["GK1 – Tổng điểm"], first["GK2 – Tổng điểm"], first["GK3 – Tổng điểm"]) == (10, 0, 10)
    assert (first["Điểm cuối cùng"], first["Trạng thái"], first["Đã công bố điểm"]) == (10, "Đã có điểm cuối", "Không")
    agreed = rows["hv2"]
    assert (agreed["Lần nộp"], agreed["GK3 – Tổng điểm"], agreed["Điểm cuối cùng"]) == (1, None, 10)
    assert (agreed["Phúc khảo: trạng thái"], agreed["Phúc khảo: kết quả"]) == ("", None)


def test_a_cadre_who_submitted_nothing_is_listed_as_not_submitted(session, graded):
    course, _ = graded
    rows = by_user(exports.grade_table(session, course.people["gv"], course.cohort.id))
    for name in ("hv3", "hv4"):
        nothing = rows[name]
        assert nothing["Trạng thái"] == "Chưa nộp"
        assert (nothing["Lần nộp"], nothing["Điểm cuối cùng"], nothing["GK1 – Tổng điểm"]) == (None, None, None)
    assert rows["hv3"]["Nhóm"] == "Xã Tân Hòa" and rows["hv4"]["Xã"] == "Bình An"


def test_the_group_reports_mark_is_in_its_own_columns_for_every_member(session, graded):
    course, _ = graded
    rows = by_user(exports.grade_table(session, course.people["gv"], course.cohort.id))
    for member in ("hv1", "hv3"):             # hv1 submitted it, hv3 wrote it: the group's mark for both
        report = rows[member]
        assert (report["Báo cáo nhóm: trạng thái"], report["Báo cáo nhóm: điểm cuối cùng"],
                report["Báo cáo nhóm: đã công bố điểm"]) == ("Đã có điểm cuối", 7.5, "Không")
    assert rows["hv3"]["Điểm cuối cùng"] is None         # the report is not hv3's (nor hv1's) essay
    for other in ("hv2", "hv4"):
        assert (rows[other]["Báo cáo nhóm: trạng thái"], rows[other]["Báo cáo nhóm: điểm cuối cùng"]) == \
            ("Chưa nộp", None)
    release.release(session, course.people["gv"], course.assignment.id)
    session.commit()
    rows = by_user(exports.grade_table(session, course.people["gv"], course.cohort.id))
    assert rows["hv3"]["Báo cáo nhóm: đã công bố điểm"] == "Có" and rows["hv1"]["Đã công bố điểm"] == "Có"
    assert rows["hv4"]["Đã công bố điểm"] == ""          # nothing submitted, nothing to release


def test_headers_and_states_follow_the_readers_gettext(session, graded):
    course, _ = graded
    table = exports.grade_table(session, course.people["gv"], course.cohort.id, gettext=lambda s: ENGLISH.get(s, s))
    assert table.columns[:13] == [ENGLISH[h] for h in HEADERS_VI[:13]]
    assert table.columns[13:19] == ["Examiner 1 – Phân tích", "Examiner 2 – Phân tích", "Examiner 3 – Phân tích",
                                    "Examiner 1 – Total", "Examiner 2 – Total", "Examiner 3 – Total"]
    assert table.columns[-3:] == ["Group report: status", "Group report: final mark", "Group report: released"]
    rows = {row[3]: dict(zip(table.columns, row)) for row in table.rows}
    assert rows["hv4"]["Status"] == "Not submitted" and rows["hv1"]["Status"] == "Final mark available"
    assert rows["hv1"]["Late"] == "No"
    assert not any("GK " in c for c in table.columns)         # examiners are numbered rounds, never named


def test_appeal_status_previous_mark_and_outcome(session, graded):
    course, (_a1, _a2, b) = graded
    people, assignment = course.people, course.assignment
    release.release(session, people["gv"], assignment.id)
    appeals.file_appeal(session, people["hv2"], b.id, "Bài đã nêu đủ kiến nghị")
    allocation.assign_round(session, people["gv"], b.id, 4, people["gk4"].id)
    session.commit()
    waiting = by_user(exports.grade_table(session, people["gv"], course.cohort.id))["hv2"]
    assert (waiting["Phúc khảo: trạng thái"], waiting["Phúc khảo: điểm trước"], waiting["Phúc khảo: kết quả"]) == \
        ("Đang chấm phúc khảo", 10, None)
    grading.grade_essay(session, people["gk4"], b.id, {"phan-tich": 0}, final=True)
    release.release(session, people["gv"], assignment.id)
    session.commit()
    table = exports.grade_table(session, people["gv"], course.cohort.id)
    appealed = by_user(table)["hv2"]
    assert (appealed["Phúc khảo: trạng thái"], appealed["Phúc khảo: điểm trước"], appealed["Phúc khảo: kết quả"]) == \
        ("Đã công bố kết quả", 10, 0)
    assert (appealed["Điểm cuối cùng"], appealed["Đã công bố điểm"]) == (0, "Có")
    assert (appealed["GK1 – Tổng điểm"], appealed["GK2 – Tổng điểm"]) == (10, 10)     # rounds 1-2 as marked
    assert "GK 4" not in repr(table.rows)                   # nor the re-marker's name


def test_csv_and_xlsx_hold_the_same_table(session, graded):
    course, _ = graded
    table = exports.grade_table(session, course.people["gv"], course.cohort.id)
    raw = exports.grades_csv(table)
    assert raw.startswith("\ufeff".encode("utf-8"))           # Excel reads the BOM as "this is UTF-8"
    parsed = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert parsed[0] == HEADERS_VI and len(parsed) == 5
    rows = {r[3]: dict(zip(HEADERS_VI, r)) for r in parsed[1:]}
    assert (rows["hv1"]["Điểm cuối cùng"], rows["hv1"]["Báo cáo nhóm: điểm cuối cùng"]) == ("10", "7.5")
    assert (rows["hv3"]["Trạng thái"], rows["hv3"]["Lần nộp"], rows["hv3"]["Báo cáo nhóm: điểm cuối cùng"]) == \
        ("Chưa nộp", "", "7.5")
    sheet = load_workbook(io.BytesIO(exports.grades_xlsx(table, "Bảng điểm"))).active
    assert sheet.title == "Bảng điểm" and sheet.freeze_panes == "A2"
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == HEADERS_VI
    assert values[1:] == [[None if v == "" else v for v in row] for row in table.rows]   # Excel keeps no empty text
    xlsx = {r[3]: dict(zip(HEADERS_VI, r)) for r in values[1:]}
    assert xlsx["hv3"]["Báo cáo nhóm: điểm cuối cùng"] == 7.5 and xlsx["hv1"]["GK3 – Tổng điểm"] == 10


def test_csv_chunks_carry_one_bom_however_many_chunks(session, graded):
    course, _ = graded
    columns, rows = exports.grade_rows(session, course.people["gv"], course.cohort.id)
    chunks = list(exports.csv_chunks(columns, rows, lines=1))
    assert len(chunks) == 5 and chunks[0].startswith(b"\xef\xbb\xbf")
    assert not any(chunk.startswith(b"\xef\xbb\xbf") for chunk in chunks[1:])
    whole = exports.grades_csv(exports.grade_table(session, course.people["gv"], course.cohort.id))
    assert b"".join(chunks) == whole


def test_the_number_of_queries_does_not_grow_with_the_cohort(session, graded, engine):
    """Batches, not a query per row: ten more cadres cost no more queries."""
    course, _ = graded

    def count_queries() -> int:
        statements = []
        listener = lambda *args: statements.append(args[2])     # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            session.expire_all()
            exports.grade_table(session, course.people["gv"], course.cohort.id)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)
    before = count_queries()
    from lms_plugin.services import accounts, cohorts
    for i in range(10):
        cadre = accounts.create_user(session, f"them{i}", "cadre", None, display_name=f"Học viên {i}")
        cohorts.add_member(session, course.cohort, cadre, course.groups["binh-an"])
        essays.submit_essay(session, cadre, course.assignment.id, BODY_B + f" Ý {i}.")
    session.commit()
    assert count_queries() == before


def test_the_essays_zip_holds_the_exact_bodies_and_a_manifest_of_hashes(session, graded):
    course, (a1, a2, b) = graded
    archive = zipfile.ZipFile(io.BytesIO(exports.essays_zip(session, course.people["gv"], course.cohort.id)))
    names = archive.namelist()
    assert names == ["hv1__t1-mau__v1.txt", "hv1__t1-mau__v2.txt", "hv2__t1-mau__v1.txt", "manifest.csv"]
    assert archive.read("hv1__t1-mau__v1.txt") == BODY_A.encode("utf-8")       # the report is not hv1's essay
    assert archive.read("hv1__t1-mau__v2.txt") == (BODY_A + " Bổ sung.").encode("utf-8")
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert [row["file"] for row in manifest] == names[:-1]
    for row, receipt in zip(manifest, (a1, a2, b)):
        assert row["sha256"] == hashlib.sha256(archive.read(row["file"])).hexdigest() == receipt.sha256


def test_only_staff_may_export(session, graded):
    course, _ = graded
    for who in ("hv1", "gk1"):
        with pytest.raises(Forbidden):
            exports.grade_table(session, course.people[who], course.cohort.id)
        with pytest.raises(Forbidden):
            exports.essays_zip(session, course.people[who], course.cohort.id)


def test_no_statement_carries_a_list_of_every_essay_or_cadre(session, graded, engine, monkeypatch):
    """Past the batch size the statements stay the same size: cadres are read a batch of groups at a time and the
    marks are joined to them, never sent as one bind parameter per essay."""
    course, _ = graded
    from lms_plugin.services import accounts, cohorts
    for i in range(12):
        cadre = accounts.create_user(session, f"them{i}", "cadre", None, display_name=f"Học viên {i}")
        cohorts.add_member(session, course.cohort, cadre, course.groups["binh-an" if i % 2 else "tan-hoa"])
        essays.submit_essay(session, cadre, course.assignment.id, BODY_B + f" Ý {i}.")
    session.commit()
    monkeypatch.setattr(exports, "CHUNK", 3)
    sizes: list[int] = []
    listener = lambda _c, _cur, _s, parameters, *_: sizes.append(len(parameters or ()))     # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        table = exports.grade_table(session, course.people["gv"], course.cohort.id)
        archive = zipfile.ZipFile(io.BytesIO(exports.essays_zip(session, course.people["gv"], course.cohort.id)))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(table.rows) == 16 and len(archive.namelist()) == 3 + 12 + 1
    assert max(sizes) <= 3 * 2 + 6          # a batch's ids (in two subqueries) and a few constants
