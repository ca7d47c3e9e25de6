"""``caselab_unit`` plays the poll of docs/examples/caselab-poll (installed with pip) in the workbench runtime.

No block of the package's own: the generic block renders the poll's template, serves its stylesheet and runs its
actions, as it does for the built-ins (tests/xblocks/test_unit_block.py).
"""
from __future__ import annotations

import json

import pytest
import webob

from lms_plugin.services.content import import_catalog
from tests.outside_poll import SLUG, example_catalog, plugged_in

from .test_blocks import view
from .test_unit_block import call, state


@pytest.fixture
def poll(content, session, tmp_path):
    with plugged_in() as target:
        catalog = example_catalog(tmp_path)
        assert catalog.ok, "\n".join(map(str, catalog.errors))
        import_catalog(session, catalog)
        session.commit()
        yield target


def test_learners_vote_in_the_block_and_see_the_tally(poll, store_url, parse, learner):
    usage = parse(f'<caselab_unit unit_type="poll" scenario="{SLUG}"/>')
    hv1, hv2 = learner("hv1"), learner("hv2")
    html = view(hv1, usage)
    assert "Với 46 hộ chưa bàn giao mặt bằng" in html and "data-unit-root" in html
    assert "/act/vote" in html                         # the poll's form posts to the block's handler
    assert "data-poll-results" not in html             # after_vote: hidden before one votes

    status, answer = call(hv1, usage, "vote", {"option": "a"})
    assert status == 200, answer
    assert answer["view"]["state"]["my_vote"] == "a" and "100%" in answer["html"]
    first = state(hv1, usage)
    etag = first.headers["ETag"]
    assert state(hv1, usage, etag).status_code == 304
    status, answer = call(hv2, usage, "vote", {"option": "c"})
    assert status == 200, answer
    assert {o["id"]: o["percent"] for o in answer["view"]["state"]["options"]} == {"a": 50, "b": 0, "c": 50, "d": 0}
    again = state(hv1, usage, etag)                    # hv1's open page learns of hv2's vote
    assert again.status_code == 200 and "50%" in json.loads(again.body)["html"]
    assert hv1.grades("caselab_unit") == []             # ungraded: nothing goes to the gradebook

    status, answer = call(hv1, usage, "vote", {"option": "z"})
    assert status == 422 and answer["fields"] == {"option": ["unknown option"]}
    status, answer = call(hv1, usage, "close", {"closed": True})
    assert status == 404                                # the lecturer's action has no learner door


def test_the_block_serves_the_poll_stylesheet(poll, store_url, parse, learner):
    usage = parse(f'<caselab_unit unit_type="poll" scenario="{SLUG}"/>')
    hv = learner("hv1")
    fragment = hv.block(usage).render("student_view", {})
    urls = [r.data for r in fragment.resources if r.kind == "url" and r.mimetype == "text/css"]
    assert len(urls) == 1 and "/static/poll.css" in urls[0]
    response = hv.runtime.handle(hv.block(usage), "static", webob.Request.blank("/"), "poll.css")
    assert response.status_code == 200 and response.content_type == "text/css" and b".cl-poll" in response.body
    missing = hv.runtime.handle(hv.block(usage), "static", webob.Request.blank("/"), "../__init__.py")
    assert missing.status_code == 404
