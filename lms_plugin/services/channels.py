"""Notification channels: how a notification travels beyond the bell (``caselab_notification_channels``).

A notification is a row (services/notifications.py). The bell under every page
lists those rows as they are, when the person opens a page: it has nothing to
deliver, so it is not a channel. A channel carries the rows somewhere else —
e-mail is built in; a text message or a chat app can come from another package —
and ``caselab tick`` runs every registered channel once a run.

Each channel chooses what it still has to deliver and records what it delivered
(mail: ``notifications.emailed_at``), so channels never wait for each other. The
tick gives each its own unit of work: one that raises is rolled back and reported,
the others still deliver. Settings reach a channel as a mapping of names without
the ``CASELAB_`` prefix (``MAIL_SERVER``...), the same as ``MailSettings.from_mapping`` reads.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from .. import plugins
from .errors import N_
from .mailer import MailSettings, send_pending

HOOK = "caselab_notification_channels"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class Delivery:
    """What one channel did in one run."""
    delivered: int = 0              # people reached
    waiting: int = 0                # people whose notifications wait for a later run
    error: str | None = None        # the channel could not be used this run: `caselab tick` exits 1
    summary: str = ""               # one line for the operator's console (English)
    detail: Any = None              # the channel's own account (mail: a MailRun)


class Channel(ABC):
    """A way to reach people with their notifications; registered as an instance."""
    name: ClassVar[str]             # stable key: lower-case letters, digits, "_" ("mail", "sms")
    title: ClassVar[str]            # Vietnamese msgid: how the channel is named to people

    def check(self, config: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` for a setting that can never work, so `caselab tick` stops with the reason
        before doing any work instead of failing every minute. Missing settings are no error: a channel
        without them is off."""
        return None

    @abstractmethod
    def deliver(self, session: Session, config: Mapping[str, Any], now: datetime) -> Delivery:
        """Deliver what waits for this channel and record it as delivered in ``session`` (committed when this
        returns, rolled back when it raises). Talk to a remote service before writing, never while holding
        rows locked (services/mailer.py: read, send, then mark), and bound the work of one run."""


class MailChannel(Channel):
    """One mail per person per run listing everything new (services/mailer.py)."""
    name = "mail"
    title = N_("Thư điện tử")

    def check(self, config: Mapping[str, Any]) -> None:
        MailSettings.from_mapping(config)

    def deliver(self, session: Session, config: Mapping[str, Any], now: datetime) -> Delivery:
        settings = MailSettings.from_mapping(config)
        run = send_pending(session, settings, now)
        if not settings.configured:
            summary = f"off (no CASELAB_MAIL_SERVER); {run.waiting} person(s) waiting"
        else:
            summary = (f"{run.sent} sent, {run.skipped} with mail off or no address, {run.refused} refused, "
                       f"{run.waiting} person(s) waiting")
        return Delivery(delivered=run.sent, waiting=run.waiting, error=run.error, summary=summary, detail=run)


class ChannelError(plugins.PluginError):
    pass


def channels() -> list[Channel]:
    """Every registered channel, in the order plugins registered; read anew each time (cheap), so a
    plugin registered while the process runs is used by the next tick."""
    found: list[Channel] = []
    names: set[str] = set()
    for channel in plugins.collect(HOOK):
        if not isinstance(channel, Channel):
            raise ChannelError(f"{channel!r} is not a Channel instance ({HOOK})")
        if not isinstance(getattr(channel, "name", None), str) or not _NAME.fullmatch(channel.name):
            raise ChannelError(f"{type(channel).__name__}: name must be lower-case letters, digits and '_'")
        if channel.name in names:
            raise ChannelError(f"two notification channels claim the name '{channel.name}'")
        names.add(channel.name)
        found.append(channel)
    return found


def check_all(config: Mapping[str, Any]) -> None:
    """Every channel's ``check``; a ``ValueError`` names the channel."""
    for channel in channels():
        try:
            channel.check(config)
        except ValueError as exc:
            raise ValueError(f"{channel.name}: {exc}") from None
