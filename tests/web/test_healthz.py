"""/healthz for a load balancer or a monitor: the database and, with Celery, the broker; 503 naming what failed,
never how (no address, no password, no error text), never cached, no sign-in."""
from __future__ import annotations

import os

import pytest

from lms_plugin.services import runtime
from lms_plugin.web import create_app

SECRET_DATABASE = "postgresql://caselab:s3cret-pw@127.0.0.1:1/caselab"


def app_on(engine, tmp_path, **config):
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test-secret", "TESTING": True, **config})
    app.instance_path = str(tmp_path)
    return app


def healthz(app):
    response = app.test_client().get("/healthz")
    assert response.headers["Cache-Control"] == "no-store" and response.is_json
    return response


def test_a_good_database_without_celery_is_healthy_and_health_still_answers(engine, tmp_path):
    app = app_on(engine, tmp_path)
    response = healthz(app)
    assert (response.status_code, response.json) == (200, {"status": "ok", "database": "ok", "broker": "not used"})
    assert app.test_client().get("/health").json == {"status": "ok"}


def test_an_unreachable_broker_in_celery_mode_is_a_503_that_names_the_broker_only(engine, tmp_path):
    app = app_on(engine, tmp_path, JOBS="celery", BROKER_URL="redis://127.0.0.1:1/0")
    response = healthz(app)
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "ok", "broker": "unreachable"}
    assert "127.0.0.1" not in response.text and "111" not in response.text


def test_an_unreachable_database_is_a_503_that_names_the_database_only(tmp_path):
    engine = runtime.make_engine(SECRET_DATABASE)       # nothing listens on port 1
    try:
        response = healthz(app_on(engine, tmp_path))
    finally:
        engine.dispose()
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unreachable", "broker": "not used"}
    for secret in ("s3cret", "caselab:", "127.0.0.1", "postgresql", "Error"):
        assert secret not in response.text


@pytest.mark.skipif(not os.environ.get("CASELAB_TEST_REDIS_URL"), reason="CASELAB_TEST_REDIS_URL names no Redis")
def test_celery_on_a_running_redis_is_healthy(engine, tmp_path):
    app = app_on(engine, tmp_path, JOBS="celery", BROKER_URL=os.environ["CASELAB_TEST_REDIS_URL"])
    response = healthz(app)
    assert (response.status_code, response.json) == (200, {"status": "ok", "database": "ok", "broker": "ok"})
