"""The web app and the API play any registered unit through the contract (the built-ins here)."""
from __future__ import annotations

import pytest

from lms_plugin.units import registry

from .conftest import first_assignment, login


@pytest.fixture
def assignment_id(demo, session):
    return first_assignment(session).id


def test_every_built_in_unit_plays_on_the_generic_page(client, demo, assignment_id):
    login(client, "cadre1")
    for type_id in ("case", "discussion", "essay"):
        page = client.get(f"/cadre/assignments/{assignment_id}/units/{type_id}")
        assert page.status_code == 200, (type_id, page.text[:500])
        assert 'data-unit-root' in page.text and "/units/player.js" in page.text


def test_a_case_decision_through_the_contract_shows_its_feedback(client, demo, session, assignment_id):
    login(client, "cadre1")
    state = client.get(f"/cadre/assignments/{assignment_id}/units/case/state").get_json()["view"]["state"]
    stage, choice = state["stage"]["id"], state["stage"]["choices"][0]["id"]
    answer = client.post(f"/cadre/assignments/{assignment_id}/units/case/actions/choose",
                         json={"stage": stage, "choice": choice})
    assert answer.status_code == 200, answer.text
    body = answer.get_json()
    assert body["view"]["state"]["path"][0]["choice"] == choice
    assert "Nhận xét" in body["html"]           # the feedback, in the unit's own template
    # the tailored case page shows the same decision: one store, one service
    chosen = state["stage"]["choices"][0]["text"]
    assert chosen in client.get(f"/cadre/assignments/{assignment_id}/case").text


def test_a_form_post_without_script_redirects_back_and_a_bad_one_says_why(client, demo, assignment_id):
    login(client, "cadre1")
    ok = client.post(f"/cadre/assignments/{assignment_id}/units/discussion/actions/post",
                     data={"body": "Ý kiến của tổ: cần số hóa hồ sơ đất đai trước quý III."})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/units/discussion")
    page = client.get(f"/cadre/assignments/{assignment_id}/units/discussion")
    assert "số hóa hồ sơ đất đai" in page.text
    bad = client.post(f"/cadre/assignments/{assignment_id}/units/discussion/actions/post", json={"body": ""})
    assert bad.status_code == 422 and bad.get_json()["fields"]
    unknown = client.post(f"/cadre/assignments/{assignment_id}/units/discussion/actions/delete_all", json={})
    assert unknown.status_code == 404


def test_the_state_answers_304_until_something_changes(client, demo, assignment_id):
    login(client, "cadre1")
    url = f"/cadre/assignments/{assignment_id}/units/discussion/state"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    client.post(f"/cadre/assignments/{assignment_id}/units/discussion/actions/post", json={"body": "Tôi đồng ý."})
    again = client.get(url + "?html=1", headers={"If-None-Match": etag})
    assert again.status_code == 200 and "Tôi đồng ý." in again.get_json()["html"]


def test_a_cadre_of_another_cohort_and_an_unknown_unit_get_404(client, demo, session, assignment_id):
    login(client, "cadre1")
    assert client.get(f"/cadre/assignments/{assignment_id}/units/nope").status_code == 404
    assert client.get(f"/cadre/assignments/{assignment_id}/units/../case").status_code == 404
    assert client.get("/cadre/assignments/999999/units/case").status_code == 404


def test_the_essay_submitted_through_the_contract_is_stored_as_sent(client, demo, assignment_id):
    login(client, "cadre2")
    body = "Mở đầu\n" + "Kiến nghị: xây dựng kho dữ liệu dùng chung cấp xã. " * 60
    answer = client.post(f"/cadre/assignments/{assignment_id}/units/essay/actions/submit", json={"body": body})
    if answer.status_code != 200:        # the scenario's checks (length, recommendations) speak for themselves
        assert answer.status_code == 422 and answer.get_json()["error"]
        return
    receipt = answer.get_json()["view"]["state"]["receipt"]
    assert receipt["version"] == 1 and len(receipt["sha256"]) == 64


def test_staff_see_the_unit_counts_and_download_its_export(client, demo, assignment_id):
    login(client, "cadre1")
    client.post(f"/cadre/assignments/{assignment_id}/units/discussion/actions/post", json={"body": "=1+1 ý kiến"})
    client.post("/logout")
    login(client, "lecturer1")
    page = client.get(f"/lecturer/assignments/{assignment_id}/units/discussion")
    assert page.status_code == 200 and "Bài đăng" in page.text
    csv = client.get(f"/lecturer/assignments/{assignment_id}/units/discussion/export.csv")
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    text = csv.data.decode("utf-8-sig")

    assert "'=1+1 ý kiến" in text            # a formula never runs in a spreadsheet
    assert registry.unit("discussion").title in {"Thảo luận nhóm"}
