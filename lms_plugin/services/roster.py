"""Roster import: a CSV or XLSX list of people -> accounts, cohort members, groups by commune.

Headers may be Vietnamese or English (họ tên/name, xã/commune, tỉnh/province, liên hệ/contact,
vai trò/role, tên đăng nhập/username, số định danh/CCCD/mã cán bộ/external id). Importing the same
list again changes nothing: each row is matched to the account it already made by a stable key, in
this order:

1. the personal number (số định danh, CCCD, mã cán bộ: ``users.external_id``) when the row has one;
2. else the username when the row gives one;
3. else name + commune + contact, compared without case or diacritics ("Nguyễn Thị Hằng" is
   "nguyen thi hang"), the commune without its "Xã"/"Phường" and the phone without spaces.

A matched row updates the account (name, commune, province, contact; an empty cell never erases;
never the password nor the role) and its membership and group in the cohort. Nothing is written by
``plan_roster``: it tells, row by row, what ``apply_roster`` would do (created, updated, unchanged,
rejected with the reason). ``apply_roster`` writes in batches, each its own short transaction, with
bulk inserts; accounts it creates get a one-time sign-in link (sign_in_links.py), not a password.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from time import perf_counter
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..sanitize import spreadsheet_cell
from ..store import models as m
from . import audit, cohorts, limits, policy, sign_in_links, spreadsheets
from .errors import N_, Invalid

MAX_ROWS = 100_000
MAX_UPLOAD_BYTES = 40 * 1024 * 1024      # a 100,000-row CSV with long names and ids is about 15 MB
BATCH_ROWS = 1_000                       # rows written per transaction: well under a second on SQLite and PostgreSQL
LOOKUP_CHUNK = 1_000                     # values per IN list, far below the 65,535 bind parameters drivers allow

CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"
# the roles a roster row puts in the cohort and its commune's group (a row's data, not a permission: policy.py)
IN_GROUPS = frozenset({"cadre"})
OUTCOMES = (CREATED, UPDATED, UNCHANGED, REJECTED)


def fold(text: str) -> str:
    """Lower case without diacritics: "Họ và Tên" -> "ho va ten", "Đặng" -> "dang"."""
    text = unicodedata.normalize("NFD", (text or "").strip().lower()).replace("đ", "d").replace("Đ", "d")
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn")


HEADERS = {
    "name": {"name", "full name", "ho ten", "ho va ten", "ten"},
    "commune": {"commune", "xa", "xa/phuong", "xa, phuong", "don vi"},
    "province": {"province", "tinh", "tinh/thanh pho", "tinh, thanh pho"},
    "contact": {"contact", "lien he", "email", "dien thoai", "so dien thoai"},
    "role": {"role", "vai tro"},
    "username": {"username", "ten dang nhap", "tai khoan"},
    "external_id": {"external id", "external_id", "id", "personal id", "personal number", "national id",
                    "staff id", "so dinh danh", "so dinh danh ca nhan", "ma dinh danh", "cccd", "so cccd",
                    "can cuoc", "can cuoc cong dan", "so can cuoc", "cmnd", "so cmnd", "ma can bo",
                    "ma so can bo", "ma cb"},
}
ROLE_WORDS = {
    "cadre": {"cadre", "learner", "student", "hoc vien", "can bo"},
    "lecturer": {"lecturer", "giang vien"},
    "examiner": {"examiner", "giam khao"},
    "admin": {"admin", "quan tri", "organiser", "to chuc"},
}


@dataclass(frozen=True)
class RosterRow:
    row: int               # as the spreadsheet numbers it (the header is row 1)
    name: str
    commune: str
    province: str
    contact: str
    role: str              # as written
    username: str          # as written, may be empty
    external_id: str = ""  # as written, may be empty


# Reading the file

def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)          # a phone number typed as a number
    return unicodedata.normalize("NFC", str(value)).strip()


def _table_from_csv(raw: bytes) -> list[list[str]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("Tệp CSV phải dùng mã UTF-8 (trong Excel: Lưu thành → CSV UTF-8)",
                      {"file": ["not UTF-8"]}) from None
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    return [[_cell(v) for v in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _table_from_xlsx(raw: bytes) -> list[list[str]]:
    # Bounded before openpyxl reads anything: size, compression, rows, cells per row (see spreadsheets.py).
    return [[_cell(v) for v in row] for row in spreadsheets.read_first_sheet(raw, MAX_ROWS)]


def read_roster(filename: str, raw: bytes) -> list[RosterRow]:
    """The rows of a CSV or XLSX roster. Raises Invalid when the file or its header cannot be used."""
    lower = (filename or "").lower()
    if len(raw) > MAX_UPLOAD_BYTES:
        raise Invalid("Tệp lớn hơn %(mb)s MB: hãy tách thành nhiều tệp nhỏ hơn", {"file": ["too large"]},
                      mb=MAX_UPLOAD_BYTES // 1024 // 1024)
    if lower.endswith(".xlsx"):
        table = _table_from_xlsx(raw)
    elif lower.endswith(".csv") or lower.endswith(".txt"):
        table = _table_from_csv(raw)
    else:
        raise Invalid("Hãy tải lên tệp .csv hoặc .xlsx", {"file": ["unsupported type"]})
    if not table:
        raise Invalid("Tệp không có dòng nào", {"file": ["empty"]})
    header = [" ".join(fold(h).split()) for h in table[0]]
    columns: dict[str, int] = {}
    for key, names in HEADERS.items():
        for i, h in enumerate(header):
            if h in names and key not in columns:
                columns[key] = i
    if "name" not in columns:
        raise Invalid("Dòng đầu phải có cột 'Họ tên' (hoặc 'name')", {"file": ["no name column"]})
    if len(table) - 1 > MAX_ROWS:
        raise Invalid("Tệp có quá %(n)s dòng", {"file": ["too many rows"]}, n=MAX_ROWS)
    order = [columns.get(key) for key in ("name", "commune", "province", "contact", "role", "username",
                                          "external_id")]
    rows = []
    for number, values in enumerate(table[1:], start=2):
        if not any(values):
            continue            # blank lines in a spreadsheet are not people
        width = len(values)
        rows.append(RosterRow(number, *(values[i] if i is not None and i < width else "" for i in order)))
    return rows


# Keys: how a row and an account are compared

def name_key(name: str) -> str:
    return " ".join(fold(name).split())


_COMMUNE_KIND = re.compile(r"^(xa|phuong|dac khu|thi tran)\s+")
_KIND_WORD = re.compile(r"^\s*(xã|phường|đặc khu|thị trấn)\s+", re.I)


def commune_key(commune: str) -> str:
    """"Xã Tân Hoà", "tân hòa" and "TAN HOA" are one commune."""
    return _COMMUNE_KIND.sub("", name_key(commune))


def contact_key(contact: str) -> str:
    """A phone number by its digits ("+84 912.345.678", "0912 345 678" and 912345678 typed as a number are one);
    anything else (an e-mail) without case or diacritics."""
    text = (contact or "").strip()
    if text and re.fullmatch(r"[+\d\s().\-]+", text):
        digits = re.sub(r"\D", "", text)
        if digits.startswith("84") and len(digits) == 11:
            digits = "0" + digits[2:]
        elif len(digits) == 9 and not digits.startswith("0"):
            digits = "0" + digits        # the leading zero a spreadsheet drops from a number
        return digits
    return name_key(text)


def external_key(value: str) -> str:
    """A personal number as stored: without spaces, dots or dashes ("001 085 012 345" is "001085012345")."""
    return re.sub(r"[\s.\-]", "", value or "").upper()


def _marks(text: str) -> int:
    """Letters with diacritics, not counting a leading "Xã"/"Phường" (which says nothing of the commune's name)."""
    return sum(1 for ch in _KIND_WORD.sub("", text) if ord(ch) > 127)


def _changed(stored: str, given: str, key: Callable[[str], str]) -> bool:
    """Whether ``given`` should replace ``stored``: an empty cell never erases; the same words written
    without diacritics never replace them, with more diacritics do ("Nguyen Thi Hang" -> "Nguyễn Thị Hằng")."""
    if not given or given == stored:
        return False
    if key(given) != key(stored):
        return True
    return _marks(given) > _marks(stored)


def role_of(word: str) -> str | None:
    folded = fold(word)
    if not folded:
        return "cadre"
    return next((role for role, words in ROLE_WORDS.items() if folded in words), None)


def username_for(name: str) -> str:
    """Vietnamese style: given name + initials of the others, no diacritics: "Đặng Văn An" -> "andv"."""
    parts = re.findall(r"[a-z0-9]+", fold(name))
    if not parts:
        return "hv"
    return parts[-1] + "".join(p[0] for p in parts[:-1])


# What the import would do, row by row

# labels of what an update changes (msgids, translated by the host)
CHANGE_LABELS = {
    "display_name": N_("họ tên"), "commune": N_("xã"), "province": N_("tỉnh"), "contact": N_("liên hệ"),
    "external_id": N_("số định danh"), "join": N_("vào lớp"), "move": N_("đổi nhóm"),
}
MATCH_LABELS = {
    "external_id": N_("số định danh"), "username": N_("tên đăng nhập"),
    "name_commune_contact": N_("họ tên, xã và liên hệ"),
}


@dataclass
class RowPlan:
    """One row's fate. ``values``: the account's columns to write (all of them for a new account, the
    changed ones for an update)."""
    source: RosterRow
    outcome: str = CREATED
    role: str = ""
    username: str = ""
    group: str = ""                 # the cadre's group in the cohort ("" for staff)
    matched_by: str = ""            # a MATCH_LABELS key
    changes: tuple[str, ...] = ()   # CHANGE_LABELS keys
    reason: str = ""                # gettext msgid, for a rejected row
    params: dict = field(default_factory=dict)
    user_id: int | None = None
    values: dict = field(default_factory=dict)
    membership: str = ""            # "" | "join" | "move"
    group_key: str = ""

    @property
    def row(self) -> int:
        return self.source.row

    @property
    def name(self) -> str:
        return self.source.name

    def reject(self, reason: str, **params) -> None:
        self.outcome, self.reason, self.params = REJECTED, reason, params

    def translated(self, gettext) -> str:
        """The reason (rejected), or what changes (updated), in the reader's language."""
        if self.outcome == REJECTED:
            return gettext(self.reason, **self.params) if self.params else gettext(self.reason)
        if self.outcome == UPDATED:
            return ", ".join(gettext(CHANGE_LABELS[c]) for c in self.changes)
        return ""


@dataclass
class RosterPlan:
    cohort_id: int
    rows: list[RowPlan]
    new_groups: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for plan in self.rows:
            counts[plan.outcome] += 1
        return counts

    def first(self, outcome: str, limit: int = 50) -> list[RowPlan]:
        found = []
        for plan in self.rows:
            if plan.outcome == outcome:
                found.append(plan)
                if len(found) == limit:
                    break
        return found

    @property
    def rejected(self) -> list[RowPlan]:
        return [p for p in self.rows if p.outcome == REJECTED]


# What each column may hold: the account's column lengths (store/models.py: User).
STORED = (("name", N_("Họ tên"), 200), ("commune", N_("Xã"), 120), ("province", N_("Tỉnh"), 120),
          ("contact", N_("Liên hệ"), 200), ("external_id", N_("Số định danh"), 255))


def _check(plan: RowPlan) -> None:
    """What a row alone shows to be wrong."""
    row = plan.source
    for key, label, max_len in STORED:
        value = getattr(row, key)
        if len(value) > max_len:
            return plan.reject(N_("Cột %(column)s dài %(n)s ký tự; tối đa %(max)s ký tự"),
                               column=label, n=len(value), max=max_len)
        if limits.CONTROL.search(value):
            return plan.reject(N_("Cột %(column)s có ký tự điều khiển không hiển thị được"), column=label)
    role = role_of(row.role)
    if not row.name:
        plan.reject(N_("Thiếu họ tên"))
    elif role is None:
        plan.reject(N_("Vai trò không rõ: '%(role)s' (học viên, giảng viên, giám khảo, quản trị)"), role=row.role)
    elif row.username and (len(row.username) > 80 or any(ch.isspace() for ch in row.username)):
        plan.reject(N_("Tên đăng nhập '%(name)s' không hợp lệ (không có khoảng trắng, tối đa 80 ký tự)"),
                    name=row.username)
    else:
        plan.role = role
    return None


def _same_in_file(plans: list[RowPlan], key: Callable[[RowPlan], str], reason: str, what: Callable[[RowPlan], dict]):
    """Rows of the file sharing a key that must be unique: all of them are rejected (which one is right is
    for the organiser to say)."""
    seen: dict[str, list[RowPlan]] = {}
    for plan in plans:
        if plan.outcome != REJECTED and (k := key(plan)):
            seen.setdefault(k, []).append(plan)
    for same in seen.values():
        if len(same) > 1:
            rows = ", ".join(str(p.row) for p in same)
            for plan in same:
                plan.reject(reason, rows=rows, **what(plan))


def _chunks(values: Sequence, size: int = LOOKUP_CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


ACCOUNT_COLUMNS = (m.User.id, m.User.username, m.User.role, m.User.display_name, m.User.commune,
                   m.User.province, m.User.contact, m.User.external_id)


@dataclass(frozen=True)
class _Account:
    id: int
    username: str
    role: str
    display_name: str
    commune: str
    province: str
    contact: str
    external_id: str | None


def _accounts(session: Session, column, values: Iterable, *where) -> list[_Account]:
    unique = sorted(set(values))
    found: list[_Account] = []
    for chunk in _chunks(unique):
        found.extend(_Account(*row) for row in session.execute(
            select(*ACCOUNT_COLUMNS).where(column.in_(chunk), *where)))
    return found


def _natural(row: RosterRow) -> tuple[str, str, str]:
    return name_key(row.name), commune_key(row.commune), contact_key(row.contact)


def _account_key(account: _Account) -> tuple[str, str, str]:
    return name_key(account.display_name), commune_key(account.commune), contact_key(account.contact)


def plan_roster(session: Session, user: m.User, cohort_id: int, rows: list[RosterRow]) -> RosterPlan:
    """What importing these rows into the cohort would do, row by row. Reads only; writes nothing."""
    policy.require(user, "roster.import")
    cohort = cohorts.get_cohort(session, cohort_id)
    plans = [RowPlan(row) for row in rows]
    for plan in plans:
        _check(plan)
    _same_in_file(plans, lambda p: external_key(p.source.external_id),
                  N_("Số định danh '%(id)s' trùng ở các dòng %(rows)s"), lambda p: {"id": p.source.external_id})
    _same_in_file(plans, lambda p: p.source.username.lower(),
                  N_("Tên đăng nhập '%(name)s' trùng ở các dòng %(rows)s"), lambda p: {"name": p.source.username})
    _same_in_file(plans, lambda p: "" if p.source.external_id or p.source.username else "|".join(_natural(p.source)),
                  N_("Các dòng %(rows)s cùng họ tên, xã và liên hệ: thêm cột số định danh hoặc tên đăng nhập để "
                  "phân biệt"), lambda p: {})
    live = [p for p in plans if p.outcome != REJECTED]

    # every username once (the new ones must be free), then the accounts the rows name, by batch
    usernames = {name.lower(): user_id for user_id, name in session.execute(select(m.User.id, m.User.username))}
    by_external = {external_key(a.external_id or ""): a for a in _accounts(
        session, m.User.external_id, (external_key(p.source.external_id) for p in live if p.source.external_id))}
    by_username = {a.username.lower(): a for a in _accounts(
        session, m.User.id, (usernames[p.source.username.lower()] for p in live
                             if p.source.username and p.source.username.lower() in usernames))}
    matched: dict[int, _Account] = {}
    for plan in live:
        _match(plan, by_external, by_username, matched)
    _match_natural(session, [p for p in live if p.outcome != REJECTED and p.user_id is None
                             and not p.source.username], matched)
    _same_in_file(plans, lambda p: str(p.user_id or ""),
                  N_("Các dòng %(rows)s cùng trỏ đến tài khoản '%(name)s'"), lambda p: {"name": p.username})

    groups = _GroupPlan(session, cohort)
    memberships: dict[int, int | None] = {}
    for chunk in _chunks(sorted(matched)):
        memberships.update(session.execute(select(m.Membership.user_id, m.Membership.group_id).where(
            m.Membership.cohort_id == cohort.id, m.Membership.user_id.in_(chunk))).all())
    counters: dict[str, int] = {}
    for plan in plans:
        if plan.outcome == REJECTED:
            continue
        account = matched.get(plan.user_id) if plan.user_id is not None else None
        if account is None:
            _plan_new(plan, usernames, counters)
        else:
            _plan_update(plan, account)
        if plan.role in IN_GROUPS:
            commune = plan.source.commune or (account.commune if account else "")
            if not commune:
                plan.reject(N_("Học viên cần có xã để xếp nhóm"))
                continue
            plan.group_key, plan.group = groups.target(commune)
            if account is not None:
                if account.id not in memberships:
                    plan.membership = "join"
                elif groups.known_id(plan.group_key) is None or \
                        memberships[account.id] != groups.known_id(plan.group_key):
                    plan.membership = "move"
                if plan.membership:
                    plan.changes += (plan.membership,)
                    plan.outcome = UPDATED
    return RosterPlan(cohort.id, plans, [name for key, name in groups.new.items()
                                         if any(p.group_key == key and p.outcome != REJECTED for p in plans)])


def _match(plan: RowPlan, by_external: dict, by_username: dict, matched: dict[int, _Account]) -> None:
    row = plan.source
    ext = external_key(row.external_id)
    account = by_external.get(ext) if ext else None
    if account is not None:
        if row.username and account.username.lower() != row.username.lower():
            return plan.reject(N_("Số định danh '%(id)s' đã thuộc tài khoản '%(account)s', không phải '%(name)s' "
                               "như dòng này ghi"), id=row.external_id, account=account.username, name=row.username)
        plan.matched_by = "external_id"
    elif row.username:
        account = by_username.get(row.username.lower())
        if account is not None:
            if ext and account.external_id and external_key(account.external_id) != ext:
                return plan.reject(N_("Tài khoản '%(name)s' đã có số định danh khác với số '%(id)s' ở dòng này"),
                                   name=account.username, id=row.external_id)
            plan.matched_by = "username"
    if account is not None:
        plan.user_id, plan.username = account.id, account.username
        matched[account.id] = account
    return None


def _match_natural(session: Session, plans: list[RowPlan], matched: dict[int, _Account]) -> None:
    """Rows with neither a known personal number nor a username: by name, commune and contact folded.
    Candidates come by batch: accounts with the row's contact as written (an index lookup: a file imported
    again finds everyone here), then, for rows still unmatched, accounts whose contact has the same digits
    or e-mail written otherwise (one pass over the stored contacts, folded here: a few hundred milliseconds
    for 100,000 accounts, and no expression SQLite and PostgreSQL would both have to index); rows without a
    contact: accounts without one in the row's commune, or with the row's name, as written."""
    if not plans:
        return
    with_contact = [p for p in plans if p.source.contact]
    candidates = _accounts(session, m.User.contact, (p.source.contact for p in with_contact))
    known = {_account_key(a) for a in candidates}
    wanted = {contact_key(p.source.contact) for p in with_contact if _natural(p.source) not in known}
    if wanted:
        ids = [user_id for user_id, contact in session.execute(
            select(m.User.id, m.User.contact).where(m.User.contact != "").execution_options(yield_per=10_000))
            if contact_key(contact) in wanted]
        candidates += _accounts(session, m.User.id, ids)
    bare = [p.source for p in plans if not p.source.contact]
    candidates += _accounts(session, m.User.commune, (r.commune for r in bare), m.User.contact == "")
    candidates += _accounts(session, m.User.display_name, (r.name for r in bare), m.User.contact == "")
    index: dict[tuple[str, str, str], list[_Account]] = {}
    for account in {a.id: a for a in candidates}.values():
        index.setdefault(_account_key(account), []).append(account)
    for plan in plans:
        ext = external_key(plan.source.external_id)
        # an account with another personal number is another person, however alike
        found = [a for a in index.get(_natural(plan.source), [])
                 if not (ext and a.external_id and external_key(a.external_id) != ext)]
        if len(found) > 1:
            plan.reject(N_("Có %(n)s tài khoản cùng họ tên, xã và liên hệ này (%(names)s): thêm cột số định danh hoặc "
                        "tên đăng nhập để chỉ rõ"), n=len(found), names=", ".join(a.username for a in found[:5]))
        elif found:
            plan.matched_by, plan.user_id, plan.username = "name_commune_contact", found[0].id, found[0].username
            matched[found[0].id] = found[0]


def _plan_new(plan: RowPlan, usernames: dict[str, int], counters: dict[str, int]) -> None:
    row = plan.source
    if row.username and row.username.lower() in usernames:
        return plan.reject(N_("Tên đăng nhập '%(name)s' đã có người dùng"), name=row.username)
    username = row.username or _free_username(username_for(row.name), usernames, counters)
    usernames[username.lower()] = 0              # taken from now on, for the rows below
    plan.outcome, plan.username = CREATED, username
    plan.values = {"username": username, "role": plan.role, "display_name": row.name, "province": row.province,
                   "commune": row.commune, "contact": row.contact,
                   "external_id": external_key(row.external_id) or None}
    return None


def _plan_update(plan: RowPlan, account: _Account) -> None:
    row = plan.source
    role = role_of(row.role) if row.role else account.role
    if role != account.role:
        return plan.reject(N_("Tài khoản '%(name)s' có vai trò khác ('%(role)s'); nhập danh sách không đổi vai trò"),
                           name=account.username, role=account.role)
    plan.role = role
    changes: dict[str, str] = {}
    for column, given, key in (("display_name", row.name, name_key), ("commune", row.commune, commune_key),
                               ("province", row.province, name_key), ("contact", row.contact, contact_key)):
        if _changed(getattr(account, column), given, key):
            changes[column] = given
    ext = external_key(row.external_id)
    if ext and not account.external_id:
        changes["external_id"] = ext
    plan.values, plan.changes = changes, tuple(changes)
    plan.outcome = UPDATED if changes else UNCHANGED
    return None


def _free_username(base: str, taken: dict[str, int], counters: dict[str, int]) -> str:
    n = counters.get(base, 1)
    candidate = base if n == 1 else f"{base}{n}"
    while candidate.lower() in taken:
        n += 1
        candidate = f"{base}{n}"
    counters[base] = n
    return candidate


class _GroupPlan:
    """The cohort's groups by commune (ignoring case, diacritics and "Xã"), and those the import adds."""

    def __init__(self, session: Session, cohort: m.Cohort):
        self.known: dict[str, tuple[int, str]] = {}
        for group_id, name, commune in session.execute(
                select(m.Group.id, m.Group.name, m.Group.commune).where(m.Group.cohort_id == cohort.id)
                .order_by(m.Group.id)):
            for candidate in (commune, name):
                self.known.setdefault(commune_key(candidate), (group_id, name))
        self.new: dict[str, str] = {}

    def target(self, commune: str) -> tuple[str, str]:
        key = commune_key(commune)
        if key in self.known:
            return key, self.known[key][1]
        return key, self.new.setdefault(key, commune.strip())

    def known_id(self, key: str) -> int | None:
        return self.known[key][0] if key in self.known else None


# Writing

@dataclass(frozen=True)
class Created:
    row: int
    username: str
    name: str
    role: str
    group: str
    link: str              # the one-time sign-in link: shown once, only its sha256 is stored
    expires_at: datetime


@dataclass
class RosterResult:
    plan: RosterPlan
    created: list[Created] = field(default_factory=list)
    batches: int = 0
    longest_batch_seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return self.plan.counts()

    @property
    def rejected(self) -> list[RowPlan]:
        return self.plan.rejected

    def links_csv(self) -> str:
        """The new accounts' one-time sign-in links, cells escaped for spreadsheets."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["username", "name", "role", "group", "sign_in_link", "expires"])
        local = timezone(timedelta(hours=7))                      # Vietnam time, as the organiser hands it out
        for c in self.created:
            expires = c.expires_at.astimezone(local).strftime("%d/%m/%Y %H:%M")
            writer.writerow([spreadsheet_cell(v) for v in (c.username, c.name, c.role, c.group, c.link, expires)])
        return out.getvalue()


def apply_roster(session: Session, user: m.User, cohort_id: int, rows: list[RosterRow], *, base_url: str,
                 commit: Callable[[], None] | None = None, batch_rows: int = BATCH_ROWS,
                 progress: Callable[[int], object] | None = None, now: datetime | None = None) -> RosterResult:
    """Import the rows: plan them, then write BATCH_ROWS rows per transaction (``commit`` ends each one;
    the session's own commit by default), so no other writer waits behind the import for long. New accounts
    have no password: each gets a sign-in link (in ``result.created``, never stored in clear)."""
    commit = commit or session.commit
    plan = plan_roster(session, user, cohort_id, rows)
    commit()                                          # the reads end here: nothing held while writing
    moment = now or datetime.now(timezone.utc)
    expires = sign_in_links.expiry(moment)
    result = RosterResult(plan)
    group_ids = _create_groups(session, plan, commit)
    for start in range(0, len(plan.rows), batch_rows):
        batch = [p for p in plan.rows[start:start + batch_rows] if p.outcome in (CREATED, UPDATED)]
        began = perf_counter()
        try:
            created = _write_batch(session, plan.cohort_id, batch, group_ids, moment, expires, base_url)
            commit()
        except IntegrityError:
            session.rollback()      # someone took a username or a personal number meanwhile: this batch waits
            for p in batch:
                p.reject(N_("Tài khoản này vừa được tạo hoặc sửa ở nơi khác trong lúc nhập; hãy nhập lại tệp"))
            created = []
        result.longest_batch_seconds = max(result.longest_batch_seconds, perf_counter() - began)
        result.batches += 1
        result.created.extend(created)
        if progress is not None:
            progress(len(plan.rows[start:start + batch_rows]))
    audit.record(session, user.id, "roster.import", "cohort", plan.cohort_id, **plan.counts())
    commit()
    return result


def import_roster(session: Session, user: m.User, cohort_id: int, rows: list[RosterRow], *,
                  base_url: str = "http://localhost:5000", **options) -> RosterResult:
    """apply_roster with the session's own commits (the command line, tests)."""
    return apply_roster(session, user, cohort_id, rows, base_url=base_url, **options)


def _create_groups(session: Session, plan: RosterPlan, commit: Callable[[], None]) -> dict[str, int]:
    """The new communes' groups, inserted in bulk (a national roster brings thousands), then every group's id
    by commune key."""
    for chunk in _chunks(plan.new_groups, BATCH_ROWS):
        session.execute(insert(m.Group), [{"cohort_id": plan.cohort_id, "name": name[:200], "commune": name[:120]}
                                          for name in chunk])
        commit()
    ids: dict[str, int] = {}
    for group_id, name, commune in session.execute(
            select(m.Group.id, m.Group.name, m.Group.commune).where(m.Group.cohort_id == plan.cohort_id)
            .order_by(m.Group.id)):
        for candidate in (commune, name):
            ids.setdefault(commune_key(candidate), group_id)
    return ids


def _table(model) -> Table:
    return cast(Table, model.__table__)


def _write_batch(session: Session, cohort_id: int, batch: list[RowPlan], group_ids: dict[str, int],
                 moment: datetime, expires: datetime, base_url: str) -> list[Created]:
    new = [p for p in batch if p.outcome == CREATED]
    created: list[Created] = []
    if new:
        # Core INSERT … RETURNING in any order: the ORM's bulk insert wants the rows' order back, which makes
        # SQLAlchemy send them one by one to PostgreSQL
        users = _table(m.User)
        ids: dict[str, int] = dict(session.execute(insert(users).returning(users.c.username, users.c.id), [
            {**p.values, "password_hash": None, "must_change_password": True, "created_at": moment}
            for p in new]).all())
        links = []
        for plan in new:
            plan.user_id = user_id = ids[plan.username]
            raw, digest = sign_in_links.new_secret()
            links.append({"user_id": user_id, "token_hash": digest, "created_at": moment, "expires_at": expires})
            created.append(Created(plan.row, plan.username, plan.name, plan.role, plan.group,
                                   sign_in_links.url(base_url, raw), expires))
        session.execute(insert(_table(m.SignInLink)), links)
    updates = [{"id": p.user_id, **p.values} for p in batch if p.outcome == UPDATED and p.values]
    if updates:
        session.execute(update(m.User), updates)
    joins = [{"cohort_id": cohort_id, "user_id": p.user_id, "group_id": group_ids[p.group_key]}
             for p in batch if p.role in IN_GROUPS and (p.outcome == CREATED or p.membership == "join")]
    if joins:
        session.execute(insert(_table(m.Membership)), joins)
    moves = [{"b_user": p.user_id, "b_group": group_ids[p.group_key]} for p in batch if p.membership == "move"]
    if moves:
        table = _table(m.Membership)
        session.connection().execute(
            update(table).where(table.c.cohort_id == cohort_id, table.c.user_id == bindparam("b_user"))
            .values(group_id=bindparam("b_group")), moves)
    return created
