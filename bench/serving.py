"""What the benches that serve CaseLab share: a free port, a PostgreSQL database made when missing, the
``caselab`` command on a database. (Run as scripts, the benches import this as a sibling module.)"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from lms_plugin.store import models as m

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_database(url: str) -> None:
    """CREATE DATABASE for the URL's database name, unless the server has it."""
    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def caselab(database: str, *argv: str) -> float:
    """Run ``caselab --database DATABASE ARGV...`` from the project folder; the seconds it took."""
    started = time.perf_counter()
    subprocess.run([str(BIN / "caselab"), "--database", database, *argv], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def wait_checks_drained(engine, every: float = 0.1) -> None:
    """Return once no check job is queued or running."""
    while True:
        with engine.connect() as conn:
            left = conn.scalar(select(func.count()).select_from(m.Job)
                               .where(m.Job.queue == "checks", m.Job.state.in_(("queued", "running"))))
        if not left:
            return
        time.sleep(every)
