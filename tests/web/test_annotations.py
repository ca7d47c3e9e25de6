"""Inline comments on the marking page, and the cadre's grade page: blind until release, then the mark, the
comments without names, the highlighted passages and the appeal form; the same through the API."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from lms_plugin.services import accounts, allocation, essays, grading
from lms_plugin.store import models as m
from tests.web.conftest import PASSWORD
from tests.web.test_api import ESSAY, token
from tests.web.test_cadre import assignment_for, client_for

API = "/api/v1"
# Characters outside the BMP count once in Python and twice in a JavaScript string; markup must stay text.
BODY = ESSAY + "Ghi chú 😀 về <b>hồ sơ</b> & \"một cửa\": xã Tân Hòa 𝒜 cần rà soát lại.\n"
PASSAGE = "xã Tân Hòa"
COMMENT = "Cần nêu số liệu cụ thể của xã"
OVERALL = "Nhận xét chung riêng của giám khảo"


class TextOf(HTMLParser):
    """The text content of the element with ``id``, as a browser's textContent (character references decoded)."""

    def __init__(self, id_: str | None = None, test: str | None = None):
        super().__init__(convert_charrefs=True)
        self.want, self.test, self.depth, self.parts = id_, test, 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth:
            self.depth += 1
        elif (self.want and attrs.get("id") == self.want) or (self.test and attrs.get("data-test") == self.test):
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)

    @classmethod
    def of(cls, html: str, **kwargs) -> str:
        parser = cls(kwargs.get("id"), kwargs.get("test"))
        parser.feed(html)
        return "".join(parser.parts)


@pytest.fixture
def essay(app, demo, session) -> m.Essay:
    cadre1 = accounts.get_user(session, "cadre1")
    receipt = essays.submit_essay(session, cadre1, assignment_for(session).id, BODY)
    session.commit()
    return session.get(m.Essay, receipt.id)


@pytest.fixture
def examiner1(app, demo):
    return client_for(app, "examiner1")


def passage() -> dict:
    start = BODY.index(PASSAGE)
    return {"start": start, "end": start + len(PASSAGE), "quote": PASSAGE, "comment": COMMENT}


def finalise_both(session, essay: m.Essay) -> None:
    rubric = grading.rubric_for(essay)
    for name, nth in (("examiner1", "thứ nhất"), ("examiner2", "thứ hai")):
        scores = {c.id: c.max_points for c in rubric.criteria}
        notes = {c.id: f"Nhận xét {c.title} lần {nth}" for c in rubric.criteria}
        grading.grade_essay(session, accounts.get_user(session, name), essay.id, scores, notes, f"{OVERALL} {nth}",
                            final=True)
    session.commit()


def release(session, essay: m.Essay) -> None:
    grading.release_grades(session, accounts.get_user(session, "lecturer1"), essay.assignment_id)
    session.commit()


# --- the examiner ----------------------------------------------------------------------------------

def test_an_examiner_comments_on_a_passage_by_code_point_offsets(app, session, essay, examiner1):
    url = f"/examiner/essays/{essay.id}/annotations"
    added = examiner1.post(url, json=passage())
    assert added.status_code == 201, added.text
    assert {k: added.json[k] for k in ("start", "end", "quote", "comment")} == passage()
    assert BODY[added.json["start"]:added.json["end"]] == PASSAGE      # 😀 before it counted once

    page = examiner1.get(f"/examiner/essays/{essay.id}").text
    assert TextOf.of(page, id="essay-body") == BODY                    # escaped, nothing added inside
    assert "&lt;b&gt;hồ sơ&lt;/b&gt;" in page and "<b>hồ sơ</b>" not in page
    assert f">{PASSAGE}</mark>" in page and COMMENT in TextOf.of(page, test="annotations")
    assert 'data-test="annotation-delete"' in page and 'js/annotate.js' in page
    assert 'name="csrf-token"' in page and "<script>" not in page


def test_a_passage_that_does_not_match_the_essay_is_refused_in_vietnamese(app, session, essay, examiner1):
    url = f"/examiner/essays/{essay.id}/annotations"
    wrong = examiner1.post(url, json={**passage(), "quote": "xã Tân Hoà"})      # another spelling
    assert wrong.status_code == 422
    assert wrong.json["error"] == "Đoạn được chọn không khớp với bài đã nộp; hãy chọn lại"
    outside = examiner1.post(url, json={**passage(), "end": len(BODY) + 1, "quote": None})
    assert outside.status_code == 422 and outside.json["error"] == "Đoạn được chọn không nằm trong bài"
    missing = examiner1.post(url, json={"start": 0, "end": 3})
    assert missing.status_code == 422 and "comment" in missing.json["fields"]
    assert session.scalar(select(m.GradeAnnotation)) is None


def test_only_the_essays_own_examiners_comment_on_it(app, session, essay):
    accounts.create_user(session, "examiner3", "examiner", PASSWORD, display_name="Giám khảo dự phòng")
    session.commit()
    url = f"/examiner/essays/{essay.id}/annotations"
    assert client_for(app, "examiner3").post(url, json=passage()).status_code == 404
    assert client_for(app, "examiner3").post(url, data=passage()).status_code == 404
    assert client_for(app, "cadre1").post(url, json=passage()).status_code == 403
    assert session.scalar(select(m.GradeAnnotation)) is None


def test_the_form_post_deletes_and_nothing_changes_after_finalising(app, session, essay, examiner1):
    url = f"/examiner/essays/{essay.id}/annotations"
    posted = examiner1.post(url, data=passage())                                  # the page without script
    assert posted.status_code == 302 and "#note-a" in posted.headers["Location"]
    first = session.scalar(select(m.GradeAnnotation))
    second = examiner1.post(url, json={**passage(), "comment": "Đoạn này cần trích dẫn nguồn"}).json
    deleted = examiner1.post(f"{url}/{first.id}/delete")
    assert deleted.status_code == 302
    session.expire_all()
    assert [a.id for a in session.scalars(select(m.GradeAnnotation))] == [second["id"]]
    assert session.scalar(select(m.AuditEvent).where(m.AuditEvent.action == "annotation.delete")) is not None

    finalise_both(session, essay)
    late = examiner1.post(url, json=passage())
    assert late.status_code == 409 and late.json["error"] == "Bạn đã chốt điểm bài này; không thể thay đổi"
    refused = examiner1.post(f"{url}/{second['id']}/delete")
    assert refused.status_code == 302
    assert "không thể thay đổi" in examiner1.get(refused.headers["Location"]).text
    assert session.get(m.GradeAnnotation, second["id"]) is not None
    page = examiner1.get(f"/examiner/essays/{essay.id}").text
    assert "Đoạn này cần trích dẫn nguồn" in page and 'data-test="annotation-delete"' not in page
    assert 'data-test="annotate-panel"' not in page


# --- the cadre ---------------------------------------------------------------------------------

def test_before_release_the_grade_page_shows_nothing_of_the_marking(app, session, essay, examiner1):
    cadre1 = client_for(app, "cadre1")
    assert examiner1.post(f"/examiner/essays/{essay.id}/annotations", json=passage()).status_code == 201
    waiting = cadre1.get(f"/cadre/essays/{essay.id}/grade")
    assert waiting.status_code == 200 and "Bài đang được chấm; điểm sẽ được công bố sau." in waiting.text
    finalise_both(session, essay)                        # final, not released: still nothing
    page = cadre1.get(f"/cadre/essays/{essay.id}/grade")
    assert page.status_code == 200 and "Bài đang được chấm; điểm sẽ được công bố sau." in page.text
    rubric = grading.rubric_for(essay)
    hidden = [COMMENT, OVERALL, "Nhận xét ", *(c.title for c in rubric.criteria)]
    assert [text for text in hidden if text in page.text] == []
    assert "final-mark" not in page.text and 'data-test="criterion-' not in page.text and "<mark" not in page.text
    assert "giám khảo" not in TextOf.of(page.text, test="grade").lower()
    assert 'data-test="appeal' not in page.text


def test_after_release_the_mark_comments_without_names_and_the_highlighted_passage(app, session, essay, examiner1):
    examiner1.post(f"/examiner/essays/{essay.id}/annotations", json=passage())
    finalise_both(session, essay)
    release(session, essay)
    page = client_for(app, "cadre1").get(f"/cadre/essays/{essay.id}/grade")
    assert page.status_code == 200
    text = page.text
    assert TextOf.of(text, test="final-mark") == "10"
    rubric = grading.rubric_for(essay)
    for c in rubric.criteria:
        assert c.title in text and f"Nhận xét {c.title} lần thứ nhất" in text
    assert f"{OVERALL} thứ hai" in text
    examiners = session.scalars(select(m.User).where(m.User.role == "examiner")).all()
    names = [u.display_name for u in examiners] + [u.username for u in examiners]
    assert len(names) == 4 and [name for name in names if name in text] == []
    assert TextOf.of(text, test="essay-text") == BODY
    assert f'data-comment="{COMMENT}"' in text and f">{PASSAGE}</mark>" in text
    assert COMMENT in TextOf.of(text, test="annotations")
    assert 'data-test="appeal-form"' in text and 'maxlength="5000"' in text
    assert client_for(app, "cadre2").get(f"/cadre/essays/{essay.id}/grade").status_code == 404


def test_an_appeal_is_filed_once_then_its_outcome_is_shown(app, session, essay):
    finalise_both(session, essay)
    release(session, essay)
    cadre1 = client_for(app, "cadre1")
    url = f"/cadre/essays/{essay.id}/appeal"
    empty = cadre1.post(url, data={"reason": "   "})
    assert empty.status_code == 422 and "Hãy nêu lý do đề nghị phúc khảo" in empty.text
    assert cadre1.post(url, data={"reason": "Đề nghị chấm lại phần kiến nghị"}).status_code == 302
    again = cadre1.post(url, data={"reason": "Lần hai"}, follow_redirects=True)
    assert "Bạn đã gửi đơn phúc khảo cho bài này" in again.text
    assert len(session.scalars(select(m.Appeal)).all()) == 1
    filed = session.scalar(select(m.AuditEvent).where(m.AuditEvent.action == "appeal.file"))
    assert filed is not None and filed.target_id == str(essay.id)
    page = cadre1.get(f"/cadre/essays/{essay.id}/grade").text
    assert TextOf.of(page, test="appeal-status") == "Đã gửi" and 'data-test="appeal-form"' not in page

    lecturer = accounts.get_user(session, "lecturer1")
    third = accounts.create_user(session, "examiner3", "examiner", PASSWORD)
    allocation.assign_round(session, lecturer, essay.id, 4, third.id)
    session.commit()
    assert TextOf.of(cadre1.get(f"/cadre/essays/{essay.id}/grade").text, test="appeal-status") == \
        "Đang chấm phúc khảo"
    rubric = grading.rubric_for(essay)
    grading.grade_essay(session, third, essay.id, {c.id: min(lv.points for lv in c.levels) for c in rubric.criteria},
                        {c.id: "Chấm lại" for c in rubric.criteria}, final=True)
    session.commit()
    decided = cadre1.get(f"/cadre/essays/{essay.id}/grade").text
    assert TextOf.of(decided, test="appeal-status") == "Đang chấm phúc khảo" and "appeal-outcome" not in decided
    release(session, essay)
    shown = cadre1.get(f"/cadre/essays/{essay.id}/grade").text
    assert TextOf.of(shown, test="appeal-status") == "Đã có kết quả"
    outcome = TextOf.of(shown, test="appeal-outcome")
    assert "Điểm trước phúc khảo: 10 / 10" in outcome and "Chấm lại" not in shown


# --- the API -----------------------------------------------------------------------------------

def test_annotations_through_the_api(app, client, session, essay):
    accounts.create_user(session, "examiner3", "examiner", PASSWORD)
    session.commit()
    gk1, gk3, cadre1 = (token(client, name) for name in ("examiner1", "examiner3", "cadre1"))
    url = f"{API}/essays/{essay.id}/annotations"
    added = client.post(url, headers=gk1, json=passage())
    assert added.status_code == 201 and added.json["quote"] == PASSAGE
    wrong = client.post(url, headers=gk1, json={**passage(), "quote": "xã Tân"})
    assert wrong.status_code == 422 and wrong.json["error"] == "Đoạn được chọn không khớp với bài đã nộp; hãy chọn lại"
    assert client.post(url, headers=gk1, json={**passage(), "extra": 1}).status_code == 422
    assert client.get(url, headers=gk1).json == {"annotations": [added.json]}
    assert client.get(url, headers=gk3).status_code == 404
    assert client.post(url, headers=gk3, json=passage()).status_code == 404
    assert client.get(url, headers=cadre1).status_code == 403
    assert client.delete(f"{url}/{added.json['id']}", headers=gk3).status_code == 404
    assert client.delete(f"{url}/{added.json['id']}", headers=gk1).status_code == 204
    assert client.get(url, headers=gk1).json == {"annotations": []}
    client.post(url, headers=gk1, json=passage())
    finalise_both(session, essay)
    late = client.post(url, headers=gk1, json=passage())
    assert late.status_code == 409 and late.json["error"] == "Bạn đã chốt điểm bài này; không thể thay đổi"


def test_the_grade_and_the_appeal_through_the_api(app, client, session, essay):
    client_for(app, "examiner1").post(f"/examiner/essays/{essay.id}/annotations", json=passage())
    finalise_both(session, essay)
    cadre1 = token(client, "cadre1")
    url = f"{API}/essays/{essay.id}/grade"
    blind = client.get(url, headers=cadre1)
    assert blind.status_code == 403 and blind.json["error"] == "Điểm chưa được công bố"
    assert client.post(f"{API}/essays/{essay.id}/appeal", headers=cadre1, json={"reason": "Sớm"}).status_code == 409
    release(session, essay)
    grade = client.get(url, headers=cadre1)
    assert grade.status_code == 200
    body = grade.json
    assert body["final"] == 10 and body["kind"] == "essay" and body["appeal"] is None and body["appeal_until"]
    assert body["annotations"] == [{k: passage()[k] for k in ("start", "end", "quote", "comment")}]
    assert all("points" not in c for c in body["criteria"]) and body["corrected"] is False
    examiners = session.scalars(select(m.User).where(m.User.role == "examiner")).all()
    names = [u.display_name for u in examiners] + [u.username for u in examiners]
    assert [name for name in names if name in grade.text] == []

    filed = client.post(f"{API}/essays/{essay.id}/appeal", headers=cadre1, json={"reason": "Đề nghị chấm lại"})
    assert filed.status_code == 201 and filed.json["status"] == "submitted" and filed.json["outcome"] is None
    again = client.post(f"{API}/essays/{essay.id}/appeal", headers=cadre1, json={"reason": "Lần hai"})
    assert again.status_code == 409 and again.json["error"] == "Bạn đã gửi đơn phúc khảo cho bài này"
    assert client.get(url, headers=cadre1).json["appeal"]["status"] == "submitted"
    other = token(client, "cadre2")
    assert client.post(f"{API}/essays/{essay.id}/appeal", headers=other, json={"reason": "x"}).status_code == 404
