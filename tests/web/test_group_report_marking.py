"""A group report through the pages: the examiners see "Báo cáo nhóm" and mark it with the report rubric; once
released, every member of the group sees the mark on the report page and no one outside the group can open it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from lms_plugin.services import discussion, grading, release
from lms_plugin.store import models as m
from tests.web.test_cadre import assignment_for, client_for, user

REPORT = "<p>Nhóm thống nhất <strong>mở điểm một cửa lưu động</strong> hai buổi mỗi tuần.</p>"


@pytest.fixture
def report(app, demo, session) -> m.Essay:
    assignment = assignment_for(session)
    discussion.save_group_report(session, user(session, "cadre1"), assignment.id, REPORT, revision=0)
    discussion.submit_group_report(session, user(session, "cadre2"), assignment.id)
    session.commit()
    return session.scalar(select(m.Essay).where(m.Essay.kind == "report", m.Essay.assignment_id == assignment.id))


def form_for(essay: m.Essay, points: str = "max") -> dict:
    rubric = grading.rubric_for(essay)
    data = {"action": "final", "comment": "Báo cáo rõ ràng."}
    for c in rubric.criteria:
        data[f"score-{c.id}"] = f"{c.max_points if points == 'max' else c.levels[0].points:g}"
        data[f"comment-{c.id}"] = f"Về {c.title}"
    return data


def test_the_examiner_sees_a_group_report_and_marks_it_with_the_report_rubric(app, session, report):
    examiner = client_for(app, "examiner1")
    queue = examiner.get("/examiner/").text
    assert f'data-test="queue-kind-{report.id}">Báo cáo nhóm<' in queue
    page = examiner.get(f"/examiner/essays/{report.id}").text
    assert 'data-test="essay-kind">Báo cáo nhóm<' in page
    assert "Tiêu chí chấm báo cáo thảo luận nhóm" in page and "Mức độ thống nhất và lập luận" in page
    assert "<strong>mở điểm một cửa lưu động</strong>" in page          # the sanitised report, not its tags
    assert "Báo cáo nhóm không được kiểm tra trùng lặp." in page
    for secret in ("Hoàng Thị Bích", "cadre2", "Xã Tân Hòa"):        # blind: no submitter, no group
        assert secret not in page
    asked = examiner.post(f"/examiner/essays/{report.id}", data=form_for(report))
    assert asked.status_code == 200 and 'data-test="grade-confirm-panel"' in asked.text
    assert examiner.post(f"/examiner/essays/{report.id}", data={"action": "confirm"}).status_code == 302
    session.expire_all()
    grade = session.scalar(select(m.Grade).where(m.Grade.essay_id == report.id, m.Grade.finalised_at.is_not(None)))
    assert grade.total == 10 and set(grade.scores) == {c.id for c in grading.rubric_for(report).criteria}


def test_after_release_every_member_sees_the_reports_mark_and_others_get_404(app, session, report):
    member = client_for(app, "cadre3")            # in the group; neither wrote nor submitted it
    url = f"/cadre/assignments/{report.assignment_id}/report"
    assert 'data-test="report-grade-pending"' in member.get(url).text
    for examiner in ("examiner1", "examiner2"):
        grade = session.scalar(select(m.Grade).join(m.User, m.User.id == m.Grade.examiner_id)
                               .where(m.Grade.essay_id == report.id, m.User.username == examiner))
        data = form_for(report)
        scores = {k.removeprefix("score-"): float(v) for k, v in data.items() if k.startswith("score-")}
        grading.grade_essay(session, grade.examiner, report.id, scores, {}, "Báo cáo rõ ràng.", final=True)
    session.commit()
    assert 'data-test="report-grade"' not in member.get(url).text         # final, not yet released
    release.release(session, user(session, "lecturer1"), report.assignment_id)
    session.commit()
    for name in ("cadre1", "cadre2", "cadre3"):
        page = client_for(app, name).get(url).text
        assert 'data-test="report-final-mark">10<' in page and "Báo cáo rõ ràng." in page
        assert f'href="/cadre/essays/{report.id}/grade"' in page
        assert client_for(app, name).get(f"/cadre/essays/{report.id}/grade").status_code == 200
    outsider = client_for(app, "cadre4")
    assert outsider.get(f"/cadre/essays/{report.id}/grade").status_code == 404
    assert 'data-test="report-grade"' not in outsider.get(url).text        # their own group's page: no report
