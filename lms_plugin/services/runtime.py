"""The store's engines and units of work, as the hosts (web app, blocks, command, ticker, worker) use them.

Adapters never import the store or SQLAlchemy (tests/test_import_rules.py): they open
the database, begin and end units of work, and tell a busy database from a broken one
through this module. The engine rules themselves (SQLite in WAL mode, the PostgreSQL
URL) stay in store/db.py.

It also holds the process's settings (lms_plugin/settings.py): a host that starts (the web app, the
command) builds them once and calls ``configure``; services and jobs read ``settings()``. A process nobody
configured (a Celery worker, an LMS serving the blocks) reads them from its environment when first asked.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..settings import Settings, environment_of
from ..store import db
from ..store.db import downgrade, session_factory, unit_of_work, upgrade

__all__ = ["Engine", "Session", "SessionFactory", "OperationalError", "SQLAlchemyError", "database_url",
           "downgrade", "make_engine", "make_unpooled_engine", "session_factory", "unit_of_work", "upgrade",
           "has_tables", "is_busy",
           "ping", "retrying_unit_of_work", "shared_sessions", "forget_shared_sessions", "impatient_session",
           "configure", "settings"]

SessionFactory = sessionmaker[Session]
T = TypeVar("T")

_shared: dict[str, SessionFactory] = {}
_shared_lock = threading.Lock()
_configured: Settings | None = None
_from_environment: tuple[tuple[tuple[str, str], ...], Settings] | None = None


def configure(given: Settings | None) -> None:
    """The settings of this process from now on: a host calls it once, with the Settings it built at start-up.
    ``None`` goes back to reading the environment (a test ends with it)."""
    global _configured
    _configured = given


def settings() -> Settings:
    """The process's settings: the configured ones, else ``Settings.load()`` from the environment, read when
    first asked and again only when the ``CASELAB_*`` variables changed. A bad value raises SettingsError."""
    global _from_environment
    if _configured is not None:
        return _configured
    seen = environment_of()
    cached = _from_environment
    if cached is None or cached[0] != seen:
        cached = _from_environment = (seen, Settings.load(environ=dict(seen)))
    return cached[1]


def database_url(url: str | None = None) -> str:
    """``url``, else the one the settings name; ``postgresql://`` read with psycopg 3."""
    return db.database_url(url or settings().database_url)


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine on ``url`` (default: the settings' database) with the settings' SQLite busy wait."""
    current = settings()
    kwargs.setdefault("sqlite_busy_ms", current.sqlite_busy_ms)
    return db.make_engine(url or current.database_url, **kwargs)


def make_unpooled_engine(url: str | None = None) -> Engine:
    """An engine that keeps no connection open between uses: for a process that forks others (gunicorn's
    master), whose children must never inherit a live database connection."""
    from sqlalchemy.pool import NullPool
    return make_engine(url, poolclass=NullPool)


def has_tables(engine: Engine) -> bool:
    """Whether ``caselab db upgrade`` has run on this database."""
    return inspect(engine).has_table("alembic_version")


def is_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked": another writer held it past busy_timeout. Nothing of the failed unit
    of work was stored, so the request may simply be tried again."""
    if not isinstance(exc, OperationalError):
        return False
    message = str(exc.orig).lower() if exc.orig is not None else ""
    return "locked" in message or "busy" in message


def ping(session: Session) -> None:
    """Raises when the database cannot answer (the health check)."""
    session.execute(text("SELECT 1"))


def retrying_unit_of_work(factory: Callable[[], Session], work: Callable[[Session], T]) -> T:
    """``work(session)`` in one unit of work; once more if a concurrent first use won a unique key
    (two first visits of a learner both creating their membership)."""
    try:
        with unit_of_work(factory) as session:
            return work(session)
    except IntegrityError:
        with unit_of_work(factory) as session:
            return work(session)


def shared_sessions(url: str | None) -> SessionFactory:
    """One engine per database URL for the whole process (the LMS serves many blocks from one process)."""
    url = database_url(url)
    with _shared_lock:
        if url not in _shared:
            _shared[url] = session_factory(make_engine(url, pool_pre_ping=True))
        return _shared[url]


def forget_shared_sessions(url: str) -> None:
    """Close the engine ``shared_sessions(url)`` opened (tests drop their database afterwards)."""
    with _shared_lock:
        factory = _shared.pop(database_url(url), None)
    if factory is not None:
        factory.kw["bind"].dispose()


@contextmanager
def impatient_session(engine: Engine, wait_ms: int) -> Iterator[Session]:
    """A session whose writes wait at most ``wait_ms`` for another writer's lock, then fail: for bookkeeping
    that may be skipped (a token's last use) and must never hold up the request that does it."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            waited = int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0)
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait_ms)}")
        try:
            with Session(bind=conn) as session:
                if conn.dialect.name == "postgresql":
                    session.execute(text(f"SET LOCAL lock_timeout = '{int(wait_ms)}ms'"))
                yield session
        finally:
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {waited}")
                conn.commit()
