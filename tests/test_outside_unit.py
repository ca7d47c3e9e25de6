"""A unit type from another package, with no change to CaseLab: docs/examples/caselab-poll, installed with pip.

The example scenario (a shipped case plus ``units: poll:``) is imported into the test store, the demo cohort is
given it, and cadres and a lecturer play the poll through the web app's generic unit pages and the JSON API.
The Open edX block plays it in tests/xblocks/test_outside_unit_block.py, chromium in
tests/e2e/test_outside_unit_browser.py.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from lms_plugin.schemas.files import ContentError, load_document
from lms_plugin.services.content import import_catalog
from lms_plugin.services.demo import seed_demo
from lms_plugin.store import models as m
from lms_plugin.units import registry
from lms_plugin.units.spec import UnitContext
from lms_plugin.web import create_app
from tests.outside_poll import SCENARIO_FILE, SLUG, example_catalog, plugged_in
from tests.web.conftest import PASSWORD, login

API = "/api/v1"
QUESTION = "Với 46 hộ chưa bàn giao mặt bằng đường ĐT.917"
DIALOGUE = "Đối thoại trực tiếp với 12 hộ không đồng ý giá đất và 9 hộ ở thôn Bờ Đắp"


@pytest.fixture
def poll():
    with plugged_in() as target:
        yield target


@pytest.fixture
def aid(poll, session, content, tmp_path):
    """The demo cohort's assignment of the example scenario."""
    catalog = example_catalog(tmp_path)
    assert catalog.ok, "\n".join(map(str, catalog.errors))
    import_catalog(session, catalog)
    session.commit()
    seed_demo(session, PASSWORD)
    session.commit()
    return session.scalar(select(m.Assignment.id).join(m.ScenarioVersion).join(m.Scenario)
                          .where(m.Scenario.slug == SLUG).order_by(m.Assignment.id))


@pytest.fixture
def app(aid, engine, tmp_path):
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test-secret", "TESTING": True, "WTF_CSRF_ENABLED": False})
    app.instance_path = str(tmp_path)
    return app


def signed_in(app, username: str):
    client = app.test_client()
    login(client, username)
    return client


def bearer(app, username: str) -> dict[str, str]:
    response = app.test_client().post(f"{API}/tokens", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json['token']}"}


def test_the_package_is_found_through_its_entry_point_and_gone_afterwards(poll):
    import caselab_poll

    assert Path(caselab_poll.__file__).is_relative_to(poll)        # pip's copy, not the docs folder
    unit = registry.unit("poll")
    assert type(unit).__module__ == "caselab_poll" and unit.live_seconds == 10 and not unit.graded
    for folder, name in ((unit.template_folder, "poll/learner.html"), (unit.template_folder, "poll/staff.html"),
                         (unit.static_folder, "poll.css")):
        assert (Path(folder) / name).is_file() and Path(folder).is_relative_to(poll)   # package data installed


def test_the_built_ins_are_alone_again_after_a_test_that_failed_with_the_package():
    with pytest.raises(RuntimeError), plugged_in():
        assert "poll" in registry.units()
        raise RuntimeError("a test failing while the package is in")
    assert "poll" not in registry.units() and "caselab_poll" not in sys.modules


def test_without_the_package_the_scenario_names_the_missing_unit_type():
    assert "poll" not in registry.units()
    with pytest.raises(ContentError) as refused:
        load_document(SCENARIO_FILE.read_bytes(), SCENARIO_FILE.name, "scenario")
    assert "unknown unit type 'poll'" in str(refused.value)


@pytest.mark.parametrize("units, why", [
    ({"question": "Chọn gì?", "options": [{"id": "a", "text": "Một"}]}, "options"),
    ({"question": "Chọn gì?", "options": [{"id": "a", "text": "Một"}, {"id": "a", "text": "Hai"}]}, "unique"),
    ({"question": "Chọn gì?", "options": [{"id": str(i), "text": "x"} for i in range(11)]}, "options"),
    ({"question": "Chọn gì?", "options": [{"id": "a", "text": "Một"}, {"id": "b", "text": "Hai"}],
      "show_results": "never"}, "show_results"),
])
def test_the_poll_checks_its_own_section_of_the_scenario(poll, units, why):
    data = yaml.safe_load(SCENARIO_FILE.read_text(encoding="utf-8"))
    data["units"]["poll"] = units
    with pytest.raises(ContentError) as refused:
        load_document(yaml.safe_dump(data, allow_unicode=True).encode(), "x.yaml", "scenario")
    assert why in str(refused.value)


def test_cadres_vote_change_their_vote_and_see_the_tally(app, aid):
    cadre1, cadre2, cadre4 = (signed_in(app, name) for name in ("cadre1", "cadre2", "cadre4"))
    base = f"/cadre/assignments/{aid}/units/poll"
    overview = cadre1.get(f"/cadre/assignments/{aid}")
    assert 'data-test="tab-unit-poll"' in overview.text and "Bình chọn nhanh" in overview.text
    page = cadre1.get(base)
    assert page.status_code == 200 and QUESTION in page.text
    assert 'data-live-seconds="10"' in page.text and "data-poll-results" not in page.text      # after_vote
    assert "Kết quả hiện ra sau khi bạn bình chọn." in page.text
    css = page.text.split('<link rel="stylesheet" href="')[-1].split('"')[0]
    assert css.endswith("/units/poll/static/poll.css")
    style = cadre1.get(css)
    assert style.status_code == 200 and style.mimetype == "text/css" and b".cl-poll" in style.data

    # without script: the form posts and the page comes back with the vote and the tally
    voted = cadre1.post(f"{base}/actions/vote", data={"option": "c"})
    assert voted.status_code == 302 and voted.headers["Location"].endswith("/units/poll")
    page = cadre1.get(base)
    assert f"Bạn đã chọn: {DIALOGUE}" in page.text and "data-poll-results" in page.text
    assert "100%" in page.text and "1 người đã bình chọn" in page.text

    # with script (JSON): a changed vote, then two more people
    changed = cadre1.post(f"{base}/actions/vote", json={"option": "b"})
    assert changed.status_code == 200, changed.text
    state = changed.get_json()["view"]["state"]
    assert state["my_vote"] == "b" and state["total"] == 1
    assert changed.get_json()["view"]["score"] == {"points": 0.0, "max_points": 0.0, "completed": True}
    cadre2.post(f"{base}/actions/vote", json={"option": "b"})
    last = cadre4.post(f"{base}/actions/vote", json={"option": "c"}).get_json()
    tally = {o["id"]: (o["votes"], o["percent"]) for o in last["view"]["state"]["options"]}
    assert tally == {"a": (0, 0), "b": (2, 67), "c": (1, 33), "d": (0, 0)}
    assert "67%" in last["html"] and "33%" in last["html"]

    # one vote per person: voting again for the same option changes nothing
    again = cadre2.post(f"{base}/actions/vote", json={"option": "b"}).get_json()["view"]["state"]
    assert again["total"] == 3


def test_the_live_state_answers_304_until_someone_votes(app, aid):
    cadre1, cadre2 = signed_in(app, "cadre1"), signed_in(app, "cadre2")
    url = f"/cadre/assignments/{aid}/units/poll/state"
    first = cadre1.get(url)
    etag = first.headers["ETag"]
    assert cadre1.get(url, headers={"If-None-Match": etag}).status_code == 304
    cadre2.post(f"/cadre/assignments/{aid}/units/poll/actions/vote", json={"option": "a"})
    fresh = cadre1.get(url + "?html=1", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    assert "data-poll-results" not in fresh.get_json()["html"]   # cadre1 has not voted: the tally stays hidden
    assert fresh.get_json()["view"]["state"]["total"] is None


def test_bad_votes_are_refused_with_the_reason(app, aid):
    cadre1 = signed_in(app, "cadre1")
    base = f"/cadre/assignments/{aid}/units/poll/actions"
    unknown = cadre1.post(f"{base}/vote", json={"option": "z"})
    assert unknown.status_code == 422 and unknown.get_json()["fields"] == {"option": ["unknown option"]}
    assert cadre1.post(f"{base}/vote", json={}).status_code == 422
    assert cadre1.post(f"{base}/close", json={"closed": True}).status_code == 404    # a lecturer's action
    page = cadre1.post(f"{base}/vote", data={"option": "z"}, follow_redirects=True)
    assert "Câu hỏi không có phương án này" in page.text


def test_the_lecturer_sees_progress_closes_the_poll_and_downloads_the_tally(app, aid):
    for name, option in (("cadre1", "a"), ("cadre2", "c"), ("cadre3", "c"), ("cadre5", "d")):
        assert signed_in(app, name).post(f"/cadre/assignments/{aid}/units/poll/actions/vote",
                                         json={"option": option}).status_code == 200
    lecturer = signed_in(app, "lecturer1")
    assignment = lecturer.get(f"/lecturer/assignments/{aid}")
    item = assignment.text.split('data-test="unit-poll"')[1].split("</li>")[0]
    assert "Bình chọn nhanh" in item and "Số người đã bình chọn" in item and "4" in item
    staff = lecturer.get(f"/lecturer/assignments/{aid}/units/poll")
    assert staff.status_code == 200 and "4 người đã bình chọn" in staff.text and "50%" in staff.text
    assert "Đóng cuộc bình chọn" in staff.text

    closed = lecturer.post(f"/lecturer/assignments/{aid}/units/poll/actions/close", json={"closed": "true"})
    assert closed.status_code == 200 and "Mở lại cuộc bình chọn" in closed.get_json()["html"]
    cadre6 = signed_in(app, "cadre6")
    late = cadre6.get(f"/cadre/assignments/{aid}/units/poll")
    assert "Cuộc bình chọn đã đóng." in late.text and 'name="option"' not in late.text
    assert "data-poll-results" in late.text                   # after_vote: shown to everyone once closed
    refused = cadre6.post(f"/cadre/assignments/{aid}/units/poll/actions/vote", json={"option": "a"})
    assert refused.status_code == 403 and refused.get_json()["error"] == "Cuộc bình chọn đã đóng"

    download = lecturer.get(f"/lecturer/assignments/{aid}/units/poll/export.csv")
    assert download.status_code == 200 and download.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert rows[0] == ["Mã phương án", "Phương án", "Số phiếu", "Tỉ lệ (%)"]
    assert [(r[0], r[2], r[3]) for r in rows[1:]] == [("a", "1", "25"), ("b", "0", "0"), ("c", "2", "50"),
                                                       ("d", "1", "25")]
    assert rows[3][1] == DIALOGUE


def test_the_api_lists_and_plays_the_poll(app, aid):
    auth = bearer(app, "cadre4")
    client = app.test_client()
    listed = client.get(f"{API}/assignments/{aid}/units", headers=auth)
    assert listed.status_code == 200, listed.text
    assert {"type_id": "poll", "title": "Bình chọn nhanh", "graded": False, "live_seconds": 10} in \
        listed.get_json()["units"]
    got = client.get(f"{API}/assignments/{aid}/units/poll", headers=auth)
    assert got.status_code == 200 and got.get_json()["view"]["question"].startswith(QUESTION)
    assert [o["id"] for o in got.get_json()["view"]["options"]] == ["a", "b", "c", "d"]
    assert client.get(f"{API}/assignments/{aid}/units/poll", headers={**auth, "If-None-Match": got.headers["ETag"]}
                      ).status_code == 304
    voted = client.post(f"{API}/assignments/{aid}/units/poll/actions/vote", headers=auth, json={"option": "d"})
    assert voted.status_code == 200, voted.text
    assert voted.get_json()["state"]["my_vote"] == "d" and voted.get_json()["score"]["completed"] is True
    staff = client.get(f"{API}/assignments/{aid}/units/poll/staff", headers=bearer(app, "lecturer1"))
    assert staff.status_code == 200 and staff.get_json()["state"]["total"] == 1


class Records:
    """ctx.records in memory, for the rules of who sees the results."""

    def __init__(self, shared: dict[str, Any], votes: dict[int, str], me: int):
        self.shared, self.votes, self.me = shared, votes, me

    def get(self, name, *, shared=False):
        return self.shared.get(name) if shared else (self.votes.get(self.me) if name == "vote" else None)

    def put(self, name, data, *, shared=False):
        if shared:
            self.shared[name] = data
        else:
            self.votes[self.me] = data

    def tally(self, name):
        counts: dict[str, int] = {}
        for value in self.votes.values():
            counts[value] = counts.get(value, 0) + 1
        return counts

    def bump(self, name="version"):
        self.shared[name] = (self.shared.get(name) or 0) + 1
        return self.shared[name]


@pytest.mark.parametrize("show, before, after_vote, after_close", [
    ("always", True, True, True),
    ("after_vote", False, True, True),
    ("after_close", False, False, True),
])
def test_who_sees_the_results_follows_show_results(poll, show, before, after_vote, after_close):
    scenario = load_document(SCENARIO_FILE.read_bytes(), SCENARIO_FILE.name, "scenario")[0]
    scenario = dataclasses.replace(scenario, units={"poll": {**scenario.units["poll"], "show_results": show}})
    unit, shared, votes = registry.unit("poll"), {}, {2: "a"}

    def seen(me: int, closed: bool = False) -> bool:
        ctx = UnitContext(session=None, user=None, assignment_id=1, scenario=scenario,
                          records=Records(shared, votes, me), closed=closed)
        state = unit.learner_state(ctx)
        assert (state["total"] is not None) == state["results_visible"]
        return state["results_visible"]

    assert seen(1) is before and seen(2) is after_vote
    assert seen(1, closed=True) is after_close                      # the assignment's deadline has passed
    version = unit.version(UnitContext(session=None, user=None, assignment_id=1, scenario=scenario,
                                       records=Records(shared, votes, 1)))
    unit.close(UnitContext(session=None, user=None, assignment_id=1, scenario=scenario,
                           records=Records(shared, votes, 1), staff=True), closed=True)
    assert seen(1) is after_close                                   # the lecturer closed the poll
    assert unit.version(UnitContext(session=None, user=None, assignment_id=1, scenario=scenario,
                                    records=Records(shared, votes, 1))) != version
