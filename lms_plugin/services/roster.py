"""Roster import: a CSV or XLSX list of people -> accounts, cohort members, groups by commune.

Headers may be Vietnamese or English (họ tên/name, xã/commune, tỉnh/province,
liên hệ/contact, vai trò/role, tên đăng nhập/username). Every row is checked
first; the valid rows are then stored together and the rejected ones are
listed with their row number (as the spreadsheet numbers it, header = row 1)
and the reason. Initial passwords are generated and returned once; only their
hashes are kept.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..sanitize import spreadsheet_cell
from ..store import models as m
from . import accounts, audit, cohorts, limits, policy, spreadsheets
from .errors import Invalid

MAX_ROWS = 20_000


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


@dataclass(frozen=True)
class Rejected:
    row: int
    reason: str            # gettext msgid
    params: dict = field(default_factory=dict)

    def translated(self, gettext) -> str:
        return gettext(self.reason, **self.params) if self.params else gettext(self.reason)


@dataclass(frozen=True)
class Created:
    row: int
    username: str
    name: str
    role: str
    group: str
    password: str          # shown once, never stored in clear


@dataclass
class RosterResult:
    created: list[Created] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def passwords_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["username", "name", "role", "group", "password"])
        for c in self.created:
            writer.writerow([spreadsheet_cell(v) for v in (c.username, c.name, c.role, c.group, c.password)])
        return out.getvalue()


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
    if lower.endswith(".xlsx"):
        table = _table_from_xlsx(raw)
    elif lower.endswith(".csv") or lower.endswith(".txt"):
        table = _table_from_csv(raw)
    else:
        raise Invalid("Hãy tải lên tệp .csv hoặc .xlsx", {"file": ["unsupported type"]})
    if not table:
        raise Invalid("Tệp không có dòng nào", {"file": ["empty"]})
    header = [fold(h) for h in table[0]]
    columns: dict[str, int] = {}
    for key, names in HEADERS.items():
        for i, h in enumerate(header):
            if h in names and key not in columns:
                columns[key] = i
    if "name" not in columns:
        raise Invalid("Dòng đầu phải có cột 'Họ tên' (hoặc 'name')", {"file": ["no name column"]})
    if len(table) - 1 > MAX_ROWS:
        raise Invalid("Tệp có quá %(n)s dòng", {"file": ["too many rows"]}, n=MAX_ROWS)
    rows = []
    for number, values in enumerate(table[1:], start=2):
        if not any(values):
            continue            # blank lines in a spreadsheet are not people
        get = lambda key, row=values: row[columns[key]] if key in columns and columns[key] < len(row) else ""  # noqa: E731
        rows.append(RosterRow(number, get("name"), get("commune"), get("province"), get("contact"),
                              get("role"), get("username")))
    return rows


# Checking and storing

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


def _group_for(session: Session, cohort: m.Cohort, commune: str, known: dict[str, m.Group]) -> m.Group:
    """The cohort's group for this commune: matched by name or commune, ignoring case and diacritics."""
    key = fold(re.sub(r"^\s*(xã|phường|đặc khu)\s+", "", commune, flags=re.I))
    if key not in known:
        for group in cohort.groups:
            for candidate in (group.commune, group.name):
                known.setdefault(fold(re.sub(r"^\s*(xã|phường|đặc khu)\s+", "", candidate, flags=re.I)), group)
    if key not in known:
        known[key] = cohorts.group_named(session, cohort, commune, commune)
    return known[key]


def import_roster(session: Session, user: m.User, cohort_id: int, rows: list[RosterRow]) -> RosterResult:
    """Create the valid rows' accounts and memberships; list the others. The caller commits."""
    policy.require(user, "roster.import")
    cohort = cohorts.get_cohort(session, cohort_id)
    result = RosterResult()
    given: dict[str, list[int]] = {}
    for row in rows:
        if row.username:
            given.setdefault(row.username.lower(), []).append(row.row)
    taken = {u.lower() for u in session.scalars(select(m.User.username))}
    groups: dict[str, m.Group] = {}
    accepted: list[tuple[RosterRow, str, str]] = []
    for row in rows:
        role = role_of(row.role)
        reason = _unstorable(row)
        if reason is not None:
            result.rejected.append(reason)
            continue
        if not row.name:
            reason = Rejected(row.row, "Thiếu họ tên")
        elif role is None:
            reason = Rejected(row.row, "Vai trò không rõ: '%(role)s' (học viên, giảng viên, giám khảo, quản trị)",
                              {"role": row.role})
        elif row.username and (len(row.username) > 80 or any(ch.isspace() for ch in row.username)):
            reason = Rejected(row.row, "Tên đăng nhập '%(name)s' không hợp lệ (không có khoảng trắng, tối đa 80 ký tự)",
                              {"name": row.username})
        elif row.username and len(given[row.username.lower()]) > 1:
            reason = Rejected(row.row, "Tên đăng nhập '%(name)s' trùng ở các dòng %(rows)s",
                              {"name": row.username, "rows": ", ".join(map(str, given[row.username.lower()]))})
        elif row.username and row.username.lower() in taken:
            reason = Rejected(row.row, "Tên đăng nhập '%(name)s' đã có người dùng", {"name": row.username})
        elif role == "cadre" and not row.commune:
            reason = Rejected(row.row, "Học viên cần có xã để xếp nhóm")
        if reason is not None:
            result.rejected.append(reason)
            continue
        assert role is not None  # else the row was rejected above
        username = row.username or _free_username(username_for(row.name), taken, given)
        taken.add(username.lower())
        accepted.append((row, role, username))
    # Hash every one-time password before the first write: on SQLite the write lock lasts from the first
    # insert to the commit, and submissions arriving meanwhile must not wait behind the hashing.
    passwords = [accounts.new_initial_password() for _ in accepted]
    for (row, role, username), (password, digest) in zip(accepted, passwords):
        person = accounts.create_user(session, username, role, None, display_name=row.name,
                                      province=row.province, commune=row.commune, contact=row.contact)
        person.password_hash, person.must_change_password = digest, True
        group_name = ""
        if role == "cadre":
            group = _group_for(session, cohort, row.commune, groups)
            cohorts.add_member(session, cohort, person, group)
            group_name = group.name
        result.created.append(Created(row.row, username, row.name, role, group_name, password))
    audit.record(session, user.id, "roster.import", "cohort", cohort.id,
                 created=len(result.created), rejected=len(result.rejected))
    session.flush()
    return result


# What each column may hold: the account's column lengths (store/models.py: User).
STORED = (("name", "Họ tên", 200), ("commune", "Xã", 120), ("province", "Tỉnh", 120), ("contact", "Liên hệ", 200))


def _unstorable(row: RosterRow) -> Rejected | None:
    for key, label, max_len in STORED:
        value = getattr(row, key)
        if len(value) > max_len:
            return Rejected(row.row, "Cột %(column)s dài %(n)s ký tự; tối đa %(max)s ký tự",
                            {"column": label, "n": len(value), "max": max_len})
        if limits.CONTROL.search(value):
            return Rejected(row.row, "Cột %(column)s có ký tự điều khiển không hiển thị được", {"column": label})
    return None


def _free_username(base: str, taken: set[str], given: dict[str, list[int]]) -> str:
    candidate, n = base, 1
    while candidate.lower() in taken or candidate.lower() in given:
        n += 1
        candidate = f"{base}{n}"
    return candidate
