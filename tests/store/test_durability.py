"""Issue 10, finding 13: a receipt the cadre was shown survives a power cut: SQLite syncs every commit."""
from __future__ import annotations

from sqlalchemy import text

from lms_plugin.store import db

FULL = 2


def test_every_new_sqlite_connection_syncs_each_commit(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'caselab.db'}", pool_size=2, max_overflow=0)
    try:
        with engine.connect() as first, engine.connect() as second:     # two pooled connections, each set up
            for conn in (first, second):
                assert conn.execute(text("PRAGMA synchronous")).scalar() == FULL
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()
