"""Report sections (caselab_report_sections): participation by commune and the marks, counted in the database."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest
from sqlalchemy import event

from lms_plugin.services import accounts, cohorts, reports
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.services.errors import Forbidden, NotFound
from lms_plugin.store import models as m
from lms_plugin.units.spec import Table
from tests.plugged import plugged

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)


def essay(session, assignment, user, version=1, kind="essay", group=None) -> m.Essay:
    text = f"Bài của {user.username}, lần {version}."
    row = m.Essay(assignment_id=assignment.id, user_id=user.id, kind=kind, version=version, body=text, words=5,
                  group_id=group.id if group else None, sha256=hashlib.sha256(text.encode()).hexdigest())
    session.add(row)
    session.flush()
    return row


def attempt(session, assignment, user, finished=True, number=1) -> None:
    session.add(m.Attempt(assignment_id=assignment.id, user_id=user.id, number=number, current_stage="s1",
                          finished_at=NOW if finished else None))


def cadres(session, cohort, group, prefix: str, n: int) -> list[m.User]:
    people = [m.User(username=f"{prefix}{i}", role="cadre", display_name=f"Học viên {prefix}{i}") for i in range(n)]
    session.add_all(people)
    session.flush()
    session.add_all(m.Membership(cohort_id=cohort.id, user_id=p.id, group_id=group.id if group else None)
                    for p in people)
    session.flush()
    return people


@pytest.fixture
def course(session, tree):
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    lecturer = accounts.create_user(session, "gv", "lecturer", "mat-khau-123")
    cohort = cohorts.create_cohort(session, "Lớp 1", "khoa-thu")
    assignment = cohorts.assign_scenario(session, cohort, "t1-mau")
    tan_hoa = cohorts.group_named(session, cohort, "Xã Tân Hòa", "Tân Hòa")
    an_binh = cohorts.group_named(session, cohort, "Xã An Bình", "An Bình")
    session.commit()
    return lecturer, cohort, assignment, tan_hoa, an_binh


def rows(part: reports.ReportPart) -> list[tuple]:
    return [reports.translated(row, lambda text: text) for row in part.table.rows]


def test_participation_counts_each_commune_once_per_cadre(session, course):
    lecturer, cohort, assignment, tan_hoa, an_binh = course
    th = cadres(session, cohort, tan_hoa, "th", 3)
    ab = cadres(session, cohort, an_binh, "ab", 2)
    loose = cadres(session, cohort, None, "x", 1)
    attempt(session, assignment, th[0])
    attempt(session, assignment, th[0], number=2)        # two finished attempts: one cadre
    attempt(session, assignment, th[1], finished=False)
    attempt(session, assignment, ab[0])
    attempt(session, assignment, loose[0])
    essay(session, assignment, th[0])
    essay(session, assignment, th[0], version=2)         # a resubmission: still one cadre
    essay(session, assignment, ab[1])
    essay(session, assignment, ab[1], kind="report", group=an_binh)     # a group report is nobody's essay
    session.add(m.GroupReport(assignment_id=assignment.id, group_id=an_binh.id, submitted_at=NOW))
    session.add(m.GroupReport(assignment_id=assignment.id, group_id=tan_hoa.id))        # a draft only
    session.commit()

    [part] = [p for p in reports.report(session, lecturer, assignment.id) if p.key == "participation"]
    assert part.title == "Tham gia theo nhóm (xã)"
    assert part.table.headers == ("Nhóm", "Xã", "Thành viên", "Đã hoàn thành tình huống", "Đã nộp bài thu hoạch",
                                  "Báo cáo nhóm")
    assert rows(part) == [
        ("Xã An Bình", "An Bình", 2, 1, 1, "Đã nộp"),        # Vietnamese order: An before Tân
        ("Xã Tân Hòa", "Tân Hòa", 3, 1, 1, "Chưa nộp"),
        ("Chưa xếp nhóm", "", 1, 1, 0, None),
        ("Tổng cộng", "", 6, 3, 2, 1),
    ]


def test_marks_fall_into_ten_bands_of_the_rubric_scale_with_the_released_and_the_unfinished(session, course):
    lecturer, cohort, assignment, tan_hoa, _an_binh = course
    people = cadres(session, cohort, tan_hoa, "hv", 6)
    marks = [(8.5, True), (8.75, False), (10.0, True), (0.0, True), (None, False)]
    for person, (final, released) in zip(people, marks):
        old = essay(session, assignment, person)
        session.add(m.EssayResult(essay_id=old.id, status="final", final=1.0))     # superseded: not counted
        latest = essay(session, assignment, person, version=2)
        session.add(m.EssayResult(essay_id=latest.id, status="final" if final is not None else "awaiting_marks",
                                  final=final, released_at=NOW if released else None))
    essay(session, assignment, people[5])                  # just submitted: no result row yet
    session.commit()

    part = reports.report_section(session, lecturer, assignment.id, "marks")
    assert part.table.headers == ("Điểm cuối cùng", "Bài thu hoạch", "Đã công bố điểm")
    table = rows(part)
    assert table[0] == ("0–1", 1, 1)
    assert table[8] == ("8–9", 2, 1)
    assert table[9] == ("9–10", 1, 1)                      # the top mark joins the last band
    assert [n for _band, n, _shown in table[1:8]] == [0] * 7
    assert table[10:] == [("Đang chấm", 2, 0), ("Tổng cộng", 6, 3)]


def test_the_report_is_for_staff_and_names_only_sections_that_exist(session, course):
    lecturer, cohort, assignment, tan_hoa, _an_binh = course
    [cadre] = cadres(session, cohort, tan_hoa, "hv", 1)
    session.commit()
    with pytest.raises(Forbidden):
        reports.report(session, cadre, assignment.id)
    with pytest.raises(Forbidden):
        reports.report_section(session, cadre, assignment.id, "marks")
    with pytest.raises(NotFound):
        reports.report(session, lecturer, assignment.id + 100)
    with pytest.raises(NotFound):
        reports.report_section(session, lecturer, assignment.id, "khong-co")


def test_the_report_costs_the_same_queries_for_a_large_cohort_as_for_a_small_one(engine, session, course):
    lecturer, cohort, assignment, tan_hoa, an_binh = course

    def statements() -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)
        event.listen(engine, "before_cursor_execute", count)
        try:
            session.expire_all()
            for part in reports.report(session, lecturer, assignment.id):
                list(part.table.rows)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    for person in cadres(session, cohort, tan_hoa, "a", 3):
        attempt(session, assignment, person)
        essay(session, assignment, person)
    session.commit()
    small = statements()
    assert small >= 5                                     # the listener sees the report's queries
    for group, prefix in ((tan_hoa, "b"), (an_binh, "c")):
        for person in cadres(session, cohort, group, prefix, 60):
            attempt(session, assignment, person)
            row = essay(session, assignment, person)
            session.add(m.EssayResult(essay_id=row.id, status="final", final=7.0, released_at=NOW))
    session.commit()
    assert statements() == small


class Posts(reports.ReportSection):
    """A section another package could add: posts per group."""
    key = "posts"
    title = "Bài đăng thảo luận"

    def table(self, session, assignment_id):
        return Table(("Nhóm", "Bài đăng"), iter([(reports.Phrase("Tổng cộng"), 0)]))


def test_a_plugged_section_follows_the_built_ins_and_clashing_keys_are_refused(session, course):
    lecturer, _cohort, assignment, _tan_hoa, _an_binh = course
    with plugged(caselab_report_sections=[Posts()]):
        parts = reports.report(session, lecturer, assignment.id)
        assert [p.key for p in parts] == ["participation", "marks", "posts"]
        assert rows(parts[-1]) == [("Tổng cộng", 0)]
    with plugged(caselab_report_sections=[reports.Marks()]):
        with pytest.raises(reports.SectionError, match="two report sections claim the key 'marks'"):
            reports.sections()
    with plugged(caselab_report_sections=["marks"]):
        with pytest.raises(reports.SectionError, match="not a ReportSection"):
            reports.sections()
