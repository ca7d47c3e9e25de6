"""Finding 7 of the security review: a long write (a roster import) must not turn a cadre's submission into
a 500. The import hashes no password and writes in short batches, and a request that still finds the SQLite
store locked answers 503 in the reader's language, with nothing stored and the draft kept."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select

from lms_plugin.services import accounts, essays, roster
from lms_plugin.store import models as m
from lms_plugin.web import create_app
from tests.web.conftest import first_assignment, login
from tests.web.test_api import ESSAY


def test_a_submission_meeting_a_locked_store_gets_503_and_loses_nothing(content, demo, session, engine,
                                                                       monkeypatch):
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL writers do not lock the whole store")
    monkeypatch.setenv("CASELAB_SQLITE_BUSY_MS", "200")   # the engine the app opens waits 200 ms for a writer
    app = create_app({"DATABASE_URL": engine.url.render_as_string(hide_password=False), "SECRET_KEY": "test-secret",
                      "TESTING": True, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    assignment = first_assignment(session)
    cadre = accounts.get_user(session, "cadre1")
    essays.save_draft(session, cadre, assignment.id, ESSAY)
    session.commit()
    login(client, "cadre1")
    holder = sqlite3.connect(engine.url.database)
    holder.execute("BEGIN IMMEDIATE")                      # another writer, e.g. a long import
    try:
        busy = client.post(f"/api/v1/assignments/{assignment.id}/essay", json={"body": ESSAY})
        page = client.post(f"/cadre/assignments/{assignment.id}/essay/draft", data={"body": ESSAY + " thêm"})
    finally:
        holder.rollback()
        holder.close()
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    assert "chưa được lưu" in busy.json["error"]
    assert page.status_code == 503 and "Máy chủ đang bận" in page.text
    session.expire_all()
    assert session.scalar(select(m.Essay.id).where(m.Essay.user_id == cadre.id)) is None
    assert essays.get_draft(session, cadre, assignment.id).body == ESSAY
    done = client.post(f"/api/v1/assignments/{assignment.id}/essay", json={"body": ESSAY})
    assert done.status_code == 201
    app.extensions["caselab.engine"].dispose()


def test_a_roster_import_hashes_no_password_and_commits_batch_by_batch(app, session, demo, monkeypatch):
    """The write lock is held per batch, never for the whole roster, and no slow hash runs while it is held."""
    admin = accounts.get_user(session, "admin1")
    cohort = session.scalar(select(m.Cohort))
    steps: list[str] = []
    monkeypatch.setattr(accounts, "generate_password_hash", lambda *a, **k: steps.append("hash"))
    rows = roster.read_roster("lop.csv", ("Họ tên,Xã\n" + "".join(f"Cán bộ Số {i},Tân Hòa\n" for i in range(30)))
                              .encode("utf-8"))
    result = roster.import_roster(session, admin, cohort.id, rows, batch_rows=10,
                                  commit=lambda: steps.append("commit") or session.commit())
    assert len(result.created) == 30 and "hash" not in steps
    assert steps.count("commit") == 1 + 3 + 1       # the plan's reads, 3 batches, the audit
