"""Folding for search: Vietnamese letters without their marks, lower case ("Đặng Thị Hằng" -> "dang thi hang").

One table serves both sides of a search: Python folds what someone typed, and the database folds the column
with the same table (PostgreSQL: ``translate`` in the function ``caselab_fold`` of migration 0010, which an
index is built on; SQLite: this function, registered on every connection by store/db.py). A letter the table
does not know (outside Vietnamese) is only lower-cased, on both sides.
"""
from __future__ import annotations

_BASES = {
    "a": "àáảãạăằắẳẵặâầấẩẫậ", "e": "èéẻẽẹêềếểễệ", "i": "ìíỉĩị", "o": "òóỏõọôồốổỗộơờớởỡợ",
    "u": "ùúủũụưừứửữự", "y": "ỳýỷỹỵ", "d": "đ",
}
# the five tone marks and the three vowel marks as combining characters (text typed in NFD)
COMBINING = "\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b"

# FROM and TO for SQL's translate(text, from, to): every marked letter (both cases) to its base letter, and the
# combining marks (past the end of TO) removed
FROM = "".join(marked + marked.upper() for marked in _BASES.values()) + COMBINING
TO = "".join(base * len(marked) + base.upper() * len(marked) for base, marked in _BASES.items())
_TABLE = {ord(a): b for a, b in zip(FROM, TO)} | {ord(c): None for c in COMBINING}


def fold(text: str | None) -> str:
    """``text`` as the database's ``caselab_fold`` gives it: marks removed, then lower case."""
    return (text or "").translate(_TABLE).lower()


def like_pattern(text: str) -> str:
    """A folded LIKE pattern (escape character ``\\``) that finds ``text`` anywhere."""
    folded = fold(" ".join(text.split()))
    return "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
