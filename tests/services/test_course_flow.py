"""One assignment from decisions to released grade, through the services, on every backend."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from lms_plugin.services import accounts, attempts, cohorts, discussion, essays, grading
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.services.errors import Conflict, Forbidden, Invalid, NotFound
from lms_plugin.store import models as m

ESSAY = "Xã Tân Hòa cần số hóa hồ sơ đất đai và công khai quy trình một cửa cho người dân. " * 2


@pytest.fixture
def course(session, tree):
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    people = {name: accounts.create_user(session, name, role, "mat-khau-123")
              for name, role in [("gv", "lecturer"), ("hv1", "cadre"), ("hv2", "cadre"), ("hv3", "cadre"),
                                 ("gk1", "examiner"), ("gk2", "examiner"), ("gk3", "examiner")]}
    cohort = cohorts.create_cohort(session, "Lớp 1", "khoa-thu")
    a, b = cohorts.group_named(session, cohort, "Xã Tân Hòa"), cohorts.group_named(session, cohort, "Xã Bình An")
    for name, group in [("hv1", a), ("hv2", a), ("hv3", b)]:
        cohorts.add_member(session, cohort, people[name], group)
    assignment = cohorts.assign_scenario(session, cohort, "t1-mau",
                                         examiners=[people["gk1"], people["gk2"], people["gk3"]])
    session.commit()
    return people, assignment


def test_the_case_is_played_scored_and_resumed(session, course):
    people, assignment = course
    state = attempts.start_attempt(session, people["hv1"], assignment.id)
    assert state.stage["id"] == "s1" and state.stage["choices"][0] == {"id": "a", "text": "Họp dân"}
    assert "points" not in state.stage["choices"][0]
    outcome = attempts.choose(session, people["hv1"], state.id, "s1", "a")
    assert (outcome.feedback, outcome.points, outcome.finished, outcome.stage["id"]) == ("Đúng hướng", 2, False, "s2")
    session.commit()
    resumed = attempts.start_attempt(session, people["hv1"], assignment.id)
    assert resumed.id == state.id and resumed.stage["id"] == "s2" and len(resumed.path) == 1
    with pytest.raises(Invalid, match="thuộc một bước đã qua"):
        attempts.choose(session, people["hv1"], state.id, "s1", "b")
    done = attempts.choose(session, people["hv1"], state.id, "s2", "a")
    assert done.finished and done.stage["ending"] and done.score == 1.0
    with pytest.raises(Conflict, match="không cho phép"):
        attempts.start_attempt(session, people["hv1"], assignment.id, retry=True)


def test_a_cadre_cannot_touch_another_cadres_attempt_or_a_closed_assignment(session, course):
    people, assignment = course
    state = attempts.start_attempt(session, people["hv1"], assignment.id)
    with pytest.raises(NotFound):
        attempts.choose(session, people["hv2"], state.id, "s1", "a")
    assignment.closes_at = datetime.now(timezone.utc) - timedelta(minutes=1)
    with pytest.raises(Forbidden, match="hết hạn"):
        attempts.choose(session, people["hv1"], state.id, "s1", "a")


def test_discussion_stays_in_the_group_and_moderation_keeps_everything(session, course):
    people, assignment = course
    first = discussion.post_message(session, people["hv1"], assignment.id,
                                    "Đề xuất họp dân <script>alert(1)</script><b>ngay</b>")
    assert "<script" not in first.body and "<b>ngay</b>" in first.body
    reply = discussion.post_message(session, people["hv2"], assignment.id, "Đồng ý", parent_id=first.id)
    assert reply.parent_id == first.id
    assert discussion.list_posts(session, people["hv3"], assignment.id) == []
    with pytest.raises(Invalid):
        discussion.post_message(session, people["hv3"], assignment.id, "chen ngang", parent_id=first.id)
    edited = discussion.edit_post(session, people["hv1"], first.id, "Đề xuất họp dân tuần này")
    assert edited.edits == 1
    discussion.hide_post(session, people["gv"], reply.id, "Lạc đề")
    seen = {p.id: p for p in discussion.list_posts(session, people["hv1"], assignment.id)}
    assert seen[reply.id].hidden and seen[reply.id].body == "" and seen[reply.id].hidden_reason == "Lạc đề"
    staff_view = discussion.list_posts(session, people["gv"], assignment.id, group_id=first_group(session, people))
    assert {p.id: p.body for p in staff_view}[reply.id] == "Đồng ý"
    assert session.scalar(select(m.PostEdit.body)) == first.body
    assert session.scalar(select(m.AuditEvent.action).where(m.AuditEvent.target_type == "post")) == "post.hide"


def first_group(session, people):
    return session.scalar(select(m.Membership.group_id).where(m.Membership.user_id == people["hv1"].id))


def test_group_report_co_editing_refuses_a_stale_save(session, course):
    people, assignment = course
    saved = discussion.save_group_report(session, people["hv1"], assignment.id, "<p>Bản 1</p>", revision=0)
    with pytest.raises(Conflict, match="bản 1"):
        discussion.save_group_report(session, people["hv2"], assignment.id, "<p>Bản khác</p>", revision=0)
    saved = discussion.save_group_report(session, people["hv2"], assignment.id, "<p>Bản 2</p>", revision=1)
    submitted = discussion.submit_group_report(session, people["hv2"], assignment.id)
    assert submitted.submitted_by == "hv2" and submitted.sha256 and saved.revision == 2
    assert discussion.get_group_report(session, people["hv1"], assignment.id).body == "<p>Bản 2</p>"
    with pytest.raises(Conflict):
        discussion.save_group_report(session, people["hv1"], assignment.id, "muộn", revision=2)


def test_essay_double_marking_with_a_third_examiner_then_release(session, course):
    people, assignment = course
    essays.save_draft(session, people["hv1"], assignment.id, "ngắn")
    with pytest.raises(Invalid, match="tối thiểu 10"):
        essays.submit_essay(session, people["hv1"], assignment.id, "ngắn quá")
    assert essays.get_draft(session, people["hv1"], assignment.id).body == "ngắn"
    receipt = essays.submit_essay(session, people["hv1"], assignment.id, ESSAY)
    session.commit()
    stored = session.get(m.Essay, receipt.id)
    assert stored.body == ESSAY and receipt.words == 40 and len(receipt.sha256) == 64

    queue = grading.grading_queue(session, people["gk1"])
    assert [(q.essay_id, q.round) for q in queue] == [(receipt.id, 1)]
    assert not hasattr(queue[0], "author") and queue[0].rubric["criteria"][0]["id"] == "phan-tich"
    assert grading.grading_queue(session, people["gk3"]) == []
    essay, identity = essays.readable_essay(session, people["gk1"], receipt.id)
    assert essay.body == ESSAY and identity is False
    with pytest.raises(NotFound):
        essays.readable_essay(session, people["hv2"], receipt.id)

    draft = grading.grade_essay(session, people["gk1"], receipt.id, {"phan-tich": 2}, final=False)
    assert draft.result_status == "awaiting_marks"
    grading.grade_essay(session, people["gk1"], receipt.id, {"phan-tich": 2}, {"phan-tich": "Sâu sắc"}, final=True)
    outcome = grading.grade_essay(session, people["gk2"], receipt.id, {"phan-tich": 0}, final=True)
    assert outcome.result_status == "needs_third"
    with pytest.raises(Conflict):
        grading.grade_essay(session, people["gk2"], receipt.id, {"phan-tich": 2}, final=True)
    assert [(q.essay_id, q.round) for q in grading.grading_queue(session, people["gk3"])] == [(receipt.id, 3)]
    final = grading.grade_essay(session, people["gk3"], receipt.id, {"phan-tich": 2}, final=True)
    assert (final.result_status, final.result) == ("final", 10.0)

    with pytest.raises(Forbidden, match="chưa được công bố"):
        grading.grade_for_author(session, people["hv1"], receipt.id)
    with pytest.raises(Forbidden):
        grading.release_grades(session, people["hv1"], assignment.id)
    assert grading.release_grades(session, people["gv"], assignment.id) == 1
    session.commit()
    report = grading.grade_for_author(session, people["hv1"], receipt.id)
    assert report.final == 10.0 and report.criteria[0]["comments"] == ["Sâu sắc"]
    with pytest.raises(Conflict, match="đã được công bố"):
        essays.submit_essay(session, people["hv1"], assignment.id, ESSAY)


def test_an_examiner_who_joins_late_receives_the_essays_waiting_for_a_marker(session, tree):
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    cadre = accounts.create_user(session, "hv", "cadre", "mat-khau-123")
    first, second = (accounts.create_user(session, n, "examiner", "mat-khau-123") for n in ("gk1", "gk2"))
    cohort = cohorts.create_cohort(session, "Lớp 2", "khoa-thu")
    cohorts.add_member(session, cohort, cadre, cohorts.group_named(session, cohort, "Xã A"))
    assignment = cohorts.assign_scenario(session, cohort, "t1-mau")
    receipt = essays.submit_essay(session, cadre, assignment.id, ESSAY)
    assert grading.grading_queue(session, first) == []
    cohorts.add_examiner(session, assignment, first)
    cohorts.add_examiner(session, assignment, second)
    cohorts.add_examiner(session, assignment, first)
    assert [(q.essay_id, q.round) for q in grading.grading_queue(session, first)] == [(receipt.id, 1)]
    assert [(q.essay_id, q.round) for q in grading.grading_queue(session, second)] == [(receipt.id, 2)]


def test_a_scenario_version_is_assigned_to_a_cohort_once(session, course):
    _, assignment = course
    with pytest.raises(Conflict, match="đã được giao"):
        cohorts.assign_scenario(session, assignment.cohort, "t1-mau")


def test_an_examiner_may_save_a_partial_draft_but_not_finalise_it(session, course):
    people, assignment = course
    receipt = essays.submit_essay(session, people["hv1"], assignment.id, ESSAY)
    draft = grading.grade_essay(session, people["gk1"], receipt.id, {}, comment="Đọc lần một")
    assert draft.total is None and draft.result_status == "awaiting_marks"
    with pytest.raises(Invalid, match="^Chưa chọn mức điểm cho: Phân tích$"):
        grading.grade_essay(session, people["gk1"], receipt.id, {}, final=True)
    with pytest.raises(Invalid, match=r"^Tiêu chí Phân tích không có mức 1\.5 điểm \(các mức: 0, 2\)$"):
        grading.grade_essay(session, people["gk1"], receipt.id, {"phan-tich": 1.5})
    with pytest.raises(Invalid, match="^Phiếu chấm không có tiêu chí: sang-tao$") as refused:
        grading.grade_essay(session, people["gk1"], receipt.id, {"sang-tao": 2})
    assert refused.value.fields == {"scores": ["unknown criteria: sang-tao"]}
    assert grading.grade_essay(session, people["gk1"], receipt.id, {"phan-tich": 2}).total == 10
