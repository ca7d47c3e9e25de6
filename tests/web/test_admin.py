"""Organiser pages through the Flask test client: cohorts, roster import, accounts, exports."""
from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile

from openpyxl import load_workbook
from sqlalchemy import select

from lms_plugin.services import essays, grading
from lms_plugin.services.content import rubric_data, scenario_data
from lms_plugin.store import models as m
from tests.web.conftest import first_assignment, login

ROSTER_CSV = """\
Họ tên,Xã,Tỉnh,Liên hệ,Vai trò,Tên đăng nhập
Trịnh Văn Sơn,Xã Tân Hòa,Tỉnh Đông Hải,0912 000 111,học viên,
Lý Thị Mai,Phú Mỹ,Tỉnh Đông Hải,,học viên,
,Phú Mỹ,Tỉnh Đông Hải,,học viên,
Mạc Văn Tùng,Phú Mỹ,Tỉnh Đông Hải,,bảo vệ,
Hồ Thị Lan,Phú Mỹ,Tỉnh Đông Hải,,học viên,cadre1
"""


def post_roster(client, cohort_id: int, filename: str, raw: bytes):
    return client.post(f"/admin/cohorts/{cohort_id}/roster", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(raw), filename)})


def demo_cohort(session, demo) -> m.Cohort:
    return session.scalar(select(m.Cohort).where(m.Cohort.name == demo.cohort))


def test_cohorts_are_listed_created_and_a_taken_name_is_shown_next_to_the_field(client, demo, session):
    login(client, "admin1")
    page = client.get("/admin/").text
    assert "Lớp trình diễn" in page and 'data-test="cohort-create"' in page
    course = session.scalar(select(m.Course.slug))
    created = client.post("/admin/cohorts", data={"name": "Lớp Sơn Nguyên K1", "course": course,
                                                  "starts_at": "2026-03-02", "ends_at": "2026-03-03"})
    assert created.status_code == 302
    cohort = session.scalar(select(m.Cohort).where(m.Cohort.name == "Lớp Sơn Nguyên K1"))
    assert created.location.endswith(f"/admin/cohorts/{cohort.id}")
    assert "Lớp Sơn Nguyên K1" in client.get(created.location).text
    again = client.post("/admin/cohorts", data={"name": "Lớp Sơn Nguyên K1", "course": course})
    assert again.status_code == 409
    assert re.search(r'data-test="error-name">Lớp &#39;Lớp Sơn Nguyên K1&#39; đã tồn tại<', again.text)


def words(n: int) -> str:
    pool = "xã cần công khai quy trình số hóa hồ sơ và lắng nghe ý kiến người dân ở các thôn xa".split()
    return " ".join(pool[i % len(pool)] for i in range(n))


def submit_and_double_mark(session):
    """cadre1 and cadre4 submit; both examiners finalise their marks."""
    assignment = first_assignment(session)
    spec = scenario_data(assignment.scenario_version).essay
    users = {u.username: u for u in session.scalars(select(m.User))}
    body_one = "Mở đầu\r\n" + words(spec.min_words + 5) + "\n\nKiến nghị, đề xuất\r\nTăng cường số hóa.  "
    body_two = words(spec.min_words + 40) + "\n\n## Kiến nghị, đề xuất\n\nCông khai tiến độ hồ sơ hằng tuần."
    one = essays.submit_essay(session, users["cadre1"], assignment.id, body_one)
    two = essays.submit_essay(session, users["cadre4"], assignment.id, body_two)
    rubric = rubric_data(assignment.essay_rubric_version)
    for receipt, level in ((one, -1), (two, 0)):
        for grade in session.scalars(select(m.Grade).where(m.Grade.essay_id == receipt.id).order_by(m.Grade.round)):
            scores = {c.id: c.levels[level].points for c in rubric.criteria}
            grading.grade_essay(session, grade.examiner, receipt.id, scores,
                                {c.id: "Nhận xét" for c in rubric.criteria}, final=True)
    session.commit()
    return assignment, rubric, {"cadre1": (one, body_one), "cadre4": (two, body_two)}


def test_grade_exports_after_two_examiners_marked(client, demo, session):
    assignment, rubric, submitted = submit_and_double_mark(session)
    slug = assignment.scenario_version.scenario.slug
    login(client, "lecturer1")                                    # lecturers may download exports too
    response = client.get(f"/admin/cohorts/{assignment.cohort_id}/grades.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = [r for r in csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))) if r["Mã tình huống"] == slug]
    by_user = {r["Tên đăng nhập"]: r for r in rows}
    assert set(by_user) == {f"cadre{i}" for i in range(1, 7)}    # every cadre, submitted or not
    best = by_user["cadre1"]
    assert (best["Lớp"], best["Nhóm"], best["Họ tên"], best["Lần nộp"]) == \
        ("Lớp trình diễn", "Xã Tân Hòa", "Đặng Văn An", "1")
    assert best["Số chữ"] == str(submitted["cadre1"][0].words)
    top = {c.id: c.levels[-1].points for c in rubric.criteria}
    for criterion, points in top.items():
        title = rubric.criterion(criterion).title
        assert best[f"GK1 – {title}"] == best[f"GK2 – {title}"] == f"{points:g}"
        assert by_user["cadre4"][f"GK1 – {title}"] == f"{rubric.criterion(criterion).levels[0].points:g}"
    assert (best["GK1 – Tổng điểm"], best["GK2 – Tổng điểm"], best["GK3 – Tổng điểm"], best["Điểm cuối cùng"],
            best["Trạng thái"], best["Đã công bố điểm"]) == ("10", "10", "", "10", "Đã có điểm cuối", "Không")
    assert (by_user["cadre4"]["Điểm cuối cùng"], by_user["cadre4"]["Trạng thái"]) == ("0", "Đã có điểm cuối")
    assert (by_user["cadre2"]["Trạng thái"], by_user["cadre2"]["Lần nộp"]) == ("Chưa nộp", "")
    assert not any("Giám khảo" in value for row in rows for value in row.values())    # blind: no examiner names

    xlsx = client.get(f"/admin/cohorts/{assignment.cohort_id}/grades.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.title == "Bảng điểm"
    values = list(sheet.iter_rows(values_only=True))
    header = list(values[0])
    assert header == list(rows[0].keys())
    xlsx_best = dict(zip(header, next(v for v in values[1:] if v[header.index("Tên đăng nhập")] == "cadre1"
                                      and v[header.index("Mã tình huống")] == slug)))
    assert (xlsx_best["GK1 – Tổng điểm"], xlsx_best["Điểm cuối cùng"], xlsx_best["Trạng thái"]) == \
        (10, 10, "Đã có điểm cuối")


def test_export_headers_follow_the_readers_language(client, demo, session):
    assignment, _rubric, _submitted = submit_and_double_mark(session)
    login(client, "admin1")
    english = client.get(f"/admin/cohorts/{assignment.cohort_id}/grades.csv?lang=en")
    rows = list(csv.DictReader(io.StringIO(english.data.decode("utf-8-sig"))))
    assert {"Cohort", "Group", "Username", "Scenario", "Word count", "Status"} <= set(rows[0])
    assert "Tên đăng nhập" not in rows[0]
    assert {r["Status"] for r in rows if r["Username"] == "cadre2"} == {"Not submitted"}
    sheet = load_workbook(io.BytesIO(client.get(f"/admin/cohorts/{assignment.cohort_id}/grades.xlsx?lang=en").data))
    assert list(next(sheet.active.iter_rows(values_only=True))) == list(rows[0].keys())


def test_the_essays_zip_is_byte_identical_to_what_was_submitted(client, demo, session):
    assignment, _, submitted = submit_and_double_mark(session)
    login(client, "admin1")
    response = client.get(f"/admin/cohorts/{assignment.cohort_id}/essays.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    slug = assignment.scenario_version.scenario.slug
    manifest = {row["file"]: row for row in csv.DictReader(
        io.StringIO(archive.read("manifest.csv").decode("utf-8-sig")))}
    for username, (receipt, body) in submitted.items():
        name = f"{username}__{slug}__v1.txt"
        assert archive.read(name) == body.encode("utf-8")
        assert manifest[name]["sha256"] == hashlib.sha256(body.encode("utf-8")).hexdigest() == receipt.sha256


def test_only_staff_reach_admin_pages_and_exports(client, demo, session):
    cohort = demo_cohort(session, demo)
    for who in ("cadre1", "examiner1"):
        login(client, who)
        for url in ("/admin/", f"/admin/cohorts/{cohort.id}", "/admin/accounts",
                    f"/admin/cohorts/{cohort.id}/grades.csv", f"/admin/cohorts/{cohort.id}/essays.zip"):
            assert client.get(url).status_code == 403, (who, url)
        client.post("/logout")
    login(client, "lecturer1")
    assert client.get("/admin/").status_code == 403                   # organising is the admin's job
    assert post_roster(client, cohort.id, "a.csv", ROSTER_CSV.encode()).status_code == 403
