"""Examiner pools and allocation: who marks which round of which submission.

Every marking event (a submission, a finalised mark, a pool change, an absence,
a reassignment, an appeal) ends in ``refresh``: the core decides where the
submission stands (core/allocation.py), rounds that need an examiner get the
least-loaded present pool member who has not marked it, and what no one can take
is stored as *needs an examiner* for the chief examiner's allocation page.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from ..core.allocation import APPEAL, MarkingState, Round, choose_examiners, marking_state, stage_of
from ..core.grading import DEFAULT_THRESHOLD
from ..store import models as m
from . import audit, notifications, policy
from .errors import Conflict, Invalid, NotFound
from .people import PERSON_COLUMNS, PersonView, person_from_columns

MARKERS = policy.MARKERS          # who may hold a round (web/examiner.py gates its pages by it)


def get_assignment(session: Session, assignment_id: int) -> m.Assignment:
    assignment = session.get(m.Assignment, assignment_id)
    if assignment is None:
        raise NotFound("Không tìm thấy bài được giao")
    return assignment


def require_chief(user: m.User) -> None:
    policy.require(user, "marking.allocate")


def pool_ids(session: Session, assignment_id: int, *, present_only: bool = True) -> list[int]:
    query = select(m.AssignmentExaminer.examiner_id).where(m.AssignmentExaminer.assignment_id == assignment_id)
    if present_only:
        query = query.where(m.AssignmentExaminer.absent.is_(False))
    return list(session.scalars(query.order_by(m.AssignmentExaminer.id)))


def open_loads(session: Session, examiner_ids: Iterable[int]) -> dict[int, int]:
    """Unfinalised rounds per examiner (over all assignments), from the counters triggers on grades keep
    (store/models.py ExaminerLoad): at most 16 rows per examiner, however many essays the course has."""
    ids = list(examiner_ids)
    if not ids:
        return {}
    return {examiner: int(n) for examiner, n in session.execute(
        select(m.ExaminerLoad.examiner_id, func.sum(m.ExaminerLoad.open_rounds))
        .where(m.ExaminerLoad.examiner_id.in_(ids)).group_by(m.ExaminerLoad.examiner_id)) if n}


def pool_loads(session: Session, assignment_id: int) -> dict[int, int]:
    """The present pool in its order, each with its open rounds (as ``open_loads``), in one query."""
    load = (select(func.sum(m.ExaminerLoad.open_rounds))
            .where(m.ExaminerLoad.examiner_id == m.AssignmentExaminer.examiner_id).scalar_subquery())
    rows = session.execute(
        select(m.AssignmentExaminer.examiner_id, load)
        .where(m.AssignmentExaminer.assignment_id == assignment_id, m.AssignmentExaminer.absent.is_(False))
        .order_by(m.AssignmentExaminer.id))
    return {examiner: int(n or 0) for examiner, n in rows}


def _appeal_open(session: Session, essay_id: int) -> bool:
    return session.scalar(select(m.Appeal.id).where(m.Appeal.essay_id == essay_id,
                                                    m.Appeal.status.in_(("submitted", "assigned")))) is not None


def _state(session: Session, essay: m.Essay, threshold: float) -> tuple[MarkingState, list[m.Grade]]:
    grades = list(session.scalars(select(m.Grade).where(m.Grade.essay_id == essay.id)))
    rounds = [Round(g.round, g.examiner_id, g.total, g.finalised_at is not None) for g in grades]
    # An appeal's round is staffed by the chief examiner, never from the pool on its own.
    return marking_state(rounds, appeal_open=_appeal_open(session, essay.id), threshold=threshold), grades


def refresh(session: Session, essay: m.Essay, threshold: float = DEFAULT_THRESHOLD, *,
            staff: bool = True, fresh: bool = False) -> m.EssayResult:
    """Bring the submission's result up to date, staffing the rounds it needs from the pool.

    ``fresh``: the submission was stored just now, so it has no rounds, appeal or result to read: its state is
    worked out in memory and written with the submission's own flush. A deadline rush submits thousands a
    minute, and this keeps each to a few statements whatever the size of the course."""
    grades: list[m.Grade] = []
    if fresh:
        state = marking_state([], threshold=threshold)
    else:
        state, grades = _state(session, essay, threshold)
    if staff and any(r != APPEAL for r in state.unstaffed):
        taken = {g.examiner_id for g in grades}
        wanted = [r for r in state.unstaffed if r != APPEAL]
        loads = pool_loads(session, essay.assignment_id)
        chosen = choose_examiners(list(loads), loads, taken, len(wanted))
        staffed = []
        for number, examiner_id in zip(wanted, chosen):
            session.add(m.Grade(essay_id=essay.id, examiner_id=examiner_id, round=number))
            audit.record(session, None, "grade.allocate", "essay", essay.id, round=number, examiner_id=examiner_id)
            notifications.notify(session, [examiner_id], "third_needed" if number == 3 else "to_mark",
                                 link=f"/examiner/essays/{essay.id}", dedupe_key=f"mark:{essay.id}:{number}",
                                 new=fresh)
            staffed.append(Round(number, examiner_id, None, False))
        if chosen and fresh:
            state = marking_state(staffed, threshold=threshold)
        elif chosen:
            session.flush()
            state, grades = _state(session, essay, threshold)
    result = None if fresh else session.scalar(select(m.EssayResult).where(m.EssayResult.essay_id == essay.id))
    if result is None:
        result = m.EssayResult(essay_id=essay.id, status=state.status)
        session.add(result)
    if result.corrected_at is None or state.status != "final":
        result.final, result.rule = state.final, state.rule
    result.status, result.gap = state.status, state.gap
    result.marks_done, result.needs_examiner = state.marks_done, state.needs_examiner
    result.updated_at = datetime.now(timezone.utc)
    if not fresh:
        session.flush()
    return result


def open_submission(session: Session, essay: m.Essay, threshold: float = DEFAULT_THRESHOLD) -> m.EssayResult:
    """A new submission: rounds 1 and 2 go to the two least-loaded present pool members. A first version
    supersedes nothing and has nothing to read back (``refresh(fresh=True)``)."""
    if essay.version == 1:
        return refresh(session, essay, threshold, fresh=True)
    _withdraw_superseded(session, essay)
    return refresh(session, essay, threshold)


def _withdraw_superseded(session: Session, essay: m.Essay) -> None:
    """A resubmission supersedes the earlier versions: only the latest is marked for the record, so their
    unfinalised rounds leave the examiners' queues and they no longer wait for an examiner (finalised marks stay)."""
    older = select(m.Essay.id).where(m.Essay.assignment_id == essay.assignment_id, m.Essay.kind == essay.kind,
                                     _same_submitter(m.Essay.__table__.c, essay), m.Essay.version < essay.version)
    for grade in session.scalars(select(m.Grade).where(m.Grade.essay_id.in_(older), m.Grade.finalised_at.is_(None))):
        audit.record(session, None, "grade.withdraw", "essay", grade.essay_id, round=grade.round,
                     examiner_id=grade.examiner_id, superseded_by=essay.id)
        session.delete(grade)
    for result in session.scalars(select(m.EssayResult).where(m.EssayResult.essay_id.in_(older),
                                                              m.EssayResult.needs_examiner.is_(True))):
        result.needs_examiner = False
    session.flush()


def staff_waiting(session: Session, assignment_id: int, threshold: float = DEFAULT_THRESHOLD) -> int:
    """Give rounds that nobody holds to the pool as it is now; returns how many submissions changed."""
    waiting = session.scalars(select(m.Essay).join(m.EssayResult, m.EssayResult.essay_id == m.Essay.id)
                              .where(m.Essay.assignment_id == assignment_id, _is_latest(),
                                     m.EssayResult.needs_examiner.is_(True))
                              .order_by(m.Essay.id))
    changed = 0
    for essay in waiting:
        if not refresh(session, essay, threshold).needs_examiner:
            changed += 1
    return changed


# The pool

@dataclass(frozen=True)
class PoolMember:
    examiner_id: int
    username: str
    name: str
    absent: bool
    open_rounds: int             # of this assignment, not yet finalised
    done_rounds: int             # of this assignment, finalised
    done_last_day: int           # pace: finalised in the last 24 hours


def pool_view(session: Session, actor: m.User, assignment_id: int, now: datetime | None = None) -> list[PoolMember]:
    require_chief(actor)
    now = now or datetime.now(timezone.utc)
    rows = session.execute(select(m.AssignmentExaminer, m.User)
                           .join(m.User, m.User.id == m.AssignmentExaminer.examiner_id)
                           .where(m.AssignmentExaminer.assignment_id == assignment_id)
                           .order_by(m.AssignmentExaminer.id)).all()
    of_assignment = select(m.Essay.id).where(m.Essay.assignment_id == assignment_id)
    counts = {e: (o, d, r) for e, o, d, r in session.execute(
        select(m.Grade.examiner_id,
               func.sum(case((m.Grade.finalised_at.is_(None), 1), else_=0)),
               func.sum(case((m.Grade.finalised_at.is_not(None), 1), else_=0)),
               func.sum(case((m.Grade.finalised_at >= now - timedelta(days=1), 1), else_=0)))
        .where(m.Grade.essay_id.in_(of_assignment)).group_by(m.Grade.examiner_id))}
    return [PoolMember(u.id, u.username, u.display_name, row.absent,
                       *(int(x or 0) for x in counts.get(u.id, (0, 0, 0))))
            for row, u in rows]


def _examiner(session: Session, examiner_id: int) -> m.User:
    user = session.get(m.User, examiner_id)
    if user is None or not policy.allowed(user, "grade.mark") or not user.active:
        raise Invalid("Tài khoản này không thể chấm bài", {"examiner": ["not an examiner"]})
    return user


def _assignments_in_scope(session: Session, assignment: m.Assignment, scope: str) -> list[m.Assignment]:
    if scope == "assignment":
        return [assignment]
    if scope == "cohort":
        return list(session.scalars(select(m.Assignment).where(m.Assignment.cohort_id == assignment.cohort_id)))
    if scope == "course":
        return list(session.scalars(select(m.Assignment).join(m.Cohort, m.Cohort.id == m.Assignment.cohort_id)
                                    .where(m.Cohort.course_id == assignment.cohort.course_id)))
    raise Invalid("Phạm vi không hợp lệ: %(scope)s", {"scope": ["unknown"]}, scope=scope)


def add_to_pool(session: Session, actor: m.User | None, assignment_id: int, examiner_id: int, *,
                scope: str = "assignment", threshold: float = DEFAULT_THRESHOLD) -> int:
    """Add an examiner to the pool of this assignment, or of every assignment of its cohort or course (a shared
    pool); waiting rounds go to them at once. Returns how many assignments' pools changed."""
    if actor is not None:
        require_chief(actor)
    examiner = _examiner(session, examiner_id)
    assignment = get_assignment(session, assignment_id)
    changed = 0
    for target in _assignments_in_scope(session, assignment, scope):
        row = session.scalar(select(m.AssignmentExaminer).where(m.AssignmentExaminer.assignment_id == target.id,
                                                                m.AssignmentExaminer.examiner_id == examiner.id))
        if row is None:
            session.add(m.AssignmentExaminer(assignment_id=target.id, examiner_id=examiner.id))
            changed += 1
        elif row.absent:
            row.absent = False
            changed += 1
        else:
            continue
        session.flush()
        audit.record(session, actor.id if actor else None, "pool.add", "assignment", target.id,
                     examiner=examiner.username)
        staff_waiting(session, target.id, threshold)
    return changed


def _release_open_rounds(session: Session, actor: m.User, assignment_id: int, examiner_id: int,
                         threshold: float) -> int:
    """Hand the examiner's unfinalised rounds of this assignment to someone else (or to *needs an examiner*).

    An appeal's re-marking goes back to *needs an examiner* for the chief examiner to name someone again."""
    grades = list(session.scalars(select(m.Grade).join(m.Essay, m.Essay.id == m.Grade.essay_id).where(
        m.Essay.assignment_id == assignment_id, m.Grade.examiner_id == examiner_id, m.Grade.finalised_at.is_(None))))
    for grade in grades:
        essay = grade.essay
        audit.record(session, actor.id, "grade.unassign", "essay", essay.id, round=grade.round,
                     examiner_id=examiner_id)
        if grade.round == APPEAL:
            appeal = session.scalar(select(m.Appeal).where(m.Appeal.essay_id == essay.id,
                                                           m.Appeal.status == "assigned"))
            if appeal is not None:
                appeal.status = "submitted"
        session.delete(grade)
        session.flush()
        refresh(session, essay, threshold)
    return len(grades)


def _pool_member(session: Session, actor: m.User, assignment_id: int, examiner_id: int) -> m.AssignmentExaminer:
    require_chief(actor)
    row = session.scalar(select(m.AssignmentExaminer).where(m.AssignmentExaminer.assignment_id == assignment_id,
                                                            m.AssignmentExaminer.examiner_id == examiner_id))
    if row is None:
        raise NotFound("Giám khảo này không có trong danh sách chấm của bài")
    return row


def set_absent(session: Session, actor: m.User, assignment_id: int, examiner_id: int, absent: bool, *,
               threshold: float = DEFAULT_THRESHOLD) -> int:
    """Mark a pool member away (no new work; their open rounds move to others) or back."""
    row = _pool_member(session, actor, assignment_id, examiner_id)
    row.absent = absent
    session.flush()
    audit.record(session, actor.id, "pool.absent" if absent else "pool.present", "assignment", assignment_id,
                 examiner_id=examiner_id)
    if absent:
        return _release_open_rounds(session, actor, assignment_id, examiner_id, threshold)
    return staff_waiting(session, assignment_id, threshold)


def remove_from_pool(session: Session, actor: m.User, assignment_id: int, examiner_id: int, *,
                     threshold: float = DEFAULT_THRESHOLD) -> int:
    row = _pool_member(session, actor, assignment_id, examiner_id)
    session.delete(row)
    session.flush()
    audit.record(session, actor.id, "pool.remove", "assignment", assignment_id, examiner_id=examiner_id)
    return _release_open_rounds(session, actor, assignment_id, examiner_id, threshold)


@dataclass(frozen=True)
class ResultView:
    """Where a submission's marking stands after a chief examiner's change."""
    essay_id: int
    status: str               # awaiting_marks | needs_third | final
    final: float | None
    needs_examiner: bool
    released_at: datetime | None


def result_view(result: m.EssayResult) -> ResultView:
    return ResultView(result.essay_id, result.status, result.final, bool(result.needs_examiner), result.released_at)


def assign_round(session: Session, actor: m.User, essay_id: int, round_: int, examiner_id: int, *,
                 threshold: float = DEFAULT_THRESHOLD) -> ResultView:
    """The chief examiner names who marks a round: a waiting one, or one taken from an examiner who is away.

    Blind marking holds: nobody marks the same submission twice.
    """
    require_chief(actor)
    essay = session.get(m.Essay, essay_id)
    if essay is None:
        raise NotFound("Không tìm thấy bài thu hoạch")
    examiner = _examiner(session, examiner_id)
    grades = {g.round: g for g in session.scalars(select(m.Grade).where(m.Grade.essay_id == essay.id))}
    if any(g.examiner_id == examiner.id for r, g in grades.items() if r != round_):
        raise Conflict("%(name)s đã chấm bài này ở một lượt khác; hãy chọn người khác", name=examiner.display_name
                       or examiner.username)
    if session.scalar(select(m.AssignmentExaminer.absent).where(   # an absent member gets no new work, named or not
            m.AssignmentExaminer.assignment_id == essay.assignment_id,
            m.AssignmentExaminer.examiner_id == examiner.id)):
        raise Conflict("%(name)s đang vắng ở bài được giao này; hãy chọn người khác",
                       name=examiner.display_name or examiner.username)
    state, _ = _state(session, essay, threshold)
    if round_ not in state.waiting + state.unstaffed:
        raise Conflict("Lượt chấm này không cần phân công")
    current = grades.get(round_)
    if current is not None:
        if current.finalised_at is not None:
            raise Conflict("Lượt chấm này đã có điểm chốt")
        audit.record(session, actor.id, "grade.unassign", "essay", essay.id, round=round_,
                     examiner_id=current.examiner_id)
        session.delete(current)
        session.flush()
    session.add(m.Grade(essay_id=essay.id, examiner_id=examiner.id, round=round_))
    session.flush()
    audit.record(session, actor.id, "grade.assign", "essay", essay.id, round=round_, examiner_id=examiner.id)
    if examiner.id != actor.id:
        notifications.notify(session, [examiner.id], "third_needed" if round_ == 3 else "to_mark",
                             link=f"/examiner/essays/{essay.id}", dedupe_key=f"mark:{essay.id}:{round_}")
    if round_ == APPEAL:
        appeal = session.scalar(select(m.Appeal).where(m.Appeal.essay_id == essay.id))
        if appeal is not None and appeal.status == "submitted":
            appeal.status = "assigned"
    return result_view(refresh(session, essay, threshold, staff=False))


# The allocation page

STAGES = ("awaiting_first", "awaiting_second", "needs_third", "final")


@dataclass(frozen=True)
class WaitingItem:
    essay_id: int
    kind: str                 # essay | report
    submitted_at: datetime
    status: str
    stage: str
    rounds: tuple[tuple[int, str | None, bool], ...]   # (round, examiner's name or None, finalised)
    unstaffed: tuple[int, ...]


@dataclass(frozen=True)
class AllocationView:
    assignment_id: int
    counts: dict[str, dict[str, int]]          # kind -> stage -> count, plus "needs_examiner" and "released"
    pool: list[PoolMember]
    needs_examiner: list[WaitingItem]           # the first ``limit``, oldest first
    needs_examiner_total: int


def _stage_expression():
    return case((m.EssayResult.status == "final", "final"), (m.EssayResult.status == "needs_third", "needs_third"),
                (m.EssayResult.marks_done == 0, "awaiting_first"), else_="awaiting_second")


def stage_counts(session: Session, assignment_id: int) -> dict[str, dict[str, int]]:
    """Counted in SQL from the kept results: cheap at ten thousand submissions."""
    counts: dict[str, dict[str, int]] = {k: {s: 0 for s in STAGES + ("needs_examiner", "released")}
                                         for k in ("essay", "report")}
    stage = _stage_expression()
    base = (select(m.Essay.kind, stage, func.count()).join(m.EssayResult, m.EssayResult.essay_id == m.Essay.id)
            .where(m.Essay.assignment_id == assignment_id, _is_latest()))
    for kind, name, n in session.execute(base.group_by(m.Essay.kind, stage)):
        counts[kind][name] = n
    for kind, n in session.execute(
            select(m.Essay.kind, func.count()).join(m.EssayResult, m.EssayResult.essay_id == m.Essay.id)
            .where(m.Essay.assignment_id == assignment_id, _is_latest(), m.EssayResult.needs_examiner.is_(True))
            .group_by(m.Essay.kind)):
        counts[kind]["needs_examiner"] = n
    for kind, n in session.execute(
            select(m.Essay.kind, func.count()).join(m.EssayResult, m.EssayResult.essay_id == m.Essay.id)
            .where(m.Essay.assignment_id == assignment_id, _is_latest(), m.EssayResult.released_at.is_not(None))
            .group_by(m.Essay.kind)):
        counts[kind]["released"] = n
    return counts


def _is_latest():
    """Only a submitter's latest version is marked for the record; older versions stay stored.

    Two plain correlated lookups, one per kind, so each rides an index (essays: the unique key that starts
    with assignment and user; reports: the group's index); a single lookup joined by OR scans the table for
    every row, which took minutes at 10,000 essays (bench/marking_scale.py)."""
    newer = m.Essay.__table__.alias("newer")
    newer_essay = select(newer.c.id).where(newer.c.assignment_id == m.Essay.assignment_id,
                                           newer.c.user_id == m.Essay.user_id, newer.c.kind == m.Essay.kind,
                                           newer.c.version > m.Essay.version)
    newer_report = select(newer.c.id).where(newer.c.group_id == m.Essay.group_id,
                                            newer.c.assignment_id == m.Essay.assignment_id,
                                            newer.c.kind == m.Essay.kind, newer.c.version > m.Essay.version)
    return or_(and_(m.Essay.kind != "report", ~newer_essay.exists()),
               and_(m.Essay.kind == "report", ~newer_report.exists()))


def _same_submitter(columns, of: m.Essay):
    """Versions of one submission: a cadre's essay, or a group's report (whichever member submitted it)."""
    return columns.group_id == of.group_id if of.kind == "report" else columns.user_id == of.user_id


def waiting_items(session: Session, assignment_id: int, limit: int = 200) -> tuple[list[WaitingItem], int]:
    query = (select(m.Essay, m.EssayResult).join(m.EssayResult, m.EssayResult.essay_id == m.Essay.id)
             .where(m.Essay.assignment_id == assignment_id, _is_latest(), m.EssayResult.needs_examiner.is_(True)))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(m.Essay.submitted_at, m.Essay.id).limit(limit)).all()
    ids = [e.id for e, _ in rows]
    grades: dict[int, list[tuple[int, str | None, bool]]] = {}
    if ids:
        for g, name in session.execute(select(m.Grade, m.User.display_name)
                                       .join(m.User, m.User.id == m.Grade.examiner_id)
                                       .where(m.Grade.essay_id.in_(ids)).order_by(m.Grade.round)):
            grades.setdefault(g.essay_id, []).append((g.round, name, g.finalised_at is not None))
    appealed = set(session.scalars(select(m.Appeal.essay_id).where(
        m.Appeal.essay_id.in_(ids), m.Appeal.status.in_(("submitted", "assigned"))))) if ids else set()
    items = []
    for essay, result in rows:
        held = {r for r, _n, _f in grades.get(essay.id, [])}
        wanted = [1, 2] + ([3] if result.status == "needs_third" else []) + ([APPEAL] if essay.id in appealed else [])
        items.append(WaitingItem(essay.id, essay.kind, essay.submitted_at, result.status,
                                 stage_of(result.status, result.marks_done),
                                 tuple(grades.get(essay.id, [])), tuple(r for r in wanted if r not in held)))
    return items, total or 0


def allocation(session: Session, actor: m.User, assignment_id: int, *, limit: int = 200) -> AllocationView:
    require_chief(actor)
    get_assignment(session, assignment_id)
    items, total = waiting_items(session, assignment_id, limit)
    return AllocationView(assignment_id, stage_counts(session, assignment_id),
                          pool_view(session, actor, assignment_id), items, total)


def examiner_choices(session: Session, actor: m.User) -> list[PersonView]:
    """Who the chief examiner may name: every active examiner, and the staff themselves."""
    require_chief(actor)
    return [person_from_columns(row) for row in session.execute(
        select(*PERSON_COLUMNS).where(m.User.role == "examiner", m.User.active.is_(True))
        .order_by(m.User.display_name, m.User.username))]
