"""Periodic work, one run a minute: drafts submitted at their deadline, deadline reminders, notification mail.

A run is three units of work, each committed on its own: a slow mail server must
not hold the store's write lock (SQLite) while cadres submit, and a failed mail
run never loses a reminder or an automatic submission. ``caselab tick`` runs it
once (cron or a systemd timer in production); ``caselab serve`` runs it in a
background thread for the one-machine trial.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from .services import runtime
from .services.deadlines import auto_submit_due
from .services.mailer import MailRun, MailSettings, send_pending
from .services.notifications import remind_deadlines

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TickReport:
    auto_submitted: int
    reminded: int
    mail: MailRun


def run_once(factory: Callable[[], runtime.Session], settings: MailSettings, now: datetime | None = None) -> TickReport:
    now = now or datetime.now(timezone.utc)
    with runtime.unit_of_work(factory) as session:
        submitted = auto_submit_due(session, now)
    with runtime.unit_of_work(factory) as session:
        reminded = remind_deadlines(session, now)
    with runtime.unit_of_work(factory) as session:
        mail = send_pending(session, settings, now)
    return TickReport(submitted, reminded, mail)


def start_background(factory: Callable[[], runtime.Session], settings: MailSettings, seconds: float) -> threading.Event:
    """Run every ``seconds`` in a daemon thread until the returned event is set; errors are logged, never fatal."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(seconds):
            try:
                run_once(factory, settings)
            except Exception:                  # the next minute tries again; the web app keeps serving
                log.exception("periodic run failed")
    threading.Thread(target=loop, name="caselab-tick", daemon=True).start()
    return stop
