"""Flask fixtures: ``app``, ``client``, ``runner``; a seeded demo cohort; signing in as a demo account."""
from __future__ import annotations

import pytest

from lms_plugin.services.demo import seed_demo
from lms_plugin.store import models as m
from lms_plugin.web import create_app

PASSWORD = "mat-khau-demo"


@pytest.fixture
def app(engine, content, tmp_path):
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test-secret", "TESTING": True,
                      "WTF_CSRF_ENABLED": False, "INSTANCE": str(tmp_path)})
    app.instance_path = str(tmp_path)
    return app


@pytest.fixture
def csrf_app(engine, content, tmp_path):
    """The app with CSRF protection on, as in production."""
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test-secret", "TESTING": True, "INSTANCE": str(tmp_path)})
    app.instance_path = str(tmp_path)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo(session):
    """The demo cohort: lecturer1, examiner1-2, admin1, cadre1-6 (cadre1-3 in the first group)."""
    summary = seed_demo(session, PASSWORD)
    session.commit()
    return summary


def login(client, username: str, password: str = PASSWORD):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.text
    return response


def first_assignment(session, slug_prefix: str = "t1-") -> m.Assignment:
    for assignment in session.query(m.Assignment).order_by(m.Assignment.id):
        if assignment.scenario_version.scenario.slug.startswith(slug_prefix):
            return assignment
    raise LookupError(slug_prefix)
