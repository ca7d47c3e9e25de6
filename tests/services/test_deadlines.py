"""Assignments that change with the course: deadlines, extensions, late work, reopening, drafts left at the
deadline, and the recommendations section every essay must have. Through the services, on every backend."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from lms_plugin.core.essays import sha256
from lms_plugin.services import accounts, attempts, cohorts, deadlines, discussion, essays
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog, scenario_data
from lms_plugin.services.errors import Conflict, Forbidden, Invalid, NotFound
from lms_plugin.store import models as m
from tests.samples import SCENARIO

NOW = datetime(2026, 12, 10, 10, 0, tzinfo=timezone.utc)
DEADLINE = NOW - timedelta(hours=1)
TEXT = "Xã Tân Hòa cần số hóa hồ sơ đất đai và công khai quy trình một cửa cho người dân. " * 2
RECOMMEND = "\n\n## Kiến nghị, đề xuất\n\nĐề nghị tỉnh hướng dẫn bàn giao hồ sơ.\n"
ESSAY = TEXT + RECOMMEND
WITH_SECTION = SCENARIO + "  recommendations_section: Kiến nghị, đề xuất\n"
WARNING_ONLY = (WITH_SECTION.replace("id: t1-mau", "id: t1-canh-bao")
                + "  recommendations_check: warn\n  sections: [Thực trạng, \"Kiến nghị, đề xuất\"]\n")


@pytest.fixture
def course(session, tree):
    (tree / "scenarios" / "t1-mau.yaml").write_text(WITH_SECTION, encoding="utf-8")
    (tree / "scenarios" / "t1-canh-bao.yaml").write_text(WARNING_ONLY, encoding="utf-8")
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    people = {name: accounts.create_user(session, name, role, "mat-khau-123")
              for name, role in [("gv", "lecturer"), ("hv1", "cadre"), ("hv2", "cadre"), ("hv3", "cadre"),
                                 ("gk1", "examiner"), ("gk2", "examiner")]}
    cohort = cohorts.create_cohort(session, "Lớp 1", "khoa-thu")
    group = cohorts.group_named(session, cohort, "Xã Tân Hòa")
    for name in ("hv1", "hv2", "hv3"):
        cohorts.add_member(session, cohort, people[name], group)
    assignment = cohorts.assign_scenario(session, cohort, "t1-mau", opens_at=NOW - timedelta(days=7),
                                         closes_at=DEADLINE, examiners=[people["gk1"], people["gk2"]])
    session.commit()
    return people, assignment


def events(session, action: str) -> list[m.AuditEvent]:
    return list(session.scalars(select(m.AuditEvent).where(m.AuditEvent.action == action).order_by(m.AuditEvent.id)))


def test_an_extension_lets_one_cadre_work_on_while_the_others_are_refused(session, course):
    people, assignment = course
    with pytest.raises(Forbidden, match="hết hạn"):
        essays.submit_essay(session, people["hv2"], assignment.id, ESSAY, now=NOW)
    with pytest.raises(Forbidden):
        cohorts.grant_extension(session, people["hv2"], assignment.id, people["hv2"].id, NOW + timedelta(days=1))
    with pytest.raises(Invalid, match="sau hạn chót chung"):
        cohorts.grant_extension(session, people["gv"], assignment.id, people["hv1"].id, DEADLINE - timedelta(hours=1))
    granted = cohorts.grant_extension(session, people["gv"], assignment.id, people["hv1"].id,
                                      NOW + timedelta(days=2), "Ốm, có giấy của trạm y tế")
    assert granted.username == "hv1" and granted.closes_at == NOW + timedelta(days=2)

    shown = cohorts.window_for(session, assignment, people["hv1"])
    assert shown.extended and shown.state(NOW) == "open"
    assert cohorts.window_for(session, assignment, people["hv2"]).state(NOW) == "closed"
    receipt = essays.submit_essay(session, people["hv1"], assignment.id, ESSAY, now=NOW)
    assert not receipt.late
    state = attempts.start_attempt(session, people["hv1"], assignment.id, now=NOW)   # the case too
    attempts.choose(session, people["hv1"], state.id, "s1", "a", now=NOW)
    discussion.post_message(session, people["hv1"], assignment.id, "Tôi được gia hạn", now=NOW)
    with pytest.raises(Forbidden, match="hết hạn"):
        discussion.post_message(session, people["hv2"], assignment.id, "Còn kịp không?", now=NOW)
    with pytest.raises(Forbidden, match="hết hạn"):
        essays.submit_essay(session, people["hv2"], assignment.id, ESSAY, now=NOW)

    grant = events(session, "assignment.extension.grant")[0]
    assert (grant.target_type, grant.target_id, grant.actor_id) == ("assignment", str(assignment.id), people["gv"].id)
    assert grant.details["username"] == "hv1" and grant.details["reason"] == "Ốm, có giấy của trạm y tế"
    assert grant.details["closes_at"]["before"] is None
    assert grant.details["closes_at"]["after"].startswith("2026-12-12T10:00")

    cohorts.revoke_extension(session, people["gv"], assignment.id, people["hv1"].id)
    assert cohorts.window_for(session, assignment, people["hv1"]).state(NOW) == "closed"
    revoke = events(session, "assignment.extension.revoke")[0]
    assert revoke.details["closes_at"]["after"] is None and revoke.details["closes_at"]["before"]
    with pytest.raises(NotFound):
        cohorts.revoke_extension(session, people["gv"], assignment.id, people["hv1"].id)


def test_an_extension_is_only_for_a_member_of_the_cohort(session, course):
    people, assignment = course
    outsider = accounts.create_user(session, "hv9", "cadre", "mat-khau-123")
    with pytest.raises(NotFound, match="không thuộc lớp"):
        cohorts.grant_extension(session, people["gv"], assignment.id, outsider.id, NOW + timedelta(days=1))


def test_late_work_is_refused_or_accepted_and_flagged_by_the_policy(session, course):
    people, assignment = course
    with pytest.raises(Forbidden, match="hết hạn"):
        essays.save_draft(session, people["hv1"], assignment.id, "Bản nháp muộn", now=NOW)
    with pytest.raises(Forbidden, match="hết hạn"):
        essays.submit_essay(session, people["hv1"], assignment.id, ESSAY, now=NOW)

    cohorts.update_assignment(session, people["gv"], assignment.id, late_policy="accept_late", now=NOW)
    essays.save_draft(session, people["hv1"], assignment.id, "Bản nháp muộn", now=NOW)     # drafts still saved
    late = essays.submit_essay(session, people["hv1"], assignment.id, ESSAY, now=NOW)
    on_time = essays.submit_essay(session, people["hv2"], assignment.id, ESSAY, now=DEADLINE - timedelta(minutes=1))
    session.commit()
    assert late.late and not on_time.late
    assert session.get(m.Essay, late.id).late is True and session.get(m.Essay, on_time.id).late is False
    assert essays.essay_window(session, people["hv3"], assignment.id, NOW).state == "late"
    submitted = [e for e in events(session, "essay.submit") if e.target_id == str(late.id)][0]
    assert submitted.details["late"] is True
    with pytest.raises(Forbidden, match="hết hạn"):       # late policy is for essays only
        discussion.post_message(session, people["hv3"], assignment.id, "Muộn", now=NOW)
    update = events(session, "assignment.update")[0]
    assert update.details == {"late_policy": {"before": "refuse", "after": "accept_late"}}


def test_reopening_a_closed_assignment_is_audited_with_before_and_after(session, course):
    people, assignment = course
    new_deadline = NOW + timedelta(days=3)
    with pytest.raises(Forbidden):
        cohorts.update_assignment(session, people["hv1"], assignment.id, closes_at=new_deadline)
    with pytest.raises(Invalid, match="phải sau thời điểm mở"):
        cohorts.update_assignment(session, people["gv"], assignment.id, closes_at=NOW - timedelta(days=8))
    with pytest.raises(Invalid, match="Không sửa được mục"):
        cohorts.update_assignment(session, people["gv"], assignment.id, cohort_id=2)
    cohorts.update_assignment(session, people["gv"], assignment.id, closes_at=new_deadline, now=NOW)
    session.commit()
    receipt = essays.submit_essay(session, people["hv1"], assignment.id, ESSAY, now=NOW)
    assert not receipt.late
    reopen = events(session, "assignment.reopen")
    assert len(reopen) == 1 and reopen[0].actor_id == people["gv"].id
    assert reopen[0].details["closes_at"]["before"].startswith("2026-12-10T09:00")
    assert reopen[0].details["closes_at"]["after"].startswith("2026-12-13T10:00")

    cohorts.update_assignment(session, people["gv"], assignment.id, allow_retry=True, appeal_days=14,
                              auto_submit_drafts=True, closes_at=new_deadline, now=NOW)
    change = events(session, "assignment.update")[-1]
    assert change.details == {"allow_retry": {"before": False, "after": True},
                              "appeal_days": {"before": 7, "after": 14},
                              "auto_submit_drafts": {"before": False, "after": True}}
    cohorts.update_assignment(session, people["gv"], assignment.id, appeal_days=14, now=NOW)
    assert len(events(session, "assignment.update")) == 1          # nothing changed, nothing recorded
    with pytest.raises(Invalid, match="phúc khảo"):
        cohorts.update_assignment(session, people["gv"], assignment.id, appeal_days=-1)
    with pytest.raises(Invalid, match="nộp muộn"):
        cohorts.update_assignment(session, people["gv"], assignment.id, late_policy="maybe")


def test_drafts_left_at_the_deadline_are_submitted_for_their_authors(session, course):
    people, assignment = course
    before = DEADLINE - timedelta(hours=2)
    short = "Chỉ một câu ngắn.\n\n## Kiến nghị, đề xuất\n"        # too short, section empty: still submitted
    essays.save_draft(session, people["hv1"], assignment.id, short, now=before)
    essays.save_draft(session, people["hv2"], assignment.id, ESSAY, now=before)
    essays.submit_essay(session, people["hv2"], assignment.id, ESSAY, now=before)       # already submitted
    essays.save_draft(session, people["hv3"], assignment.id, essays.starting_text(
        scenario_data(assignment.scenario_version).essay), now=before)          # headings only: empty
    session.commit()

    assert deadlines.auto_submit_due(session, NOW) == 0          # the assignment does not ask for it
    cohorts.update_assignment(session, people["gv"], assignment.id, auto_submit_drafts=True, now=NOW)
    assert [d.username for d in essays.unsubmitted_drafts(session, people["gv"], assignment.id)] == ["hv1"]
    assert deadlines.auto_submit_due(session, NOW, batch=1) == 1
    session.commit()
    assert deadlines.auto_submit_due(session, NOW) == 0          # once only

    essay = essays.latest_essay(session, people["hv1"], assignment.id)
    assert essay.auto_submitted and not essay.late and essay.body == short and essay.sha256 == sha256(short)
    examiners = {g.examiner.username for g in session.scalars(select(m.Grade).where(m.Grade.essay_id == essay.id))}
    assert examiners == {"gk1", "gk2"}                            # allocated like any submission
    audit = events(session, "essay.auto_submit")[0]
    assert audit.actor_id is None and audit.details["too_short"] is True
    assert audit.details["min_words"] == 10 and audit.details["recommendations"] == "empty"
    author_sees, _named = essays.readable_essay(session, people["hv1"], essay.id)
    assert author_sees.body == short and essays.get_draft(session, people["hv1"], assignment.id).body == short
    assert essays.unsubmitted_drafts(session, people["gv"], assignment.id) == []


def test_an_extended_cadres_draft_waits_for_their_own_deadline(session, course):
    people, assignment = course
    cohorts.update_assignment(session, people["gv"], assignment.id, auto_submit_drafts=True, now=NOW)
    for name in ("hv1", "hv2"):
        essays.save_draft(session, people[name], assignment.id, ESSAY, now=DEADLINE - timedelta(hours=1))
    cohorts.grant_extension(session, people["gv"], assignment.id, people["hv1"].id, NOW + timedelta(days=1))
    assert deadlines.auto_submit_due(session, NOW) == 1
    assert essays.latest_essay(session, people["hv1"], assignment.id) is None
    assert essays.latest_essay(session, people["hv2"], assignment.id).auto_submitted
    assert deadlines.auto_submit_due(session, NOW + timedelta(days=1)) == 1
    assert essays.latest_essay(session, people["hv1"], assignment.id).auto_submitted


def test_the_lecturer_reads_a_draft_never_submitted(session, course):
    people, assignment = course
    essays.save_draft(session, people["hv1"], assignment.id, TEXT, now=DEADLINE - timedelta(hours=1))
    [listed] = essays.unsubmitted_drafts(session, people["gv"], assignment.id)
    assert (listed.username, listed.words) == ("hv1", 40)
    author, draft = essays.draft_for_staff(session, people["gv"], assignment.id, people["hv1"].id)
    assert author.username == "hv1" and draft.body == TEXT
    with pytest.raises(Forbidden):
        essays.unsubmitted_drafts(session, people["hv2"], assignment.id)
    with pytest.raises(Forbidden):
        essays.draft_for_staff(session, people["hv2"], assignment.id, people["hv1"].id)
    with pytest.raises(NotFound):
        essays.draft_for_staff(session, people["gv"], assignment.id, people["hv2"].id)


def test_an_essay_without_its_recommendations_section_is_refused_by_name(session, course):
    people, assignment = course
    cohorts.update_assignment(session, people["gv"], assignment.id, closes_at=None, now=NOW)
    with pytest.raises(Invalid, match="^Bài chưa có mục “Kiến nghị, đề xuất”") as missing:
        essays.submit_essay(session, people["hv1"], assignment.id, TEXT)
    assert missing.value.fields == {"body": ["recommendations section"]}
    with pytest.raises(Invalid, match="^Mục “Kiến nghị, đề xuất” đang trống"):
        essays.submit_essay(session, people["hv1"], assignment.id,
                            TEXT + "\n\n## Kiến nghị, đề xuất\n\n## Kết luận\nHết.")
    assert essays.latest_essay(session, people["hv1"], assignment.id) is None
    assert essays.submit_essay(session, people["hv1"], assignment.id, "IV. KIẾN NGHỊ, ĐỀ XUẤT\n" + TEXT).version == 1


def test_a_scenario_can_make_the_recommendations_check_a_warning(session, course):
    people, assignment = course
    warned = cohorts.assign_scenario(session, assignment.cohort, "t1-canh-bao")
    receipt = essays.submit_essay(session, people["hv1"], warned.id, TEXT)
    assert receipt.warnings == (essays.MISSING_RECOMMENDATIONS,)
    event = [e for e in events(session, "essay.submit") if e.target_id == str(receipt.id)][0]
    assert event.details["warnings"] == [essays.MISSING_RECOMMENDATIONS]
    spec = scenario_data(warned.scenario_version).essay
    assert essays.starting_text(spec) == "## Thực trạng\n\n\n## Kiến nghị, đề xuất\n\n\n"


def test_assigning_the_same_version_again_points_to_the_assignment_to_edit(session, course):
    _, assignment = course
    with pytest.raises(Conflict) as again:
        cohorts.assign_scenario(session, assignment.cohort, "t1-mau")
    assert again.value.params["assignment"] == assignment.id
    assert f"bài được giao số {assignment.id}" in again.value.message
    assert "hãy sửa bài được giao đó" in again.value.message


def test_the_periodic_run_submits_drafts_at_the_deadline_then_reminds_and_mails(session_factory, session, course):
    """What `caselab tick` (and the trial server's background thread) does every minute."""
    from lms_plugin.ticker import run_once
    people, assignment = course
    essays.save_draft(session, people["hv1"], assignment.id, ESSAY, now=DEADLINE - timedelta(hours=2))
    cohorts.update_assignment(session, people["gv"], assignment.id, auto_submit_drafts=True, now=NOW)
    session.commit()
    report = run_once(session_factory, {}, NOW)           # no mail server set: nothing sent, rows wait
    assert report.auto_submitted == 1 and report.deliveries["mail"].delivered == 0 and not report.errors
    assert run_once(session_factory, {}, NOW).auto_submitted == 0
    session.expire_all()
    essay = essays.latest_essay(session, people["hv1"], assignment.id)
    assert essay.auto_submitted and essay.body == ESSAY
    told = set(session.scalars(select(m.Notification.kind).where(m.Notification.user_id == people["gk1"].id)))
    assert told == {"to_mark"}
