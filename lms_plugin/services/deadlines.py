"""What happens at a deadline: drafts never submitted are submitted for their authors.

For assignments with ``auto_submit_drafts``, once a cadre's own deadline has
passed (their extension included), a draft with words in it becomes an essay
flagged ``auto_submitted``: the same body, the same hash, allocated to examiners
through the same path as a submission (services.essays). Run it from a periodic
job; it commits nothing itself and is safe to run again (an author with an essay
is skipped).
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store import models as m
from .cohorts import window_for
from .essays import auto_submit_draft, has_content, never_submitted

BATCH = 200     # drafts read and submitted per round trip


def auto_submit_due(session: Session, now: datetime | None = None, *, batch: int = BATCH) -> int:
    """Submit every due draft; returns how many essays were created."""
    now = now or datetime.now(timezone.utc)
    assignments = session.scalars(select(m.Assignment).where(
        m.Assignment.auto_submit_drafts.is_(True), m.Assignment.closes_at.is_not(None),
        m.Assignment.closes_at <= now).order_by(m.Assignment.id)).all()
    done = 0
    for assignment in assignments:
        last_id = 0
        while True:
            drafts = session.scalars(select(m.EssayDraft).where(
                m.EssayDraft.assignment_id == assignment.id, m.EssayDraft.id > last_id, never_submitted())
                .order_by(m.EssayDraft.id).limit(batch)).all()
            if not drafts:
                break
            last_id = drafts[-1].id
            for draft in drafts:
                if not has_content(draft.body):
                    continue
                author = session.get(m.User, draft.user_id)
                assert author is not None  # a draft's user_id is a foreign key
                if window_for(session, assignment, author).state(now) != "closed":
                    continue        # an extension: their deadline is still ahead
                auto_submit_draft(session, draft, assignment, now)
                done += 1
            session.flush()
    return done
