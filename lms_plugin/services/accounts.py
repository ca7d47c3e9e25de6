"""Accounts, passwords and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session
from werkzeug.security import check_password_hash, generate_password_hash

from ..store import models as m
from . import audit, credentials, policy, runtime
from .errors import Conflict, Forbidden, Invalid, NotFound
from .policy import STAFF  # noqa: F401 (where the web and older services import it from)

ROLES = ("lecturer", "cadre", "examiner", "admin")
MIN_PASSWORD = 8
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"   # no 0/o, 1/l/i: read aloud over the phone
PASSWORD_LENGTH = 12                                       # ~59 random bits
# A random 59-bit password needs no memory-hard hash to resist guessing; PBKDF2 keeps a
# 1,000-row import to seconds where the default scrypt takes minutes. Passwords people
# choose go through set_password and get the default.
INITIAL_HASH = "pbkdf2:sha256:10000"


def hash_method() -> str:
    """The scheme people's passwords are hashed with: the settings' PASSWORD_HASH (werkzeug's scrypt unless a
    deployment or a test suite names another)."""
    return runtime.settings().password_hash


def create_user(session: Session, username: str, role: str, password: str | None = None, *,
                display_name: str = "", province: str = "", commune: str = "", contact: str = "",
                external_id: str | None = None) -> m.User:
    username = (username or "").strip()
    if not username or len(username) > 80 or any(ch.isspace() for ch in username):
        raise Invalid("Tên đăng nhập dài 1–80 ký tự, không có khoảng trắng", {"username": ["invalid"]})
    if role not in ROLES:
        raise Invalid("Vai trò phải là một trong: %(roles)s", {"role": ["unknown role"]}, roles=", ".join(ROLES))
    if password is not None and len(password) < MIN_PASSWORD:
        raise Invalid("Mật khẩu phải có ít nhất %(n)s ký tự", {"password": ["too short"]}, n=MIN_PASSWORD)
    if session.scalar(select(m.User).where(m.User.username == username)):
        raise Conflict("Tài khoản '%(name)s' đã tồn tại", {"username": ["taken"]}, name=username)
    user = m.User(username=username, role=role, display_name=display_name or username,
                  password_hash=generate_password_hash(password, hash_method()) if password else None,
                  province=province, commune=commune, contact=contact, external_id=external_id)
    session.add(user)
    session.flush()
    return user


def _replace_password_hash(user: m.User, password_hash: str) -> None:
    """Every way a password is replaced (changed, set, reset) ends the sessions and tokens taken with the old one."""
    user.password_hash = password_hash
    session = object_session(user)
    if session is not None and user.id is not None:
        credentials.end_all(session, user.id)


def set_password(user: m.User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid("Mật khẩu phải có ít nhất %(n)s ký tự", {"password": ["too short"]}, n=MIN_PASSWORD)
    _replace_password_hash(user, generate_password_hash(password, hash_method()))


def change_password(user: m.User, current: str, new: str) -> None:
    """The owner replaces their password; a password someone else chose no longer has to be."""
    if not user.password_hash or not check_password_hash(user.password_hash, current or ""):
        raise Invalid("Mật khẩu hiện tại không đúng", {"current": ["wrong password"]})
    if new == current:
        raise Invalid("Mật khẩu mới phải khác mật khẩu hiện tại", {"new": ["same as current"]})
    set_password(user, new)
    user.must_change_password = False


def new_initial_password() -> tuple[str, str]:
    """A random one-time password and its hash, computed apart from any account (a roster hashes them all
    before it writes anything)."""
    password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
    return password, generate_password_hash(password, INITIAL_HASH)


def give_initial_password(user: m.User) -> str:
    """A random password chosen for ``user`` (shown once, by whoever set it up): they must replace it
    when they first sign in.  Also how a lost password is reset."""
    password, password_hash = new_initial_password()
    _replace_password_hash(user, password_hash)
    user.must_change_password = True
    return password


def reset_password(session: Session, actor: m.User | None, user_id: int) -> tuple[m.User, str]:
    """An organiser gives someone who lost their password a new one, to be replaced at sign-in.
    ``actor`` None: the operator at the server's console (``caselab users reset-password``)."""
    if actor is not None:
        policy.require(actor, "account.manage")
    user = session.get(m.User, user_id)
    if user is None:
        raise NotFound("Không có tài khoản này")
    if actor is not None:
        policy.require(actor, "account.edit", user)        # a provincial organiser: their province's only
    password = give_initial_password(user)
    audit.record(session, actor.id if actor else None, "account.password_reset", "user", user.id,
                 via="web" if actor else "cli")
    return user, password


def get_user(session: Session, username: str) -> m.User:
    user = session.scalar(select(m.User).where(m.User.username == username))
    if user is None:
        raise NotFound("Không có tài khoản '%(name)s'", name=username)
    return user


@cache
def first_organiser(session: Session) -> m.User | None:
    """The oldest active organiser account (the CLI acts as them when no one is named)."""
    return session.scalar(select(m.User).where(m.User.role == "admin", m.User.active.is_(True))
                          .order_by(m.User.id).limit(1))


def _stand_in_hash(method: str) -> str:
    """A hash of a password nobody knows, in the scheme people's passwords use."""
    return generate_password_hash(secrets.token_urlsafe(16), method)


def authenticate(session: Session, username: str, password: str) -> m.User | None:
    user = session.scalar(select(m.User).where(m.User.username == (username or "").strip()))
    if user is None or not user.active or not user.password_hash:
        # as long as a wrong password: the time taken must not tell which usernames exist
        check_password_hash(_stand_in_hash(hash_method()), password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


def learner_for_external_id(session: Session, external_id: str, display_name: str = "") -> m.User:
    """The CaseLab cadre behind an LMS learner id (created on first sight); a deactivated account is refused
    (a merged one passed its external id to the account it was merged into)."""
    user = session.scalar(select(m.User).where(m.User.external_id == external_id))
    if user is not None and not user.active:
        raise Forbidden("Tài khoản này đã bị khóa: hãy liên hệ người tổ chức lớp")
    if user is None:
        username = "lms-" + hashlib.sha256(external_id.encode()).hexdigest()[:16]
        user = create_user(session, username, "cadre", display_name=display_name or username,
                           external_id=external_id)
    return user
