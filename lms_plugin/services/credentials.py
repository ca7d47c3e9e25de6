"""Browser sessions and API tokens: what someone signs in with, and how it ends.

Both are rows; a cookie or an ``Authorization`` header carries a random key of which only the sha256 is
stored (a copied table opens nothing). Logout ends one session; a new password (changed by its owner or
reset by an organiser) ends every session and token of the person (``accounts`` calls ``end_all``);
sessions and tokens also expire. Lifetimes are the adapter's settings, passed in.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, joinedload

from ..store import models as m
from . import audit, policy
from .errors import NotFound

# last_used_at is written at most this often: a script polling every second costs one write per token in
# five minutes, not one per request (each write is a row version and a WAL record to keep)
TOKEN_TOUCH = timedelta(minutes=5)


def _hash(raw: str) -> str:
    return hashlib.sha256((raw or "").encode()).hexdigest()


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


# ---- browser sessions ----------------------------------------------------------------------------

def start_session(session: Session, user: m.User, *, lifetime: timedelta, remember: bool = False,
                  now: datetime | None = None) -> str:
    """A new session for ``user``; returns the key its cookies carry."""
    now, raw = _now(now), secrets.token_urlsafe(32)
    session.add(m.UserSession(user_id=user.id, key_hash=_hash(raw), remember=remember,
                              created_at=now, expires_at=now + lifetime))
    return raw


@dataclass(frozen=True)
class BrowserSession:
    """Who a live browser session signs in: ``user`` is the signed-in person's handle, passed back to services."""
    user: m.User
    remember: bool


def session_for(session: Session, raw: str, now: datetime | None = None) -> BrowserSession | None:
    """The live session a cookie's key names (its ``.user`` is active), or None."""
    row = session.scalar(select(m.UserSession).options(joinedload(m.UserSession.user))
                         .where(m.UserSession.key_hash == _hash(raw)))
    if row is None or row.ended_at is not None or row.expires_at <= _now(now) or not row.user.active:
        return None
    return BrowserSession(row.user, bool(row.remember))


def end_session(session: Session, raw: str, now: datetime | None = None) -> None:
    """Logout: this session only."""
    session.execute(update(m.UserSession).where(m.UserSession.key_hash == _hash(raw),
                                                m.UserSession.ended_at.is_(None)).values(ended_at=_now(now)))


def end_all(session: Session, user_id: int, now: datetime | None = None) -> None:
    """Every session and token of the person: what was taken with the old password stops working."""
    end_all_of(session, [user_id], now)


def end_all_of(session: Session, user_ids: Sequence[int], now: datetime | None = None) -> None:
    """``end_all`` for many people at once (new passwords set in bulk): two statements, whoever they are."""
    now = _now(now)
    session.execute(update(m.UserSession).where(m.UserSession.user_id.in_(user_ids),
                                                m.UserSession.ended_at.is_(None)).values(ended_at=now))
    session.execute(update(m.ApiToken).where(m.ApiToken.user_id.in_(user_ids),
                                             m.ApiToken.revoked_at.is_(None)).values(revoked_at=now))


# ---- API tokens ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TokenView:
    id: int
    user_id: int
    username: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


def _view(token: m.ApiToken) -> TokenView:
    return TokenView(token.id, token.user_id, token.user.username, token.created_at, token.expires_at,
                     token.last_used_at)


def _live(now: datetime):
    return (m.ApiToken.revoked_at.is_(None)) & (m.ApiToken.expires_at > now)


def issue_token(session: Session, user: m.User, *, days: int, now: datetime | None = None) -> str:
    """A new token for ``user``, valid ``days`` days; returns the only copy of it."""
    now, raw = _now(now), secrets.token_urlsafe(32)
    session.add(m.ApiToken(user_id=user.id, token_hash=_hash(raw), created_at=now,
                           expires_at=now + timedelta(days=days)))
    return raw


@dataclass(frozen=True)
class TokenSignIn:
    """Who a live API token signs in (``user``: the signed-in person's handle), and whether its
    ``last_used_at`` is due to be noted (``note_use``, after the request)."""
    user: m.User
    token_id: int
    touch: bool


def token_for(session: Session, raw: str, now: datetime | None = None) -> TokenSignIn | None:
    """The live token a header names (its ``.user`` is active), or None. Reads only."""
    token = session.scalar(select(m.ApiToken).options(joinedload(m.ApiToken.user))
                          .where(m.ApiToken.token_hash == _hash(raw), _live(_now(now))))
    if token is None or not token.user.active:
        return None
    return TokenSignIn(token.user, token.id, needs_touch(token, now))


def needs_touch(token: m.ApiToken, now: datetime | None = None) -> bool:
    last = token.last_used_at
    return last is None or last <= _now(now) - TOKEN_TOUCH


def note_use(session: Session, token_id: int, now: datetime | None = None) -> None:
    """last_used_at, unless another request wrote it less than TOKEN_TOUCH ago or holds the row now: one
    conditional UPDATE that never waits for a lock, so a request may run it in its own transaction."""
    now = _now(now)
    # the row only if nobody holds it (PostgreSQL's SKIP LOCKED; SQLite has one writer, who is this request)
    free = (select(m.ApiToken.id).where(
        m.ApiToken.id == token_id,
        or_(m.ApiToken.last_used_at.is_(None), m.ApiToken.last_used_at <= now - TOKEN_TOUCH),
    ).with_for_update(skip_locked=True).scalar_subquery())
    session.execute(update(m.ApiToken).where(m.ApiToken.id == free).values(last_used_at=now)
                    .execution_options(synchronize_session=False))


def _may_manage(actor: m.User, user_id: int) -> bool:
    """One's own tokens, or anyone's for an organiser (who manages the accounts)."""
    return actor.id == user_id or policy.allowed(actor, "account.manage")


def holder(session: Session, actor: m.User, user_id: int) -> m.User:
    """The account whose tokens ``actor`` asks about (themselves, or anyone for an organiser)."""
    user = session.get(m.User, user_id)
    if user is None or not _may_manage(actor, user_id):
        raise NotFound("Không có tài khoản này")
    return user


def tokens_of(session: Session, actor: m.User, user_id: int, now: datetime | None = None) -> list[TokenView]:
    """``user_id``'s live tokens, newest first."""
    holder(session, actor, user_id)
    return [_view(t) for t in session.scalars(select(m.ApiToken).where(m.ApiToken.user_id == user_id, _live(_now(now)))
                                              .order_by(m.ApiToken.id.desc()))]


def revoke_token(session: Session, actor: m.User, token_id: int, *, user_id: int | None = None,
                 now: datetime | None = None) -> TokenView:
    """End a live token (of ``user_id`` when given). Someone else's token is 404 to all but organisers."""
    now = _now(now)
    token = session.scalar(select(m.ApiToken).where(m.ApiToken.id == token_id, _live(now)))
    if token is None or not _may_manage(actor, token.user_id) or user_id not in (None, token.user_id):
        raise NotFound("Không tìm thấy mã truy cập này")
    token.revoked_at = now
    audit.record(session, actor.id, "token.revoke", "api_token", token.id, owner=token.user_id)
    return _view(token)
