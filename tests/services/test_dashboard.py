"""The cadre's dashboard: assignments by topic with the course's titles, open work first, one next step each,
read in the same few statements whatever the number of assignments."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select

from lms_plugin.core.courses import Course, Topic
from lms_plugin.services import accounts, attempts, cohorts, dashboard, discussion
from lms_plugin.services.dashboard import AssignmentCard, NextStep, next_step, topic_groups
from lms_plugin.store import models as m

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=timezone.utc)
COURSE = "boi-duong-can-bo-co-so-2026"

BASE = AssignmentCard(
    assignment_id=1, title="Tình huống", summary="", topic="1", state="open",
    opens_at=NOW - timedelta(days=1), closes_at=NOW + timedelta(days=5), group_name="Xã Tân Hòa",
    has_discussion=True, has_report=True, has_essay=True, case_started=False, case_finished=False,
    my_posts=0, group_posts=0, report_submitted=False, essay_id=None, essay_submitted_at=None,
    grades_released=False, min_words=600, max_words=None)


def card(**changes) -> AssignmentCard:
    return dataclasses.replace(BASE, **changes)


FINISHED = {"case_started": True, "case_finished": True}
GROUP_DONE = {**FINISHED, "my_posts": 2, "group_posts": 5, "report_submitted": True}
SUBMITTED = {"essay_id": 7, "essay_submitted_at": NOW - timedelta(hours=2)}


# The next step, state by state

@pytest.mark.parametrize(("changes", "kind", "label"), [
    ({}, "case", "Bắt đầu tình huống"),
    ({"case_started": True}, "case", "Tiếp tục tình huống"),
    (FINISHED, "discussion", "Thảo luận nhóm"),
    ({**FINISHED, "my_posts": 1, "group_posts": 3}, "report", "Nộp báo cáo nhóm"),
    (GROUP_DONE, "essay", "Viết bài thu hoạch"),
    ({**GROUP_DONE, **SUBMITTED}, "waiting", "Đã nộp — chờ kết quả chấm"),
    ({**GROUP_DONE, **SUBMITTED, "grades_released": True}, "grade", "Xem điểm"),
    ({**FINISHED, "group_name": None}, "essay", "Viết bài thu hoạch"),       # no group: no discussion to join
    ({**GROUP_DONE, "has_essay": False}, "done", "Đã hoàn thành"),
    ({"state": "closed"}, "missed", "Đã đóng — bạn chưa nộp bài thu hoạch"),
    ({"state": "closed", "accepts_late": True}, "essay", "Viết bài thu hoạch (nộp muộn)"),
    ({"state": "closed", **SUBMITTED}, "waiting", "Đã nộp — chờ kết quả chấm"),
    ({"state": "closed", **SUBMITTED, "grades_released": True}, "grade", "Xem điểm"),
    ({"state": "closed", "has_essay": False}, "closed", "Đã đóng"),
])
def test_the_next_step_follows_the_work_in_the_order_of_the_course(changes, kind, label):
    step = next_step(card(**changes))
    assert (step.kind, step.label) == (kind, label)
    assert step.is_action == (kind in {"case", "discussion", "report", "essay", "grade"})
    assert card(**changes).next_step == step


def test_an_assignment_not_yet_open_says_when_it_opens_and_offers_nothing_to_do():
    opens = NOW + timedelta(days=2)
    step = next_step(card(state="not_open", opens_at=opens, **GROUP_DONE))
    assert step == NextStep("not_open", "Mở lúc %(t)s", opens) and not step.is_action


# Grouping by topic

TOPICS = Course(COURSE, "Khóa học", (Topic(1, "Quản trị toàn diện cấp xã"), Topic(2, "Tăng trưởng hai con số"),
                                     Topic(3, "Điểm nghẽn thể chế"), Topic(4, "")))


def test_topics_with_open_work_come_first_then_in_the_course_order():
    cards = [
        card(assignment_id=1, topic="1", state="closed", closes_at=NOW - timedelta(days=1)),
        card(assignment_id=2, topic="2", state="not_open", opens_at=NOW + timedelta(days=1)),
        card(assignment_id=3, topic="3", state="open", closes_at=NOW + timedelta(days=4)),
        card(assignment_id=4, topic="4", state="closed"),
        card(assignment_id=5, topic="3", state="closed", closes_at=NOW - timedelta(days=2)),
        card(assignment_id=6, topic="3", state="not_open", closes_at=NOW + timedelta(days=9)),
        card(assignment_id=7, topic="3", state="open", closes_at=NOW + timedelta(days=1)),
        card(assignment_id=8, topic="9", state="closed"),         # a topic the course file does not list
        card(assignment_id=9, topic="4", state="open", closes_at=None),
    ]
    groups = topic_groups((c, TOPICS) for c in cards)
    assert [(g.topic_id, g.title) for g in groups] == [
        ("3", "Điểm nghẽn thể chế"), ("4", None), ("1", "Quản trị toàn diện cấp xã"),
        ("2", "Tăng trưởng hai con số"), ("9", None)]
    # open (earliest deadline first), then not yet open, then closed
    assert [c.assignment_id for c in groups[0].cards] == [7, 3, 6, 5]
    assert [c.assignment_id for c in groups[1].cards] == [9, 4]
    with pytest.raises(dataclasses.FrozenInstanceError):
        groups[0].title = "Khác"


def test_the_same_topic_number_in_two_courses_stays_two_sections():
    other = Course("khoa-khac", "Khóa khác", (Topic(1, "Chuyển đổi số"),))
    groups = topic_groups([(card(assignment_id=1), TOPICS), (card(assignment_id=2), other)])
    assert [g.title for g in groups] == ["Quản trị toàn diện cấp xã", "Chuyển đổi số"]


# From the store

@pytest.fixture
def cohort(session, content):
    cohort = cohorts.create_cohort(session, "Lớp bồi dưỡng 1", COURSE)
    group = cohorts.group_named(session, cohort, "Xã Tân Hòa")
    cadre, peer = (accounts.create_user(session, name, "cadre", None) for name in ("hv1", "hv2"))
    cohorts.add_member(session, cohort, cadre, group)
    cohorts.add_member(session, cohort, peer, group)
    session.commit()
    return cohort, cadre, peer


def assign(session, cohort, slug: str, opens: timedelta, closes: timedelta) -> m.Assignment:
    return cohorts.assign_scenario(session, cohort, slug, opens_at=NOW + opens, closes_at=NOW + closes)


def statements(session, user) -> tuple[int, dashboard.Dashboard]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        session.expire_all()            # nothing already loaded: a lazy relationship would show as a query
        user = session.get(m.User, user.id)
        seen.clear()
        view = dashboard.cadre_dashboard(session, user, now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen), view


def test_the_dashboard_groups_by_topic_with_the_course_titles_and_counts_what_is_due(session, cohort):
    cohort, cadre, peer = cohort
    t3 = assign(session, cohort, "t3-cho-trung-tam-tham-quyen-chua-ro", -timedelta(days=1), timedelta(hours=20))
    t1 = assign(session, cohort, "t1-bo-may-xa-hop-nhat", -timedelta(days=5), -timedelta(days=1))
    t2 = assign(session, cohort, "t2-lua-chon-dau-tu-cong", timedelta(days=1), timedelta(days=6))
    t3_later = assign(session, cohort, "t3-tam-ly-so-sai-xin-y-kien", -timedelta(days=1), timedelta(days=3))
    t4 = assign(session, cohort, "t4-bang-dieu-khien-mot-cua", -timedelta(days=1), timedelta(hours=30))
    session.commit()
    attempts.start_attempt(session, cadre, t4.id, now=NOW)
    session.commit()

    view = dashboard.cadre_dashboard(session, cadre, now=NOW)
    assert [(g.topic_id, g.title) for g in view.groups] == [
        ("3", "Điểm nghẽn thể chế và rào cản nội tại trong quản trị cấp xã, giải pháp đột phá"),
        ("4", "Ra quyết định dựa trên dữ liệu: sử dụng dữ liệu, AI và nền tảng số trong quản trị cấp xã"),
        ("1", "Quản trị toàn diện và xây dựng, phát triển cấp xã trong mô hình chính quyền địa phương hai cấp"),
        ("2", "Lãnh đạo, chỉ đạo phát triển xã đạt mục tiêu tăng trưởng hai con số")]
    assert [[c.assignment_id for c in g.cards] for g in view.groups] == [[t3.id, t3_later.id], [t4.id], [t1.id],
                                                                         [t2.id]]
    steps = {c.assignment_id: c.next_step for g in view.groups for c in g.cards}
    assert steps[t3.id].label == "Bắt đầu tình huống" and steps[t4.id].label == "Tiếp tục tình huống"
    assert steps[t1.id].label == "Đã đóng — bạn chưa nộp bài thu hoạch"
    assert steps[t2.id] == NextStep("not_open", "Mở lúc %(t)s", NOW + timedelta(days=1))
    assert view.open_count == 3 and view.due_soon == 2          # t3 in 20 hours, t4 in 30; not t3_later

    # another member's post counts for the group, not as this cadre's own contribution
    finished = session.get(m.Assignment, t3.id)
    finished_attempt = attempts.start_attempt(session, cadre, finished.id, now=NOW)
    session.get(m.Attempt, finished_attempt.id).finished_at = NOW
    discussion.post_message(session, peer, t3.id, "Ý kiến của đồng chí hv2", now=NOW)
    session.commit()
    found = {c.assignment_id: c for g in dashboard.cadre_dashboard(session, cadre, now=NOW).groups for c in g.cards}
    assert (found[t3.id].my_posts, found[t3.id].group_posts) == (0, 1)
    assert found[t3.id].next_step.label == "Thảo luận nhóm"
    assert dashboard.assignment_card(session, cadre, t3.id, now=NOW) == found[t3.id]


def test_the_dashboard_reads_in_the_same_statements_for_one_assignment_or_fifteen(session, cohort):
    cohort, cadre, peer = cohort
    slugs = list(session.scalars(select(m.Scenario.slug).order_by(m.Scenario.slug)))
    assert len(slugs) == 15
    first = assign(session, cohort, slugs[0], -timedelta(days=1), timedelta(days=2))
    session.commit()
    attempts.start_attempt(session, cadre, first.id, now=NOW)
    discussion.post_message(session, cadre, first.id, "Ý kiến đầu tiên", now=NOW)
    session.commit()
    one, view = statements(session, cadre)
    assert view.open_count == 1 and one == 6     # assignments, attempts, essays, posts, reports, course

    for i, slug in enumerate(slugs[1:], start=1):
        later = assign(session, cohort, slug, timedelta(days=i % 3 - 1), timedelta(days=i))
        session.commit()
        if later.opens_at <= NOW:
            attempts.start_attempt(session, cadre, later.id, now=NOW)
            discussion.post_message(session, peer, later.id, f"Ý kiến {i}", now=NOW)
    cohorts.grant_extension(session, accounts.create_user(session, "gv", "lecturer", None), first.id, cadre.id,
                            NOW + timedelta(days=4), "ốm")
    session.commit()
    fifteen, view = statements(session, cadre)
    assert fifteen == one
    assert sum(len(g.cards) for g in view.groups) == 15 and len(view.groups) == 4
    extended = next(c for g in view.groups for c in g.cards if c.assignment_id == first.id)
    assert extended.closes_at == NOW + timedelta(days=4)
