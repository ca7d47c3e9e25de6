"""One-time sign-in links: how the accounts a roster import creates get their first password.

Why links and not generated passwords: a password must be stored with a slow hash (scrypt or many PBKDF2
rounds) because people choose guessable ones; 100,000 slow hashes take hours on two cores, and a weakened
hash for "one-time" passwords would protect nobody once the table leaks. A link carries a 256-bit random
secret that nobody can guess, so its sha256 is enough (as for API tokens), it costs microseconds, it works
once, and it expires. Whoever opens it chooses the account's password, hashed the usual way, once, by them.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..store import models as m
from . import accounts, audit
from .errors import Invalid

LINK_DAYS = 14            # long enough for a commune office to hand the list out; the organiser can reissue
PATH = "/welcome/"        # the web route (web/welcome.py) that redeems a link


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def new_secret() -> tuple[str, str]:
    """A fresh link secret and the sha256 kept of it."""
    raw = secrets.token_urlsafe(32)
    return raw, _hash(raw)


def url(base_url: str, raw: str) -> str:
    return base_url.rstrip("/") + PATH + raw


def expiry(now: datetime | None = None, days: int = LINK_DAYS) -> datetime:
    return _now(now) + timedelta(days=days)


@dataclass(frozen=True)
class LinkHolder:
    """Whom a live link signs in (shown on the page that asks for the first password)."""
    user_id: int
    username: str
    display_name: str
    expires_at: datetime


def _live(raw: str, now: datetime):
    return (select(m.SignInLink, m.User).join(m.User, m.User.id == m.SignInLink.user_id)
            .where(m.SignInLink.token_hash == _hash(raw or ""), m.SignInLink.used_at.is_(None),
                   m.SignInLink.expires_at > now, m.User.active.is_(True)))


def holder(session: Session, raw: str, now: datetime | None = None) -> LinkHolder | None:
    """The account a link opens, or None when it is unknown, used, expired or the account is deactivated.
    Opening the page does not use the link (a chat app fetching it to draw a preview must not spend it)."""
    if not raw or len(raw) > 100:
        return None
    found = session.execute(_live(raw, _now(now))).first()
    if found is None:
        return None
    link, user = found
    return LinkHolder(user.id, user.username, user.display_name, link.expires_at)


def redeem(session: Session, raw: str, password: str, now: datetime | None = None) -> m.User:
    """The owner chooses the first password through the link: the link and every other link of the account
    stop working. The caller commits and starts a browser session."""
    moment = _now(now)
    found = session.execute(_live(raw, moment).with_for_update(of=m.SignInLink)).first() \
        if raw and len(raw) <= 100 else None
    if found is None:
        raise Invalid("Liên kết đăng nhập không còn dùng được (đã dùng, hết hạn hoặc sai). Hãy xin người tổ chức "
                      "lớp cấp liên kết hoặc mật khẩu mới.", {"link": ["not live"]})
    _link, user = found
    accounts.set_password(user, password)        # hashed the usual way; ends any earlier session
    user.must_change_password = False
    session.execute(update(m.SignInLink).where(m.SignInLink.user_id == user.id, m.SignInLink.used_at.is_(None))
                    .values(used_at=moment))
    audit.record(session, user.id, "account.first_sign_in", "user", user.id)
    return user
