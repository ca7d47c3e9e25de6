"""Text people type, held to what the store can keep: the column's length, and no control characters.

``bounded_text`` is called where a value comes in, so the message names the field. ``_guard`` is the net
under every input path: before any flush, a string longer than its String(N) column or holding NUL
(PostgreSQL refuses NUL; SQLite would keep it) ends the use case with Invalid (422) instead of a driver
error (500) — on both databases alike, and without storing anything. Values are refused, never altered:
a submitted essay is kept exactly as sent.
"""
from __future__ import annotations

import re
from itertools import accumulate

from sqlalchemy import String, event, inspect
from sqlalchemy.orm import Session

from ..schemas.api import MAX_INT
from .errors import N_, Invalid

MAX_ID = MAX_INT           # ids are INTEGER columns (PostgreSQL: 4 bytes); a larger number names nothing

# C0 controls but tab, line feed and carriage return; and DEL. NUL among them.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

TOO_LONG = N_("Nội dung dài %(n)s ký tự; tối đa %(max)s ký tự")
CONTROL_CHARACTER = N_("Nội dung có ký tự điều khiển không hiển thị được (mã %(code)s), thường do dán từ tệp "
                       "khác; hãy xoá ký tự đó rồi gửi lại")


def refuse_controls(value: str, field: str) -> str:
    found = CONTROL.search(value)
    if found:
        raise Invalid(CONTROL_CHARACTER, {field: ["control character"]}, code=f"U+{ord(found.group()):04X}")
    return value


def bounded_text(value: str | None, field: str, max_len: int) -> str:
    """``value`` unchanged (None: ""), or Invalid naming ``field`` when too long or holding control characters."""
    value = "" if value is None else value
    if not isinstance(value, str):
        raise Invalid("Giá trị không hợp lệ", {field: ["not text"]})
    if len(value) > max_len:
        raise Invalid(TOO_LONG, {field: ["too long"]}, n=len(value), max=max_len)
    return refuse_controls(value, field)


@event.listens_for(Session, "before_flush")
def _guard(session: Session, _context, _instances) -> None:
    for obj in list(session.new) + list(session.dirty):
        state = inspect(obj)
        for prop in state.mapper.column_attrs:
            kind = prop.columns[0].type
            if not isinstance(kind, String):          # Text is a String without a length: NUL still checked
                continue
            attr = state.attrs[prop.key]
            if obj not in session.new and not attr.history.added:
                continue
            value = attr.value
            if not isinstance(value, str):
                continue
            if "\x00" in value:
                raise Invalid(CONTROL_CHARACTER, {prop.key: ["control character"]}, code="U+0000")
            if kind.length and len(value) > kind.length:
                raise Invalid(TOO_LONG, {prop.key: ["too long"]}, n=len(value), max=kind.length)


# JSON bodies: deeper nesting than any CaseLab document needs is refused before json.loads recurses into it.
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


def json_depth(raw: bytes | str) -> int:
    """How deep the brackets of a JSON text nest (strings skipped); C-speed regexes, then one pass."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", data))
    if not brackets:
        return 0
    return max(accumulate(1 if c in b"[{" else -1 for c in brackets))
