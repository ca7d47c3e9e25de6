"""Grade and essay exports of a cohort, after double marking with a third examiner, on every backend."""
from __future__ import annotations

import csv
import hashlib
import io
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lms_plugin.services import accounts, cohorts, essays, exports, grading
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.services.errors import Forbidden
from lms_plugin.store import models as m

# Exact bytes matter: CRLF, a decomposed "ệ", trailing spaces, a tab, an emoji and no final newline.
BODY_A = ("Xã Tân Hòa cần số hóa hồ sơ đất đai.\r\nKiến nghị: công khai quy trình một cửa cho người dân ở thôn xa."
          "  \tThe\u0302\u0323m 👍")
BODY_B = "Xã Bình An nên mở điểm tiếp nhận lưu động và công khai số hồ sơ trễ hạn hằng tuần cho người dân."


@pytest.fixture
def graded(session, tree):
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    people = {name: accounts.create_user(session, name, role, None, display_name=display, commune=commune)
              for name, role, display, commune in [
                  ("gv", "lecturer", "Giảng viên", ""), ("qt", "admin", "Quản trị", ""),
                  ("hv1", "cadre", "Đặng Văn An", "Tân Hòa"), ("hv2", "cadre", "Bùi Thị Dung", "Bình An"),
                  ("gk1", "examiner", "GK 1", ""), ("gk2", "examiner", "GK 2", ""), ("gk3", "examiner", "GK 3", "")]}
    cohort = cohorts.create_cohort(session, "Lớp 1", "khoa-thu")
    cohorts.add_member(session, cohort, people["hv1"], cohorts.group_named(session, cohort, "Xã Tân Hòa", "Tân Hòa"))
    cohorts.add_member(session, cohort, people["hv2"], cohorts.group_named(session, cohort, "Xã Bình An", "Bình An"))
    assignment = cohorts.assign_scenario(session, cohort, "t1-mau",
                                         examiners=[people["gk1"], people["gk2"], people["gk3"]])
    a = essays.submit_essay(session, people["hv1"], assignment.id, BODY_A)
    b1 = essays.submit_essay(session, people["hv2"], assignment.id, BODY_B)
    b2 = essays.submit_essay(session, people["hv2"], assignment.id, BODY_B + " Bổ sung.")
    mark(session, a.id, [2, 2])              # agree: final 10
    mark(session, b1.id, [2, 0, 2])          # disagree: a third examiner decides
    session.commit()
    return people, cohort, (a, b1, b2)


def mark(session, essay_id: int, points: list[float]) -> None:
    for value in points:
        grade = session.scalar(select(m.Grade).where(m.Grade.essay_id == essay_id, m.Grade.finalised_at.is_(None))
                               .order_by(m.Grade.round))
        grading.grade_essay(session, grade.examiner, essay_id, {"phan-tich": value}, final=True)


def test_the_grade_table_has_one_row_per_essay_with_each_markers_points(session, graded):
    people, cohort, (a, b1, b2) = graded
    table = exports.grade_table(session, people["qt"], cohort.id)
    assert table.columns == ["cohort", "group", "commune", "username", "name", "scenario", "essay_version", "words",
                             "submitted_at", "m1_phan-tich", "m2_phan-tich", "m3_phan-tich",
                             "m1_total", "m2_total", "m3_total", "final", "status"]
    rows = {(r[3], r[6]): dict(zip(table.columns, r)) for r in table.rows}
    first = rows[("hv1", 1)]
    assert (first["cohort"], first["group"], first["commune"], first["name"], first["scenario"]) == \
        ("Lớp 1", "Xã Tân Hòa", "Tân Hòa", "Đặng Văn An", "t1-mau")
    assert (first["m1_phan-tich"], first["m2_phan-tich"], first["m3_phan-tich"]) == (2, 2, None)
    assert (first["m1_total"], first["m2_total"], first["final"], first["status"]) == (10, 10, 10, "final")
    assert first["words"] == a.words and first["submitted_at"].endswith("+00:00")
    disputed = rows[("hv2", 1)]
    assert (disputed["m1_total"], disputed["m2_total"], disputed["m3_total"]) == (10, 0, 10)
    assert (disputed["final"], disputed["status"]) == (10, "final")
    waiting = rows[("hv2", 2)]
    assert (waiting["m1_total"], waiting["final"], waiting["status"]) == (None, None, "awaiting_marks")


def test_csv_and_xlsx_hold_the_same_table(session, graded):
    people, cohort, _ = graded
    table = exports.grade_table(session, people["gv"], cohort.id)
    raw = exports.grades_csv(table)
    assert raw.startswith("\ufeff".encode("utf-8"))           # Excel reads the BOM as "this is UTF-8"
    parsed = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert parsed[0] == table.columns and len(parsed) == 4
    by_key = {(r[3], r[6]): r for r in parsed[1:]}
    assert by_key[("hv1", "1")][table.columns.index("final")] == "10"
    assert by_key[("hv2", "2")][table.columns.index("m1_total")] == ""
    sheet = load_workbook(io.BytesIO(exports.grades_xlsx(table))).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == table.columns
    assert [[v for v in row] for row in values[1:]] == [[v for v in row] for row in table.rows]


def test_the_essays_zip_holds_the_exact_bodies_and_a_manifest_of_hashes(session, graded):
    people, cohort, (a, b1, b2) = graded
    archive = zipfile.ZipFile(io.BytesIO(exports.essays_zip(session, people["gv"], cohort.id)))
    names = archive.namelist()
    assert names == ["hv1__t1-mau__v1.txt", "hv2__t1-mau__v1.txt", "hv2__t1-mau__v2.txt", "manifest.csv"]
    assert archive.read("hv1__t1-mau__v1.txt") == BODY_A.encode("utf-8")
    assert archive.read("hv2__t1-mau__v2.txt") == (BODY_B + " Bổ sung.").encode("utf-8")
    manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert [row["file"] for row in manifest] == names[:-1]
    for row, receipt in zip(manifest, (a, b1, b2)):
        assert row["sha256"] == hashlib.sha256(archive.read(row["file"])).hexdigest() == receipt.sha256


def test_only_staff_may_export(session, graded):
    people, cohort, _ = graded
    for who in ("hv1", "gk1"):
        with pytest.raises(Forbidden):
            exports.grade_table(session, people[who], cohort.id)
        with pytest.raises(Forbidden):
            exports.essays_zip(session, people[who], cohort.id)
