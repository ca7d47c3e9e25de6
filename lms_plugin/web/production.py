"""The web app behind gunicorn: ``caselab serve --workers N [--threads T]``.

Each worker process builds its own app (and with it its own database engine: no connection is shared across a
fork). ``--threads 1`` runs gunicorn's ``sync`` workers, more runs ``gthread``; docs/deployment.md gives the
figures that chose the defaults (bench/rush.py). The master process runs the periodic work and the job
dispatcher (``on_ready``) once, not once per worker: a mail must not go out four times.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]  # no type hints

from ..settings import Settings

log = logging.getLogger(__name__)


class CaseLabServer(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any], on_ready: Callable[[], None] | None = None):
        self.settings = settings
        self.options = options
        self.on_ready = on_ready
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if self.on_ready is not None:
            ready = self.on_ready
            self.cfg.set("when_ready", lambda _arbiter: ready())

    def load(self):
        from . import create_app
        return create_app(settings=self.settings)


def options(host: str, port: int, workers: int, threads: int, timeout: int) -> dict[str, Any]:
    """gunicorn's settings for CaseLab: ``sync`` workers with one thread, ``gthread`` with more; the access log
    on standard output (journald keeps it); a worker's request cut off after ``timeout`` seconds."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": timeout,
        "graceful_timeout": 30,          # a stop lets requests in flight finish (their jobs are rows anyway)
        "keepalive": 5,                  # behind nginx, which keeps connections to us open
        "accesslog": "-",
        "errorlog": "-",
        "proc_name": "caselab",
        "limit_request_line": 8190,
        "forwarded_allow_ips": "127.0.0.1",
        "control_socket_disable": True,  # no shared socket in the home folder: two servers on one machine
    }


def serve(settings: Settings, host: str, port: int, workers: int, threads: int = 1, timeout: int = 60,
          on_ready: Callable[[], None] | None = None) -> None:
    """Run gunicorn in this process until it is stopped (SIGTERM: graceful)."""
    CaseLabServer(settings, options(host, port, workers, threads, timeout), on_ready).run()
