"""``caselab_unit`` plays any registered unit type through the contract in the workbench runtime."""
from __future__ import annotations

import json

import pytest
import webob

from lms_plugin.core.scenarios import walk

from .test_blocks import essay_text, view


def call(learner, usage_id, action, payload=None):
    """POST a JSON body to the block's ``act`` handler for ``action``; -> (status, answer)."""
    request = webob.Request.blank("/", method="POST", body=json.dumps(payload or {}).encode())
    response = learner.runtime.handle(learner.block(usage_id), "act", request, action)
    return response.status_code, json.loads(response.body)


@pytest.fixture
def shipped(content):
    return next(s.scenario for s in sorted(content.scenarios, key=lambda s: s.path.name)
                if s.scenario.discussion and s.scenario.essay)


def state(learner, usage, etag=None):
    request = webob.Request.blank("/", method="GET")
    if etag:
        request.headers["If-None-Match"] = etag
    response = learner.runtime.handle(learner.block(usage), "state", request)
    return response


@pytest.mark.parametrize("type_id", ["case", "discussion", "essay"])
def test_each_built_in_unit_renders_through_the_contract(type_id, shipped, store_url, parse, learner):
    usage = parse(f'<caselab_unit unit_type="{type_id}" scenario="{shipped.id}"/>')
    html = view(learner("hv1"), usage)
    assert "data-unit-root" in html and "/act/" in html      # the unit's forms post to the block's handler


def test_a_case_played_to_its_end_publishes_the_score(shipped, store_url, parse, learner):
    usage = parse(f'<caselab_unit unit_type="case" scenario="{shipped.id}"/>')
    hv = learner("hv1")
    decisions, stage = [], shipped.start
    while not stage.is_ending:
        choice = stage.choices[0]
        status, answer = call(hv, usage, "choose", {"stage": stage.id, "choice": choice.id})
        assert status == 200, answer
        decisions.append((stage.id, choice.id))
        stage = shipped.stage(choice.next)
    assert "Tình huống đã kết thúc" in answer["html"]
    expected = walk(shipped, decisions).ratio
    assert hv.grades("caselab_unit") == [{"value": pytest.approx(expected), "max_value": 1.0}]
    assert answer["view"]["score"]["completed"] is True


def test_a_discussion_post_reaches_the_group_and_the_state_answers_304_until_then(shipped, store_url, parse,
                                                                                    learner):
    usage = parse(f'<caselab_unit unit_type="discussion" scenario="{shipped.id}"/>')
    first = state(learner("hv1"), usage)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert state(learner("hv1"), usage, etag).status_code == 304
    status, answer = call(learner("hv2"), usage, "post", {"body": "Đề nghị tách hồ sơ theo thôn."})
    assert status == 200, answer
    again = state(learner("hv1"), usage, etag)
    assert again.status_code == 200 and "tách hồ sơ theo thôn" in json.loads(again.body)["html"]


def test_bad_input_and_unknown_actions_are_refused_in_the_learners_language(shipped, store_url, parse, learner):
    usage = parse(f'<caselab_unit unit_type="essay" scenario="{shipped.id}"/>')
    status, answer = call(learner("hv1"), usage, "save_draft", {})
    assert status == 422 and answer["fields"]["body"]
    status, answer = call(learner("hv1"), usage, "burn", {})
    assert status == 404 and answer["error"]
    status, answer = call(learner("hv1"), usage, "submit", {"body": essay_text(shipped.essay.min_words)})
    assert status == 200, answer
    assert answer["view"]["state"]["receipt"]["version"] == 1


def test_a_block_without_a_unit_type_says_so(shipped, store_url, parse, learner):
    usage = parse(f'<caselab_unit scenario="{shipped.id}"/>')
    assert "Chưa chọn loại phần học" in view(learner("hv1"), usage)


def test_studio_offers_every_unit_type_and_refuses_one_the_scenario_lacks(shipped, store_url, parse, learner):
    usage = parse('<caselab_unit/>')
    staff = learner("gv1", staff=True)
    editor = staff.block(usage).render("studio_view", {}).body_html()
    assert 'name="unit_type"' in editor and 'value="essay"' in editor
    form = {"display_name": "Bài thu hoạch", "scenario": shipped.id, "unit_type": "essay"}
    request = webob.Request.blank("/", method="POST", body=json.dumps(form).encode())
    assert staff.runtime.handle(staff.block(usage), "submit_studio", request).status_code == 200
    assert staff.block(usage).unit_type == "essay"
    request = webob.Request.blank("/", method="POST", body=json.dumps({**form, "unit_type": "nope"}).encode())
    answer = staff.runtime.handle(staff.block(usage), "submit_studio", request)
    assert answer.status_code == 422 and "loại phần học" in json.loads(answer.body)["error"]
