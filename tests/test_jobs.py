"""Issue 10, finding 6: a Celery message carries the task's ids and nothing else; a worker opens the database
its own settings name, never one a message names."""
from __future__ import annotations

import pytest
from kombu import Connection
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from lms_plugin.services import jobs, similarity
from lms_plugin.store import models as m

SECRET_URL = "postgresql+psycopg://caselab:s3cret-pw@db.invalid:5432/caselab"


@pytest.fixture
def memory_broker(monkeypatch):
    """Celery over kombu's in-memory transport: the message as it would travel, read back off the queue. The
    process is configured as a worker is, by its environment (nobody calls runtime.configure there)."""
    monkeypatch.setenv("CASELAB_JOBS", "celery")
    monkeypatch.setenv("CASELAB_BROKER_URL", "memory://")
    app = jobs.celery_app()
    app.conf.result_backend = "cache+memory://"       # the Redis deployment keeps results in Redis
    return app


def _sent(app) -> list:
    messages = []
    with Connection("memory://") as conn:
        queue = conn.SimpleQueue(app.conf.task_default_queue)
        while True:
            try:
                message = queue.get(block=False)
            except queue.Empty:
                break
            messages.append(message)
            message.ack()
        queue.close()
    return messages


def test_a_message_carries_the_essay_id_and_no_database_url(memory_broker):
    engine = create_engine(SECRET_URL)          # never connects: nothing here runs a query
    with Session(engine) as session:
        jobs.defer(session, similarity.CHECK, essay_id=7)
        session.commit()
    [message] = _sent(memory_broker)
    raw = repr(message.headers) + repr(message.body)      # kwargsrepr in the headers, the kwargs in the body
    for secret in ("s3cret-pw", "db.invalid", "postgresql", "database_url"):
        assert secret not in raw
    args, kwargs, _embed = message.decode()
    assert (message.headers["task"], args, kwargs) == ("caselab." + similarity.CHECK, [], {"essay_id": 7})


def test_jobs_take_ids_only():
    with Session() as session:
        with pytest.raises(ValueError):
            jobs.defer(session, similarity.CHECK, essay_id=7, database_url=SECRET_URL)
        with pytest.raises(ValueError):
            jobs.defer(session, similarity.CHECK, essay_id="7")


def test_a_worker_refuses_a_message_that_names_a_database(memory_broker, engine, tmp_path, monkeypatch):
    """A forged message pointing at another database is refused: nothing is opened or written there."""
    elsewhere = tmp_path / "attacker.db"
    monkeypatch.setenv("CASELAB_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    task = memory_broker.tasks["caselab." + similarity.CHECK]
    with pytest.raises(ValueError):
        task.run(essay_id=1, database_url=f"sqlite:///{elsewhere}")
    assert not elsewhere.exists()
    with pytest.raises(ValueError):
        task.run(essay_id=1, recheck_matched=False, params="x")


def test_a_worker_opens_the_database_its_environment_names(memory_broker, engine, monkeypatch):
    monkeypatch.setenv("CASELAB_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    result = memory_broker.tasks["caselab." + similarity.CHECK].run(essay_id=424242)
    assert result == {"essay_id": 424242, "status": "missing"}
    with Session(engine) as session:
        assert session.scalar(select(m.SimilarityReport)) is None


def test_the_worker_host_knows_every_task():
    """`celery -A lms_plugin.worker worker` runs what services declare; jobs itself imports no service."""
    from lms_plugin import worker
    from lms_plugin.services import similarity_index
    assert {"caselab." + similarity.CHECK, "caselab." + similarity_index.REBUILD} <= set(worker.app.tasks)
