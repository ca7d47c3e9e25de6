"""The organisers' accounts: found among 100,000 (search, filters, keyset pages), edited, deactivated and
reactivated one by one or as a filtered set.

A list is paged by username (unique): a page is ``WHERE username > :after ORDER BY username LIMIT n``, never
OFFSET, so the 2,000th page costs what the first does. Search folds marks and case on both sides
(core/folding.py; on PostgreSQL a trigram index on the folded text, migration 0010). An organiser whose own
account names a province sees and manages only that province's accounts (services/policy.py: province_scope);
an account of another province is "not found" to them. Every change is audited with its before and after.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, exists, func, insert, literal_column, select, text, update
from sqlalchemy.orm import Session

from ..core.folding import fold, like_pattern
from ..store import models as m
from . import audit, credentials, policy
from .accounts import ROLES
from .errors import Conflict, Invalid, NotFound

PAGE = 50                 # accounts on a page of the web list
MAX_PAGE = 200            # the most an API page may ask for
BATCH = 500               # accounts changed per transaction by a bulk action
MIN_SEARCH = 2            # shorter searches would match nearly everyone
STATUSES = ("active", "inactive")
EDITABLE = ("display_name", "province", "commune", "contact", "email", "role")
LIMITS = {"display_name": 200, "province": 120, "commune": 120, "contact": 200, "email": 254}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# the same expression as the index's (the table named, for queries that join)
SEARCHED = literal_column("users." + m.USER_SEARCHED.replace(" || ' ' || ", " || ' ' || users."), String())


@dataclass(frozen=True)
class AccountFilter:
    """What the organiser asked for; empty fields filter nothing."""
    q: str = ""
    role: str = ""
    province: str = ""
    commune: str = ""              # the commune's name starts with this (marks and case aside)
    status: str = ""               # "" | "active" | "inactive"
    cohort_id: int | None = None

    @classmethod
    def of(cls, args: Any) -> AccountFilter:
        """From a request's arguments (a mapping of strings); unknown values are refused, not ignored."""
        def given(name: str, limit: int = 200) -> str:
            return " ".join(str(args.get(name) or "").split())[:limit]
        cohort, role = given("cohort", 10), given("role", 20)
        wanted = cls(q=given("q"), role=role, province=given("province", 120),
                     commune=given("commune", 120), status=given("status", 10),
                     cohort_id=int(cohort) if cohort.isascii() and cohort.isdigit() else None)
        if role and role not in ROLES:
            raise Invalid("Vai trò phải là một trong: %(roles)s", {"role": ["unknown role"]}, roles=", ".join(ROLES))
        if wanted.status and wanted.status not in STATUSES:
            raise Invalid("Trạng thái phải là “active” hoặc “inactive”", {"status": ["unknown status"]})
        if cohort and wanted.cohort_id is None:
            raise Invalid("Tham số %(name)s phải là số nguyên", {"cohort": ["not an integer"]}, name="cohort")
        return wanted

    def args(self) -> dict[str, Any]:
        """The non-empty filters as query arguments (links to other pages keep them)."""
        values = {"q": self.q, "role": self.role, "province": self.province, "commune": self.commune,
                  "status": self.status, "cohort": "" if self.cohort_id is None else str(self.cohort_id)}
        return {name: value for name, value in values.items() if value}

    @property
    def empty(self) -> bool:
        return not self.args()


@dataclass(frozen=True)
class AccountRow:
    id: int
    username: str
    display_name: str
    role: str
    province: str
    commune: str
    contact: str
    email: str
    active: bool
    must_change_password: bool
    merged_into_id: int | None


ROW_COLUMNS = (m.User.id, m.User.username, m.User.display_name, m.User.role, m.User.province, m.User.commune,
               m.User.contact, m.User.email, m.User.active, m.User.must_change_password, m.User.merged_into_id)


def _row(values: Sequence[Any]) -> AccountRow:
    return AccountRow(*values)


def row_of(user: m.User) -> AccountRow:
    return AccountRow(user.id, user.username, user.display_name, user.role, user.province, user.commune,
                      user.contact, user.email, bool(user.active), bool(user.must_change_password),
                      user.merged_into_id)


@dataclass(frozen=True)
class AccountPage:
    rows: list[AccountRow]
    after: str | None              # the next page: usernames after this one
    before: str | None             # the previous page: usernames before this one
    scope: str | None              # the organiser's province, when they have one


def _conditions(actor: m.User, wanted: AccountFilter) -> list[Any]:
    where: list[Any] = []
    scope = policy.province_scope(actor)
    if scope is not None:
        where.append(m.User.province == scope)
    if wanted.q:
        if len(fold(wanted.q).strip()) < MIN_SEARCH:
            raise Invalid("Hãy gõ ít nhất %(n)s ký tự để tìm", {"q": ["too short"]}, n=MIN_SEARCH)
        where.append(func.caselab_fold(SEARCHED).like(like_pattern(wanted.q), escape="\\"))
    if wanted.role:
        where.append(m.User.role == wanted.role)
    if wanted.province:
        where.append(m.User.province == wanted.province)
    if wanted.commune:
        prefix = like_pattern(wanted.commune)[1:]          # starts with: no leading %
        where.append(func.caselab_fold(m.User.commune).like(prefix, escape="\\"))
    if wanted.status:
        where.append(m.User.active.is_(wanted.status == "active"))
    if wanted.cohort_id is not None:
        where.append(exists().where(m.Membership.user_id == m.User.id, m.Membership.cohort_id == wanted.cohort_id))
    return where


def list_accounts(session: Session, actor: m.User, wanted: AccountFilter, *, after: str | None = None,
                  before: str | None = None, limit: int = PAGE) -> AccountPage:
    """One page of the accounts ``wanted`` asks for, by username: after ``after``, or the page that ends just
    before ``before`` (the previous page), or the first."""
    policy.require(actor, "account.manage")
    limit = max(1, min(limit, MAX_PAGE))
    query = select(*ROW_COLUMNS).where(*_conditions(actor, wanted))
    if before:
        found = session.execute(query.where(m.User.username < before)
                                .order_by(m.User.username.desc()).limit(limit + 1)).all()
        rows = [_row(r) for r in reversed(found[:limit])]
        earlier = len(found) > limit
        return AccountPage(rows, rows[-1].username if rows else None,
                           rows[0].username if rows and earlier else None, policy.province_scope(actor))
    if after:
        query = query.where(m.User.username > after)
    found = session.execute(query.order_by(m.User.username).limit(limit + 1)).all()
    rows = [_row(r) for r in found[:limit]]
    return AccountPage(rows, rows[-1].username if len(found) > limit else None,
                       rows[0].username if rows and after else None, policy.province_scope(actor))


def count_accounts(session: Session, actor: m.User, wanted: AccountFilter) -> int:
    policy.require(actor, "account.manage")
    return session.scalar(select(func.count()).select_from(m.User).where(*_conditions(actor, wanted))) or 0


def provinces(session: Session, actor: m.User) -> list[str]:
    """The provinces accounts name (the organiser's own only, for a provincial organiser)."""
    policy.require(actor, "account.manage")
    scope = policy.province_scope(actor)
    if scope is not None:
        return [scope]
    # a skip scan on ix_users_province_username: one index probe per province, not a pass over every account
    return [p for p in session.scalars(text(
        "WITH RECURSIVE p(v) AS (SELECT min(province) FROM users WHERE province > '' "
        "UNION ALL SELECT (SELECT min(province) FROM users WHERE province > p.v) FROM p WHERE p.v IS NOT NULL) "
        "SELECT v FROM p WHERE v IS NOT NULL")) if p]


def cohorts(session: Session, actor: m.User) -> list[tuple[int, str]]:
    policy.require(actor, "account.manage")
    return [(i, name) for i, name in session.execute(select(m.Cohort.id, m.Cohort.name).order_by(m.Cohort.name))]


# ---- one account ------------------------------------------------------------------------------------

def account(session: Session, actor: m.User, user_id: int) -> m.User:
    """The account ``actor`` may manage (an organiser of its province, or national), else NotFound."""
    policy.require(actor, "account.manage")
    user = session.get(m.User, user_id)
    if user is None:
        raise NotFound("Không có tài khoản này")
    policy.require(actor, "account.edit", user)
    return user


def id_of(session: Session, actor: m.User, username: str) -> int | None:
    """The id of the account named ``username`` that ``actor`` manages, or None."""
    policy.require(actor, "account.manage")
    where = [m.User.username == username.strip()]
    scope = policy.province_scope(actor)
    if scope is not None:
        where.append(m.User.province == scope)
    return session.scalar(select(m.User.id).where(*where))


@dataclass(frozen=True)
class WorkCount:
    """What an account has done (shown before deactivating or merging: none of it is removed)."""
    cohorts: int
    attempts: int
    drafts: int
    essays: int
    rounds: int                     # marking rounds held, as an examiner
    open_rounds: int                # of which not finalised
    posts: int


def work_of(session: Session, user_id: int) -> WorkCount:
    def count(column, *where) -> int:
        return session.scalar(select(func.count()).where(column == user_id, *where)) or 0
    return WorkCount(cohorts=count(m.Membership.user_id), attempts=count(m.Attempt.user_id),
                     drafts=count(m.EssayDraft.user_id), essays=count(m.Essay.user_id),
                     rounds=count(m.Grade.examiner_id),
                     open_rounds=count(m.Grade.examiner_id, m.Grade.finalised_at.is_(None)),
                     posts=count(m.Post.author_id))


@dataclass(frozen=True)
class AccountDetail:
    row: AccountRow
    work: WorkCount
    memberships: list[tuple[str, str]]          # (cohort, group)
    merged_into: str | None                     # the username it was merged into
    created_at: Any
    history: list[AuditLine] = field(default_factory=list)


@dataclass(frozen=True)
class AuditLine:
    at: Any
    actor: str | None
    action: str
    details: dict[str, Any]


HISTORY = 20


def detail(session: Session, actor: m.User, user_id: int) -> AccountDetail:
    user = account(session, actor, user_id)
    memberships = [(c, g or "") for c, g in session.execute(
        select(m.Cohort.name, m.Group.name).select_from(m.Membership)
        .join(m.Cohort, m.Cohort.id == m.Membership.cohort_id)
        .outerjoin(m.Group, m.Group.id == m.Membership.group_id)
        .where(m.Membership.user_id == user.id).order_by(m.Cohort.name))]
    merged_into = session.scalar(select(m.User.username).where(m.User.id == user.merged_into_id)) \
        if user.merged_into_id else None
    actors = m.User.__table__.alias("actors")
    history = [AuditLine(at, name, action, details or {}) for at, name, action, details in session.execute(
        select(m.AuditEvent.at, actors.c.username, m.AuditEvent.action, m.AuditEvent.details)
        .outerjoin(actors, actors.c.id == m.AuditEvent.actor_id)
        .where(m.AuditEvent.target_type == "user", m.AuditEvent.target_id == str(user.id))
        .order_by(m.AuditEvent.id.desc()).limit(HISTORY))]
    return AccountDetail(row_of(user), work_of(session, user.id), memberships, merged_into, user.created_at,
                         history)


def _clean(changes: dict[str, Any]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        if name not in EDITABLE:
            raise Invalid("Không sửa được mục %(name)s", {name: ["not editable"]}, name=name)
        text = " ".join(str(value or "").split())
        if name in LIMITS and len(text) > LIMITS[name]:
            errors[name] = ["too long"]
        cleaned[name] = text
    if errors:
        raise Invalid("Mục quá dài: %(names)s", errors, names=", ".join(errors))
    if "display_name" in cleaned and not cleaned["display_name"]:
        raise Invalid("Hãy điền họ tên", {"display_name": ["required"]})
    if cleaned.get("email") and not EMAIL.match(cleaned["email"]):
        raise Invalid("Địa chỉ thư điện tử không hợp lệ", {"email": ["invalid"]})
    if "role" in cleaned and cleaned["role"] not in ROLES:
        raise Invalid("Vai trò phải là một trong: %(roles)s", {"role": ["unknown role"]}, roles=", ".join(ROLES))
    return cleaned


def update_account(session: Session, actor: m.User, user_id: int, changes: dict[str, Any]) -> AccountRow:
    """Change what ``changes`` names (display name, province, commune, contact, e-mail, role); unchanged
    values are left alone and nothing is audited when nothing changed.

    A role is changed with care: never one's own; the organiser role is given only by a national organiser;
    an examiner with rounds still to finish keeps the role until they are finished or handed to another; a
    new role ends the person's sessions and tokens (what they signed in to is no longer theirs). A provincial
    organiser cannot move an account out of their province."""
    user = account(session, actor, user_id)
    cleaned = _clean(changes)
    before = {name: getattr(user, name) for name in cleaned}
    changed = {name: value for name, value in cleaned.items() if value != before[name]}
    if not changed:
        return row_of(user)
    if "role" in changed:
        if user.id == actor.id:
            raise Conflict("Bạn không đổi được vai trò của chính mình", {"role": ["own role"]})
        if policy.organiser_role_in(user.role, changed["role"]):
            policy.require(actor, "account.grant_admin", user)
        left = work_of(session, user.id).open_rounds
        if left:
            raise Conflict("Giám khảo này còn %(n)s lượt chấm chưa xong: hãy chuyển các lượt đó cho người khác "
                           "trước khi đổi vai trò", {"role": ["open rounds"]}, n=left)
    for name, value in changed.items():
        setattr(user, name, value)
    if not policy.allowed(actor, "account.edit", user):
        raise Invalid("Bạn chỉ quản lý tài khoản của %(province)s", {"province": ["outside your province"]},
                      province=policy.province_scope(actor) or "")
    if "role" in changed:
        credentials.end_all(session, user.id)
    audit.record(session, actor.id, "account.update", "user", user.id,
                 before={k: before[k] for k in changed}, after=changed)
    session.flush()
    return row_of(user)


def set_active(session: Session, actor: m.User, user_id: int, active: bool) -> AccountRow:
    """Deactivate (they can no longer sign in; every session and token ends; all their work stays) or
    reactivate an account. Doing it twice changes nothing."""
    user = account(session, actor, user_id)
    if bool(user.active) == active:
        return row_of(user)
    if not active and user.id == actor.id:
        raise Conflict("Bạn không tự khóa tài khoản của chính mình được")
    if active and user.merged_into_id:
        kept = session.scalar(select(m.User.username).where(m.User.id == user.merged_into_id))
        raise Conflict("Tài khoản này đã được gộp vào “%(kept)s”: hãy dùng tài khoản đó", kept=kept or "")
    user.active = active
    if not active:
        credentials.end_all(session, user.id)
    audit.record(session, actor.id, "account.reactivate" if active else "account.deactivate", "user", user.id,
                 before={"active": not active}, after={"active": active})
    session.flush()
    return row_of(user)


# ---- many accounts at once ----------------------------------------------------------------------------

@dataclass(frozen=True)
class BulkResult:
    changed: int
    batches: int


def _bulk_candidates(actor: m.User, wanted: AccountFilter, active: bool) -> list[Any]:
    """The filtered accounts a bulk change would change: not already so, never the organiser's own account,
    and never a merged account reactivated."""
    where = _conditions(actor, wanted) + [m.User.active.is_(not active), m.User.id != actor.id]
    if active:
        where.append(m.User.merged_into_id.is_(None))
    return where


def bulk_count(session: Session, actor: m.User, wanted: AccountFilter, active: bool) -> int:
    """How many accounts ``bulk_set_active`` would change (shown for confirmation)."""
    policy.require(actor, "account.manage")
    return session.scalar(select(func.count()).select_from(m.User)
                          .where(*_bulk_candidates(actor, wanted, active))) or 0


def _batches(session: Session, actor: m.User, wanted: AccountFilter, active: bool) -> Iterator[list[int]]:
    after = ""
    while True:
        ids = session.execute(select(m.User.id, m.User.username)
                              .where(*_bulk_candidates(actor, wanted, active), m.User.username > after)
                              .order_by(m.User.username).limit(BATCH)).all()
        if not ids:
            return
        after = ids[-1][1]
        yield [i for i, _ in ids]


def bulk_set_active(session: Session, actor: m.User, wanted: AccountFilter, active: bool, *, expected: int,
                    commit: Callable[[], None]) -> BulkResult:
    """Deactivate or reactivate every account ``wanted`` names, in batches of BATCH committed one by one (no
    batch holds the database for long). ``expected`` is the count the organiser confirmed: when the set has
    changed since, nothing is done (Conflict with the new count)."""
    policy.require(actor, "account.manage")
    now = bulk_count(session, actor, wanted, active)
    if now != expected:
        raise Conflict("Số tài khoản khớp bộ lọc đã thay đổi (nay là %(n)s): hãy xác nhận lại", n=now)
    action = "account.reactivate" if active else "account.deactivate"
    changed = batches = 0
    for ids in _batches(session, actor, wanted, active):
        session.execute(update(m.User).where(m.User.id.in_(ids), m.User.active.is_(not active))
                        .values(active=active).execution_options(synchronize_session=False))
        if not active:
            credentials.end_all_of(session, ids)
        session.execute(insert(m.AuditEvent), [
            {"actor_id": actor.id, "action": action, "target_type": "user", "target_id": str(i),
             "details": {"before": {"active": not active}, "after": {"active": active}, "bulk": True,
                         "filter": wanted.args()}, "at": m.utcnow()} for i in ids])
        commit()
        changed, batches = changed + len(ids), batches + 1
    return BulkResult(changed, batches)
