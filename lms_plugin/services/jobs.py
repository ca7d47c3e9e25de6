"""Background work, declared by services and run once their transaction has committed.

A service calls ``defer(session, "similarity.check_essay", essay_id=7)``; when
the adapter commits, the work is handed to the runner the settings name
(``CASELAB_JOBS``, read through services/runtime.py):

- ``inline`` (default): run right after the commit, in the same process;
- ``thread``: run in a small thread pool, so the request returns first;
- ``celery``: sent to Celery workers over Redis (``CASELAB_BROKER_URL``); a
  worker runs ``celery -A lms_plugin.worker worker`` (worker.py loads the services that declare tasks).

A rolled-back transaction runs nothing. Tasks open their own session.

A job carries ids only (``essay_id=7``), never a secret: a Celery message can be
read by anyone who reaches the broker. A worker opens the database its own
settings name (``CASELAB_DATABASE_URL``) and refuses a message carrying anything
but whole-number ids.

This module knows no task: a service declares its own with ``@task`` when it is imported,
so jobs never imports the services that import it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from ..store import db
from . import runtime

log = logging.getLogger(__name__)
_PENDING = "caselab.jobs"
_TASKS: dict[str, Callable[..., Any]] = {}
_pool: ThreadPoolExecutor | None = None
_celery_apps: dict[str, Any] = {}       # one Celery application per broker URL


def task(name: str):
    """Register ``fn(session, **kwargs)`` as the task ``name``."""
    def register(fn):
        _TASKS[name] = fn
        return fn
    return register


def _ids_only(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The one rule for what a job may carry: named whole numbers (ids). Raises ValueError otherwise."""
    wrong = sorted(key for key, value in kwargs.items() if type(value) is not int)
    if wrong:
        raise ValueError(f"job {name}: only ids may travel with a job, not {', '.join(wrong)}")
    return kwargs


def defer(session: Session, name: str, **kwargs: Any) -> None:
    session.info.setdefault(_PENDING, []).append((name, _ids_only(name, kwargs)))


@event.listens_for(Session, "after_commit")
def _dispatch(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    for name, kwargs in pending:
        submit(name, kwargs, session.get_bind())


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


def submit(name: str, kwargs: dict[str, Any], engine=None) -> None:
    """Hand a job to the runner; in this process (inline, thread) it uses ``engine``, the committing one."""
    mode = runtime.settings().jobs
    if mode == "celery":
        celery_app().send_task(f"caselab.{name}", kwargs=kwargs)
    elif mode == "thread":
        global _pool
        _pool = _pool or ThreadPoolExecutor(max_workers=2, thread_name_prefix="caselab-job")
        _pool.submit(run, name, kwargs, engine)
    else:
        run(name, kwargs, engine)


def run(name: str, kwargs: dict[str, Any], engine=None) -> Any:
    """Run one task in a session of its own, committing what it did; without ``engine``, on the database
    this process's settings name. The module declaring the task has been imported (it deferred the job,
    or the worker loaded it)."""
    fn = _TASKS[name]
    own_engine = engine is None
    engine = engine or runtime.make_engine()
    factory = sessionmaker(engine, expire_on_commit=False)
    try:
        with db.unit_of_work(factory) as session:
            return fn(session, **kwargs)
    except Exception:
        log.exception("job %s%r failed", name, kwargs)
        raise
    finally:
        if own_engine:
            engine.dispose()


def celery_app():
    """The Celery application on the settings' broker; tasks are the ones registered so far, named
    ``caselab.<name>``."""
    broker = runtime.settings().broker_url
    if broker not in _celery_apps:
        from celery import Celery
        app = Celery("caselab", broker=broker, backend=broker, set_as_current=False)
        app.conf.update(task_serializer="json", accept_content=["json"], result_serializer="json",
                        task_acks_late=True, worker_prefetch_multiplier=1,
                        broker_connection_retry_on_startup=True)
        for name in _TASKS:
            app.task(name=f"caselab.{name}", shared=False)(_worker_task(name))   # this app's only
        _celery_apps[broker] = app
    return _celery_apps[broker]


def _worker_task(name: str) -> Callable[..., Any]:
    def runner(**kwargs: Any) -> Any:
        # a message is input from the broker: ids only (a forged ``database_url`` is refused, never opened)
        return run(name, _ids_only(name, kwargs))
    runner.__name__ = runner.__qualname__ = name.replace(".", "_")
    return runner
