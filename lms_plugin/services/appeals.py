"""Appeals (phúc khảo): within a window after release, the author asks for a re-marking with a reason.

The chief examiner gives the appeal to an examiner who has not marked the
submission (round 4, blind: they see neither earlier marks nor who marked it);
the rule for the resulting mark is core/allocation.py: appeal_outcome, written in
docs/rubrics.md. The outcome is released like a mark; every step is audited.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.allocation import appeal_outcome
from ..store import models as m
from . import audit, notifications, policy
from .allocation import refresh
from .errors import Conflict, Invalid, NotFound

MAX_REASON = 5000


def window_end(session: Session, essay: m.Essay, result: m.EssayResult | None, *,
               now: datetime | None = None) -> datetime | None:
    """Until when an appeal may still be filed; None when it cannot (not released, already filed, too late)."""
    if essay.kind != "essay" or result is None or result.released_at is None or result.status != "final":
        return None
    if session.scalar(select(m.Appeal.id).where(m.Appeal.essay_id == essay.id)) is not None:
        return None
    until = result.released_at + timedelta(days=essay.assignment.appeal_days)
    return until if (now or datetime.now(timezone.utc)) < until else None


@dataclass(frozen=True)
class FiledAppeal:
    """An appeal just filed: the author reads how it stands through ``view_for_author``."""
    id: int
    essay_id: int
    status: str
    created_at: datetime


def file_appeal(session: Session, user: m.User, essay_id: int, reason: str, *,
                now: datetime | None = None) -> FiledAppeal:
    essay = session.get(m.Essay, essay_id)
    if essay is None:
        raise NotFound("Không tìm thấy bài thu hoạch của bạn")
    policy.require(user, "appeal.file", essay)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Hãy nêu lý do đề nghị phúc khảo", {"reason": ["required"]})
    if len(reason) > MAX_REASON:
        raise Invalid("Lý do dài quá %(n)s ký tự", {"reason": ["too long"]}, n=MAX_REASON)
    result = session.scalar(select(m.EssayResult).where(m.EssayResult.essay_id == essay.id))
    if session.scalar(select(m.Appeal.id).where(m.Appeal.essay_id == essay.id)) is not None:
        raise Conflict("Bạn đã gửi đơn phúc khảo cho bài này")
    if result is None or window_end(session, essay, result, now=now) is None:
        raise Conflict("Đã hết thời hạn phúc khảo, hoặc điểm chưa được công bố")
    appeal = m.Appeal(essay_id=essay.id, user_id=user.id, reason=reason, status="submitted",
                      previous_final=result.final, created_at=now or datetime.now(timezone.utc))
    session.add(appeal)
    session.flush()
    audit.record(session, user.id, "appeal.file", "essay", essay.id, reason=reason)
    chiefs = session.scalars(select(m.User.id).where(m.User.role == "lecturer", m.User.active.is_(True)))
    notifications.notify(session, list(chiefs), "appeal_filed", link=f"/lecturer/marking/{essay.assignment_id}#appeals",
                         dedupe_key=f"appeal-filed:{essay.id}")
    # The round the appeal needs shows as waiting for an examiner until the chief examiner names one.
    refresh(session, essay, staff=False)
    return FiledAppeal(appeal.id, appeal.essay_id, appeal.status, appeal.created_at)


def decide(session: Session, grade: m.Grade, *, now: datetime | None = None) -> m.Appeal:
    """The re-marking is finalised: the outcome follows the rule, and waits for release."""
    appeal = session.scalar(select(m.Appeal).where(m.Appeal.essay_id == grade.essay_id))
    if appeal is None:
        raise Conflict("Bài này không có đơn phúc khảo")
    appeal.outcome, appeal.rule = appeal_outcome(appeal.previous_final or 0.0, grade.total or 0.0)
    appeal.status, appeal.decided_at = "decided", now or datetime.now(timezone.utc)
    audit.record(session, grade.examiner_id, "appeal.decide", "essay", grade.essay_id,
                 previous=appeal.previous_final, remark=grade.total, outcome=appeal.outcome)
    return appeal


@dataclass(frozen=True)
class AppealView:
    id: int
    essay_id: int
    author: str
    reason: str
    status: str
    previous_final: float | None
    outcome: float | None
    examiner: str | None        # who re-marks (round 4)
    created_at: datetime


def appeals_of(session: Session, actor: m.User, assignment_id: int) -> list[AppealView]:
    policy.require(actor, "marking.allocate")
    rows = session.execute(select(m.Appeal, m.Essay, m.User).join(m.Essay, m.Essay.id == m.Appeal.essay_id)
                           .join(m.User, m.User.id == m.Appeal.user_id)
                           .where(m.Essay.assignment_id == assignment_id).order_by(m.Appeal.created_at)).all()
    markers = dict(session.execute(select(m.Grade.essay_id, m.User.display_name)
                                   .join(m.User, m.User.id == m.Grade.examiner_id)
                                   .where(m.Grade.round == 4,
                                          m.Grade.essay_id.in_([e.id for _, e, _u in rows]))).all()) \
        if rows else {}
    return [AppealView(a.id, e.id, u.display_name or u.username, a.reason, a.status, a.previous_final, a.outcome,
                       markers.get(e.id), a.created_at) for a, e, u in rows]


def view_for_author(session: Session, essay_id: int) -> dict[str, Any] | None:
    appeal = session.scalar(select(m.Appeal).where(m.Appeal.essay_id == essay_id))
    if appeal is None:
        return None
    released = appeal.status == "released"
    return {"status": appeal.status, "reason": appeal.reason, "created_at": appeal.created_at,
            "previous": appeal.previous_final if released else None,
            "outcome": appeal.outcome if released else None}
