"""Mailing notifications: one mail per person per run, in the person's language.

``send_pending`` is run by ``caselab tick`` (cron or a systemd timer). It reads what is
waiting, talks to the SMTP server, and only then marks the rows mailed, so a slow
server never holds a write lock on the store while people submit essays. A server
that cannot be reached leaves the rows for the next run; nothing here raises out of a run.
"""
from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations
from sqlalchemy import distinct, func, select, update
from sqlalchemy.orm import Session

from ..store import models as m
from .errors import N_
from .notifications import message, safe_link, valid_email

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
LOCALES = ("vi", "en")
PEOPLE_PER_QUERY = 200      # persons whose waiting rows are read at once
PEOPLE_PER_RUN = 2000       # a run ends in minutes; the rest wait for the next one
ITEMS_PER_MAIL = 20         # a long backlog is summarised, not mailed in full
SETTINGS_PATH = "/account/notifications"

SUBJECT = N_("CaseLab: thông báo mới (%(n)s)")
GREETING = N_("Chào %(name)s,")
INTRO = N_("Bạn có thông báo mới trên CaseLab:")
MORE = N_("… và %(n)s thông báo khác.")
SEE_ALL = N_("Xem tất cả thông báo: %(url)s")
WHY = N_("Bạn nhận thư này vì đã bật nhận thông báo qua email. Để tắt, vào: %(url)s")

_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class MailSettings:
    server: str = ""              # empty: mail is off, rows wait
    port: int = 25
    username: str = ""
    password: str = ""
    use_tls: bool = False         # STARTTLS after connecting
    sender: str = "CaseLab <no-reply@localhost>"
    base_url: str = "http://localhost:5000"
    timeout: float = 30.0

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> MailSettings:
        """From the Flask config or from the environment with CASELAB_ removed (values may be strings)."""
        def text(key: str, default: str) -> str:
            value = mapping.get(key)
            return default if value is None else str(value).strip()

        port = mapping.get("MAIL_PORT")
        try:
            port = int(port) if port not in (None, "") else cls.port
        except ValueError:
            raise ValueError(f"MAIL_PORT={port!r}: expected a whole number") from None
        tls = mapping.get("MAIL_USE_TLS")
        return cls(server=text("MAIL_SERVER", ""), port=port, username=text("MAIL_USERNAME", ""),
                   password="" if mapping.get("MAIL_PASSWORD") is None else str(mapping["MAIL_PASSWORD"]),
                   use_tls=tls if isinstance(tls, bool) else str(tls or "").strip().lower() in _TRUE,
                   sender=text("MAIL_SENDER", "") or cls.sender,
                   base_url=(text("BASE_URL", "") or cls.base_url).rstrip("/"))

    @property
    def configured(self) -> bool:
        return bool(self.server)


@dataclass(frozen=True)
class MailRun:
    sent: int = 0          # mails accepted by the server (one per person)
    skipped: int = 0       # persons with mail switched off or no usable address: rows marked, no mail
    refused: int = 0       # addresses the server refused for good: rows marked, no mail
    waiting: int = 0       # persons whose rows are left for a later run
    error: str | None = None


@lru_cache(maxsize=8)
def _catalogue(directory: str, locale: str) -> NullTranslations:
    return Translations.load(directory, [locale], domain="messages")


def translations(locale: str) -> NullTranslations:
    """The gettext catalogue of ``locale``; Vietnamese (the msgids) for anything else."""
    return _catalogue(str(TRANSLATIONS_DIR), locale if locale in LOCALES else "vi")


def compose(user: m.User, rows: list[m.Notification], settings: MailSettings) -> EmailMessage:
    """One person's mail. The subject is fixed text and a number; nothing a person typed reaches a header."""
    t = translations(user.locale)
    gettext = t.gettext
    settings_url = settings.base_url + SETTINGS_PATH
    lines = [gettext(GREETING) % {"name": user.display_name or user.username}, "", gettext(INTRO), ""]
    for row in rows[-ITEMS_PER_MAIL:][::-1]:           # newest first, like the bell
        lines.append(f"- {message(row.kind, row.params or {}, gettext)}")
        link = safe_link(row.link)
        if link:
            lines.append(f"  {settings.base_url}{link}")
    if len(rows) > ITEMS_PER_MAIL:
        lines.append(gettext(MORE) % {"n": len(rows) - ITEMS_PER_MAIL})
    lines += ["", gettext(SEE_ALL) % {"url": settings_url}, "", "-- ", gettext(WHY) % {"url": settings_url}]
    mail = EmailMessage()
    mail["Subject"] = gettext(SUBJECT) % {"n": len(rows)}
    mail["From"] = settings.sender
    mail["To"] = user.email
    mail.set_content("\n".join(lines) + "\n")
    return mail


def _connect(settings: MailSettings) -> smtplib.SMTP:
    smtp = smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout)
    try:
        if settings.use_tls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.username:
            smtp.login(settings.username, settings.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _waiting(session: Session, after_user: int) -> dict[int, list[m.Notification]]:
    """Unmailed rows of the next PEOPLE_PER_QUERY persons after ``after_user``, oldest first."""
    people = list(session.scalars(select(m.Notification.user_id).where(
        m.Notification.emailed_at.is_(None), m.Notification.user_id > after_user)
        .group_by(m.Notification.user_id).order_by(m.Notification.user_id).limit(PEOPLE_PER_QUERY)))
    grouped: dict[int, list[m.Notification]] = {user_id: [] for user_id in people}
    if people:
        for row in session.scalars(select(m.Notification).where(
                m.Notification.emailed_at.is_(None), m.Notification.user_id.in_(people))
                .order_by(m.Notification.user_id, m.Notification.id)):
            grouped[row.user_id].append(row)
    return grouped


def _mark(session: Session, ids: list[int], now: datetime) -> None:
    for start in range(0, len(ids), 1000):
        session.execute(update(m.Notification).where(m.Notification.id.in_(ids[start:start + 1000]))
                        .values(emailed_at=now).execution_options(synchronize_session=False))


def send_pending(session: Session, settings: MailSettings, now: datetime | None = None) -> MailRun:
    """Mail each person with unmailed notifications once, listing them all; see the module notes."""
    if not settings.configured:
        return MailRun(waiting=_people_waiting(session))
    now = now or datetime.now(timezone.utc)
    done: list[int] = []                  # rows to mark mailed once the server has had its say
    sent = skipped = refused = people = 0
    error: str | None = None
    smtp: smtplib.SMTP | None = None
    after = 0
    try:
        while error is None and people < PEOPLE_PER_RUN:
            batch = _waiting(session, after)
            if not batch:
                break
            users = {u.id: u for u in session.scalars(select(m.User).where(m.User.id.in_(list(batch))))}
            for user_id, rows in batch.items():
                after = user_id
                if people >= PEOPLE_PER_RUN:
                    break
                people += 1
                user = users[user_id]
                address = (user.email or "").strip()
                if not user.email_notifications or not user.active or not valid_email(address):
                    skipped += 1
                    done += [r.id for r in rows]
                    continue
                try:
                    mail = compose(user, rows, settings)
                    if smtp is None:
                        smtp = _connect(settings)
                    smtp.send_message(mail)
                except smtplib.SMTPRecipientsRefused as exc:
                    if all(code >= 500 for code, _text in exc.recipients.values()):
                        refused += 1       # this address will never work: do not retry it every minute
                        done += [r.id for r in rows]
                    continue               # a mailbox full for now (4xx): try this person next run
                except (smtplib.SMTPException, OSError, ValueError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    break                  # the server is unwell: everything else waits for the next run
                sent += 1
                done += [r.id for r in rows]
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
    _mark(session, done, now)
    session.flush()
    return MailRun(sent=sent, skipped=skipped, refused=refused, waiting=_people_waiting(session), error=error)


def _people_waiting(session: Session) -> int:
    return session.scalar(select(func.count(distinct(m.Notification.user_id)))
                          .where(m.Notification.emailed_at.is_(None))) or 0
