"""Releasing marks, guarded: what a release covers is shown before it happens, and only final marks go out.

A release makes every final, unreleased mark of the assignment (essays and group
reports) and every decided appeal visible to their authors; marks that become
final later go out with a later release. A released mark can still be corrected
by the chief examiner, with a reason, in the audit log, and the author is told.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.grading import round_to_step
from ..store import models as m
from . import audit, notifications, policy
from .allocation import ResultView, _is_latest, result_view, stage_counts
from .cohorts import get_assignment
from .content import rubric_for, scenario_data
from .errors import Conflict, Invalid, NotFound


@dataclass(frozen=True)
class ReleasePreview:
    assignment_id: int
    to_release: int              # final marks not yet released (essays and reports)
    already_released: int
    awaiting_marks: int          # first or second mark still to come
    needs_third: int
    needs_examiner: int
    not_submitted: int           # members of the cohort without an essay
    appeals_to_release: int      # appeals whose outcome is decided
    reports_to_release: int      # of ``to_release``, group reports
    first_release: bool          # releasing ends resubmission for the assignment


@dataclass(frozen=True)
class ReleaseOutcome:
    released: int
    appeals: int
    released_at: datetime


def preview(session: Session, actor: m.User, assignment_id: int) -> ReleasePreview:
    policy.require(actor, "release")
    assignment = get_assignment(session, assignment_id)
    counts = stage_counts(session, assignment_id)
    final_unreleased = {kind: session.scalar(
        select(func.count()).select_from(m.Essay).join(m.EssayResult, m.EssayResult.essay_id == m.Essay.id)
        .where(m.Essay.assignment_id == assignment_id, m.Essay.kind == kind, _is_latest(),
               m.EssayResult.status == "final", m.EssayResult.released_at.is_(None))) or 0
        for kind in ("essay", "report")}
    members = session.scalar(select(func.count()).select_from(m.Membership)
                             .where(m.Membership.cohort_id == assignment.cohort_id)) or 0
    submitters = session.scalar(select(func.count(func.distinct(m.Essay.user_id))).where(
        m.Essay.assignment_id == assignment_id, m.Essay.kind == "essay")) or 0
    appeals = session.scalar(select(func.count()).select_from(m.Appeal).join(m.Essay, m.Essay.id == m.Appeal.essay_id)
                             .where(m.Essay.assignment_id == assignment_id, m.Appeal.status == "decided")) or 0
    both = {key: counts["essay"][key] + counts["report"][key] for key in counts["essay"]}
    return ReleasePreview(assignment_id, final_unreleased["essay"] + final_unreleased["report"], both["released"],
                          both["awaiting_first"] + both["awaiting_second"], both["needs_third"],
                          both["needs_examiner"], max(members - submitters, 0), appeals, final_unreleased["report"],
                          assignment.grades_released_at is None)


def _readers(session: Session, essay: m.Essay) -> list[int]:
    """Who is told: the author, or every member of the group for a report."""
    if essay.kind == "report" and essay.group_id is not None:
        return list(session.scalars(select(m.Membership.user_id).where(m.Membership.group_id == essay.group_id)))
    return [essay.user_id]


def release(session: Session, actor: m.User, assignment_id: int, *, expected: int | None = None,
            now: datetime | None = None) -> ReleaseOutcome:
    """Release what ``preview`` counted; ``expected`` (the count the person confirmed) guards against a
    release that would cover more than they saw."""
    policy.require(actor, "release")
    assignment = get_assignment(session, assignment_id)
    now = now or datetime.now(timezone.utc)
    if expected is not None:
        seen = preview(session, actor, assignment_id)
        if seen.to_release + seen.appeals_to_release != expected:
            raise Conflict("Số bài có thể công bố vừa thay đổi (%(n)s); hãy xem lại trước khi xác nhận",
                           n=seen.to_release + seen.appeals_to_release)
    title = scenario_data(assignment.scenario_version).title
    rows = session.execute(select(m.Essay, m.EssayResult).join(m.EssayResult, m.EssayResult.essay_id == m.Essay.id)
                           .where(m.Essay.assignment_id == assignment_id, _is_latest(),
                                  m.EssayResult.status == "final", m.EssayResult.released_at.is_(None))).all()
    for essay, result in rows:
        result.released_at = now
        notifications.notify(session, _readers(session, essay), "released", title=title,
                             link=f"/cadre/essays/{essay.id}/grade", dedupe_key=f"released:{essay.id}")
    decided = session.execute(select(m.Appeal, m.Essay).join(m.Essay, m.Essay.id == m.Appeal.essay_id)
                              .where(m.Essay.assignment_id == assignment_id, m.Appeal.status == "decided")).all()
    for appeal, essay in decided:
        appealed = session.scalar(select(m.EssayResult).where(m.EssayResult.essay_id == essay.id))
        assert appealed is not None  # only a released final mark can be appealed
        appeal.status, appeal.released_at = "released", now
        # corrected_at keeps the appeal's outcome over later reconciliations; the appeal itself says why
        appealed.final, appealed.rule = appeal.outcome, appeal.rule
        appealed.corrected_at, appealed.correction_reason, appealed.published_at = now, "", None
        audit.record(session, actor.id, "appeal.release", "essay", essay.id, previous=appeal.previous_final,
                     outcome=appeal.outcome)
        notifications.notify(session, _readers(session, essay), "appeal_outcome", title=title,
                             link=f"/cadre/essays/{essay.id}/grade", dedupe_key=f"appeal:{essay.id}")
    if assignment.grades_released_at is None:
        assignment.grades_released_at = now
    audit.record(session, actor.id, "grades.release", "assignment", assignment.id, marks=len(rows),
                 appeals=len(decided))
    session.flush()
    return ReleaseOutcome(len(rows), len(decided), now)


def correct(session: Session, actor: m.User, essay_id: int, final: float, reason: str, *,
            now: datetime | None = None) -> ResultView:
    """The chief examiner sets a final mark by hand (a released one too), with a reason for the record."""
    policy.require(actor, "release")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Hãy ghi lý do điều chỉnh điểm", {"reason": ["required"]})
    if len(reason) > 2000:
        raise Invalid("Lý do dài quá %(n)s ký tự", {"reason": ["too long"]}, n=2000)
    essay = session.get(m.Essay, essay_id)
    result = session.scalar(select(m.EssayResult).where(m.EssayResult.essay_id == essay.id)) if essay else None
    if essay is None or result is None:
        raise NotFound("Không tìm thấy bài thu hoạch")
    if result.status != "final":
        raise Conflict("Bài chưa có điểm cuối cùng; hãy phân công chấm trước khi điều chỉnh")
    scale = rubric_for(essay).scale
    if not 0 <= final <= scale:
        raise Invalid("Điểm phải từ 0 đến %(max)s", {"final": ["out of range"]}, max=f"{scale:g}")
    now = now or datetime.now(timezone.utc)
    previous = result.final
    result.final = round_to_step(final)
    result.corrected_at, result.correction_reason = now, reason
    result.rule, result.published_at = "corrected by the chief examiner", None    # the LMS gets it again
    audit.record(session, actor.id, "grade.correct", "essay", essay.id, previous=previous, final=result.final,
                 reason=reason)
    if result.released_at is not None:
        title = scenario_data(essay.assignment.scenario_version).title
        notifications.notify(session, _readers(session, essay), "corrected", title=title,
                             link=f"/cadre/essays/{essay.id}/grade",
                             dedupe_key=f"corrected:{essay.id}:{now.isoformat()}")
    session.flush()
    return result_view(result)
