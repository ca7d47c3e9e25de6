"""The lecturer's report page and its CSV downloads: every report section, in the reader's language."""
from __future__ import annotations

import csv
import io

from lms_plugin.services import accounts, cohorts, reports
from lms_plugin.units.spec import Table
from tests.plugged import plugged
from tests.web.conftest import first_assignment, login

HOSTILE = "=HYPERLINK(\"http://evil.example\",\"Xã\")"


def url(assignment_id: int, tail: str = "") -> str:
    return f"/lecturer/assignments/{assignment_id}/report{tail}"


def read_csv(response) -> list[list[str]]:
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")              # Excel opens the Vietnamese names right
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_lecturer_reads_every_section_from_the_assignment_page(client, session, demo):
    assignment = first_assignment(session)
    login(client, "lecturer1")
    home = client.get(f"/lecturer/assignments/{assignment.id}")
    assert url(assignment.id) in home.text
    page = client.get(url(assignment.id))
    assert page.status_code == 200
    for key, title in (("participation", "Tham gia theo nhóm (xã)"), ("marks", "Phân bố điểm bài thu hoạch")):
        assert f'data-test="report-{key}"' in page.text and title in page.text
        assert url(assignment.id, f"/{key}.csv") in page.text
    assert "<td>Xã Tân Hòa</td>" in page.text and "<td>Tổng cộng</td>" in page.text
    assert "<th scope=\"col\">Thành viên</th>" in page.text


def test_the_csv_is_in_the_readers_language_and_a_name_a_spreadsheet_would_run_stays_text(client, session, demo):
    assignment = first_assignment(session)
    group = cohorts.group_named(session, assignment.cohort, HOSTILE, "Bình An")
    cohorts.add_member(session, assignment.cohort, accounts.create_user(session, "hv-la", "cadre", "mat-khau-123"),
                       group)
    session.commit()
    login(client, "lecturer1")
    client.post("/lang/en", data={"next": "/"})
    response = client.get(url(assignment.id, "/participation.csv"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"participation-{assignment.id}.csv" in response.headers["Content-Disposition"]
    table = read_csv(response)
    assert table[0][:2] == ["Group", "Commune"]
    assert ["'" + HOSTILE, "Bình An", "1", "0", "0", "Not submitted"] in table
    assert client.get(url(assignment.id, "/khong-co.csv")).status_code == 404


def test_cadres_and_examiners_never_see_the_report(client, session, demo):
    assignment = first_assignment(session)
    for username in ("cadre1", "examiner1"):
        login(client, username)
        assert client.get(url(assignment.id)).status_code == 403
        assert client.get(url(assignment.id, "/marks.csv")).status_code == 403


class Communes(reports.ReportSection):
    key = "communes"
    title = "Số xã"

    def table(self, session, assignment_id):
        return Table(("Xã",), iter([("=1+1",), (reports.Phrase("Chưa nộp"),)]))


def test_a_plugged_section_has_its_table_on_the_page_and_its_own_csv(client, session, demo):
    assignment = first_assignment(session)
    login(client, "lecturer1")
    with plugged(caselab_report_sections=[Communes()]):
        page = client.get(url(assignment.id))
        assert 'data-test="report-communes"' in page.text and "Số xã" in page.text and "<td>=1+1</td>" in page.text
        assert read_csv(client.get(url(assignment.id, "/communes.csv"))) == [["Xã"], ["'=1+1"], ["Chưa nộp"]]
    assert client.get(url(assignment.id, "/communes.csv")).status_code == 404
