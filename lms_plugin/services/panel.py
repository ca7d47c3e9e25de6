"""The expert panel (tọa đàm chuyên gia): questions to a panel, votes, moderation and answers.

One board per course and scenario: every cohort of the course that has the scenario
asks the same panel. Cadres ask (for themselves, or for their group's connection
point, the commune's "điểm cầu"), everyone votes, lecturers merge duplicates, hide,
pick and answer. Everybody sees the visible questions ranked by votes.

Live hosts poll: ``version_token`` is one query on the board's row, and the board's
``version`` grows in the same unit of work as every change, so an unchanged panel
answers 304 without reading a question. The ranked page itself is the same for
every viewer of one version, so a process keeps the last pages it built by
(database, board, version, page) and a burst of viewers after a change costs one
ranking query per process; what belongs to one viewer (membership, group, votes) is
one more query, and their own questions another for those who asked any.

Vote counters live on the question (``votes``) and are changed with the vote rows in
one statement each (``votes = votes + 1``), so the ranking never counts rows.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import CursorResult, String, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..sanitize import clean_post, to_text
from ..store import models as m
from . import audit, policy
from .cohorts import get_assignment, membership
from .errors import N_, Conflict, Forbidden, Invalid, NotFound
from .limits import MAX_ID, bounded_text

MAX_QUESTION_CHARS = 1_000
MAX_ANSWER_CHARS = 5_000
MAX_REASON_CHARS = 500
MAX_QUESTIONS_PER_PERSON = 20       # on one board: a panel hears many voices, not one voice many times
PAGE = 50                           # questions a viewer is shown at first; "show more" adds as many
MAX_PAGE = 500                      # the most one page shows
MINE = 20                           # a viewer's own latest questions, whatever became of them

VISIBLE = ("open", "picked", "answered")
STATUSES = ("open", "picked", "answered", "hidden", "merged")
STATUS_LABELS = {"open": N_("Đang chờ"), "picked": N_("Được chọn trả lời"), "answered": N_("Đã trả lời"),
                 "hidden": N_("Đã ẩn"), "merged": N_("Đã gộp")}

NO_QUESTION = N_("Không tìm thấy câu hỏi")
CHANGED = "panel.changed"           # session.info key: this unit of work changed a board (no caching)


# --- views ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BoardView:
    id: int | None                   # None: nobody has asked yet (no board row)
    version: int
    live: bool
    closed_at: datetime | None

    @property
    def token(self) -> str:
        return f"{self.id or 0}:{self.version}"

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


@dataclass(frozen=True)
class AnswerView:
    id: int
    body: str                        # sanitised HTML
    author: str
    created_at: datetime


@dataclass(frozen=True)
class QuestionView:
    id: int
    body: str                        # sanitised HTML
    votes: int
    status: str                      # open | picked | answered | hidden | merged
    merged_into_id: int | None
    author: str                      # display name
    username: str
    author_id: int
    group: str | None                # asked for the group: its name ...
    commune: str | None              # ... and its commune (the connection point)
    cohort: str
    assignment_id: int
    created_at: datetime
    answers: tuple[AnswerView, ...] = ()


@dataclass(frozen=True)
class RankedPage:
    board: BoardView
    questions: tuple[QuestionView, ...]
    total: int                        # visible questions on the board
    limit: int
    offset: int

    @property
    def more(self) -> bool:
        return self.offset + len(self.questions) < self.total


@dataclass(frozen=True)
class VoteResult:
    question_id: int                  # the question that holds the vote (a merged one's target)
    votes: int
    changed: bool                     # False: it was already so (a second vote counts nothing)


@dataclass(frozen=True)
class Progress:
    asked: int
    votes: int
    answered: int


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


# --- the board ------------------------------------------------------------------------------------------

def _board_key(session: Session, assignment: m.Assignment) -> tuple[int, int]:
    """(course id, scenario id) of the assignment: whose panel it asks."""
    return assignment.cohort.course_id, assignment.scenario_version.scenario_id


def _find_board(session: Session, assignment: m.Assignment) -> m.PanelBoard | None:
    course_id, scenario_id = _board_key(session, assignment)
    return session.scalar(select(m.PanelBoard).where(m.PanelBoard.course_id == course_id,
                                                     m.PanelBoard.scenario_id == scenario_id))


def _board_of(assignment_id: int, *columns: Any, outer: bool = False):
    """``columns`` of the board of the assignment: from the assignment's primary key through its cohort
    (the course) and its scenario version (the scenario) to the board's unique (course, scenario).
    ``outer``: a row even when the board does not exist yet (its columns None)."""
    return (select(*columns).select_from(m.Assignment)
            .join(m.Cohort, m.Cohort.id == m.Assignment.cohort_id)
            .join(m.ScenarioVersion, m.ScenarioVersion.id == m.Assignment.scenario_version_id)
            .join(m.PanelBoard, (m.PanelBoard.course_id == m.Cohort.course_id)
                  & (m.PanelBoard.scenario_id == m.ScenarioVersion.scenario_id), isouter=outer)
            .where(m.Assignment.id == assignment_id))


def board_for(session: Session, assignment: m.Assignment) -> m.PanelBoard:
    """The panel of the assignment's course and scenario, created by the first who needs it.
    Two cohorts starting it at once: the second finds the first's row (unique course+scenario)."""
    board = _find_board(session, assignment)
    if board is not None:
        return board
    course_id, scenario_id = _board_key(session, assignment)
    try:
        with session.begin_nested():
            board = m.PanelBoard(course_id=course_id, scenario_id=scenario_id, version=0, live=False)
            session.add(board)
    except IntegrityError:
        board = _find_board(session, assignment)
        assert board is not None      # the other unit of work committed it
    return board


def _bump(session: Session, board_id: int) -> None:
    """Every change counts in the same unit of work: viewers holding the old version fetch again."""
    session.execute(update(m.PanelBoard).where(m.PanelBoard.id == board_id)
                    .values(version=m.PanelBoard.version + 1).execution_options(synchronize_session=False))
    session.info[CHANGED] = True


_boards: dict[tuple[str, int], int] = {}       # (database, assignment) -> its board: fixed once the board exists
MAX_KNOWN_BOARDS = 100_000


def _known_board(session: Session, assignment_id: int) -> int | None:
    return _boards.get((_database(session), assignment_id))


def _remember_board(session: Session, assignment_id: int, board_id: int) -> None:
    """An assignment's course and scenario never change, nor does the board they name; a unit of work that
    created a board (and may yet roll back) does not teach it."""
    if session.info.get(CHANGED):
        return
    if len(_boards) >= MAX_KNOWN_BOARDS:
        _boards.clear()
    _boards[(_database(session), assignment_id)] = board_id


def version_token(session: Session, assignment_id: int) -> str:
    """"<board id>:<version>" of the assignment's panel ("0:0": nobody asked yet), in one query: on the
    board's primary key once this process knows the board, else from the assignment through its cohort and
    scenario version. Not checked here: the caller has let the person into the assignment."""
    board_id = _known_board(session, assignment_id)
    if board_id is not None:
        version = session.scalar(select(m.PanelBoard.version).where(m.PanelBoard.id == board_id))
        if version is not None:
            return f"{board_id}:{version}"
    row = session.execute(_board_of(assignment_id, m.PanelBoard.id, m.PanelBoard.version)).first()
    if row is None:
        return "0:0"
    _remember_board(session, assignment_id, row.id)
    return f"{row.id}:{row.version}"


_BOARD_COLUMNS = (m.PanelBoard.id, m.PanelBoard.version, m.PanelBoard.live, m.PanelBoard.closed_at)


def _board_view(session: Session, assignment: m.Assignment) -> BoardView:
    """The board as it is now: columns, not the mapped row, so a version another unit of work committed
    since this session first loaded the board is seen."""
    board_id = _known_board(session, assignment.id)
    if board_id is not None:
        row = session.execute(select(*_BOARD_COLUMNS).where(m.PanelBoard.id == board_id)).first()
    else:
        row = session.execute(_board_of(assignment.id, *_BOARD_COLUMNS)).first()
        if row is not None:
            _remember_board(session, assignment.id, row.id)
    if row is None:
        return BoardView(None, 0, False, None)
    return BoardView(row.id, row.version, row.live, row.closed_at)


def _learner(session: Session, user: m.User, assignment_id: int) -> m.Assignment:
    assignment = get_assignment(session, assignment_id)
    policy.require(user, "unit.play", assignment)
    return assignment


def _staff(session: Session, user: m.User, assignment_id: int) -> m.Assignment:
    assignment = get_assignment(session, assignment_id)
    policy.require(user, "unit.play", assignment)      # a stranger is told nothing exists
    policy.require(user, "unit.manage", assignment)    # a member is told only staff moderate
    return assignment


def board(session: Session, user: m.User, assignment_id: int) -> BoardView:
    return _board_view(session, _learner(session, user, assignment_id))


# --- asking and voting -----------------------------------------------------------------------------------

def _clean(body: Any, field: str, limit: int) -> str:
    if not isinstance(body, str) or not body.strip():
        raise Invalid("Nội dung đang trống", {field: ["empty"]})
    body = bounded_text(body.strip(), field, limit)
    clean = clean_post(body)
    if not to_text(clean).strip():
        raise Invalid("Nội dung đang trống", {field: ["empty"]})
    return clean


def _require_open_board(board_row: m.PanelBoard) -> None:
    if board_row.closed_at is not None:
        raise Conflict("Tọa đàm đã kết thúc: không nhận thêm câu hỏi và bình chọn")


def ask(session: Session, user: m.User, assignment_id: int, body: str, for_group: bool = False, *,
        now: datetime | None = None) -> QuestionView:
    """A question to the panel; ``for_group``: on behalf of the asker's group (their commune's point)."""
    assignment = _learner(session, user, assignment_id)
    clean = _clean(body, "body", MAX_QUESTION_CHARS)
    group_id = None
    if for_group:
        member = membership(session, user.id, assignment.cohort_id)
        if member is None or member.group_id is None:
            raise Forbidden("Bạn chưa thuộc nhóm nào của lớp này")
        group_id = member.group_id
    board_row = board_for(session, assignment)
    _require_open_board(board_row)
    asked = session.scalar(select(func.count(m.PanelQuestion.id)).where(
        m.PanelQuestion.board_id == board_row.id, m.PanelQuestion.author_id == user.id)) or 0
    if asked >= MAX_QUESTIONS_PER_PERSON:
        raise Conflict("Mỗi người gửi tối đa %(n)s câu hỏi cho một buổi tọa đàm", n=MAX_QUESTIONS_PER_PERSON)
    question = m.PanelQuestion(board_id=board_row.id, assignment_id=assignment.id, author_id=user.id,
                               group_id=group_id, body=clean, status="open", votes=0, created_at=_now(now))
    session.add(question)
    session.flush()
    _bump(session, board_row.id)
    return _question_view(session, question)


def _question_on(session: Session, board_id: int, question_id: int, *, lock: bool = False) -> m.PanelQuestion:
    if not isinstance(question_id, int) or not 0 < question_id <= MAX_ID:
        raise NotFound(NO_QUESTION)
    query = select(m.PanelQuestion).where(m.PanelQuestion.id == question_id)
    if lock:            # PostgreSQL: a vote and a merge of the same question wait for each other
        query = query.with_for_update()
    question = session.scalar(query.execution_options(populate_existing=True))
    if question is None or question.board_id != board_id:
        raise NotFound(NO_QUESTION)
    return question


def _count(result: Any) -> int:
    assert isinstance(result, CursorResult)  # an UPDATE or DELETE answers with a cursor result, which counts rows
    return result.rowcount or 0


def _votes_of(session: Session, question_id: int) -> int:
    return session.scalar(select(m.PanelQuestion.votes).where(m.PanelQuestion.id == question_id)
                          .execution_options(populate_existing=True)) or 0


def _votable(session: Session, board_id: int, question_id: int) -> m.PanelQuestion:
    """The question a vote for ``question_id`` goes to (a merged one's target), its row locked: a merge of it
    waits for the vote, or the vote sees the merge and follows it. One row locked at a time, so a vote and a
    merge never wait for each other in a circle."""
    question = _question_on(session, board_id, question_id)
    for _hop in range(3):
        target = question.merged_into_id if question.status == "merged" else question.id
        if target is None:
            break
        question = _question_on(session, board_id, target, lock=True)
        if question.status != "merged":
            break
    return question


def vote(session: Session, user: m.User, assignment_id: int, question_id: int, *,
         now: datetime | None = None) -> VoteResult:
    """One vote per person and question; a second vote changes nothing. A vote for a question merged
    into another counts for the other (the viewer's page was older than the merge)."""
    assignment = _learner(session, user, assignment_id)
    board_row = _find_board(session, assignment)
    if board_row is None:
        raise NotFound(NO_QUESTION)
    _require_open_board(board_row)
    question = _votable(session, board_row.id, question_id)
    if question.status not in VISIBLE:
        raise NotFound(NO_QUESTION)
    held = session.scalar(select(m.PanelVote.id).where(m.PanelVote.question_id == question.id,
                                                       m.PanelVote.user_id == user.id))
    if held is not None:
        return VoteResult(question.id, question.votes, False)
    try:
        with session.begin_nested():
            session.add(m.PanelVote(question_id=question.id, user_id=user.id, created_at=_now(now)))
    except IntegrityError:           # the same person's other tab voted first
        return VoteResult(question.id, _votes_of(session, question.id), False)
    session.execute(update(m.PanelQuestion).where(m.PanelQuestion.id == question.id)
                    .values(votes=m.PanelQuestion.votes + 1).execution_options(synchronize_session=False))
    _bump(session, board_row.id)
    return VoteResult(question.id, _votes_of(session, question.id), True)


def unvote(session: Session, user: m.User, assignment_id: int, question_id: int) -> VoteResult:
    assignment = _learner(session, user, assignment_id)
    board_row = _find_board(session, assignment)
    if board_row is None:
        raise NotFound(NO_QUESTION)
    _require_open_board(board_row)
    question = _votable(session, board_row.id, question_id)
    removed = _count(session.execute(delete(m.PanelVote).where(m.PanelVote.question_id == question.id,
                                                               m.PanelVote.user_id == user.id)
                                     .execution_options(synchronize_session=False)))
    if not removed:
        return VoteResult(question.id, question.votes, False)
    session.execute(update(m.PanelQuestion).where(m.PanelQuestion.id == question.id)
                    .values(votes=m.PanelQuestion.votes - 1).execution_options(synchronize_session=False))
    _bump(session, board_row.id)
    return VoteResult(question.id, _votes_of(session, question.id), True)


# --- moderation (staff) ----------------------------------------------------------------------------------

def _staff_question(session: Session, user: m.User, assignment_id: int, question_id: int
                    ) -> tuple[m.PanelBoard, m.PanelQuestion]:
    assignment = _staff(session, user, assignment_id)
    board_row = _find_board(session, assignment)
    if board_row is None:
        raise NotFound(NO_QUESTION)
    return board_row, _question_on(session, board_row.id, question_id, lock=True)


def merge(session: Session, user: m.User, assignment_id: int, question_id: int, into_id: int) -> QuestionView:
    """``question`` is a duplicate of ``into``: its voters count for ``into`` (a person who voted both
    counts once), it leaves the ranking and its page points to ``into``."""
    if question_id == into_id:
        raise Invalid("Không thể gộp một câu hỏi vào chính nó", {"into_id": ["same question"]})
    assignment = _staff(session, user, assignment_id)
    board_row = _find_board(session, assignment)
    if board_row is None:
        raise NotFound(NO_QUESTION)
    # both rows locked, lower id first, so two merges of the same pair never wait for each other forever
    first, second = sorted((question_id, into_id))
    locked = {first: _question_on(session, board_row.id, first, lock=True),
              second: _question_on(session, board_row.id, second, lock=True)}
    question, into = locked[question_id], locked[into_id]
    if question.status == "merged":
        raise Conflict("Câu hỏi này đã được gộp vào câu hỏi khác")
    if into.status not in VISIBLE:
        raise Invalid("Chỉ gộp vào một câu hỏi đang hiển thị", {"into_id": ["not visible"]})
    both = select(m.PanelVote.user_id).where(m.PanelVote.question_id == into.id)
    moved = _count(session.execute(update(m.PanelVote).where(m.PanelVote.question_id == question.id,
                                                             m.PanelVote.user_id.not_in(both))
                                   .values(question_id=into.id).execution_options(synchronize_session=False)))
    session.execute(delete(m.PanelVote).where(m.PanelVote.question_id == question.id)
                    .execution_options(synchronize_session=False))
    # questions merged into this one earlier now point to the final one (no chains to follow)
    session.execute(update(m.PanelQuestion).where(m.PanelQuestion.merged_into_id == question.id)
                    .values(merged_into_id=into.id).execution_options(synchronize_session=False))
    recount = select(func.count(m.PanelVote.id)).where(m.PanelVote.question_id == into.id).scalar_subquery()
    session.execute(update(m.PanelQuestion).where(m.PanelQuestion.id == into.id).values(votes=recount)
                    .execution_options(synchronize_session=False))
    question.status, question.merged_into_id, question.votes = "merged", into.id, 0
    audit.record(session, user.id, "panel.merge", "panel_question", question.id, into=into.id, moved_votes=moved)
    session.flush()
    _bump(session, board_row.id)
    session.refresh(into)
    return _question_view(session, into)


def hide(session: Session, user: m.User, assignment_id: int, question_id: int, reason: str = "") -> QuestionView:
    board_row, question = _staff_question(session, user, assignment_id, question_id)
    reason = bounded_text((reason or "").strip(), "reason", MAX_REASON_CHARS)
    if question.status == "merged":
        raise Conflict("Câu hỏi này đã được gộp vào câu hỏi khác")
    return _moderate(session, user, board_row, question, "hidden", "panel.hide", reason=reason)


def unhide(session: Session, user: m.User, assignment_id: int, question_id: int) -> QuestionView:
    board_row, question = _staff_question(session, user, assignment_id, question_id)
    if question.status != "hidden":
        raise Conflict("Câu hỏi này không bị ẩn")
    return _moderate(session, user, board_row, question, _status_by_answers(session, question), "panel.unhide")


def pick(session: Session, user: m.User, assignment_id: int, question_id: int) -> QuestionView:
    """The panel takes the question up now (shown as such to everyone)."""
    board_row, question = _staff_question(session, user, assignment_id, question_id)
    if question.status not in ("open", "answered"):
        raise Conflict("Chỉ chọn được câu hỏi đang chờ hoặc đã trả lời")
    return _moderate(session, user, board_row, question, "picked", "panel.pick")


def reopen(session: Session, user: m.User, assignment_id: int, question_id: int) -> QuestionView:
    """Back to waiting (answers already given stay)."""
    board_row, question = _staff_question(session, user, assignment_id, question_id)
    if question.status not in ("picked", "answered"):
        raise Conflict("Chỉ mở lại được câu hỏi đã chọn hoặc đã trả lời")
    return _moderate(session, user, board_row, question, "open", "panel.reopen")


def answer(session: Session, user: m.User, assignment_id: int, question_id: int, body: str, *,
           now: datetime | None = None) -> QuestionView:
    """The panel's answer in text (during the session or after it); a question may get several."""
    board_row, question = _staff_question(session, user, assignment_id, question_id)
    clean = _clean(body, "body", MAX_ANSWER_CHARS)
    if question.status in ("hidden", "merged"):
        raise Conflict("Không trả lời câu hỏi đã ẩn hoặc đã gộp")
    session.add(m.PanelAnswer(question_id=question.id, author_id=user.id, body=clean, created_at=_now(now)))
    return _moderate(session, user, board_row, question, "answered", "panel.answer")


def _status_by_answers(session: Session, question: m.PanelQuestion) -> str:
    answered = session.scalar(select(m.PanelAnswer.id).where(m.PanelAnswer.question_id == question.id).limit(1))
    return "answered" if answered is not None else "open"


def _moderate(session: Session, user: m.User, board_row: m.PanelBoard, question: m.PanelQuestion, status: str,
              action: str, **details: Any) -> QuestionView:
    details = {"from": question.status, "to": status, **details}
    question.status = status
    audit.record(session, user.id, action, "panel_question", question.id, **details)
    session.flush()
    _bump(session, board_row.id)
    return _question_view(session, question)


def set_live(session: Session, user: m.User, assignment_id: int, live: bool) -> BoardView:
    """The panel is answering now (viewers see it live) or not."""
    assignment = _staff(session, user, assignment_id)
    board_row = board_for(session, assignment)
    if board_row.live != bool(live):
        board_row.live = bool(live)
        audit.record(session, user.id, "panel.live", "panel_board", board_row.id, live=bool(live))
        session.flush()
        _bump(session, board_row.id)
    return _board_view(session, assignment)


def close(session: Session, user: m.User, assignment_id: int, closed: bool = True, *,
          now: datetime | None = None) -> BoardView:
    """No more questions or votes (``closed=False`` opens the board again). Answers may still follow."""
    assignment = _staff(session, user, assignment_id)
    board_row = board_for(session, assignment)
    if (board_row.closed_at is not None) != bool(closed):
        board_row.closed_at = _now(now) if closed else None
        if closed:
            board_row.live = False
        audit.record(session, user.id, "panel.close" if closed else "panel.open", "panel_board", board_row.id)
        session.flush()
        _bump(session, board_row.id)
    return _board_view(session, assignment)


# --- reading ---------------------------------------------------------------------------------------------

_COLUMNS = (m.PanelQuestion.id, m.PanelQuestion.body, m.PanelQuestion.votes, m.PanelQuestion.status,
            m.PanelQuestion.merged_into_id, m.User.display_name, m.User.username, m.PanelQuestion.author_id,
            m.Group.name, m.Group.commune, m.Cohort.name, m.PanelQuestion.assignment_id, m.PanelQuestion.created_at)


def _question_query():
    return (select(*_COLUMNS)
            .join(m.User, m.User.id == m.PanelQuestion.author_id)
            .outerjoin(m.Group, m.Group.id == m.PanelQuestion.group_id)
            .join(m.Assignment, m.Assignment.id == m.PanelQuestion.assignment_id)
            .join(m.Cohort, m.Cohort.id == m.Assignment.cohort_id))


def _answers(session: Session, ids: Sequence[int]) -> dict[int, list[AnswerView]]:
    found: dict[int, list[AnswerView]] = {}
    if not ids:
        return found
    rows = session.execute(select(m.PanelAnswer.question_id, m.PanelAnswer.id, m.PanelAnswer.body,
                                  m.User.display_name, m.User.username, m.PanelAnswer.created_at)
                           .join(m.User, m.User.id == m.PanelAnswer.author_id)
                           .where(m.PanelAnswer.question_id.in_(ids)).order_by(m.PanelAnswer.id))
    for qid, aid, body, name, username, created in rows:
        found.setdefault(qid, []).append(AnswerView(aid, body, name or username, created))
    return found


def _views(session: Session, rows: Sequence[Any], answers: dict[int, list[AnswerView]] | None = None
           ) -> tuple[QuestionView, ...]:
    """Questions with their answers: one query for the answers of all of them (unless given)."""
    if answers is None:
        answers = _answers(session, [r[0] for r in rows])
    return tuple(QuestionView(qid, body, votes, status, merged, name or username, username, author_id, group,
                              commune, cohort, aid, created, tuple(answers.get(qid, ())))
                 for (qid, body, votes, status, merged, name, username, author_id, group, commune, cohort, aid,
                      created) in rows)


def _question_view(session: Session, question: m.PanelQuestion) -> QuestionView:
    row = session.execute(_question_query().where(m.PanelQuestion.id == question.id)).one()
    return _views(session, [row])[0]


class _PageCache:
    """Ranked pages by (database, board, version, page): a version names one state of the board, so a
    page built for it is right for every viewer of that version. A unit of work that changed a board
    neither reads nor fills it (what it sees may never be committed)."""

    def __init__(self, size: int = 256):
        self.size, self.lock = size, threading.Lock()
        self.pages: OrderedDict[tuple[Any, ...], tuple[tuple[QuestionView, ...], int]] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> tuple[tuple[QuestionView, ...], int] | None:
        with self.lock:
            page = self.pages.get(key)
            if page is not None:
                self.pages.move_to_end(key)
            return page

    def put(self, key: tuple[Any, ...], page: tuple[tuple[QuestionView, ...], int]) -> None:
        with self.lock:
            self.pages[key] = page
            self.pages.move_to_end(key)
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)


_pages = _PageCache()


def _database(session: Session) -> str:
    bind = session.get_bind()
    return bind.engine.url.render_as_string(hide_password=True)


def _window(limit: int | None, offset: int | None) -> tuple[int, int]:
    size = PAGE if not isinstance(limit, int) or limit < 1 else min(limit, MAX_PAGE)
    start = offset if isinstance(offset, int) and 0 < offset <= MAX_ID else 0
    return size, start


def _ranked(session: Session, board_now: BoardView, limit: int, offset: int) -> RankedPage:
    """The visible questions (not hidden, not merged) by votes, then by who asked first.

    The index ix_panel_questions_ranked (board, status, votes, id) holds the board's rows of each
    status together: a page reads the board's visible index entries (thousands at most), never a vote."""
    if board_now.id is None:
        return RankedPage(board_now, (), 0, limit, offset)
    cacheable = not session.info.get(CHANGED)
    key = (_database(session), board_now.id, board_now.version, limit, offset)
    page = _pages.get(key) if cacheable else None
    if page is None:
        visible = (m.PanelQuestion.board_id == board_now.id, m.PanelQuestion.status.in_(VISIBLE))
        rows = session.execute(_question_query().where(*visible)
                               .order_by(m.PanelQuestion.votes.desc(), m.PanelQuestion.id)
                               .limit(limit).offset(offset)).all()
        total = session.scalar(select(func.count(m.PanelQuestion.id)).where(*visible)) or 0
        page = (_views(session, rows), total)
        if cacheable:
            _pages.put(key, page)
    return RankedPage(board_now, page[0], page[1], limit, offset)


def ranked(session: Session, user: m.User, assignment_id: int, *, limit: int | None = PAGE,
           offset: int | None = 0) -> RankedPage:
    """``limit`` visible questions from ``offset`` of the ranking, as anyone in the assignment sees them."""
    assignment = _learner(session, user, assignment_id)
    return _ranked(session, _board_view(session, assignment), *_window(limit, offset))


def _mine(session: Session, user: m.User, board_id: int, shown: RankedPage) -> tuple[QuestionView, ...]:
    """The viewer's latest questions; answers read only for answered ones the ranked page does not show."""
    rows = session.execute(_question_query().where(m.PanelQuestion.board_id == board_id,
                                                   m.PanelQuestion.author_id == user.id)
                           .order_by(m.PanelQuestion.id.desc()).limit(MINE)).all()
    on_page = {q.id: list(q.answers) for q in shown.questions}
    missing = [r[0] for r in rows if r[3] == "answered" and r[0] not in on_page]
    return _views(session, rows, answers=on_page | _answers(session, missing))


@dataclass(frozen=True)
class _Seat:
    board: BoardView
    group: tuple[str, str] | None        # (name, commune) of the viewer's group in the cohort
    voted: frozenset[int]                # every question the viewer holds a vote on
    asked: int                           # questions the viewer asked on the board


def _seat(session: Session, user: m.User, assignment_id: int) -> _Seat:
    """Where the viewer sits, in one query from the assignment's key: the board (through the cohort's course
    and the scenario version), the viewer's membership (whether they belong) and group, the questions they
    voted for and how many they asked on the board."""
    if not isinstance(assignment_id, int) or not 0 < assignment_id <= MAX_ID:
        raise NotFound("Không tìm thấy bài được giao")
    member = (m.Membership.cohort_id == m.Assignment.cohort_id) & (m.Membership.user_id == user.id)
    # all the person's votes, on any board (a short list, read through ix_panel_votes_user_id alone);
    # only those on the shown page are used
    voted = (select(func.aggregate_strings(func.cast(m.PanelVote.question_id, String), ","))
             .where(m.PanelVote.user_id == user.id).scalar_subquery())
    asked = (select(func.count(m.PanelQuestion.id))
             .where(m.PanelQuestion.board_id == m.PanelBoard.id, m.PanelQuestion.author_id == user.id)
             .scalar_subquery())
    row = session.execute(
        _board_of(assignment_id, *_BOARD_COLUMNS, m.Membership.id.label("member"), m.Group.name, m.Group.commune,
                  voted.label("voted"), asked.label("asked"), outer=True)
        .join(m.Membership, member, isouter=True).join(m.Group, m.Group.id == m.Membership.group_id, isouter=True)
    ).first()
    if row is None or row.member is None:
        # not a member: the policy decides (staff may look; others learn nothing exists)
        policy.require(user, "unit.play", get_assignment(session, assignment_id))
    group = (row.name, row.commune) if row is not None and row.name is not None else None
    if row is None or row.id is None:
        return _Seat(BoardView(None, 0, False, None), group, frozenset(), 0)
    _remember_board(session, assignment_id, row.id)
    return _Seat(BoardView(row.id, row.version, row.live, row.closed_at), group,
                 frozenset(int(q) for q in (row.voted or "").split(",") if q), row.asked or 0)


@dataclass(frozen=True)
class LearnerPage:
    """What one person sees of the panel: the ranking, which of it they voted for, their own questions
    (hidden and merged ones too: they see what became of them) and the group they may ask for."""
    board: BoardView
    ranked: RankedPage
    voted: frozenset[int]
    mine: tuple[QuestionView, ...]
    group: tuple[str, str] | None       # (name, commune)


def learner_page(session: Session, user: m.User, assignment_id: int, *, limit: int | None = PAGE,
                 offset: int | None = 0) -> LearnerPage:
    """Everything of the learner's view: one query for where the viewer sits (board, group, votes), the
    ranked page (built once per version in a process and shared), and their own questions if they asked any."""
    seat = _seat(session, user, assignment_id)
    page = _ranked(session, seat.board, *_window(limit, offset))
    mine = _mine(session, user, seat.board.id, page) if seat.asked and seat.board.id is not None else ()
    return LearnerPage(seat.board, page, frozenset(q.id for q in page.questions) & seat.voted, mine, seat.group)


@dataclass(frozen=True)
class StaffPage:
    board: BoardView
    ranked: RankedPage
    counts: dict[str, int]                  # questions per status
    set_aside: tuple[QuestionView, ...]     # the latest hidden and merged questions


def staff_page(session: Session, user: m.User, assignment_id: int, *, limit: int | None = PAGE,
               offset: int | None = 0, set_aside: int = 100) -> StaffPage:
    """The moderators' view: the same ranking, questions per status (one grouped query) and the latest
    questions set aside (hidden or merged), which learners do not see."""
    assignment = _staff(session, user, assignment_id)
    board_now = _board_view(session, assignment)
    page = _ranked(session, board_now, *_window(limit, offset))
    counts = dict.fromkeys(STATUSES, 0)
    if board_now.id is None:
        return StaffPage(board_now, page, counts, ())
    for status, n in session.execute(select(m.PanelQuestion.status, func.count(m.PanelQuestion.id))
                                      .where(m.PanelQuestion.board_id == board_now.id)
                                      .group_by(m.PanelQuestion.status)):
        counts[status] = n
    rows = session.execute(_question_query().where(m.PanelQuestion.board_id == board_now.id,
                                                   m.PanelQuestion.status.in_(("hidden", "merged")))
                           .order_by(m.PanelQuestion.id.desc()).limit(set_aside)).all()
    return StaffPage(board_now, page, counts, _views(session, rows))


# --- for the lecturer ------------------------------------------------------------------------------------

def progress_counts(session: Session, assignment_id: int) -> Progress:
    """Questions asked from the assignment's cohort, the votes they hold, how many were answered."""
    asked, votes, answered = session.execute(
        select(func.count(m.PanelQuestion.id), func.coalesce(func.sum(m.PanelQuestion.votes), 0),
               func.count(m.PanelQuestion.id).filter(m.PanelQuestion.status == "answered"))
        .where(m.PanelQuestion.assignment_id == assignment_id)).one()
    return Progress(asked, int(votes), answered)


EXPORT_HEADERS = (N_("Mã câu hỏi"), N_("Câu hỏi"), N_("Bình chọn"), N_("Trạng thái"), N_("Gộp vào câu"),
                  N_("Lớp"), N_("Nhóm"), N_("Xã"), N_("Tên đăng nhập"), N_("Họ và tên"), N_("Hỏi lúc"),
                  N_("Trả lời"), N_("Trả lời lúc"))
EXPORT_BATCH = 500


def export_rows(session: Session, assignment_id: int) -> Iterator[tuple[Any, ...]]:
    """Every question of the assignment's panel (all its cohorts: it is one panel), ranked, with its
    answers as text. One statement streamed in batches of ``EXPORT_BATCH``, one query for a batch's answers."""
    assignment = get_assignment(session, assignment_id)
    board_now = _board_view(session, assignment)
    if board_now.id is None:
        return
    query = (_question_query().where(m.PanelQuestion.board_id == board_now.id)
             .order_by(m.PanelQuestion.votes.desc(), m.PanelQuestion.id)
             .execution_options(yield_per=EXPORT_BATCH))
    for batch in session.execute(query).partitions():
        for q in _views(session, batch):
            yield (q.id, to_text(q.body), q.votes, STATUS_LABELS[q.status], q.merged_into_id or "", q.cohort,
                   q.group or "", q.commune or "", q.username, q.author, q.created_at.isoformat(),
                   "\n\n".join(to_text(a.body) for a in q.answers),
                   q.answers[-1].created_at.isoformat() if q.answers else "")
