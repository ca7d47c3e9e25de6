"""Engines, sessions and migrations.

SQLite (the embedded default) runs in WAL mode with foreign keys on, so
readers never block the writer; PostgreSQL comes through CASELAB_DATABASE_URL.
The store reads no environment: callers hand it the URL and the busy wait
(services/runtime.py fills them from the process's settings).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from ..core.folding import fold
from ..settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_URL = Settings.database_url          # the settings' defaults, not the environment's values
DEFAULT_BUSY_MS = Settings.sqlite_busy_ms


def database_url(url: str | None = None) -> str:
    url = url or DEFAULT_URL
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection, _record, busy_ms: int = DEFAULT_BUSY_MS) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # how long a writer waits for another one before "database is locked" (the web answers 503 then)
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    # FULL: a commit is on disk before it returns, so a receipt shown to a cadre survives a power cut
    # (NORMAL in WAL mode may lose the last commits). PostgreSQL keeps its own defaults (fsync on).
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()
    # what PostgreSQL's caselab_fold (migration 0010) does, for searches
    dbapi_connection.create_function("caselab_fold", 1, fold, deterministic=True)


def make_engine(url: str | None = None, *, sqlite_busy_ms: int = DEFAULT_BUSY_MS, **kwargs) -> Engine:
    """``sqlite_busy_ms``: how long a SQLite writer waits for another (CASELAB_SQLITE_BUSY_MS)."""
    url = database_url(url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("pool_pre_ping", True)     # a connection the database closed is replaced, never a 500
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, busy_ms=sqlite_busy_ms))
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: Callable[[], Session]) -> Iterator[Session]:
    """The command boundary: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)
