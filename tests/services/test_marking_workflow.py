"""The chief examiner's workflow through the services: nothing stuck, blind both ways, guarded release,
corrections and appeals, each step audited."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from lms_plugin.services import accounts, allocation, appeals, cohorts, essays, grading, release
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.services.errors import Conflict, Forbidden, Invalid
from lms_plugin.store import models as m

ESSAY = ("Xã Tân Hòa cần số hóa hồ sơ đất đai và công khai quy trình một cửa cho người dân.\n\n"
         "## Kiến nghị, đề xuất\n\nĐề nghị tỉnh hướng dẫn thống nhất việc chỉnh lý hồ sơ địa chính.\n")


@pytest.fixture
def course(session, tree):
    """A pool of only two examiners, a lecturer (the chief examiner) and three cadres."""
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    people = {name: accounts.create_user(session, name, role, "mat-khau-123", display_name=f"Người {name}")
              for name, role in [("gv", "lecturer"), ("hv1", "cadre"), ("hv2", "cadre"), ("hv3", "cadre"),
                                 ("gk1", "examiner"), ("gk2", "examiner"), ("gk3", "examiner"), ("gk4", "examiner")]}
    cohort = cohorts.create_cohort(session, "Lớp 1", "khoa-thu")
    group = cohorts.group_named(session, cohort, "Xã Tân Hòa")
    for name in ("hv1", "hv2", "hv3"):
        cohorts.add_member(session, cohort, people[name], group)
    assignment = cohorts.assign_scenario(session, cohort, "t1-mau", examiners=[people["gk1"], people["gk2"]])
    session.commit()
    return people, assignment


def mark(session, examiner, essay_id, points):
    return grading.grade_essay(session, examiner, essay_id, {"phan-tich": points}, {"phan-tich": "Nhận xét"},
                               final=True)


def test_a_disagreement_with_a_pool_of_two_is_listed_then_staffed_by_a_new_pool_member(session, course):
    people, assignment = course
    receipt = essays.submit_essay(session, people["hv1"], assignment.id, ESSAY)
    mark(session, people["gk1"], receipt.id, 2)
    outcome = mark(session, people["gk2"], receipt.id, 0)
    assert outcome.result_status == "needs_third"
    view = allocation.allocation(session, people["gv"], assignment.id)
    assert view.needs_examiner_total == 1 and view.needs_examiner[0].unstaffed == (3,)
    assert view.counts["essay"]["needs_third"] == 1 and view.counts["essay"]["needs_examiner"] == 1
    assert allocation.add_to_pool(session, people["gv"], assignment.id, people["gk3"].id) == 1
    assert [(q.essay_id, q.round) for q in grading.grading_queue(session, people["gk3"])] == [(receipt.id, 3)]
    assert allocation.allocation(session, people["gv"], assignment.id).needs_examiner_total == 0
    final = mark(session, people["gk3"], receipt.id, 2)
    assert (final.result_status, final.result) == ("final", 10.0)
    told = session.scalars(select(m.Notification.kind).where(m.Notification.user_id == people["gk3"].id)).all()
    assert told == ["third_needed"]


def test_the_chief_examiner_marks_a_waiting_round_himself(session, course):
    people, assignment = course
    receipt = essays.submit_essay(session, people["hv1"], assignment.id, ESSAY)
    mark(session, people["gk1"], receipt.id, 2)
    mark(session, people["gk2"], receipt.id, 0)
    with pytest.raises(Conflict, match="đã chấm bài này"):
        allocation.assign_round(session, people["gv"], receipt.id, 3, people["gk1"].id)
    allocation.assign_round(session, people["gv"], receipt.id, 3, people["gv"].id)
    assert mark(session, people["gv"], receipt.id, 0).result == 0.0
    assert session.scalar(select(m.AuditEvent.action).where(m.AuditEvent.action == "grade.assign")) == "grade.assign"


def test_an_absent_examiner_hands_open_rounds_to_the_pool_or_to_the_waiting_list(session, course):
    people, assignment = course
    receipt = essays.submit_essay(session, people["hv1"], assignment.id, ESSAY)
    assert allocation.set_absent(session, people["gv"], assignment.id, people["gk1"].id, True) == 1
    held = {g.round: g.examiner_id for g in session.scalars(select(m.Grade).where(m.Grade.essay_id == receipt.id))}
    assert held == {2: people["gk2"].id}          # nobody else is free: round 1 waits, and shows
    assert allocation.allocation(session, people["gv"], assignment.id).needs_examiner[0].unstaffed == (1,)
    second = essays.submit_essay(session, people["hv2"], assignment.id, ESSAY)
    assert {g.examiner_id for g in session.scalars(select(m.Grade).where(m.Grade.essay_id == second.id))} == \
        {people["gk2"].id}                         # an absent examiner gets no new work
    allocation.set_absent(session, people["gv"], assignment.id, people["gk1"].id, False)
    assert allocation.allocation(session, people["gv"], assignment.id).needs_examiner_total == 0


def test_nothing_shows_to_the_cadre_until_the_own_final_mark_is_released(session, course):
    people, assignment = course
    receipt = essays.submit_essay(session, people["hv1"], assignment.id, ESSAY)
    other = essays.submit_essay(session, people["hv2"], assignment.id, ESSAY)
    mark(session, people["gk1"], receipt.id, 2)
    mark(session, people["gk2"], receipt.id, 2)
    mark(session, people["gk1"], other.id, 2)
    with pytest.raises(Forbidden, match="chưa được công bố"):
        grading.grade_for_author(session, people["hv1"], receipt.id)
    seen = release.preview(session, people["gv"], assignment.id)
    assert (seen.to_release, seen.awaiting_marks, seen.not_submitted, seen.first_release) == (1, 1, 1, True)
    with pytest.raises(Conflict, match="vừa thay đổi"):
        release.release(session, people["gv"], assignment.id, expected=2)
    assert release.release(session, people["gv"], assignment.id, expected=1).released == 1
    report = grading.grade_for_author(session, people["hv1"], receipt.id)
    assert report.final == 10.0 and report.criteria[0]["comments"] == ["Nhận xét", "Nhận xét"]
    assert "points" not in report.criteria[0]          # an examiner's own marks never reach the cadre
    with pytest.raises(Forbidden):                     # released later, when it is final
        grading.grade_for_author(session, people["hv2"], other.id)
    mark(session, people["gk2"], other.id, 2)
    assert release.preview(session, people["gv"], assignment.id).to_release == 1
    assert release.release(session, people["gv"], assignment.id).released == 1
    assert grading.grade_for_author(session, people["hv2"], other.id).final == 10.0


def test_a_released_mark_is_corrected_with_a_reason_and_the_cadre_is_told(session, course):
    people, assignment = course
    receipt = essays.submit_essay(session, people["hv1"], assignment.id, ESSAY)
    mark(session, people["gk1"], receipt.id, 2)
    mark(session, people["gk2"], receipt.id, 2)
    release.release(session, people["gv"], assignment.id)
    with pytest.raises(Invalid, match="lý do"):
        release.correct(session, people["gv"], receipt.id, 8.0, " ")
    with pytest.raises(Forbidden):
        release.correct(session, people["gk1"], receipt.id, 8.0, "Cộng nhầm")
    release.correct(session, people["gv"], receipt.id, 8.1, "Cộng nhầm điểm tiêu chí 1")
    report = grading.grade_for_author(session, people["hv1"], receipt.id)
    assert report.final == 8.0 and report.corrected and report.correction_reason == "Cộng nhầm điểm tiêu chí 1"
    event = session.scalar(select(m.AuditEvent).where(m.AuditEvent.action == "grade.correct"))
    assert event.details == {"previous": 10.0, "final": 8.0, "reason": "Cộng nhầm điểm tiêu chí 1"}
    kinds = session.scalars(select(m.Notification.kind).where(m.Notification.user_id == people["hv1"].id)).all()
    assert sorted(kinds) == ["corrected", "released"]


def test_an_appeal_is_re_marked_blind_by_a_new_examiner_and_released_like_a_mark(session, course):
    people, assignment = course
    receipt = essays.submit_essay(session, people["hv1"], assignment.id, ESSAY)
    mark(session, people["gk1"], receipt.id, 0)
    mark(session, people["gk2"], receipt.id, 0)
    with pytest.raises(Conflict, match="chưa được công bố"):
        appeals.file_appeal(session, people["hv1"], receipt.id, "Bài có đủ phần kiến nghị")
    release.release(session, people["gv"], assignment.id)
    assert grading.grade_for_author(session, people["hv1"], receipt.id).appeal_until is not None
    appeals.file_appeal(session, people["hv1"], receipt.id, "Bài có đủ phần kiến nghị")
    with pytest.raises(Conflict, match="đã gửi"):
        appeals.file_appeal(session, people["hv1"], receipt.id, "Lần nữa")
    view = allocation.allocation(session, people["gv"], assignment.id)
    assert view.needs_examiner[0].unstaffed == (4,)
    with pytest.raises(Conflict, match="đã chấm bài này"):
        allocation.assign_round(session, people["gv"], receipt.id, 4, people["gk2"].id)
    allocation.assign_round(session, people["gv"], receipt.id, 4, people["gk4"].id)
    assert appeals.appeals_of(session, people["gv"], assignment.id)[0].status == "assigned"
    queue = grading.grading_queue(session, people["gk4"])
    assert [(q.essay_id, q.round) for q in queue] == [(receipt.id, 4)]
    mark(session, people["gk4"], receipt.id, 2)
    assert grading.grade_for_author(session, people["hv1"], receipt.id).final == 0.0   # not released yet
    seen = release.preview(session, people["gv"], assignment.id)
    assert (seen.to_release, seen.appeals_to_release) == (0, 1)
    release.release(session, people["gv"], assignment.id, expected=1)
    report = grading.grade_for_author(session, people["hv1"], receipt.id)
    assert report.final == 10.0 and report.appeal["status"] == "released" and report.appeal["previous"] == 0.0
    assert report.criteria[0]["comments"] == ["Nhận xét", "Nhận xét"]   # the re-marker's notes stay with staff
    actions = set(session.scalars(select(m.AuditEvent.action).where(m.AuditEvent.target_id == str(receipt.id))))
    assert {"appeal.file", "grade.assign", "appeal.decide", "appeal.release"} <= actions
