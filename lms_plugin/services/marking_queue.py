"""The examiner's queue, a page at a time: the rounds given to one person to mark, blind.

Keyset pagination: a page is "the next ``limit`` rounds after the cursor" in a fixed order of a unique key (open
rounds first, then finalised ones, each by the grade's id), so the 50th page costs what the first does. A page
is a few statements whatever the size of the queue: its rows (the grade, the essay's columns without its body,
the marking result) in one or two queries, its assignments with their scenario and rubric versions in one, the
counts for the filters in two. No list of the queue's ids is ever sent to the database.

Every rubric of the page is given once, in ``QueuePage.rubrics``; an item names its rubric by ``rubric_key``.
Nothing here reads the essay's author.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, joinedload

from ..store import models as m
from . import policy
from .content import rubric_data, scenario_data
from .errors import Invalid

PAGE = 50                 # rounds per page by default
MAX_PAGE = 200            # and at most

ALL, TODO, MARKED, THIRD = "all", "todo", "marked", "third"
FILTERS = (ALL, TODO, MARKED, THIRD)   # every round | not yet finalised | finalised | waiting for a third mark


@dataclass(frozen=True)
class QueueItem:
    essay_id: int
    assignment_id: int
    round: int
    kind: str                 # essay | report
    scenario_title: str
    words: int
    submitted_at: datetime
    status: str               # "todo" | "draft" | "final": this examiner's round
    total: float | None
    result_status: str | None  # awaiting_marks | needs_third | final: the essay's double marking
    rubric_key: int           # the key of its rubric in QueuePage.rubrics
    # the same rubric object every item of the page with that rubric shares (never serialised per item)
    rubric: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class QueueCounts:
    all: int
    todo: int
    marked: int
    third: int


@dataclass(frozen=True)
class QueuePage:
    filter: str
    items: tuple[QueueItem, ...]
    rubrics: tuple[dict[str, Any], ...]    # rubric views, each with its "key"
    next_cursor: str | None                # None: this is the last page
    counts: QueueCounts


def rubric_view(rubric) -> dict[str, Any]:
    return {"id": rubric.id, "version": rubric.version, "title": rubric.title, "scale": rubric.scale,
            "feedback": rubric.feedback,
            "criteria": [{"id": c.id, "title": c.title, "weight": c.weight, "description": c.description,
                          "levels": [{"points": lv.points, "label": lv.label, "descriptor": lv.descriptor}
                                     for lv in c.levels]} for c in rubric.criteria]}


def _sections(status: str) -> list[ColumnElement[bool]]:
    """The parts of a filter's order, each by grade id: open rounds come before finalised ones."""
    open_, done = m.Grade.finalised_at.is_(None), m.Grade.finalised_at.is_not(None)
    if status == ALL:
        return [open_, done]
    if status == TODO:
        return [open_]
    if status == MARKED:
        return [done]
    return [m.EssayResult.status == "needs_third"]


def _cursor(text: str | None, sections: int) -> tuple[int, int]:
    """"<section>.<grade id>" -> (section, id); no cursor: the start."""
    if not text:
        return 0, 0
    part, _, after = text.partition(".")
    if not (part.isascii() and part.isdigit() and after.isascii() and after.isdigit()) or len(after) > 12 \
            or int(part) >= sections:
        raise Invalid("Tham số %(name)s không hợp lệ: hãy dùng next_cursor của trang trước", {"cursor": ["invalid"]},
                      name="cursor")
    return int(part), int(after)


def _status(finalised_at: datetime | None, total: float | None) -> str:
    return "final" if finalised_at is not None else ("draft" if total is not None else "todo")


def queue_page(session: Session, examiner: m.User, *, status: str = ALL, cursor: str | None = None,
               limit: int = PAGE) -> QueuePage:
    """One page of the rounds given to this person to mark (an examiner, or a chief examiner who took one)."""
    policy.require(examiner, "grade.mark")
    if status not in FILTERS:
        raise Invalid("Bộ lọc %(value)s không có; dùng một trong: %(allowed)s", {"status": ["not a filter"]},
                      value=status, allowed=", ".join(FILTERS))
    limit = max(1, min(int(limit), MAX_PAGE))
    sections = _sections(status)
    section, after = _cursor(cursor, len(sections))
    base = (select(m.Grade.id, m.Grade.round, m.Grade.total, m.Grade.finalised_at, m.Grade.essay_id,
                   m.Essay.assignment_id, m.Essay.kind, m.Essay.words, m.Essay.submitted_at,
                   m.EssayResult.status.label("result_status"))
            .join(m.Essay, m.Essay.id == m.Grade.essay_id)
            .outerjoin(m.EssayResult, m.EssayResult.essay_id == m.Grade.essay_id)
            .where(m.Grade.examiner_id == examiner.id))
    rows: list[tuple[int, Any]] = []
    while section < len(sections) and len(rows) <= limit:
        found = session.execute(base.where(sections[section], m.Grade.id > after)
                                .order_by(m.Grade.id).limit(limit + 1 - len(rows))).all()
        rows += [(section, row) for row in found]
        section, after = section + 1, 0
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = f"{rows[-1][0]}.{rows[-1][1].id}" if more else None
    items, rubrics = _items(session, [row for _s, row in rows])
    return QueuePage(status, items, rubrics, next_cursor, counts(session, examiner))


def _items(session: Session, rows: list[Any]) -> tuple[tuple[QueueItem, ...], tuple[dict[str, Any], ...]]:
    """The page's items and its rubrics, each once; the assignments of the page in one query (a page names
    at most ``MAX_PAGE`` of them, usually one)."""
    wanted = sorted({row.assignment_id for row in rows})
    assignments = {a.id: a for a in session.scalars(
        select(m.Assignment).where(m.Assignment.id.in_(wanted))
        .options(joinedload(m.Assignment.scenario_version), joinedload(m.Assignment.essay_rubric_version),
                 joinedload(m.Assignment.report_rubric_version)))} if wanted else {}
    rubrics: dict[int, dict[str, Any]] = {}
    items = []
    for row in rows:
        assignment = assignments[row.assignment_id]
        version = assignment.report_rubric_version if row.kind == "report" else assignment.essay_rubric_version
        if version is None:          # the rubric went missing: the item still shows, marking says why
            key, rubric = 0, {}
        else:
            key = version.id
            if key not in rubrics:
                rubrics[key] = {"key": key, **rubric_view(rubric_data(version))}
            rubric = rubrics[key]
        items.append(QueueItem(row.essay_id, row.assignment_id, row.round, row.kind,
                               scenario_data(assignment.scenario_version).title, row.words, row.submitted_at,
                               _status(row.finalised_at, row.total), row.total, row.result_status, key, rubric))
    return tuple(items), tuple(rubrics.values())


def counts(session: Session, examiner: m.User) -> QueueCounts:
    """How many rounds each filter shows: two counting statements."""
    total, marked = session.execute(select(func.count(), func.count(m.Grade.finalised_at))
                                    .where(m.Grade.examiner_id == examiner.id)).one()
    third = session.scalar(select(func.count()).select_from(m.Grade)
                           .join(m.EssayResult, m.EssayResult.essay_id == m.Grade.essay_id)
                           .where(m.Grade.examiner_id == examiner.id, m.EssayResult.status == "needs_third"))
    return QueueCounts(total, total - marked, marked, third or 0)


def every_item(session: Session, examiner: m.User, status: str = ALL) -> Iterator[QueueItem]:
    """The whole queue, page by page (scripts and tests; the web and the API show one page)."""
    cursor = None
    while True:
        page = queue_page(session, examiner, status=status, cursor=cursor, limit=MAX_PAGE)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
