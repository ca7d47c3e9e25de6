"""Shared fixtures: a migrated store on SQLite and, when CASELAB_TEST_POSTGRES_URL is set, on PostgreSQL."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

# Seeding ten demo accounts per test with scrypt would dominate the suite's time.
os.environ.setdefault("CASELAB_PASSWORD_HASH", "pbkdf2:sha256:1000")

import pytest
from sqlalchemy import text

from lms_plugin.services import runtime
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.store import db
from tests.samples import COURSE, RUBRIC, SCENARIO

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("CASELAB_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(autouse=True)
def _settings_of_the_environment():
    """An app, a command or a block a test builds makes its settings the process's (services/runtime.py): the
    next test starts again from the environment."""
    yield
    runtime.configure(None)


@pytest.fixture(scope="session")
def shipped_catalog():
    catalog = load_catalog([ROOT / "scenarios", ROOT / "rubrics"])
    assert catalog.ok, "\n".join(map(str, catalog.errors))
    return catalog


def _postgres_engine():
    """A private schema per engine, so runs never see each other's rows."""
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = db.make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    engine = db.make_engine(f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}")

    def drop():
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return engine, drop


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    if request.param == "sqlite":
        engine, drop = db.make_engine(f"sqlite:///{tmp_path / 'caselab.db'}"), None
    else:
        engine, drop = _postgres_engine()
    db.upgrade(engine)
    yield engine
    engine.dispose()
    if drop:
        drop()


@pytest.fixture
def session_factory(engine):
    return db.session_factory(engine)


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


@pytest.fixture
def content(session, shipped_catalog):
    """The shipped course, rubrics and scenarios, imported."""
    import_catalog(session, shipped_catalog)
    session.commit()
    return shipped_catalog


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """The small sample course on disk, with the working folder set to it."""
    (tmp_path / "scenarios" / "data").mkdir(parents=True)
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "scenarios" / "course.yaml").write_text(COURSE, encoding="utf-8")
    (tmp_path / "rubrics" / "thu-hoach.yaml").write_text(RUBRIC, encoding="utf-8")
    (tmp_path / "scenarios" / "data" / "bang.csv").write_text("thôn,hồ sơ\nA,3\n", encoding="utf-8")
    (tmp_path / "scenarios" / "t1-mau.yaml").write_text(SCENARIO, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path
