"""Bad input is a 4xx with a message in the reader's language, never a 500, and nothing is stored:
ids past the database's integer range, JSON nested a thousand deep, text longer than its column,
NUL and other control characters in text (PostgreSQL refuses NUL; an essay is refused, never altered)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lms_plugin.store import models as m
from tests.web.conftest import first_assignment, login

API = "/api/v1"
HUGE = "99999999999999999999999"          # past 64 bits: OverflowError in the SQLite driver
PAST_INTEGER = str(2**31)                  # past PostgreSQL's INTEGER: "integer out of range"
NOT_FOUND_VI = "Không tìm thấy trang hoặc nội dung bạn cần."
NOT_FOUND_EN = "The page or item you asked for was not found."


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


# ids in URLs, query strings and JSON bodies

@pytest.mark.parametrize("url", [
    f"/cadre/essays/{HUGE}/grade",
    f"/cadre/assignments/{HUGE}/essay",
    f"/cadre/assignments/{PAST_INTEGER}/case",
    f"/cadre/assignments/1/attachments/{HUGE}",
])
def test_an_id_past_the_database_range_is_not_found_on_pages(client, demo, url):
    login(client, "cadre1")
    page = client.get(url)
    assert page.status_code == 404 and NOT_FOUND_VI in page.text
    english = client.get(url + "?lang=en")
    assert english.status_code == 404 and NOT_FOUND_EN in english.text


@pytest.mark.parametrize("url", [f"{API}/essays/{HUGE}", f"{API}/assignments/{PAST_INTEGER}/essay/draft"])
def test_an_id_past_the_database_range_is_not_found_in_the_api(client, demo, url):
    login(client, "cadre1")
    answer = client.get(url)
    assert answer.status_code == 404
    assert answer.json == {"error": NOT_FOUND_VI, "fields": {}}


def test_the_largest_id_the_database_holds_is_simply_not_found(client, demo):
    login(client, "cadre1")
    assert client.get(f"/cadre/essays/{2**31 - 1}/grade").status_code == 404


def test_ids_in_query_strings_and_json_bodies_are_checked(client, demo, session):
    login(client, "cadre1")
    aid = first_assignment(session).id
    listed = client.get(f"{API}/assignments/{aid}/posts?after={HUGE}")
    assert listed.status_code == 422 and "after" in listed.json["fields"]
    polled = client.get(f"/cadre/assignments/{aid}/discussion/posts.json?after={HUGE}")
    assert polled.status_code == 200          # a number no id reaches reads as no number: from the start
    before = count(session, m.Post)
    for parent in (int(HUGE), 2**31, 0):
        answer = client.post(f"{API}/assignments/{aid}/posts", json={"body": "Ý kiến", "parent_id": parent})
        assert answer.status_code == 422, answer.text
        assert answer.json["error"] == "Dữ liệu gửi lên không hợp lệ" and "parent_id" in answer.json["fields"]
    too_big = client.put(f"{API}/assignments/{aid}/report", json={"body": "x", "revision": int(HUGE)})
    assert too_big.status_code == 422 and "revision" in too_big.json["fields"]
    assert count(session, m.Post) == before


def test_a_form_reply_to_a_post_past_the_range_is_refused(client, demo, session):
    login(client, "cadre1")
    aid = first_assignment(session).id
    before = count(session, m.Post)
    page = client.post(f"/cadre/assignments/{aid}/discussion", data={"body": "Ý kiến", "parent_id": HUGE})
    assert page.status_code in (302, 422)
    assert count(session, m.Post) == before


# JSON nested deep

DEEP = '{"body": ' + "[" * 1000 + "]" * 1000 + "}"


def test_json_nested_a_thousand_deep_is_a_400_in_the_api(client, demo, session):
    login(client, "cadre1")
    aid = first_assignment(session).id
    answer = client.post(f"{API}/assignments/{aid}/posts", data=DEEP, content_type="application/json")
    assert answer.status_code == 400
    assert answer.json == {"error": "Nội dung JSON lồng nhau quá 32 tầng.", "fields": {}}


def test_json_nested_a_thousand_deep_is_a_400_on_the_draft_route(client, demo, session):
    login(client, "cadre1")
    aid = first_assignment(session).id
    answer = client.post(f"/cadre/assignments/{aid}/essay/draft", data=DEEP, content_type="application/json",
                         headers={"Accept": "application/json"})
    assert answer.status_code == 400 and answer.json["error"] == "Nội dung JSON lồng nhau quá 32 tầng."


def test_ordinary_nesting_and_brackets_inside_strings_still_parse(client, demo, session):
    login(client, "cadre1")
    aid = first_assignment(session).id
    body = "[[[[" * 20 + " ngoặc trong chuỗi không tính"
    saved = client.put(f"{API}/assignments/{aid}/essay/draft", json={"body": body})
    assert saved.status_code == 200, saved.text


# Text longer than its column, and control characters

def test_a_megabyte_title_is_refused_and_nothing_stored(client, demo, session):
    login(client, "lecturer1")
    before = count(session, m.ReferenceText)
    page = client.post("/lecturer/references", data={"title": "T" * 1_000_000, "kind": "reference",
                                                     "body": "Nội dung văn bản tham chiếu."})
    assert page.status_code == 422
    assert count(session, m.ReferenceText) == before


def test_services_refuse_text_longer_than_its_column(content, demo, session):
    from lms_plugin.services import cohorts, discussion, references
    from lms_plugin.services.errors import Invalid
    lecturer = session.scalar(select(m.User).where(m.User.username == "lecturer1"))
    course = session.scalar(select(m.Course))
    with pytest.raises(Invalid) as caught:
        references.add_reference(session, lecturer, course.id, "T" * 301, "reference", "Nội dung")
    assert caught.value.message == "Nội dung dài 301 ký tự; tối đa 300 ký tự" and "title" in caught.value.fields
    with pytest.raises(Invalid) as caught:
        cohorts.create_cohort(session, "L" * 201, course.slug)
    assert "name" in caught.value.fields
    post = m.Post(assignment_id=first_assignment(session).id, group_id=session.scalar(select(m.Group.id)),
                  author_id=lecturer.id, body="<p>x</p>")
    session.add(post)
    session.flush()
    with pytest.raises(Invalid) as caught:
        discussion.hide_post(session, lecturer, post.id, "Lý do " * 200)
    assert "reason" in caught.value.fields
    session.rollback()


def test_a_too_long_hide_reason_is_refused_and_the_post_stays_visible(app, client, demo, session):
    login(client, "cadre1")
    aid = first_assignment(session).id
    assert client.post(f"{API}/assignments/{aid}/posts", json={"body": "Ý kiến"}).status_code == 201
    post_id = session.scalar(select(func.max(m.Post.id)))
    lecturer = app.test_client()
    login(lecturer, "lecturer1")
    page = lecturer.post(f"/lecturer/posts/{post_id}/hide", data={"reason": "x" * 501},
                       headers={"Accept": "application/json"})
    assert page.status_code == 422
    session.expire_all()
    assert session.get(m.Post, post_id).hidden_at is None


NUL_ESSAY = "Thực trạng của xã\x00 sau hợp nhất"


def test_a_draft_with_nul_is_refused_whole_and_the_old_draft_kept(client, demo, session):
    login(client, "cadre1")
    aid = first_assignment(session).id
    assert client.put(f"{API}/assignments/{aid}/essay/draft", json={"body": "Bản nháp cũ"}).status_code == 200
    answer = client.put(f"{API}/assignments/{aid}/essay/draft", json={"body": NUL_ESSAY})
    assert answer.status_code == 422
    assert answer.json["error"].startswith("Nội dung có ký tự điều khiển không hiển thị được (mã U+0000)")
    assert answer.json["fields"] == {"body": ["control character"]}
    page = client.post(f"/cadre/assignments/{aid}/essay/draft", data={"body": NUL_ESSAY})
    assert page.status_code == 422
    assert client.get(f"{API}/assignments/{aid}/essay/draft").json["body"] == "Bản nháp cũ"


def test_an_essay_with_nul_is_refused_never_stored_altered(client, demo, session):
    login(client, "cadre1")
    aid = first_assignment(session).id
    before = count(session, m.Essay)
    answer = client.post(f"{API}/assignments/{aid}/essay", json={"body": NUL_ESSAY + " chữ" * 400})
    assert answer.status_code == 422 and "U+0000" in answer.json["error"]
    assert count(session, m.Essay) == before


def test_the_store_guard_refuses_nul_in_any_text_column(content, demo, session):
    """The net under every input path: a string with NUL never reaches the driver."""
    from lms_plugin.services.errors import Invalid
    user = session.scalar(select(m.User).where(m.User.username == "cadre1"))
    user.display_name = "Tên\x00"
    with pytest.raises(Invalid) as caught:
        session.flush()
    assert caught.value.fields == {"display_name": ["control character"]}
    session.rollback()
    user.contact = "x" * 201
    with pytest.raises(Invalid) as caught:
        session.flush()
    assert caught.value.message == "Nội dung dài 201 ký tự; tối đa 200 ký tự"
    session.rollback()
