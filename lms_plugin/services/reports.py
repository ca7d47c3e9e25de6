"""An assignment's report to leadership: titled tables, one per ``caselab_report_sections`` answer.

Each section turns an assignment into a ``Table`` (units/spec.py): headers are Vietnamese
msgids the host translates, rows come as they are produced. A cell is a number, text,
None (empty), or a ``Phrase``: a msgid the host translates ("Đã nộp"). Built in:
participation by group (commune) and the distribution of final marks. Both count with a
handful of grouped queries whatever the cohort's size (100,000 cadres is one row per
commune, never one query or one object per cadre).
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.orm import Session

from .. import plugins
from ..store import models as m
from ..units.spec import Table
from . import policy
from .cohorts import get_assignment
from .content import rubric_data
from .errors import N_, NotFound
from .exports import vietnamese_key

HOOK = "caselab_report_sections"
_KEY = re.compile(r"[a-z][a-z0-9_-]{0,39}")        # in the CSV download's URL and file name


class Phrase(str):
    """A cell that is a msgid, translated by the host (a status, a row label), not data."""
    __slots__ = ()


class ReportSection(ABC):
    """One titled table of an assignment's report; registered as an instance."""
    key: ClassVar[str]         # stable: lower-case letters, digits, "_", "-" (the CSV is <key>.csv)
    title: ClassVar[str]       # Vietnamese msgid

    @abstractmethod
    def table(self, session: Session, assignment_id: int) -> Table:
        """The section's table. Count in the database, grouped; the assignment exists and the reader may see
        it (``report`` checked both)."""


@dataclass(frozen=True)
class ReportPart:
    key: str
    title: str                 # msgid
    table: Table


class SectionError(plugins.PluginError):
    pass


def sections() -> dict[str, ReportSection]:
    """Every registered section by key, in the order plugins registered (read anew each time: cheap)."""
    found: dict[str, ReportSection] = {}
    for section in plugins.collect(HOOK):
        if not isinstance(section, ReportSection):
            raise SectionError(f"{section!r} is not a ReportSection instance ({HOOK})")
        if not isinstance(getattr(section, "key", None), str) or not _KEY.fullmatch(section.key):
            raise SectionError(f"{type(section).__name__}: key must be lower-case letters, digits, '_' and '-'")
        if section.key in found:
            raise SectionError(f"two report sections claim the key '{section.key}'")
        found[section.key] = section
    return found


def _allowed(session: Session, user: m.User, assignment_id: int) -> None:
    policy.require(user, "progress.read")
    get_assignment(session, assignment_id)


def report(session: Session, user: m.User, assignment_id: int) -> list[ReportPart]:
    """Every section's table for the assignment, for lecturers and organisers ("progress.read")."""
    _allowed(session, user, assignment_id)
    return [ReportPart(s.key, s.title, s.table(session, assignment_id)) for s in sections().values()]


def report_section(session: Session, user: m.User, assignment_id: int, key: str) -> ReportPart:
    """One section (a CSV download)."""
    _allowed(session, user, assignment_id)
    section = sections().get(key)
    if section is None:
        raise NotFound("Không có mục báo cáo này")
    return ReportPart(section.key, section.title, section.table(session, assignment_id))


def translated(row: tuple[Any, ...], gettext: Callable[[str], str]) -> tuple[Any, ...]:
    """A row as people read it: its phrases in their language, the rest untouched."""
    return tuple(gettext(cell) if isinstance(cell, Phrase) else cell for cell in row)


# ---- built in --------------------------------------------------------------------------------------------------

SUBMITTED, NOT_SUBMITTED = Phrase(N_("Đã nộp")), Phrase(N_("Chưa nộp"))
NO_GROUP, TOTAL = Phrase(N_("Chưa xếp nhóm")), Phrase(N_("Tổng cộng"))


class Participation(ReportSection):
    """Per group (commune): members, who finished the case, who submitted an essay, whether the group report is in."""
    key = "participation"
    title = N_("Tham gia theo nhóm (xã)")
    headers = (N_("Nhóm"), N_("Xã"), N_("Thành viên"), N_("Đã hoàn thành tình huống"),
               N_("Đã nộp bài thu hoạch"), N_("Báo cáo nhóm"))

    def table(self, session: Session, assignment_id: int) -> Table:
        cohort_id = session.scalar(select(m.Assignment.cohort_id).where(m.Assignment.id == assignment_id))
        members = _by_group(session, select(m.Membership.group_id, func.count())
                            .where(m.Membership.cohort_id == cohort_id).group_by(m.Membership.group_id))
        finished = _by_group(session, _members_who(cohort_id, m.Attempt, m.Attempt.user_id).where(
            m.Attempt.assignment_id == assignment_id, m.Attempt.finished_at.is_not(None)))
        essays = _by_group(session, _members_who(cohort_id, m.Essay, m.Essay.user_id).where(
            m.Essay.assignment_id == assignment_id, m.Essay.kind == "essay"))    # a group report is no one's
        reported = set(session.scalars(select(m.GroupReport.group_id).where(
            m.GroupReport.assignment_id == assignment_id, m.GroupReport.submitted_at.is_not(None))))
        groups = sorted(session.execute(select(m.Group.id, m.Group.name, m.Group.commune)
                                        .where(m.Group.cohort_id == cohort_id)).all(),
                        key=lambda g: (vietnamese_key(g.name), g.id))
        return Table(self.headers, self._rows(groups, members, finished, essays, reported))

    @staticmethod
    def _rows(groups: list[Any], members: dict[int | None, int], finished: dict[int | None, int],
              essays: dict[int | None, int], reported: set[int]) -> Iterator[tuple[Any, ...]]:
        for group in groups:
            yield (group.name, group.commune, members.get(group.id, 0), finished.get(group.id, 0),
                   essays.get(group.id, 0), SUBMITTED if group.id in reported else NOT_SUBMITTED)
        if members.get(None):
            yield (NO_GROUP, "", members[None], finished.get(None, 0), essays.get(None, 0), None)
        yield (TOTAL, "", sum(members.values()), sum(finished.values()), sum(essays.values()),
               sum(g.id in reported for g in groups))


def _members_who(cohort_id: int | None, entity: Any, user_column: Any) -> Any:
    """Members of the cohort with a row of ``entity`` (the caller filters which), counted once each, by group."""
    return (select(m.Membership.group_id, func.count(distinct(m.Membership.user_id)))
            .select_from(entity)
            .join(m.Membership, and_(m.Membership.user_id == user_column, m.Membership.cohort_id == cohort_id))
            .group_by(m.Membership.group_id))


def _by_group(session: Session, query: Any) -> dict[int | None, int]:
    return {group_id: n for group_id, n in session.execute(query).all()}


BANDS = 10


class Marks(ReportSection):
    """Final marks of the latest essays in ten bands of the rubric's scale, how many released, how many not final."""
    key = "marks"
    title = N_("Phân bố điểm bài thu hoạch")
    headers = (N_("Điểm cuối cùng"), N_("Bài thu hoạch"), N_("Đã công bố điểm"))

    def table(self, session: Session, assignment_id: int) -> Table:
        assignment = session.get(m.Assignment, assignment_id)
        assert assignment is not None  # report() found it
        rubric = assignment.essay_rubric_version
        scale = rubric_data(rubric).scale if rubric is not None else 10.0
        newest = (select(m.Essay.user_id, func.max(m.Essay.version).label("v"))
                  .where(m.Essay.assignment_id == assignment_id, m.Essay.kind == "essay")
                  .group_by(m.Essay.user_id).subquery())
        released = m.EssayResult.released_at.is_not(None)
        counted = session.execute(      # one row per distinct mark: a few dozen, whatever the cohort's size
            select(m.EssayResult.final, released, func.count())
            .select_from(m.Essay)
            .join(newest, and_(newest.c.user_id == m.Essay.user_id, newest.c.v == m.Essay.version))
            .outerjoin(m.EssayResult, m.EssayResult.essay_id == m.Essay.id)
            .where(m.Essay.assignment_id == assignment_id, m.Essay.kind == "essay")
            .group_by(m.EssayResult.final, released)).all()
        return Table(self.headers, self._rows(scale, counted))

    @staticmethod
    def _rows(scale: float, counted: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        width = scale / BANDS
        bands = [[0, 0] for _ in range(BANDS)]
        pending = [0, 0]
        for final, released, n in counted:
            if final is None:
                pending[0] += n
                pending[1] += n if released else 0
                continue
            band = bands[max(0, min(BANDS - 1, int(final // width)))]    # the top mark joins the last band
            band[0] += n
            band[1] += n if released else 0
        for i, (n, shown) in enumerate(bands):
            yield f"{i * width:g}–{(i + 1) * width:g}", n, shown
        yield Phrase(N_("Đang chấm")), pending[0], pending[1]
        yield TOTAL, sum(b[0] for b in bands) + pending[0], sum(b[1] for b in bands) + pending[1]
