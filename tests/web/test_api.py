"""The course walked through the JSON API with tokens: the same path the browser walk takes."""
from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import delete

from lms_plugin.core.grading import Mark, reconcile
from lms_plugin.core.rubrics import Criterion, Level, Rubric
from lms_plugin.store import models as m
from tests.web.conftest import PASSWORD

API = "/api/v1"
PARAGRAPH = ("Sau khi hợp nhất ba xã, bộ phận một cửa của xã mới tiếp nhận hồ sơ tăng gấp đôi trong khi "
             "số công chức địa chính chỉ còn hai người; cần sắp xếp lại vị trí việc làm, số hóa hồ sơ "
             "và công khai quy trình để người dân theo dõi tiến độ giải quyết. ")
ESSAY = ("# Thực trạng\n\n" + PARAGRAPH * 14 + "\n\n# Kiến nghị, đề xuất\n\n" + PARAGRAPH * 4
         + "Đề nghị Ban Thường vụ Tỉnh ủy chỉ đạo Sở Nội vụ hướng dẫn trước quý III/2026.\n")


def token(client, username: str) -> dict[str, str]:
    response = client.post(f"{API}/tokens", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json['token']}"}


def the_assignment(client, auth) -> dict:
    listed = client.get(f"{API}/assignments", headers=auth)
    assert listed.status_code == 200, listed.text
    return next(a for a in listed.json["assignments"] if a["scenario"]["id"].startswith("t1-"))


def play_to_an_ending(client, auth, assignment_id: int) -> list[dict]:
    started = client.post(f"{API}/assignments/{assignment_id}/attempts", headers=auth)
    assert started.status_code == 201, started.text
    attempt, stage, outcomes = started.json["id"], started.json["stage"], []
    assert set(stage) >= {"id", "prompt", "choices"} and "points" not in json.dumps(stage["choices"])
    while stage["choices"]:
        chosen = client.post(f"{API}/attempts/{attempt}/choices", headers=auth,
                             json={"stage": stage["id"], "choice": stage["choices"][0]["id"]})
        assert chosen.status_code == 200, chosen.text
        outcomes.append(chosen.json)
        stage = chosen.json["stage"]
    assert outcomes[-1]["finished"] and stage["choices"] == []
    return outcomes


def scores_for(rubric: dict, drop: int) -> tuple[dict, dict]:
    """The best level on every criterion, ``drop`` levels lower on the first one; a comment on each."""
    scores = {c["id"]: max(lv["points"] for lv in c["levels"]) for c in rubric["criteria"]}
    first = rubric["criteria"][0]
    scores[first["id"]] = sorted(lv["points"] for lv in first["levels"])[-1 - drop]
    return scores, {c["id"]: f"Nhận xét về {c['title'].lower()}" for c in rubric["criteria"]}


def core_total(rubric: dict, scores: dict) -> float:
    core = Rubric(rubric["id"], rubric["version"], rubric["title"], scale=rubric["scale"], criteria=tuple(
        Criterion(c["id"], c["title"], c["weight"], tuple(Level(lv["points"], lv["label"]) for lv in c["levels"]))
        for c in rubric["criteria"]))
    return core.score(scores).total


def test_the_course_by_token(client, demo, session):
    cadre1, cadre2, cadre4 = token(client, "cadre1"), token(client, "cadre2"), token(client, "cadre4")
    assignment = the_assignment(client, cadre1)
    aid = assignment["id"]
    assert assignment["group"]["name"] == "Xã Tân Hòa" and assignment["state"] == "open"
    assert set(assignment["scenario"]) == {"id", "title", "topic", "version"}

    outcomes = play_to_an_ending(client, cadre1, aid)
    assert all(o["feedback"] for o in outcomes)
    again = client.post(f"{API}/assignments/{aid}/attempts", headers=cadre1)
    assert again.status_code == 200 and again.json["finished"] and len(again.json["path"]) == len(outcomes)

    first = client.post(f"{API}/assignments/{aid}/posts", headers=cadre1,
                        json={"body": "Đề xuất họp dân ở cả ba thôn cũ trong tuần này."})
    assert first.status_code == 201, first.text
    reply = client.post(f"{API}/assignments/{aid}/posts", headers=cadre2,
                        json={"body": "Đồng ý, tôi chuẩn bị số liệu hồ sơ tồn đọng.", "parent_id": first.json["id"]})
    assert reply.status_code == 201 and reply.json["parent_id"] == first.json["id"]
    seen = client.get(f"{API}/assignments/{aid}/posts", headers=cadre2).json["posts"]
    assert [p["body"] for p in seen] == ["Đề xuất họp dân ở cả ba thôn cũ trong tuần này.",
                                         "Đồng ý, tôi chuẩn bị số liệu hồ sơ tồn đọng."]
    assert client.get(f"{API}/assignments/{aid}/posts", headers=cadre4).json["posts"] == []

    saved = client.put(f"{API}/assignments/{aid}/essay/draft", headers=cadre1, json={"body": ESSAY[:500]})
    assert saved.status_code == 200 and saved.json["words"] > 50 and saved.json["saved_at"]
    assert client.get(f"{API}/assignments/{aid}/essay/draft", headers=cadre1).json["body"] == ESSAY[:500]
    receipt = client.post(f"{API}/assignments/{aid}/essay", headers=cadre1, json={"body": ESSAY})
    assert receipt.status_code == 201, receipt.text
    assert receipt.json["sha256"] == hashlib.sha256(ESSAY.encode("utf-8")).hexdigest()
    essay_id = receipt.json["id"]
    own = client.get(f"{API}/essays/{essay_id}", headers=cadre1).json
    assert own["body"] == ESSAY and own["author"]["username"] == "cadre1"
    assert client.get(f"{API}/essays/{essay_id}", headers=cadre2).status_code == 404

    author = session.get(m.User, own["author"]["id"])
    identity = [author.username, author.display_name, f'"author_id": {author.id}', '"author"', '"username"',
                '"commune"', '"user_id"']
    marks = []
    for examiner, drop in (("examiner1", 0), ("examiner2", 1)):
        auth = token(client, examiner)
        queue = client.get(f"{API}/grading/queue", headers=auth)
        read = client.get(f"{API}/essays/{essay_id}", headers=auth)
        assert queue.status_code == read.status_code == 200
        for text in (queue.get_data(as_text=True), read.get_data(as_text=True)):
            leaks = [needle for needle in identity if needle in text]
            assert not leaks, f"{examiner} sees the author's identity: {leaks}"
        item = next(i for i in queue.json["items"] if i["essay_id"] == essay_id)
        rubric = next(r for r in queue.json["rubrics"] if r["key"] == item["rubric_key"])
        assert item["assignment_id"] == aid and read.json["body"] == ESSAY
        scores, comments = scores_for(rubric, drop)
        if examiner == "examiner1":       # the shipped rubric asks for a comment on every criterion
            first = rubric["criteria"][0]["title"]
            bare = client.post(f"{API}/essays/{essay_id}/grades", headers=auth, json={"scores": scores, "final": True})
            assert bare.status_code == 422
            assert bare.json["error"] == f"Phiếu chấm này yêu cầu nhận xét cho mọi tiêu chí; còn thiếu ở: {first}"
            english = client.post(f"{API}/essays/{essay_id}/grades?lang=en", headers=auth,
                                  json={"scores": scores, "final": True})
            assert english.json["error"].startswith("This rubric asks for a comment on every criterion")
        graded = client.post(f"{API}/essays/{essay_id}/grades", headers=auth,
                             json={"scores": scores, "comments": comments, "comment": "Bài viết tốt.",
                                   "final": True})
        assert graded.status_code == 200, graded.text
        assert graded.json == {"total": core_total(rubric, scores), "final": True}
        marks.append(Mark(examiner, item["round"], graded.json["total"]))

    assert client.get(f"{API}/essays/{essay_id}/grade", headers=cadre1).status_code == 403   # not released
    lecturer = token(client, "lecturer1")
    released = client.post(f"{API}/assignments/{aid}/release", headers=lecturer)
    assert released.status_code == 200 and released.json["final_marks"] == 1
    grade = client.get(f"{API}/essays/{essay_id}/grade", headers=cadre1)
    assert grade.status_code == 200, grade.text
    expected = reconcile(marks)
    assert expected.status == "final" and grade.json["status"] == "final"
    assert grade.json["final"] == expected.final
    assert grade.json["comments"] == ["Bài viết tốt.", "Bài viết tốt."]
    assert client.get(f"{API}/essays/{essay_id}/grade", headers=cadre2).status_code == 404


def test_errors_are_json_never_a_login_redirect(client, demo):
    anonymous = client.get(f"{API}/assignments")
    assert anonymous.status_code == 401 and anonymous.json["error"] and anonymous.json["fields"] == {}
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    forged = client.get(f"{API}/assignments", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401 and "không hợp lệ" in forged.json["error"]
    wrong = client.post(f"{API}/tokens", json={"username": "cadre1", "password": "sai-mat-khau"})
    assert wrong.status_code == 401 and wrong.json["error"]
    assert client.get(f"{API}/nothing-here").status_code == 404
    assert client.get(f"{API}/nothing-here").json["error"]

    cadre1 = token(client, "cadre1")
    aid = the_assignment(client, cadre1)["id"]
    bad = client.post(f"{API}/assignments/{aid}/posts", headers=cadre1, data="{body: 1",
                      content_type="application/json")
    assert bad.status_code == 400 and "JSON" in bad.json["error"]
    listed = client.post(f"{API}/assignments/{aid}/posts", headers=cadre1, json=["body"])
    assert listed.status_code == 400
    unknown = client.post(f"{API}/assignments/{aid}/posts", headers=cadre1, json={"body": "x", "author": 9})
    assert unknown.status_code == 422 and unknown.json["fields"] == {"author": ["Unknown field."]}
    missing = client.post(f"{API}/attempts/1/choices", headers=cadre1, json={"stage": "s1"})
    assert missing.status_code == 422 and list(missing.json["fields"]) == ["choice"]
    nested = client.post(f"{API}/essays/1/grades", headers=token(client, "examiner1"),
                         json={"scores": {"nam-tinh-hinh": "ba"}})
    assert nested.status_code == 422 and "scores.nam-tinh-hinh.value" in nested.json["fields"]
    empty = client.post(f"{API}/assignments/{aid}/posts", headers=cadre1, json={"body": "<script></script>"})
    assert empty.status_code == 422 and empty.json["fields"] == {"body": ["empty"]}
    assert client.get(f"{API}/assignments/999999/posts", headers=cadre1).status_code == 404
    assert client.get(f"{API}/grading/queue", headers=cadre1).status_code == 403
    assert client.post(f"{API}/assignments/{aid}/release", headers=cadre1).status_code == 403


def test_an_oversized_essay_is_refused_whole_and_the_draft_is_kept(app, client, demo):
    cadre1 = token(client, "cadre1")
    aid = the_assignment(client, cadre1)["id"]
    assert client.put(f"{API}/assignments/{aid}/essay/draft", headers=cadre1, json={"body": ESSAY}).status_code == 200
    huge = "chữ " * (app.config["MAX_CONTENT_LENGTH"] // 4)
    for method, path in (("put", "essay/draft"), ("post", "essay")):
        response = getattr(client, method)(f"{API}/assignments/{aid}/{path}", headers=cadre1, json={"body": huge})
        assert response.status_code == 413 and "KB" in response.json["error"]
    assert client.get(f"{API}/assignments/{aid}/essay/draft", headers=cadre1).json["body"] == ESSAY
    assert client.get(f"{API}/assignments/{aid}/essay", headers=cadre1).status_code == 404


def test_resume_retry_and_a_wrong_stage(client, demo):
    cadre1 = token(client, "cadre1")
    aid = the_assignment(client, cadre1)["id"]
    started = client.post(f"{API}/assignments/{aid}/attempts", headers=cadre1, json={})
    stage = started.json["stage"]
    step = client.post(f"{API}/attempts/{started.json['id']}/choices", headers=cadre1,
                       json={"stage": stage["id"], "choice": stage["choices"][0]["id"]})
    assert step.status_code == 200 and set(step.json) == {"feedback", "points", "score", "finished", "stage"}
    resumed = client.post(f"{API}/assignments/{aid}/attempts", headers=cadre1)
    assert resumed.status_code == 200 and resumed.json["id"] == started.json["id"]
    assert resumed.json["stage"]["id"] == step.json["stage"]["id"]
    stale = client.post(f"{API}/attempts/{started.json['id']}/choices", headers=cadre1,
                        json={"stage": stage["id"], "choice": stage["choices"][0]["id"]})
    assert stale.status_code == 422 and "choice" in stale.json["fields"]
    other = client.post(f"{API}/attempts/{started.json['id']}/choices", headers=token(client, "cadre2"),
                        json={"stage": "s1", "choice": "a"})
    assert other.status_code == 404


def test_group_report_co_editing_and_staff_reading_a_group(client, demo, session):
    cadre1, cadre2 = token(client, "cadre1"), token(client, "cadre2")
    aid = the_assignment(client, cadre1)["id"]
    first = client.put(f"{API}/assignments/{aid}/report", headers=cadre1,
                       json={"body": "<p>Nhóm đề xuất <b>ba</b> việc</p><script>x()</script>", "revision": 0})
    assert first.status_code == 200 and first.json["revision"] == 1 and "<script" not in first.json["body"]
    stale = client.put(f"{API}/assignments/{aid}/report", headers=cadre2, json={"body": "khác", "revision": 0})
    assert stale.status_code == 409
    submitted = client.post(f"{API}/assignments/{aid}/report/submit", headers=cadre2)
    assert submitted.status_code == 200 and len(submitted.json["sha256"]) == 64
    group = client.get(f"{API}/assignments/{aid}/report", headers=cadre1).json["group_id"]
    lecturer = token(client, "lecturer1")
    assert client.get(f"{API}/assignments/{aid}/report?group={group}", headers=lecturer).json["revision"] == 1
    assert client.get(f"{API}/assignments/{aid}/report", headers=lecturer).status_code == 404
    assert client.get(f"{API}/assignments/{aid}/posts?group=x", headers=lecturer).status_code == 422
    other = token(client, "cadre4")
    assert client.get(f"{API}/assignments/{aid}/posts?group={group}", headers=other).status_code == 404


def test_similarity_report_for_examiners_and_staff_only(client, demo, session):
    cadre1 = token(client, "cadre1")
    aid = the_assignment(client, cadre1)["id"]
    essay_id = client.post(f"{API}/assignments/{aid}/essay", headers=cadre1, json={"body": ESSAY}).json["id"]
    copied = client.post(f"{API}/assignments/{aid}/essay", headers=token(client, "cadre4"), json={"body": ESSAY})
    assert copied.status_code == 201
    for username in ("examiner1", "lecturer1", "admin1"):
        report = client.get(f"{API}/essays/{essay_id}/similarity", headers=token(client, username))
        assert report.status_code == 200, report.text
        assert report.json["essay_id"] == essay_id and report.json["status"] == "done"
        assert isinstance(report.json["score"], float)      # the engine's judgement is tested with the engine
        assert all(set(source) >= {"kind", "id", "title", "share", "passages", "text"}
                   for source in report.json["sources"])
    assert client.get(f"{API}/essays/{essay_id}/similarity", headers=cadre1).status_code == 403
    session.execute(delete(m.SimilarityReport).where(m.SimilarityReport.essay_id == essay_id))
    session.commit()
    not_yet = client.get(f"{API}/essays/{essay_id}/similarity", headers=token(client, "examiner1"))
    assert not_yet.status_code == 404 and not_yet.json["error"]


@pytest.mark.parametrize("username", ["cadre1"])
def test_cookie_sessions_need_the_csrf_header_and_tokens_do_not(csrf_app, demo, username):
    browser = csrf_app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    signed_in = browser.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf})
    assert signed_in.status_code == 302
    aid = the_assignment(browser, {})["id"]
    body = {"body": "Gửi từ trang web"}
    refused = browser.post(f"{API}/assignments/{aid}/posts", json=body)
    assert refused.status_code == 400 and "X-CSRFToken" in refused.json["error"]
    accepted = browser.post(f"{API}/assignments/{aid}/posts", json=body, headers={"X-CSRFToken": csrf})
    assert accepted.status_code == 201, accepted.text

    script = csrf_app.test_client()
    auth = token(script, username)
    assert script.post(f"{API}/assignments/{aid}/posts", json=body, headers=auth).status_code == 201
