"""Notifications: what a person should know, kept as rows (the bell) and mailed in batches.

``notify`` is called by the use cases inside their own transaction, so a
notification exists exactly when the event it tells of was committed.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store import models as m
from .errors import N_

# kind -> the sentence under the bell and in the mail (a msgid; params fill it)
KINDS = {
    "to_mark": N_("Có bài mới cần bạn chấm"),
    "third_needed": N_("Một bài cần bạn chấm lần ba vì hai giám khảo chấm lệch nhau"),
    "needs_examiner": N_("Có bài đang chờ phân công giám khảo"),
    "deadline_soon": N_("Bài “%(title)s” hết hạn sau chưa đầy 24 giờ; bạn chưa nộp"),
    "released": N_("Đã có điểm bài “%(title)s”"),
    "corrected": N_("Điểm bài “%(title)s” đã được điều chỉnh"),
    "appeal_filed": N_("Có đơn phúc khảo mới cần phân công"),
    "appeal_outcome": N_("Đã có kết quả phúc khảo bài “%(title)s”"),
}


def notify(session: Session, user_ids: Iterable[int], kind: str, *, link: str = "", dedupe_key: str | None = None,
           **params: Any) -> int:
    """Add one notification per person; with ``dedupe_key`` a person is told of the same event once."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind: {kind}")
    ids = list(dict.fromkeys(user_ids))
    if dedupe_key is not None and ids:
        told = set(session.scalars(select(m.Notification.user_id).where(
            m.Notification.user_id.in_(ids), m.Notification.dedupe_key == dedupe_key)))
        ids = [i for i in ids if i not in told]
    for user_id in ids:
        session.add(m.Notification(user_id=user_id, kind=kind, params=params, link=link, dedupe_key=dedupe_key))
    return len(ids)
