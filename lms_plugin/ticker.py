"""Periodic work, one run a minute: drafts submitted at their deadline, deadline reminders, then every
notification channel (services/channels.py: e-mail built in, others from plugins).

Each step is a unit of work committed on its own, and so is each channel: a slow
mail server must not hold the store's write lock (SQLite) while cadres submit, a
failed delivery never loses a reminder or an automatic submission, and a channel
that breaks never stops the others. ``caselab tick`` runs it once (cron or a
systemd timer in production); ``caselab serve`` runs it in a background thread
for the one-machine trial.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .services import channels, runtime
from .services.deadlines import auto_submit_due
from .services.notifications import remind_deadlines

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TickReport:
    auto_submitted: int
    reminded: int
    deliveries: dict[str, channels.Delivery]      # channel name -> what it did, in registration order

    @property
    def errors(self) -> dict[str, str]:
        return {name: d.error for name, d in self.deliveries.items() if d.error}


def run_once(factory: Callable[[], runtime.Session], config: Mapping[str, Any],
             now: datetime | None = None) -> TickReport:
    """One run; ``config``: the channels' settings, names without the ``CASELAB_`` prefix (MAIL_SERVER...)."""
    now = now or datetime.now(timezone.utc)
    with runtime.unit_of_work(factory) as session:
        submitted = auto_submit_due(session, now)
    with runtime.unit_of_work(factory) as session:
        reminded = remind_deadlines(session, now)
    deliveries: dict[str, channels.Delivery] = {}
    for channel in channels.channels():
        try:
            with runtime.unit_of_work(factory) as session:
                deliveries[channel.name] = channel.deliver(session, config, now)
        except Exception as exc:       # rolled back; the notifications wait for this channel's next run
            log.exception("notification channel %s failed", channel.name)
            deliveries[channel.name] = channels.Delivery(error=f"{type(exc).__name__}: {exc}",
                                                         summary="failed; notifications wait")
    return TickReport(submitted, reminded, deliveries)


def start_background(factory: Callable[[], runtime.Session], config: Mapping[str, Any],
                     seconds: float) -> threading.Event:
    """Run every ``seconds`` in a daemon thread until the returned event is set; errors are logged, never fatal."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(seconds):
            try:
                run_once(factory, config)
            except Exception:                  # the next minute tries again; the web app keeps serving
                log.exception("periodic run failed")
    threading.Thread(target=loop, name="caselab-tick", daemon=True).start()
    return stop
