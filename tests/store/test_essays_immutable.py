"""A submitted essay stays exactly as it was sent: the database itself refuses to change or delete it,
whatever code asks (ORM, Core, SQL), on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError

from lms_plugin.services import accounts, cohorts, essays
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.store import models as m

BODY = "Xã Tân Hòa cần số hóa hồ sơ đất đai và công khai quy trình một cửa cho người dân ngay trong năm nay."


@pytest.fixture
def submitted(session, tree):
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    cadre = accounts.create_user(session, "hv1", "cadre", None)
    examiners = [accounts.create_user(session, f"gk{i}", "examiner", None) for i in (1, 2)]
    cohort = cohorts.create_cohort(session, "Lớp 1", "khoa-thu")
    cohorts.add_member(session, cohort, cadre)
    assignment = cohorts.assign_scenario(session, cohort, "t1-mau", examiners=examiners)
    receipt = essays.submit_essay(session, cadre, assignment.id, BODY)
    session.commit()
    return receipt


def refused(session, work) -> str:
    with pytest.raises(IntegrityError) as caught:
        work()
        session.flush()
    session.rollback()
    return str(caught.value.orig)


def stored(session, essay_id: int) -> tuple:
    session.expire_all()
    return session.execute(select(m.Essay.body, m.Essay.sha256, m.Essay.words, m.Essay.version)
                           .where(m.Essay.id == essay_id)).one()


@pytest.mark.parametrize("how", ["orm", "core", "sql"])
def test_an_essay_cannot_be_updated(session, submitted, how):
    before = stored(session, submitted.id)

    def change():
        if how == "orm":
            session.get(m.Essay, submitted.id).body = "Một nội dung khác"
        elif how == "core":
            session.execute(update(m.Essay).where(m.Essay.id == submitted.id).values(words=1))
        else:
            session.execute(text("UPDATE essays SET sha256 = 'x' WHERE id = :id"), {"id": submitted.id})
    assert "essays are stored as submitted and never changed: UPDATE refused" in refused(session, change)
    assert stored(session, submitted.id) == before == (BODY, submitted.sha256, submitted.words, 1)


@pytest.mark.parametrize("how", ["orm", "core"])
def test_an_essay_cannot_be_deleted(session, submitted, how):
    def remove():
        if how == "orm":
            session.delete(session.get(m.Essay, submitted.id))
        else:
            session.execute(delete(m.Essay).where(m.Essay.id == submitted.id))
    assert "essays are stored as submitted and never changed: DELETE refused" in refused(session, remove)
    assert stored(session, submitted.id) == (BODY, submitted.sha256, submitted.words, 1)


def test_a_resubmission_adds_a_version_and_leaves_the_first_as_it_was(session, submitted):
    """The one way to "change" an essay: submit again (the immutability triggers do not stand in its way)."""
    cadre = accounts.get_user(session, "hv1")
    again = essays.submit_essay(session, cadre, submitted.assignment_id, BODY + " Bổ sung.")
    session.commit()
    assert again.version == 2
    assert stored(session, submitted.id) == (BODY, submitted.sha256, submitted.words, 1)


def test_postgresql_refuses_to_truncate_essays(session, submitted, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    assert "TRUNCATE refused" in refused(session, lambda: session.execute(text("TRUNCATE essays CASCADE")))
    assert stored(session, submitted.id)[0] == BODY
