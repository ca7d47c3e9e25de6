"""The expert panel through the web app's generic unit routes and the API: what cadres and a lecturer notice."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from lms_plugin.store import models as m

from .conftest import login

SLUG = "t1-lan-song-don-thu-sau-sap-nhap"          # ships a units.panel section
API = "/api/v1"


@pytest.fixture
def aid(demo, session):
    return session.scalar(select(m.Assignment.id).join(m.ScenarioVersion).join(m.Scenario)
                          .where(m.Scenario.slug == SLUG).order_by(m.Assignment.id))


def signed_in(app, username: str):
    client = app.test_client()
    login(client, username)
    return client


def bearer(client, username: str) -> dict[str, str]:
    response = client.post(f"{API}/tokens", json={"username": username, "password": "mat-khau-demo"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json['token']}"}


def test_cadres_ask_and_vote_a_lecturer_merges_and_answers_and_everyone_sees_it(app, aid):
    cadre1, cadre2, lecturer = signed_in(app, "cadre1"), signed_in(app, "cadre2"), signed_in(app, "lecturer1")
    base, staff = f"/cadre/assignments/{aid}/units/panel", f"/lecturer/assignments/{aid}/units/panel"
    page = cadre1.get(base)
    assert page.status_code == 200 and "Tọa đàm chuyên gia: tiếp công dân" in page.text
    assert 'data-live-seconds="5"' in page.text and "TS. Lê Thị Thu Hà" in page.text
    asked = cadre1.post(f"{base}/actions/ask", json={"body": "Quyết định của Chủ tịch huyện cũ bị khiếu nại: "
                                                             "xã hay tỉnh giải quyết?", "for_group": True})
    assert asked.status_code == 200, asked.text
    keep = asked.get_json()["view"]["state"]["questions"][0]
    assert keep["group"] == "Xã Tân Hòa" and "Điểm cầu Tân Hòa" in asked.get_json()["html"]
    duplicate = cadre2.post(f"{base}/actions/ask", json={"body": "Đơn khiếu nại quyết định của huyện cũ gửi ai?"})
    duplicate_id = duplicate.get_json()["view"]["state"]["questions"][1]["id"]
    # a vote through the web page (without script: the form posts and the page comes back) ...
    voted = cadre2.post(f"{base}/actions/vote", data={"question_id": str(keep["id"])})
    assert voted.status_code == 302 and voted.headers["Location"].endswith("/units/panel")
    # ... and through the API, by a cadre of the other commune
    auth = bearer(app.test_client(), "cadre4")
    api = app.test_client().post(f"{API}/assignments/{aid}/units/panel/actions/vote", headers=auth,
                                 json={"question_id": duplicate_id})
    assert api.status_code == 200, api.text
    assert [q["votes"] for q in api.get_json()["state"]["questions"]] == [1, 1]
    twice = app.test_client().post(f"{API}/assignments/{aid}/units/panel/actions/vote", headers=auth,
                                   json={"question_id": duplicate_id})
    assert [q["votes"] for q in twice.get_json()["state"]["questions"]] == [1, 1]
    # the lecturer merges the duplicate (cadre4's vote moves with it) and answers
    merged = lecturer.post(f"{staff}/actions/merge", json={"question_id": duplicate_id, "into_id": keep["id"]})
    assert merged.status_code == 200, merged.text
    assert [(q["id"], q["votes"]) for q in merged.get_json()["view"]["state"]["questions"]] == [(keep["id"], 2)]
    answered = lecturer.post(f"{staff}/actions/answer",
                             json={"question_id": keep["id"], "body": "Theo Luật Khiếu nại, sau sắp xếp ..."})
    assert answered.status_code == 200 and "Theo Luật Khiếu nại" in answered.get_json()["html"]
    seen = cadre2.get(f"{base}/state?html=1").get_json()
    assert seen["view"]["state"]["questions"][0]["status"] == "answered"
    assert "Theo Luật Khiếu nại" in seen["html"] and "đã được gộp" in seen["html"]   # cadre2's own, merged
    assert "Chọn trả lời" in lecturer.get(staff).text


def test_learners_cannot_use_the_moderators_door(app, aid):
    cadre1 = signed_in(app, "cadre1")
    asked = cadre1.post(f"/cadre/assignments/{aid}/units/panel/actions/ask", json={"body": "Câu hỏi"})
    qid = asked.get_json()["view"]["state"]["questions"][0]["id"]
    assert cadre1.post(f"/cadre/assignments/{aid}/units/panel/actions/hide", json={"question_id": qid}
                       ).status_code == 404
    assert cadre1.post(f"/lecturer/assignments/{aid}/units/panel/actions/hide", json={"question_id": qid}
                       ).status_code == 403
    auth = bearer(app.test_client(), "cadre1")
    assert app.test_client().post(f"{API}/assignments/{aid}/units/panel/staff/actions/hide", headers=auth,
                                  json={"question_id": qid}).status_code == 403
    state = cadre1.get(f"/cadre/assignments/{aid}/units/panel/state").get_json()["view"]["state"]
    assert state["questions"][0]["status"] == "open"


def test_the_state_answers_304_with_its_etag_until_something_changes(app, aid):
    cadre1, cadre3 = signed_in(app, "cadre1"), signed_in(app, "cadre3")
    url = f"/cadre/assignments/{aid}/units/panel/state"
    first = cadre1.get(url)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.strip('"') == first.get_json()["view"]["version"]
    assert cadre1.get(url, headers={"If-None-Match": etag}).status_code == 304
    cadre3.post(f"/cadre/assignments/{aid}/units/panel/actions/ask", json={"body": "Câu hỏi mới của cadre3"})
    again = cadre1.get(url + "?html=1", headers={"If-None-Match": etag})
    assert again.status_code == 200 and "Câu hỏi mới của cadre3" in again.get_json()["html"]
    newer = again.headers["ETag"]
    assert newer != etag and cadre1.get(url, headers={"If-None-Match": newer}).status_code == 304
    # the API's view of the same unit carries the same version
    auth = bearer(app.test_client(), "cadre1")
    api = app.test_client().get(f"{API}/assignments/{aid}/units/panel", headers={**auth, "If-None-Match": newer})
    assert api.status_code == 304


def test_the_lecturer_exports_questions_votes_and_answers(app, aid):
    cadre1, cadre2, lecturer = signed_in(app, "cadre1"), signed_in(app, "cadre2"), signed_in(app, "lecturer1")
    base = f"/cadre/assignments/{aid}/units/panel"
    qid = cadre1.post(f"{base}/actions/ask", json={"body": "=1+1 Hồ sơ lưu trữ ở đâu?"}
                      ).get_json()["view"]["state"]["questions"][0]["id"]
    cadre2.post(f"{base}/actions/vote", json={"question_id": qid})
    lecturer.post(f"/lecturer/assignments/{aid}/units/panel/actions/answer",
                  json={"question_id": qid, "body": "Tại kho lưu trữ tỉnh."})
    # closed whatever happens: a streamed body left open keeps its unit of work (and its locks) open
    with lecturer.get(f"/lecturer/assignments/{aid}/units/panel/export.csv") as response:
        assert response.status_code == 200 and response.mimetype == "text/csv"
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["Mã câu hỏi", "Câu hỏi", "Bình chọn", "Trạng thái"]
    row = dict(zip(rows[0], rows[1]))
    assert row["Câu hỏi"] == "'=1+1 Hồ sơ lưu trữ ở đâu?"            # never run as a formula
    assert (row["Bình chọn"], row["Trạng thái"], row["Trả lời"]) == ("1", "Đã trả lời", "Tại kho lưu trữ tỉnh.")
    assert signed_in(app, "cadre1").get(f"/lecturer/assignments/{aid}/units/panel/export.csv").status_code == 403
