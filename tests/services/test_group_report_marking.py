"""A submitted group report is marked like an essay (two blind examiners, the report rubric), released to every
member of the group and to nobody else, and never counted as anyone's essay; on every backend."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lms_plugin.core.essays import count_words, sha256
from lms_plugin.sanitize import to_text
from lms_plugin.services import dashboard, discussion, grading, progress, release, similarity
from lms_plugin.services.errors import Conflict, Forbidden, NotFound
from lms_plugin.store import models as m
from tests.services.marking_course import REPORT_BODY, build, mark


@pytest.fixture
def course(session, tree):
    course = build(session, tree)
    session.commit()
    return course


def submit_report(session, course) -> m.Essay:
    people, assignment = course.people, course.assignment
    discussion.save_group_report(session, people["hv3"], assignment.id, REPORT_BODY, revision=0)
    discussion.submit_group_report(session, people["hv1"], assignment.id)
    session.commit()
    return session.scalar(select(m.Essay).where(m.Essay.kind == "report"))


def test_a_submitted_report_is_queued_for_two_examiners_with_the_report_rubric(session, course):
    essay = submit_report(session, course)
    people = course.people
    assert (essay.group_id, essay.user_id, essay.version) == (course.groups["tan-hoa"].id, people["hv1"].id, 1)
    assert essay.body == REPORT_BODY and essay.sha256 == sha256(REPORT_BODY)
    assert essay.words == count_words(to_text(REPORT_BODY)) == 15      # the words, not the tags
    rounds = session.execute(select(m.Grade.round, m.Grade.examiner_id).where(m.Grade.essay_id == essay.id)
                             .order_by(m.Grade.round)).all()
    assert [r for r, _ in rounds] == [1, 2] and len({e for _, e in rounds}) == 2
    for _round, examiner_id in rounds:
        queue = grading.grading_queue(session, session.get(m.User, examiner_id))
        item = next(q for q in queue if q.essay_id == essay.id)
        assert item.kind == "report" and item.rubric["id"] == "bao-cao"
        assert [c["title"] for c in item.rubric["criteria"]] == ["Lập luận của nhóm"]
    result = session.scalar(select(m.EssayResult).where(m.EssayResult.essay_id == essay.id))
    assert result.status == "awaiting_marks"
    # never similarity-checked, and a group submits once (the report is locked)
    assert session.scalar(select(func.count()).select_from(m.SimilarityReport)) == 0
    with pytest.raises(Conflict):
        discussion.submit_group_report(session, people["hv3"], course.assignment.id)


def test_marked_reconciled_released_every_member_sees_the_mark_and_no_one_else(session, course):
    essay = submit_report(session, course)
    people, assignment = course.people, course.assignment
    mark(session, essay.id, [3, 3], criterion="lap-luan", comment="Lập luận chặt chẽ")
    session.commit()
    assert discussion.report_grade(session, people["hv3"], assignment.id) is None      # final, not released
    with pytest.raises(Forbidden):
        grading.grade_for_author(session, people["hv1"], essay.id)
    assert release.release(session, people["gv"], assignment.id).released == 1
    session.commit()
    for member in ("hv1", "hv3"):          # the one who submitted, and one who did not
        seen = grading.grade_for_author(session, people[member], essay.id)
        assert (seen.kind, seen.final, seen.scale) == ("report", 7.5, 10)
        assert seen.criteria[0]["comments"] == ["Lập luận chặt chẽ", "Lập luận chặt chẽ"]
        assert discussion.report_grade(session, people[member], assignment.id).final == 7.5
        told = session.scalar(select(m.Notification).where(m.Notification.user_id == people[member].id,
                                                           m.Notification.kind == "released"))
        assert told.link == f"/cadre/essays/{essay.id}/grade"
    for outsider in ("hv2", "hv4"):
        with pytest.raises(NotFound):
            grading.grade_for_author(session, people[outsider], essay.id)
        assert discussion.report_grade(session, people[outsider], assignment.id) is None


def test_a_report_is_nobodys_essay(session, course):
    essay = submit_report(session, course)
    people, assignment = course.people, course.assignment
    card = dashboard.assignment_card(session, people["hv1"], assignment.id)
    assert card.report_submitted and card.essay_id is None
    group = progress.cadres_level(session, people["gv"], assignment.id, course.groups["tan-hoa"].id)
    assert group.cadres and all(member.essays == 0 for member in group.cadres)
    assert group.totals.submitted == 0 and group.group.report_submitted
    assert similarity.latest_essays(session, course.cohort.course_id) == []
    assert similarity.check_essay(session, essay.id)["status"] == "missing"
    assert session.scalar(select(func.count()).select_from(m.SimilarityReport)) == 0


def test_without_a_report_rubric_the_report_is_kept_but_not_marked(session, course):
    course.assignment.report_rubric_version_id = None
    session.flush()
    submit_report(session, course)
    assert session.scalar(select(func.count()).select_from(m.Essay)) == 0
    assert discussion.get_group_report(session, course.people["hv1"], course.assignment.id).submitted_at
