"""A submitted essay is stored and its receipt answered whatever happens to its background check afterwards:
the check raising, the broker unreachable. The job waits in the table, with its error, for the dispatcher."""
from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from sqlalchemy import select

from lms_plugin.services import jobs, similarity
from lms_plugin.store import models as m
from tests.web.test_api import API, ESSAY, the_assignment, token


def _submit(client):
    cadre1 = token(client, "cadre1")
    aid = the_assignment(client, cadre1)["id"]
    return client.post(f"{API}/assignments/{aid}/essay", headers=cadre1, json={"body": ESSAY})


def _stored(session, essay_id: int) -> m.Essay:
    session.expire_all()
    essay = session.get(m.Essay, essay_id)
    assert essay.body == ESSAY and essay.sha256 == hashlib.sha256(ESSAY.encode("utf-8")).hexdigest()
    return essay


def test_a_check_that_raises_leaves_the_receipt_and_the_essay_whole(client, demo, session, monkeypatch):
    def broken(*_args, **_kwargs):
        raise MemoryError("the index did not fit")
    monkeypatch.setitem(jobs._TASKS, similarity.CHECK, replace(jobs._TASKS[similarity.CHECK], fn=broken))
    receipt = _submit(client)
    assert receipt.status_code == 201, receipt.text
    assert receipt.json["sha256"] == hashlib.sha256(ESSAY.encode("utf-8")).hexdigest()
    _stored(session, receipt.json["id"])
    job = session.scalar(select(m.Job).where(m.Job.name == similarity.CHECK))
    assert job.state == "queued" and job.attempts == 1 and "MemoryError: the index did not fit" in job.error


@pytest.mark.parametrize("mode", ["celery", "thread"])
def test_a_runner_that_cannot_be_reached_leaves_the_receipt_whole(client, demo, session, monkeypatch, mode):
    monkeypatch.setenv("CASELAB_JOBS", mode)
    monkeypatch.setenv("CASELAB_BROKER_URL", "redis://127.0.0.1:1/0")       # nothing listens there

    def unreachable(*_args, **_kwargs):
        raise ConnectionRefusedError("the runner is gone")
    monkeypatch.setattr(jobs, "_send", unreachable)
    monkeypatch.setattr(jobs, "_thread_pool", unreachable)
    from lms_plugin.services import runtime
    monkeypatch.setattr(runtime, "_configured", None)        # the app's settings said inline; read these
    receipt = _submit(client)
    assert receipt.status_code == 201, receipt.text
    _stored(session, receipt.json["id"])
    job = session.scalar(select(m.Job).where(m.Job.name == similarity.CHECK))
    assert job.state == "queued" and job.attempts == 0                 # the dispatcher hands it later
