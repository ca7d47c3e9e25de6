"""Reference texts of a course for the similarity check: sources to compare with, or passages never to count.

Rows are only ever added: a similarity report may point at a text, so none is deleted.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..store import models as m
from . import audit, policy
from .errors import Invalid, NotFound
from .limits import bounded_text, refuse_controls

KINDS = ("reference", "exclude")
MAX_CHARS = 2_000_000


def _require_lecturer(user: m.User) -> None:
    policy.require(user, "reference.manage")


@dataclass(frozen=True)
class ReferenceView:
    """A reference text as the list shows it: its length, not its body (up to 2,000,000 characters)."""
    id: int
    title: str
    kind: str
    length: int                     # characters
    created_at: datetime


def list_references(session: Session, user: m.User, course_id: int) -> list[ReferenceView]:
    _require_lecturer(user)
    rows = session.execute(select(m.ReferenceText.id, m.ReferenceText.title, m.ReferenceText.kind,
                                  func.length(m.ReferenceText.body), m.ReferenceText.created_at)
                           .where(m.ReferenceText.course_id == course_id)
                           .order_by(m.ReferenceText.created_at.desc(), m.ReferenceText.id.desc()))
    return [ReferenceView(*row) for row in rows]


def add_reference(session: Session, user: m.User, course_id: int, title: str, kind: str,
                  body: str) -> ReferenceView:
    _require_lecturer(user)
    if session.get(m.Course, course_id) is None:
        raise NotFound("Không có khóa học này")
    title, body = (title or "").strip(), (body or "").replace("\r\n", "\n")
    fields = {}
    if not title:
        fields["title"] = ["required"]
    if kind not in KINDS:
        fields["kind"] = ["unknown"]
    if not body.strip():
        fields["body"] = ["required"]
    if fields:
        raise Invalid("Hãy nhập tiêu đề, loại và nội dung văn bản", fields)
    if len(body) > MAX_CHARS:
        raise Invalid("Văn bản dài quá %(n)s ký tự", {"body": ["too long"]}, n=MAX_CHARS)
    title, body = bounded_text(title, "title", 300), refuse_controls(body, "body")
    text = m.ReferenceText(course_id=course_id, kind=kind, title=title, body=body, created_by_id=user.id)
    session.add(text)
    session.flush()
    audit.record(session, user.id, "reference.add", "reference_text", text.id, kind=kind)
    return ReferenceView(text.id, text.title, text.kind, len(text.body), text.created_at)


def decode_upload(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("Tệp .txt phải dùng mã UTF-8", {"file": ["not UTF-8"]}) from None
