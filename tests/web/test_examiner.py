"""The examiner's pages: a blind queue, the essay beside the rubric, drafts, finalising, the third examiner."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lms_plugin.services import accounts, cohorts, grading
from lms_plugin.store import models as m
from tests.web.conftest import PASSWORD, login
from tests.web.test_cadre import assignment_for, client_for, essay_text, user


def submit_essay(client, session, username: str = "cadre1") -> m.Essay:
    assignment = assignment_for(session)
    url = f"/cadre/assignments/{assignment.id}/essay/submit"
    asked = client.post(url, data={"body": essay_text(650)})
    digest = re.search(r'name="sha256" value="([0-9a-f]{64})"', asked.text).group(1)
    assert client.post(url, data={"confirmed": "1", "sha256": digest}).status_code == 302
    session.expire_all()
    return session.scalar(select(m.Essay).join(m.User).where(m.User.username == username))


def rubric_of(essay: m.Essay):
    return grading.essay_rubric(essay.assignment)


def marks(essay: m.Essay, level: str = "best", action: str = "save") -> dict:
    """A filled marking form: every criterion at its best (or lowest) level, with comments."""
    data = {"action": action, "comment": "Bài viết có bố cục rõ."}
    for c in rubric_of(essay).criteria:
        points = c.max_points if level == "best" else min(lv.points for lv in c.levels)
        data[f"score-{c.id}"] = f"{points:g}"
        data[f"comment-{c.id}"] = f"Nhận xét về {c.title}"
    return data


@pytest.fixture
def essay(app, demo, session):
    return submit_essay(client_for(app, "cadre1"), session)


@pytest.fixture
def examiner1(app, demo):
    return client_for(app, "examiner1")


def test_queue_is_blind(app, session, essay, examiner1):
    page = examiner1.get("/examiner/").text
    assert f'data-test="queue-item-{essay.id}"' in page
    assert "Tồn đọng hồ sơ đất đai" in page and str(essay.words) in page and "Chấm lần 1" in page
    assert "Chưa chấm" in page
    author = user(session, "cadre1")
    for secret in (author.display_name, author.username, author.commune, "Xã Tân Hòa"):
        assert secret not in page


def test_essay_page_is_blind_with_rubric_and_similarity_slot(app, session, essay, examiner1):
    page = examiner1.get(f"/examiner/essays/{essay.id}").text
    author = user(session, "cadre1")
    for secret in (author.display_name, author.username, "Tân Hòa"):
        assert secret not in page.replace(essay.body, "")      # the essay's own words aside
    assert author.display_name not in page
    rubric = rubric_of(essay)
    for c in rubric.criteria:
        assert f'name="score-{c.id}"' in page and f'name="comment-{c.id}"' in page
        for level in c.levels:
            assert level.label in page
    assert 'name="comment"' in page and 'data-test="total"' in page
    assert 'data-test="similarity"' in page and 'data-test="similarity-score"' in page
    assert 'data-test="grade-save"' in page and 'data-test="grade-final"' in page


def test_only_assigned_examiners_and_only_examiners(app, session, essay):
    accounts.create_user(session, "examiner9", "examiner", PASSWORD)
    session.commit()
    assert client_for(app, "examiner9").get(f"/examiner/essays/{essay.id}").status_code == 404
    assert f"queue-item-{essay.id}" not in client_for(app, "examiner9").get("/examiner/").text
    assert client_for(app, "cadre1").get("/examiner/").status_code == 403


def test_save_draft_computes_total_and_keeps_it(app, session, essay, examiner1):
    response = examiner1.post(f"/examiner/essays/{essay.id}", data=marks(essay))
    assert response.status_code == 302
    page = examiner1.get(f"/examiner/essays/{essay.id}").text
    assert 'data-test="total">10<' in page and "Nhận xét về Trình bày" in page
    assert "Đang chấm (nháp)" in examiner1.get("/examiner/").text
    assert 'data-test="grade-save"' in page                   # still editable


def test_missing_level_is_shown_next_to_the_criterion_and_input_kept(app, session, essay, examiner1):
    data = marks(essay)
    first = rubric_of(essay).criteria[0]
    del data[f"score-{first.id}"]
    response = examiner1.post(f"/examiner/essays/{essay.id}", data=data)
    assert response.status_code == 422
    assert "Hãy chọn một mức cho tiêu chí này" in response.text
    assert "Nhận xét về Trình bày" in response.text
    session.expire_all()
    assert session.scalar(select(m.Grade).where(m.Grade.essay_id == essay.id, m.Grade.round == 1)).total is None


def test_finalise_asks_for_confirmation_then_locks(app, session, essay, examiner1):
    asked = examiner1.post(f"/examiner/essays/{essay.id}", data=marks(essay, action="final"))
    assert asked.status_code == 200 and 'data-test="grade-confirm"' in asked.text
    session.expire_all()
    grade = session.scalar(select(m.Grade).where(m.Grade.essay_id == essay.id, m.Grade.round == 1))
    assert grade.total == 10 and grade.finalised_at is None
    assert examiner1.post(f"/examiner/essays/{essay.id}", data={"action": "confirm"}).status_code == 302
    page = examiner1.get(f"/examiner/essays/{essay.id}").text
    assert 'data-test="grade-locked"' in page and 'data-test="grade-save"' not in page
    assert "disabled" in page
    again = examiner1.post(f"/examiner/essays/{essay.id}", data=marks(essay, level="lowest"))
    assert again.status_code == 409
    session.expire_all()
    assert session.get(m.Grade, grade.id).total == 10
    assert "Đã chốt" in examiner1.get("/examiner/").text


def finalise(client, essay, level):
    client.post(f"/examiner/essays/{essay.id}", data=marks(essay, level=level, action="final"))
    assert client.post(f"/examiner/essays/{essay.id}", data={"action": "confirm"}).status_code == 302


def test_third_examiner_appears_in_the_queue_when_marks_disagree(app, session, essay, examiner1):
    third = accounts.create_user(session, "examiner3", "examiner", PASSWORD, display_name="Giám khảo Ba")
    cohorts.add_examiner(session, essay.assignment, third)
    session.commit()
    examiner3 = client_for(app, "examiner3")
    assert f"queue-item-{essay.id}" not in examiner3.get("/examiner/").text
    finalise(examiner1, essay, "best")
    finalise(client_for(app, "examiner2"), essay, "lowest")
    queue = examiner3.get("/examiner/").text
    assert f'data-test="queue-item-{essay.id}"' in queue and 'data-test="round-3"' in queue
    assert 'data-test="needs-third"' in examiner1.get("/examiner/").text
    finalise(examiner3, essay, "best")
    session.expire_all()
    result = session.scalar(select(m.EssayResult).where(m.EssayResult.essay_id == essay.id))
    assert result.status == "final" and result.final == 10
    assert "Đã có điểm cuối" in examiner1.get("/examiner/").text


def test_threshold_comes_from_the_app_config(app, session, essay, examiner1):
    app.config["GRADING_THRESHOLD"] = 10
    finalise(examiner1, essay, "best")
    finalise(client_for(app, "examiner2"), essay, "lowest")
    session.expire_all()
    result = session.scalar(select(m.EssayResult).where(m.EssayResult.essay_id == essay.id))
    assert result.status == "final" and result.final == 5


def test_settings_from_the_environment_are_numbers_and_a_bad_one_is_named(monkeypatch, engine, content):
    from lms_plugin.web import create_app
    monkeypatch.setenv("CASELAB_GRADING_THRESHOLD", "10")
    monkeypatch.setenv("CASELAB_SIMILARITY_FLAG_SCORE", "0.3")
    monkeypatch.setenv("CASELAB_SIMILARITY_SOURCES_SHOWN", "25")
    config = create_app({"ENGINE": engine, "SECRET_KEY": "s"}).config
    assert (config["GRADING_THRESHOLD"], config["SIMILARITY_FLAG_SCORE"], config["SIMILARITY_SOURCES_SHOWN"]) \
        == (10.0, 0.3, 25)
    monkeypatch.setenv("CASELAB_SIMILARITY_SOURCES_SHOWN", "mười")
    with pytest.raises(ValueError, match="CASELAB_SIMILARITY_SOURCES_SHOWN='mười': expected a whole number"):
        create_app({"ENGINE": engine, "SECRET_KEY": "s"})


def test_login_lands_on_the_queue(app, demo, client):
    response = login(client, "examiner1")
    assert response.headers["Location"].endswith("/examiner/")
