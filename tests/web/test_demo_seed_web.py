"""A cadre of the bulk-seeded demo signs in with the demo password and finds their essay submitted; the
examiners find the seeded essays in their queue."""
from __future__ import annotations

from sqlalchemy import select

from lms_plugin.services import demo
from lms_plugin.store import models as m
from tests.web.conftest import PASSWORD, login


def test_a_seeded_cadre_signs_in_and_sees_the_essay_submitted(app, session):
    summary = demo.seed_demo(session, PASSWORD, cadres=300, communes=7, essays=40)
    session.commit()
    assignment_id = summary.essay_assignment_id
    essay = session.scalar(select(m.Essay).join(m.User, m.User.id == m.Essay.user_id)
                           .where(m.User.username == "cadre40"))

    writer = app.test_client()
    login(writer, "cadre40")
    page = writer.get(f"/cadre/assignments/{assignment_id}/essay").text
    assert "Bạn đã nộp bản 1" in page
    receipt = writer.get(f"/cadre/essays/{essay.id}/receipt").text
    assert 'data-test="receipt"' in receipt and essay.sha256 in receipt

    late = app.test_client()
    login(late, "cadre41")
    assert "Bạn đã nộp bản" not in late.get(f"/cadre/assignments/{assignment_id}/essay").text

    examiner = app.test_client()
    login(examiner, "examiner1")
    queue = examiner.get("/examiner/").text
    assert f"/examiner/essays/{essay.id}" in queue
