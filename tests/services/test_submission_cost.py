"""A deadline rush submits thousands of essays a minute: one submission costs the same few statements whether
the course holds 20 essays or 200, and what it stores is what the marking and the checks need."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import event, func, select

from lms_plugin.services import accounts, demo, essays
from lms_plugin.services.content import scenario_data
from lms_plugin.services.demo_text import EssayWriter
from lms_plugin.store import models as m

PASSWORD = "mat-khau-demo"


@pytest.fixture
def course(session, content):
    summary = demo.seed_demo(session, PASSWORD, cadres=240, communes=6, essays=20)
    session.commit()
    assignment = session.get(m.Assignment, summary.essay_assignment_id)
    return assignment, EssayWriter(scenario_data(assignment.scenario_version), scenario_data(
        assignment.scenario_version).essay)


def submit_counting(session, assignment, writer, n: int) -> list[str]:
    """Submit cadre``n``'s essay as the API does (the cadre read afresh), returning the statements it ran."""
    session.expire_all()
    cadre = accounts.get_user(session, f"cadre{n}")
    body = writer.write(n, "Tân Hòa", "Tỉnh Đông Hải").body
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement.split()[0] + " " + statement.split("INTO ")[-1].split()[0]
                    if statement.startswith("INSERT") else statement.split()[0])
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        receipt = essays.submit_essay(session, cadre, assignment.id, body)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    session.commit()          # then the check runs (inline here): the job's work, not the receipt's
    assert receipt.sha256 == essays.digest(body) and receipt.version == 1
    return seen


def test_a_first_submission_costs_the_same_few_statements_whatever_the_course_size(session, course):
    assignment, writer = course
    small = submit_counting(session, assignment, writer, 30)
    for n in range(31, 200):                    # the course grows by 169 essays, 338 open rounds
        essays.submit_essay(session, accounts.get_user(session, f"cadre{n}"), assignment.id,
                            writer.write(n, "Tân Hòa", "Tỉnh Đông Hải").body)
    session.commit()
    large = submit_counting(session, assignment, writer, 200)
    assert Counter(large) == Counter(small)
    assert Counter(large)["SELECT"] == 3          # the assignment with membership, the token-free user, the pool
    tables = {"essays", "audit_events", "essay_results", "grades", "notifications", "similarity_reports", "jobs"}
    assert {s.split()[1] for s in large if s.startswith("INSERT")} == tables
    if session.get_bind().dialect.name == "postgresql":
        # one round trip per table it writes (SQLite, in process, takes the rows one by one)
        assert len(large) == 3 + len(tables), large

def test_what_a_submission_stores_is_what_marking_and_the_checks_need(session, course):
    assignment, writer = course
    submit_counting(session, assignment, writer, 30)
    essay = session.scalar(select(m.Essay).join(m.User, m.User.id == m.Essay.user_id)
                           .where(m.User.username == "cadre30"))
    grades = session.scalars(select(m.Grade).where(m.Grade.essay_id == essay.id)).all()
    assert sorted(g.round for g in grades) == [1, 2] and len({g.examiner_id for g in grades}) == 2
    result = session.scalar(select(m.EssayResult).where(m.EssayResult.essay_id == essay.id))
    assert result.status != "final" and result.final is None
    # one report, finished by the job the commit handed on (jobs run inline here)
    assert session.scalars(select(m.SimilarityReport.status).where(
        m.SimilarityReport.essay_id == essay.id)).all() == ["done"]
    job = session.scalar(select(m.Job).where(m.Job.key == f'similarity.check_essay:{{"essay_id":{essay.id}}}'))
    assert job is not None and job.name == "similarity.check_essay" and job.state == "done"
    told = session.scalars(select(m.Notification.user_id).where(
        m.Notification.link == f"/examiner/essays/{essay.id}")).all()
    assert sorted(told) == sorted(g.examiner_id for g in grades)
    actions = [a for (a,) in session.execute(select(m.AuditEvent.action).where(
        m.AuditEvent.target_type == "essay", m.AuditEvent.target_id == str(essay.id)).order_by(m.AuditEvent.id))]
    assert actions == ["grade.allocate", "grade.allocate", "essay.submit"]
    # a resubmission is version 2 (the INSERT works the version out) and takes the earlier rounds back
    again = essays.submit_essay(session, accounts.get_user(session, "cadre30"), assignment.id,
                                writer.write(31, "Tân Hòa", "Tỉnh Đông Hải").body)
    session.commit()
    assert again.version == 2
    assert session.scalar(select(func.count()).select_from(m.Essay).where(
        m.Essay.user_id == essay.user_id, m.Essay.assignment_id == assignment.id)) == 2
