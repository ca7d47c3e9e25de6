"""The expert panel through its service and its unit, on every backend: one board per course and scenario shared
by the course's cohorts; votes that count a person once; moderation staff alone can do; a version that moves with
every change and with nothing else."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from lms_plugin.services import accounts, cohorts, panel, units
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.services.errors import Conflict, Forbidden, Invalid, NotFound
from lms_plugin.store import models as m
from lms_plugin.units import registry, render
from tests.samples import SCENARIO

PANEL = """\
units:
  panel:
    title: Tọa đàm về tiếp công dân sau sắp xếp
    prompt: Các chuyên gia trả lời câu hỏi về **thẩm quyền** giải quyết đơn thư.
    experts:
      - {name: TS. Lê Thu Hà, role: Giảng viên chính}
      - {name: Ông Phạm Khải}
"""
OTHER_COURSE = """\
id: khoa-khac
title: Khóa khác
topics:
  - {id: 1, title: Quản trị cấp xã}
"""


@pytest.fixture
def course(session, tree):
    """Course khoa-thu with two cohorts (A: hv1 in the group of Tân Hòa, hv2 without a group; B: hv3) on the
    same scenario, and course khoa-khac whose cohort C (hv4) has a panel of its own."""
    (tree / "scenarios" / "t1-mau.yaml").write_text(SCENARIO + PANEL, encoding="utf-8")
    other = tree / "other"
    other.mkdir()
    (other / "course.yaml").write_text(OTHER_COURSE, encoding="utf-8")
    (other / "k1-khac.yaml").write_text(
        SCENARIO.split("essay:")[0].replace("id: t1-mau", "id: k1-khac").replace("  - file: data/bang.csv\n"
                                                                               "    title: Bảng số liệu\n", "")
        .replace("attachments:\n", "") + PANEL, encoding="utf-8")
    catalog = load_catalog(["scenarios", "other", "rubrics"])
    assert catalog.ok, catalog.errors
    import_catalog(session, catalog)
    people = {name: accounts.create_user(session, name, role, "mat-khau-123", display_name=f"Đồng chí {name}")
              for name, role in [("gv", "lecturer"), ("hv1", "cadre"), ("hv2", "cadre"), ("hv3", "cadre"),
                                 ("hv4", "cadre")]}
    a = cohorts.create_cohort(session, "Lớp A", "khoa-thu")
    b = cohorts.create_cohort(session, "Lớp B", "khoa-thu")
    c = cohorts.create_cohort(session, "Lớp C", "khoa-khac")
    tan_hoa = cohorts.group_named(session, a, "Nhóm 1", "Xã Tân Hòa")
    cohorts.add_member(session, a, people["hv1"], tan_hoa)
    cohorts.add_member(session, a, people["hv2"])
    cohorts.add_member(session, b, people["hv3"])
    cohorts.add_member(session, c, people["hv4"])
    assignments = {"A": cohorts.assign_scenario(session, a, "t1-mau").id,
                   "B": cohorts.assign_scenario(session, b, "t1-mau").id,
                   "C": cohorts.assign_scenario(session, c, "k1-khac").id}
    session.commit()
    return people, assignments


def ranking(session, user, assignment_id):
    return [(q.id, q.votes) for q in panel.ranked(session, user, assignment_id).questions]


def test_questions_are_ranked_by_votes_then_by_who_asked_first_across_the_cohorts_of_the_course(session, course):
    people, aid = course
    first = panel.ask(session, people["hv1"], aid["A"], "Đơn do huyện cũ thụ lý thì ai trả lời? <script>x</script>")
    second = panel.ask(session, people["hv2"], aid["A"], "Đối thoại với đoàn đông người thế nào?")
    third = panel.ask(session, people["hv3"], aid["B"], "Người tố cáo được bảo vệ ra sao?")
    assert "<script" not in first.body and "Đơn do huyện cũ" in first.body
    assert first.cohort == "Lớp A" and third.cohort == "Lớp B"
    panel.vote(session, people["hv3"], aid["B"], second.id)          # cohort B votes on cohort A's question
    panel.vote(session, people["hv1"], aid["A"], second.id)
    panel.vote(session, people["hv1"], aid["A"], third.id)
    session.commit()
    expected = [(second.id, 2), (third.id, 1), (first.id, 0)]
    assert ranking(session, people["hv2"], aid["A"]) == expected == ranking(session, people["hv3"], aid["B"])
    page = panel.learner_page(session, people["hv1"], aid["A"])
    assert page.voted == {second.id, third.id} and [q.id for q in page.mine] == [first.id]
    assert page.ranked.total == 3 and not page.ranked.more


def test_a_person_counts_once_however_often_they_vote(session, course):
    people, aid = course
    question = panel.ask(session, people["hv1"], aid["A"], "Câu hỏi về hồ sơ lưu trữ")
    assert panel.vote(session, people["hv2"], aid["A"], question.id) == panel.VoteResult(question.id, 1, True)
    assert panel.vote(session, people["hv2"], aid["A"], question.id) == panel.VoteResult(question.id, 1, False)
    session.commit()
    assert session.scalar(select(func.count(m.PanelVote.id))) == 1
    assert panel.unvote(session, people["hv2"], aid["A"], question.id).votes == 0
    assert not panel.unvote(session, people["hv2"], aid["A"], question.id).changed
    assert ranking(session, people["hv1"], aid["A"]) == [(question.id, 0)]


def test_merging_moves_the_votes_and_counts_who_voted_both_once(session, course):
    people, aid = course
    keep = panel.ask(session, people["hv1"], aid["A"], "Ai giải quyết khiếu nại quyết định của huyện cũ?")
    duplicate = panel.ask(session, people["hv3"], aid["B"], "Khiếu nại quyết định của Chủ tịch huyện cũ gửi ai?")
    for who, assignment, question in [("hv2", "A", duplicate), ("hv3", "B", duplicate), ("hv3", "B", keep),
                                      ("hv1", "A", keep)]:
        panel.vote(session, people[who], aid[assignment], question.id)
    merged = panel.merge(session, people["gv"], aid["A"], duplicate.id, keep.id)
    session.commit()
    assert merged.id == keep.id and merged.votes == 3                    # hv1, hv2, hv3: not 4
    assert ranking(session, people["hv2"], aid["A"]) == [(keep.id, 3)]
    voters = set(session.scalars(select(m.PanelVote.user_id).where(m.PanelVote.question_id == keep.id)))
    assert voters == {people["hv1"].id, people["hv2"].id, people["hv3"].id}
    mine = panel.learner_page(session, people["hv3"], aid["B"]).mine
    assert [(q.id, q.status, q.merged_into_id) for q in mine] == [(duplicate.id, "merged", keep.id)]
    # a page older than the merge: the vote lands on the question kept
    assert panel.vote(session, people["hv2"], aid["A"], duplicate.id) == panel.VoteResult(keep.id, 3, False)
    assert session.scalar(select(m.AuditEvent.details).where(m.AuditEvent.action == "panel.merge")) == {
        "into": keep.id, "moved_votes": 1}
    with pytest.raises(Conflict):
        panel.merge(session, people["gv"], aid["A"], duplicate.id, keep.id)
    with pytest.raises(Invalid):
        panel.merge(session, people["gv"], aid["A"], keep.id, keep.id)


def test_a_hidden_question_leaves_the_learners_ranking_but_not_the_moderators(session, course):
    people, aid = course
    rude = panel.ask(session, people["hv2"], aid["A"], "Câu hỏi lạc đề")
    fine = panel.ask(session, people["hv1"], aid["A"], "Câu hỏi đúng chủ đề")
    panel.hide(session, people["gv"], aid["A"], rude.id, "Lạc đề")
    session.commit()
    assert ranking(session, people["hv1"], aid["A"]) == [(fine.id, 0)]
    assert [(q.id, q.status) for q in panel.learner_page(session, people["hv2"], aid["A"]).mine] == [
        (rude.id, "hidden")]
    staff = panel.staff_page(session, people["gv"], aid["A"])
    assert staff.counts["hidden"] == 1 and [q.id for q in staff.set_aside] == [rude.id]
    with pytest.raises(NotFound):
        panel.vote(session, people["hv1"], aid["A"], rude.id)
    assert session.scalar(select(m.AuditEvent.details).where(m.AuditEvent.action == "panel.hide"))["reason"] == "Lạc đề"
    panel.unhide(session, people["gv"], aid["A"], rude.id)
    assert {q.id for q in panel.ranked(session, people["hv1"], aid["A"]).questions} == {rude.id, fine.id}


def test_the_panel_picks_and_answers_and_everyone_reads_the_answer(session, course):
    people, aid = course
    question = panel.ask(session, people["hv3"], aid["B"], "Dự phòng ngân sách dùng thế nào?")
    assert panel.pick(session, people["gv"], aid["A"], question.id).status == "picked"
    answered = panel.answer(session, people["gv"], aid["A"], question.id, "Theo **Luật Ngân sách**: ...")
    session.commit()
    assert answered.status == "answered" and answered.answers[0].author == "Đồng chí gv"
    seen = panel.ranked(session, people["hv1"], aid["A"]).questions[0]
    assert seen.status == "answered" and "Luật Ngân sách" in seen.answers[0].body
    assert panel.reopen(session, people["gv"], aid["A"], question.id).status == "open"
    with pytest.raises(Invalid):
        panel.answer(session, people["gv"], aid["A"], question.id, "   ")


def test_the_version_moves_with_every_change_and_with_nothing_else(session, course):
    people, aid = course
    token = panel.version_token
    assert token(session, aid["A"]) == "0:0"                        # nobody asked yet: no board
    question = panel.ask(session, people["hv1"], aid["A"], "Câu hỏi thứ nhất")
    session.commit()
    seen = [token(session, aid["A"])]
    assert seen[0] == token(session, aid["B"]) != token(session, aid["C"])   # one board for the course's cohorts
    for change in (lambda: panel.vote(session, people["hv2"], aid["A"], question.id),
                   lambda: panel.unvote(session, people["hv2"], aid["A"], question.id),
                   lambda: panel.pick(session, people["gv"], aid["A"], question.id),
                   lambda: panel.answer(session, people["gv"], aid["A"], question.id, "Trả lời"),
                   lambda: panel.hide(session, people["gv"], aid["A"], question.id),
                   lambda: panel.unhide(session, people["gv"], aid["A"], question.id),
                   lambda: panel.set_live(session, people["gv"], aid["A"], True),
                   lambda: panel.close(session, people["gv"], aid["A"])):
        change()
        session.commit()
        seen.append(token(session, aid["A"]))
    assert len(set(seen)) == len(seen)
    # looking, a vote already counted, a setting already so: nothing changes
    panel.learner_page(session, people["hv1"], aid["A"])
    panel.staff_page(session, people["gv"], aid["A"])
    panel.close(session, people["gv"], aid["A"])
    session.commit()
    assert token(session, aid["A"]) == seen[-1]
    unit, ctx = units.context(session, people["hv1"], aid["A"], "panel")
    assert unit.version(ctx) == seen[-1]


def test_a_cadre_of_another_course_or_outside_the_cohort_finds_nothing(session, course):
    people, aid = course
    question = panel.ask(session, people["hv1"], aid["A"], "Câu hỏi của lớp A")
    session.commit()
    for attempt in (lambda: panel.ranked(session, people["hv4"], aid["A"]),
                    lambda: panel.vote(session, people["hv4"], aid["A"], question.id),
                    lambda: panel.ask(session, people["hv4"], aid["A"], "Chen ngang"),
                    lambda: panel.vote(session, people["hv4"], aid["C"], question.id),   # not on their panel
                    lambda: units.view(session, people["hv4"], aid["A"], "panel"),
                    lambda: panel.merge(session, people["hv4"], aid["A"], question.id, question.id + 1)):
        with pytest.raises(NotFound):
            attempt()
    assert panel.ranked(session, people["hv4"], aid["C"]).questions == ()


def test_learners_cannot_moderate(session, course):
    people, aid = course
    one = panel.ask(session, people["hv1"], aid["A"], "Một")
    two = panel.ask(session, people["hv2"], aid["A"], "Hai")
    session.commit()
    for attempt in (lambda: panel.merge(session, people["hv1"], aid["A"], two.id, one.id),
                    lambda: panel.hide(session, people["hv1"], aid["A"], two.id),
                    lambda: panel.pick(session, people["hv1"], aid["A"], one.id),
                    lambda: panel.answer(session, people["hv1"], aid["A"], one.id, "Tự trả lời"),
                    lambda: panel.set_live(session, people["hv1"], aid["A"], True),
                    lambda: panel.close(session, people["hv1"], aid["A"]),
                    lambda: panel.staff_page(session, people["hv1"], aid["A"]),
                    lambda: units.act(session, people["hv1"], aid["A"], "panel", "hide", {"question_id": one.id},
                                      staff=True)):
        with pytest.raises(Forbidden):
            attempt()
    with pytest.raises(NotFound):           # not an action of the learners' door
        units.act(session, people["hv1"], aid["A"], "panel", "hide", {"question_id": one.id})
    assert {q.status for q in panel.ranked(session, people["hv2"], aid["A"]).questions} == {"open"}


def test_a_question_for_the_group_needs_a_group_and_names_its_commune(session, course):
    people, aid = course
    with pytest.raises(Forbidden, match="chưa thuộc nhóm"):
        panel.ask(session, people["hv2"], aid["A"], "Thay nhóm", for_group=True)
    asked = panel.ask(session, people["hv1"], aid["A"], "Câu hỏi của điểm cầu Tân Hòa", for_group=True)
    assert (asked.group, asked.commune, asked.author) == ("Nhóm 1", "Xã Tân Hòa", "Đồng chí hv1")
    state = units.view(session, people["hv1"], aid["A"], "panel").state
    assert state["group"] == {"name": "Nhóm 1", "commune": "Xã Tân Hòa"}
    assert units.view(session, people["hv2"], aid["A"], "panel").state["group"] is None


def test_a_panel_without_group_questions_refuses_them(session, course, monkeypatch):
    people, aid = course
    unit = registry.unit("panel")
    spec = dict(unit.content(units.context(session, people["hv1"], aid["A"], "panel")[1].scenario))
    monkeypatch.setattr(type(unit), "content", lambda self, scenario: {**spec, "allow_group_questions": False})
    assert units.view(session, people["hv1"], aid["A"], "panel").state["group"] is None
    with pytest.raises(Invalid):
        units.act(session, people["hv1"], aid["A"], "panel", "ask", {"body": "Thay nhóm", "for_group": True})
    units.act(session, people["hv1"], aid["A"], "panel", "ask", {"body": "Cho riêng tôi"})


def test_a_closed_board_takes_no_question_and_no_vote_until_it_opens_again(session, course):
    people, aid = course
    question = panel.ask(session, people["hv1"], aid["A"], "Trước khi đóng")
    assert panel.close(session, people["gv"], aid["A"]).closed
    with pytest.raises(Conflict, match="kết thúc"):
        panel.ask(session, people["hv2"], aid["A"], "Sau khi đóng")
    with pytest.raises(Conflict):
        panel.vote(session, people["hv2"], aid["A"], question.id)
    # the panel may still answer afterwards
    assert panel.answer(session, people["gv"], aid["A"], question.id, "Trả lời sau buổi tọa đàm").status == "answered"
    state = units.view(session, people["hv2"], aid["A"], "panel").state
    assert state["board_closed"] and not state["can_ask"]
    assert not panel.close(session, people["gv"], aid["A"], closed=False).closed
    panel.ask(session, people["hv2"], aid["A"], "Mở lại rồi")


def test_input_is_bounded_and_sanitised(session, course):
    people, aid = course
    with pytest.raises(Invalid, match="tối đa 1000"):
        panel.ask(session, people["hv1"], aid["A"], "x" * 1001)
    for empty in ("", "   ", "<b></b>"):
        with pytest.raises(Invalid):
            panel.ask(session, people["hv1"], aid["A"], empty)
    with pytest.raises(Invalid, match="ký tự điều khiển"):
        panel.ask(session, people["hv1"], aid["A"], "a\x00b")
    asked = panel.ask(session, people["hv1"], aid["A"],
                      '<a href="javascript:alert(1)" onclick="x()">xem</a> www.gov.vn')
    assert "javascript" not in asked.body and "onclick" not in asked.body and 'href="http://www.gov.vn"' in asked.body
    for n in range(panel.MAX_QUESTIONS_PER_PERSON - 1):
        panel.ask(session, people["hv1"], aid["A"], f"Câu hỏi số {n}")
    with pytest.raises(Conflict, match="tối đa"):
        panel.ask(session, people["hv1"], aid["A"], "Một câu nữa")


def test_the_unit_plays_through_the_contract_and_renders_in_any_host(session, course):
    people, aid = course
    view = units.act(session, people["hv1"], aid["A"], "panel", "ask", {"body": "Qua hợp đồng", "for_group": "on"})
    question = view.state["questions"][0]
    assert question["group"] == "Nhóm 1" and question["mine"] and not question["voted"]
    view = units.act(session, people["hv2"], aid["A"], "panel", "vote", {"question_id": str(question["id"])})
    assert view.state["questions"][0]["votes"] == 1 and view.state["questions"][0]["voted"]
    assert view.version == panel.version_token(session, aid["A"])
    staff = units.act(session, people["gv"], aid["A"], "panel", "answer",
                      {"question_id": question["id"], "body": "Trả lời của chuyên gia"}, staff=True)
    assert staff.state["counts"]["answered"] == 1 and staff.state["questions"][0]["username"] == "hv1"
    session.commit()
    view = units.view(session, people["hv2"], aid["A"], "panel")
    assert view.state["questions"][0]["answers"][0]["author"] == "Đồng chí gv"
    json.dumps(view.as_json()), json.dumps(staff.as_json())          # JSON-ready: times as ISO text
    assert view.view["prompt_html"] == ("<p>Các chuyên gia trả lời câu hỏi về <strong>thẩm quyền</strong> "
                                        "giải quyết đơn thư.</p>\n")
    with pytest.raises(Invalid):
        units.act(session, people["hv1"], aid["A"], "panel", "vote", {"question_id": "abc"})
    unit = registry.unit("panel")
    env = render.environment(lambda s, **kw: s % kw if kw else s, lambda s, p, n, **kw: s if n == 1 else p)
    for which, shown, staff_view in (("learner", view, False), ("staff", staff, True)):
        html = env.get_template(render.template_name(unit, which)).render(render.template_context(
            unit=unit, view=shown.view, state=shown.state, staff=staff_view, closed=False,
            action_url=lambda name: f"/act/{name}", csrf_token="t", static_url=lambda f: f"/s/{f}",
            when=lambda moment: moment.strftime("%d/%m/%Y %H:%M") if moment else ""))
        assert "Qua hợp đồng" in html and "Trả lời của chuyên gia" in html and 'action="/act/' in html


def test_show_more_widens_the_persons_page(session, course, monkeypatch):
    people, aid = course
    monkeypatch.setattr(panel, "PAGE", 2)
    for n in range(5):
        panel.ask(session, people["hv1"], aid["A"], f"Câu {n}")
    state = units.view(session, people["hv2"], aid["A"], "panel").state
    assert len(state["questions"]) == 2 and state["more"] and state["total"] == 5 and state["next_limit"] == 4
    state = units.act(session, people["hv2"], aid["A"], "panel", "more", {"limit": 4}).state
    assert len(state["questions"]) == 4 and state["more"]
    assert len(units.view(session, people["hv2"], aid["A"], "panel").state["questions"]) == 4   # kept for them
    assert len(units.view(session, people["hv1"], aid["A"], "panel").state["questions"]) == 2   # not for others


def test_progress_and_export(session, course):
    people, aid = course
    one = panel.ask(session, people["hv1"], aid["A"], "=HYPERLINK(\"x\") Câu hỏi một", for_group=True)
    two = panel.ask(session, people["hv3"], aid["B"], "Câu hỏi hai")
    panel.vote(session, people["hv2"], aid["A"], two.id)
    panel.answer(session, people["gv"], aid["A"], two.id, "Trả lời <b>thứ nhất</b>")
    panel.answer(session, people["gv"], aid["A"], two.id, "Bổ sung")
    session.commit()
    counts = {aid_: dict(units.progress(session, people["gv"], aid_))
              for aid_ in (aid["A"], aid["B"])}
    panel_counts = {aid_: next(c for info, c in found.items() if info.type_id == "panel")
                    for aid_, found in counts.items()}
    assert panel_counts[aid["A"]] == {"Câu hỏi gửi tọa đàm": 1, "Lượt bình chọn câu hỏi": 0,
                                      "Câu hỏi đã được trả lời": 0}
    assert list(panel_counts[aid["B"]].values()) == [1, 1, 1]
    table = units.export(session, people["gv"], aid["A"], "panel")
    rows = list(table.rows)
    assert table.headers[:4] == ("Mã câu hỏi", "Câu hỏi", "Bình chọn", "Trạng thái")
    assert [r[0] for r in rows] == [two.id, one.id]                     # ranked
    first = dict(zip(table.headers, rows[0]))
    assert (first["Bình chọn"], first["Trạng thái"], first["Lớp"], first["Tên đăng nhập"]) == (
        1, "Đã trả lời", "Lớp B", "hv3")
    assert first["Trả lời"] == "Trả lời thứ nhất\n\nBổ sung"
    second = dict(zip(table.headers, rows[1]))
    assert (second["Nhóm"], second["Xã"], second["Trả lời"]) == ("Nhóm 1", "Xã Tân Hòa", "")
    with pytest.raises(Forbidden):
        units.export(session, people["hv1"], aid["A"], "panel")
