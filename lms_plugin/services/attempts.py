"""Playing a case: start or resume an attempt, take decisions, see the path so far."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.scenarios import DecisionError, PathScore, stage_view, walk
from ..store import models as m
from . import policy
from .cohorts import learner_assignment, require_open_for
from .content import scenario_data
from .errors import Conflict, Invalid, NotFound


@dataclass(frozen=True)
class AttemptState:
    id: int
    assignment_id: int
    number: int
    path: tuple[dict[str, Any], ...]      # each step: stage, prompt, choice, choice_text, feedback, points
    stage: dict[str, Any] | None          # the current stage as the learner sees it
    points: float
    max_points: float
    score: float                          # 0..1, what an LMS receives
    finished: bool
    can_retry: bool


@dataclass(frozen=True)
class ChoiceOutcome:
    feedback: str
    points: float
    score: float
    finished: bool
    stage: dict[str, Any] | None          # the next stage, or None when the case has ended
    attempt: AttemptState


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _state(attempt: m.Attempt, walked: PathScore) -> AttemptState:
    scenario = scenario_data(attempt.assignment.scenario_version)
    path = []
    for step in walked.steps:
        stage = scenario.stage(step.stage)
        choice = stage.choice(step.choice) if stage is not None else None
        assert stage is not None and choice is not None  # steps come from replaying this scenario's path
        path.append({"stage": stage.id, "prompt": stage.prompt, "choice": choice.id,
                     "choice_text": choice.text, "feedback": step.feedback, "points": step.points})
    return AttemptState(
        id=attempt.id, assignment_id=attempt.assignment_id, number=attempt.number, path=tuple(path),
        stage=stage_view(walked.current), points=walked.points, max_points=walked.max_points,
        score=walked.ratio, finished=walked.finished,
        can_retry=walked.finished and attempt.assignment.allow_retry)


def _replay(attempt: m.Attempt) -> PathScore:
    return walk(scenario_data(attempt.assignment.scenario_version), [tuple(d) for d in attempt.decisions])


@dataclass(frozen=True)
class AttemptRef:
    """Which attempt is the person's latest (the API tells a resumed attempt from a new one by its id)."""
    id: int
    number: int
    finished: bool


def _latest_row(session: Session, user: m.User, assignment_id: int) -> m.Attempt | None:
    return session.scalar(select(m.Attempt).where(m.Attempt.assignment_id == assignment_id,
                                                  m.Attempt.user_id == user.id)
                          .order_by(m.Attempt.number.desc()).limit(1))


def latest_attempt(session: Session, user: m.User, assignment_id: int) -> AttemptRef | None:
    attempt = _latest_row(session, user, assignment_id)
    return AttemptRef(attempt.id, attempt.number, attempt.finished_at is not None) if attempt else None


def current_state(session: Session, user: m.User, assignment_id: int) -> AttemptState | None:
    learner_assignment(session, user, assignment_id)
    attempt = _latest_row(session, user, assignment_id)
    return _state(attempt, _replay(attempt)) if attempt else None


def start_attempt(session: Session, user: m.User, assignment_id: int, *, retry: bool = False,
                  now: datetime | None = None) -> AttemptState:
    """Resume the unfinished attempt, or begin one; a new one after an ending only when retries are allowed."""
    assignment, _ = learner_assignment(session, user, assignment_id)
    attempt = _latest_row(session, user, assignment_id)
    if attempt is not None and (attempt.finished_at is None or not retry):
        return _state(attempt, _replay(attempt))
    if attempt is not None and not assignment.allow_retry:
        raise Conflict("Giảng viên không cho phép làm lại tình huống này")
    require_open_for(session, assignment, user, _now(now))
    scenario = scenario_data(assignment.scenario_version)
    attempt = m.Attempt(assignment_id=assignment.id, user_id=user.id,
                        number=(attempt.number + 1) if attempt else 1, decisions=[],
                        current_stage=scenario.start.id, max_points=scenario.max_points(),
                        started_at=_now(now), updated_at=_now(now))
    attempt.assignment = assignment
    session.add(attempt)
    session.flush()
    return _state(attempt, _replay(attempt))


def _refused(exc: DecisionError) -> Invalid:
    """The core's reason in words for the cadre; the core's own text stays in ``fields``."""
    fields = {"choice": [str(exc)]}
    if exc.reason == "ended":
        return Invalid("Tình huống đã kết thúc, lựa chọn này không được ghi. Hãy tải lại trang để xem kết quả.",
                       fields)
    if exc.reason == "stale":
        return Invalid("Lựa chọn này thuộc một bước đã qua (có thể bạn đã chọn ở một cửa sổ khác). "
                       "Hãy tải lại trang để tiếp tục từ bước hiện tại.", fields)
    return Invalid("Bước hiện tại không có phương án này.", fields)


def choose(session: Session, user: m.User, attempt_id: int, stage_id: str, choice_id: str, *,
           now: datetime | None = None) -> ChoiceOutcome:
    attempt = session.get(m.Attempt, attempt_id)
    if attempt is None:
        raise NotFound("Không tìm thấy lượt làm bài")
    policy.require(user, "attempt.play", attempt)
    require_open_for(session, attempt.assignment, user, _now(now))
    decisions = [tuple(d) for d in attempt.decisions] + [(stage_id, choice_id)]
    try:
        walked = walk(scenario_data(attempt.assignment.scenario_version), decisions)
    except DecisionError as exc:
        raise _refused(exc) from None
    attempt.decisions = [list(d) for d in decisions]
    attempt.points, attempt.current_stage = walked.points, walked.current.id
    attempt.updated_at = _now(now)
    if walked.finished:
        attempt.finished_at = _now(now)
    last = walked.steps[-1]
    state = _state(attempt, walked)
    return ChoiceOutcome(last.feedback, last.points, walked.ratio, walked.finished, state.stage, state)


def progress_counts(session: Session, assignment_id: int) -> tuple[int, int]:
    """Cadres who started the case, and those who reached an ending (one query)."""
    started, finished = session.execute(
        select(func.count(func.distinct(m.Attempt.user_id)),
               func.count(func.distinct(m.Attempt.user_id)).filter(m.Attempt.finished_at.is_not(None)))
        .where(m.Attempt.assignment_id == assignment_id)).one()
    return started, finished


def export_rows(session: Session, assignment_id: int) -> Iterator[tuple[Any, ...]]:
    """Every attempt of the assignment: who, which, points, when it ended; streamed."""
    query = (select(m.User.username, m.User.display_name, m.Attempt.number, m.Attempt.points,
                    m.Attempt.max_points, m.Attempt.finished_at)
             .join(m.User, m.User.id == m.Attempt.user_id)
             .where(m.Attempt.assignment_id == assignment_id).order_by(m.Attempt.user_id, m.Attempt.number)
             .execution_options(yield_per=1000))
    for username, name, number, points, max_points, finished in session.execute(query):
        yield username, name, number, points, max_points, finished.isoformat() if finished else ""
