"""Changing an assignment during the course, as lecturers and cadres see it in the browser and through the API:
deadlines and late work, extensions for one cadre, drafts left at the deadline, the recommendations section."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from lms_plugin.services import authoring, cohorts, deadlines, essays
from lms_plugin.store import models as m
from lms_plugin.web.formatting import local_time
from tests.web.conftest import PASSWORD
from tests.web.test_cadre import SLUG, assignment_for, client_for, essay_text, user

API = "/api/v1"


def close(session, assignment: m.Assignment, *, hours_ago: float = 1, **settings) -> None:
    """Put the assignment's deadline in the past (and set other columns) as if time had passed."""
    assignment = session.get(m.Assignment, assignment.id)
    assignment.opens_at = datetime.now(timezone.utc) - timedelta(days=7)
    assignment.closes_at = datetime.now(timezone.utc) - timedelta(hours=hours_ago)
    for name, value in settings.items():
        setattr(assignment, name, value)
    session.commit()


def audit_actions(session, assignment_id: int) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(m.AuditEvent.action).where(
        m.AuditEvent.target_type == "assignment", m.AuditEvent.target_id == str(assignment_id),
        m.AuditEvent.action.startswith("assignment.")).order_by(m.AuditEvent.id)))


def test_the_lecturer_edits_deadlines_and_rules_in_vietnam_time_and_reopens(app, demo, session):
    assignment = assignment_for(session)
    close(session, assignment)
    lecturer = client_for(app, "lecturer1")
    overview = lecturer.get(f"/lecturer/assignments/{assignment.id}").text
    assert f'href="/lecturer/assignments/{assignment.id}/edit"' in overview and "đã đóng" in overview
    url = f"/lecturer/assignments/{assignment.id}/edit"
    page = lecturer.get(url).text
    shown = local_time(session.get(m.Assignment, assignment.id).closes_at, "%Y-%m-%dT%H:%M")
    assert f'name="closes_at" value="{shown}"' in page and 'value="refuse" checked' in page

    wrong = lecturer.post(url, data={"opens_at": "2027-01-10T08:00", "closes_at": "2027-01-05T17:00",
                                     "late_policy": "refuse", "appeal_days": "7"})
    assert wrong.status_code == 422 and "Thời điểm đóng phải sau thời điểm mở" in wrong.text

    done = lecturer.post(url, data={"opens_at": "2026-01-05T08:00", "closes_at": "2027-01-05T17:00",
                                    "late_policy": "accept_late", "auto_submit_drafts": "y", "appeal_days": "10"})
    assert done.status_code == 302
    session.expire_all()
    row = session.get(m.Assignment, assignment.id)
    closes = row.closes_at.replace(tzinfo=row.closes_at.tzinfo or timezone.utc)
    assert closes == datetime(2027, 1, 5, 10, 0, tzinfo=timezone.utc)            # 17:00 in Hà Nội
    assert (row.late_policy, row.auto_submit_drafts, row.allow_retry, row.appeal_days) == \
        ("accept_late", True, False, 10)
    assert audit_actions(session, assignment.id) == ["assignment.reopen"]
    page = lecturer.get(f"/lecturer/assignments/{assignment.id}").text
    assert "17:00 05/01/2027" in page and "đang mở" in page and 'data-test="audit-assignment.reopen"' in page
    assert 'data-test="late-policy">nhận, đánh dấu nộp muộn<' in page
    assert "Đang mở" in client_for(app, "cadre1").get(f"/cadre/assignments/{assignment.id}").text


def test_an_extension_granted_on_the_page_lets_that_cadre_alone_submit(app, demo, session):
    assignment = assignment_for(session)
    close(session, assignment)
    lecturer = client_for(app, "lecturer1")
    page = lecturer.get(f"/lecturer/assignments/{assignment.id}/edit").text
    assert '<option value="cadre1"' in page and 'data-test="extension-form"' in page
    granted = lecturer.post(f"/lecturer/assignments/{assignment.id}/extensions",
                            data={"username": "cadre1", "closes_at": "2099-01-05T17:00", "reason": "Đi công tác"})
    assert granted.status_code == 302
    page = lecturer.get(f"/lecturer/assignments/{assignment.id}/edit").text
    assert 'data-test="extension-cadre1"' in page and "17:00 05/01/2099" in page and "Đi công tác" in page
    early = lecturer.post(f"/lecturer/assignments/{assignment.id}/extensions",
                          data={"username": "cadre2", "closes_at": "2020-01-05T17:00"})
    assert early.status_code == 422 and "Hạn gia hạn phải sau hạn chót chung của bài" in early.text

    cadre1, cadre2 = client_for(app, "cadre1"), client_for(app, "cadre2")
    mine = cadre1.get(f"/cadre/assignments/{assignment.id}/essay").text
    assert 'data-test="essay-extended"' in mine and "17:00 05/01/2099" in mine and 'data-test="essay-body"' in mine
    theirs = cadre2.get(f"/cadre/assignments/{assignment.id}/essay").text
    assert 'data-test="essay-body"' not in theirs and "Bài này đã hết hạn." in theirs
    url = f"/cadre/assignments/{assignment.id}/essay/submit"
    assert cadre2.post(url, data={"body": essay_text(620)}).status_code == 403
    asked = cadre1.post(url, data={"body": essay_text(620)})
    digest = re.search(r'name="sha256" value="([0-9a-f]{64})"', asked.text).group(1)
    assert cadre1.post(url, data={"confirmed": "1", "sha256": digest}).status_code == 302

    revoked = lecturer.post(f"/lecturer/assignments/{assignment.id}/extensions/{user(session, 'cadre1').id}/revoke")
    assert revoked.status_code == 302
    assert 'data-test="extension-cadre1"' not in lecturer.get(f"/lecturer/assignments/{assignment.id}/edit").text
    assert audit_actions(session, assignment.id) == ["assignment.extension.grant", "assignment.extension.revoke"]


def test_a_late_essay_is_accepted_and_flagged_when_the_lecturer_allows_it(app, demo, session):
    assignment = assignment_for(session)
    close(session, assignment, late_policy="accept_late")
    cadre1 = client_for(app, "cadre1")
    page = cadre1.get(f"/cadre/assignments/{assignment.id}/essay").text
    assert 'data-test="essay-late"' in page and 'data-test="essay-body"' in page
    url = f"/cadre/assignments/{assignment.id}/essay/submit"
    asked = cadre1.post(url, data={"body": essay_text(620)})
    assert 'data-test="essay-late"' in asked.text and 'data-test="essay-confirm"' in asked.text
    digest = re.search(r'name="sha256" value="([0-9a-f]{64})"', asked.text).group(1)
    done = cadre1.post(url, data={"confirmed": "1", "sha256": digest}, follow_redirects=True)
    assert "đánh dấu nộp muộn" in done.text
    session.expire_all()
    assert session.scalar(select(m.Essay.late)) is True


def test_an_empty_draft_starts_from_the_recommendations_heading(app, demo, session):
    assignment = assignment_for(session)
    page = client_for(app, "cadre1").get(f"/cadre/assignments/{assignment.id}/essay").text
    assert re.search(r'data-test="essay-body"[^>]*>## Kiến nghị, đề xuất\n', page)


def test_the_confirmation_refuses_an_essay_without_recommendations_or_with_an_empty_one(app, demo, session):
    assignment = assignment_for(session)
    cadre1 = client_for(app, "cadre1")
    url = f"/cadre/assignments/{assignment.id}/essay/submit"
    body = essay_text(620).split("\n\n## Kiến nghị")[0]
    missing = cadre1.post(url, data={"body": body})
    assert 'data-test="essay-recommendations-refused"' in missing.text
    assert "Bài chưa có mục “Kiến nghị, đề xuất”" in missing.text and 'data-test="essay-confirm"' not in missing.text
    empty = cadre1.post(url, data={"body": body + "\n\n## Kiến nghị, đề xuất\n\n"})
    assert "Mục “Kiến nghị, đề xuất” đang trống" in empty.text and 'data-test="essay-confirm"' not in empty.text
    digest = re.search(r'name="sha256" value="([0-9a-f]{64})"', empty.text).group(1)
    forced = cadre1.post(url, data={"confirmed": "1", "sha256": digest})      # the service refuses it too
    assert forced.status_code == 422 and "đang trống" in forced.text
    session.expire_all()
    assert session.scalar(select(m.Essay)) is None


def test_a_scenario_in_warn_mode_accepts_the_essay_and_shows_the_warning(app, demo, session):
    version = assignment_for(session).scenario_version
    lecturer = user(session, "lecturer1")
    source = version.source.replace("  recommendations_section: Kiến nghị, đề xuất\n",
                                    "  recommendations_section: Kiến nghị, đề xuất\n  recommendations_check: warn\n")
    assert source != version.source
    authoring.save_scenario(session, lecturer, source.encode("utf-8"), f"{SLUG}.yaml")
    warned = cohorts.assign_scenario(session, assignment_for(session).cohort, SLUG)
    session.commit()
    cadre1 = client_for(app, "cadre1")
    url = f"/cadre/assignments/{warned.id}/essay/submit"
    asked = cadre1.post(url, data={"body": essay_text(620).split("\n\n## Kiến nghị")[0]})
    assert 'data-test="essay-recommendations-warning"' in asked.text and 'data-test="essay-confirm"' in asked.text
    digest = re.search(r'name="sha256" value="([0-9a-f]{64})"', asked.text).group(1)
    done = cadre1.post(url, data={"confirmed": "1", "sha256": digest}, follow_redirects=True)
    assert done.status_code == 200 and "Bài chưa có mục “Kiến nghị, đề xuất”" in done.text
    assert 'data-test="receipt"' in done.text


def test_a_draft_never_submitted_stays_with_its_author_and_reaches_the_lecturer(app, demo, session):
    assignment = assignment_for(session)
    cadre1 = client_for(app, "cadre1")
    draft = "Bản nháp về hồ sơ đất đai tồn đọng ở phường Bình Minh."
    cadre1.post(f"/cadre/assignments/{assignment.id}/essay/draft", data={"body": draft})
    close(session, assignment)
    page = cadre1.get(f"/cadre/assignments/{assignment.id}/essay").text
    kept = page.split('data-test="essay-kept-draft"')[1]
    assert draft in kept and 'data-test="kept-draft-words">13 chữ<' in kept and "lưu lúc" in kept
    assert 'data-test="essay-body"' not in page and "<textarea" not in page

    lecturer = client_for(app, "lecturer1")
    overview = lecturer.get(f"/lecturer/assignments/{assignment.id}").text
    assert 'data-test="drafts-count">1<' in overview and 'data-test="draft-cadre1"' in overview
    cadre = user(session, "cadre1")
    shown = lecturer.get(f"/lecturer/assignments/{assignment.id}/drafts/{cadre.id}").text
    assert draft in shown and 'data-test="draft-words">13 chữ<' in shown
    assert lecturer.get(f"/lecturer/assignments/{assignment.id}/drafts/{user(session, 'cadre2').id}").status_code == 404


def test_an_auto_submitted_draft_is_still_seen_by_its_author(app, demo, session):
    assignment = assignment_for(session)
    cadre1 = client_for(app, "cadre1")
    body = essay_text(620)
    cadre1.post(f"/cadre/assignments/{assignment.id}/essay/draft", data={"body": body})
    close(session, assignment, auto_submit_drafts=True)
    assert deadlines.auto_submit_due(session) == 1
    session.commit()
    essay = essays.latest_essay(session, user(session, "cadre1"), assignment.id)
    assert essay.auto_submitted and essay.body == body
    page = cadre1.get(f"/cadre/assignments/{assignment.id}/essay").text
    assert 'data-test="essay-submitted"' in page and 'data-test="essay-kept-draft"' not in page
    assert 'data-test="drafts-count">0<' in client_for(app, "lecturer1").get(
        f"/lecturer/assignments/{assignment.id}").text


def test_assigning_the_same_version_again_is_refused_in_vietnamese_with_a_link_to_edit(app, demo, session):
    assignment = assignment_for(session)
    lecturer = client_for(app, "lecturer1")
    response = lecturer.post(f"/lecturer/assignments/new?scenario={SLUG}", data={"cohort": assignment.cohort_id})
    assert response.status_code == 422
    assert "đã được giao cho lớp" in response.text and "hãy sửa bài được giao đó" in response.text
    assert f'href="/lecturer/assignments/{assignment.id}/edit" data-test="edit-existing"' in response.text


@pytest.fixture
def bearer(client):
    def token_for(username: str) -> dict[str, str]:
        answer = client.post(f"{API}/tokens", json={"username": username, "password": PASSWORD})
        return {"Authorization": f"Bearer {answer.json['token']}"}
    return token_for


def test_the_api_changes_an_assignment_and_its_extensions(client, demo, session, bearer):
    assignment = assignment_for(session)
    staff, cadre = bearer("lecturer1"), bearer("cadre1")
    url = f"{API}/assignments/{assignment.id}"
    assert client.patch(url, headers=cadre, json={"appeal_days": 3}).status_code == 403
    naive = client.patch(url, headers=staff, json={"closes_at": "2027-01-05T17:00:00"})
    assert naive.status_code == 422 and "closes_at" in naive.json["fields"]
    assert client.patch(url, headers=staff, json={"colour": "red"}).status_code == 422
    changed = client.patch(url, headers=staff, json={"closes_at": "2027-01-05T17:00:00+07:00",
                                                     "late_policy": "accept_late", "appeal_days": 3})
    assert changed.status_code == 200
    assert changed.json["closes_at"] == "2027-01-05T10:00:00+00:00" and changed.json["late_policy"] == "accept_late"
    wrong = client.patch(url, headers=staff, json={"opens_at": "2027-02-01T00:00:00+07:00"})
    assert wrong.status_code == 422 and wrong.json["error"] == "Thời điểm đóng phải sau thời điểm mở"

    cadre1 = user(session, "cadre1")
    extension = f"{url}/extensions/{cadre1.id}"
    put = client.put(extension, headers=staff, json={"closes_at": "2027-01-12T17:00:00+07:00", "reason": "Ốm"})
    assert put.status_code == 200 and put.json["username"] == "cadre1"
    listed = client.get(f"{API}/assignments", headers=cadre).json["assignments"]
    mine = next(a for a in listed if a["id"] == assignment.id)
    assert mine["closes_at"] == "2027-01-12T10:00:00+00:00"
    outsider = client.put(f"{url}/extensions/{user(session, 'examiner1').id}", headers=staff,
                          json={"closes_at": "2027-01-12T17:00:00+07:00"})
    assert outsider.status_code == 404
    gone = client.delete(extension, headers=staff)
    assert gone.status_code == 200 and gone.json == {"extensions": []}
    assert client.delete(extension, headers=staff).status_code == 404
    assert audit_actions(session, assignment.id) == ["assignment.update", "assignment.extension.grant",
                                                     "assignment.extension.revoke"]
