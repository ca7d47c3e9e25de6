"""Exports of a cohort for organisers and lecturers: grades (CSV, XLSX) and the essays themselves (zip).

Grades: one row per cadre of the cohort and assignment, whether or not they
submitted ("Chưa nộp"), for their latest essay: each round's finalised points
per criterion and total, the final mark, whether it is released, late and
auto-submitted flags, the appeal (status, previous mark, outcome), and the
final mark of their group's report in its own columns. Examiners are never
named (blind marking). Headers are in the reader's language: the web passes its
gettext; criteria are shown by title.

Everything is produced as a stream, in memory that does not grow with the cohort: each cadre's rows (one per
assignment) come together, cadres in batches of at most ``CHUNK`` (the groups in Vietnamese order, a batch of whole
groups at a time: only the largest group is ever held at once), three queries per batch for every assignment at
once, never one per row and never a list of every essay's id. The CSV goes out a few hundred lines at a time; the
XLSX is written by openpyxl's write-only mode to a temporary file and sent from it; the zip is written entry by
entry as its bytes are sent (a row cursor over the essays, the manifest kept in a temporary file until the end).

Essays: one UTF-8 .txt per essay holding exactly the submitted body, plus
manifest.csv with the sha256 of every file.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..sanitize import spreadsheet_cell
from ..store import models as m
from . import policy
from .cohorts import get_cohort
from .content import rubric_data, scenario_data
from .errors import N_

ROUNDS = (1, 2, 3)
CHUNK = 1000                 # cadres per batch

Gettext = Callable[[str], str]

YES, NO = N_("Có"), N_("Không")
NOT_SUBMITTED = N_("Chưa nộp")
STATUS = {"awaiting_marks": N_("Đang chấm"), "needs_third": N_("Chờ giám khảo thứ ba"),
          "final": N_("Đã có điểm cuối")}
APPEAL_STATUS = {"submitted": N_("Đã gửi đơn"), "assigned": N_("Đang chấm phúc khảo"),
                 "decided": N_("Đã có kết quả, chưa công bố"), "released": N_("Đã công bố kết quả")}
BASE_HEADERS = (N_("Lớp"), N_("Nhóm"), N_("Xã"), N_("Tên đăng nhập"), N_("Họ tên"), N_("Mã tình huống"),
                N_("Tình huống"), N_("Lần nộp"), N_("Số chữ"), N_("Nộp lúc"), N_("Nộp muộn"), N_("Tự động nộp"),
                N_("Trạng thái"))
ROUND_HEADER = N_("GK%(n)s – %(criterion)s")
TOTAL = N_("Tổng điểm")
TAIL_HEADERS = (N_("Điểm cuối cùng"), N_("Đã công bố điểm"), N_("Phúc khảo: trạng thái"),
                N_("Phúc khảo: điểm trước"), N_("Phúc khảo: kết quả"), N_("Báo cáo nhóm: trạng thái"),
                N_("Báo cáo nhóm: điểm cuối cùng"), N_("Báo cáo nhóm: đã công bố điểm"))


@dataclass(frozen=True)
class GradeTable:
    columns: list[str]
    rows: list[list[Any]]


def _iso(moment: datetime | None) -> str:
    """The store hands back aware UTC times: ISO 8601 with +00:00."""
    return moment.isoformat(timespec="seconds") if moment else ""


def _criteria(assignments: list[m.Assignment]) -> list[tuple[str, str]]:
    """(id, title) of every essay criterion of the cohort's assignments, in rubric order, each once."""
    seen: dict[str, str] = {}
    for assignment in assignments:
        if assignment.essay_rubric_version is not None:
            for criterion in rubric_data(assignment.essay_rubric_version).criteria:
                seen.setdefault(criterion.id, criterion.title)
    titles = list(seen.values())
    # two criteria with one title (different rubrics) stay apart by their ids
    return [(cid, title if titles.count(title) == 1 else f"{title} ({cid})") for cid, title in seen.items()]


def _columns(_: Gettext, criteria: list[tuple[str, str]]) -> list[str]:
    rounds = [_(ROUND_HEADER) % {"n": r, "criterion": title} for r in ROUNDS for _cid, title in criteria]
    totals = [_(ROUND_HEADER) % {"n": r, "criterion": _(TOTAL)} for r in ROUNDS]
    return [_(h) for h in BASE_HEADERS] + rounds + totals + [_(h) for h in TAIL_HEADERS]


def grade_table(session: Session, user: m.User, cohort_id: int, gettext: Gettext | None = None) -> GradeTable:
    columns, rows = grade_rows(session, user, cohort_id, gettext)
    return GradeTable(columns, list(rows))


def grade_rows(session: Session, user: m.User, cohort_id: int,
               gettext: Gettext | None = None) -> tuple[list[str], Iterator[list[Any]]]:
    """The header and the rows, produced batch by batch (a caller may write them as they come)."""
    policy.require(user, "export")
    _ = gettext or (lambda text: text)
    cohort = get_cohort(session, cohort_id)
    assignments = list(session.scalars(select(m.Assignment).where(m.Assignment.cohort_id == cohort.id)
                                       .order_by(m.Assignment.id)))
    criteria = _criteria(assignments)
    # plain values only: the rows may be produced after the request's own end has let go of its objects
    scenarios = [(a.id, a.scenario_version.scenario.slug, scenario_data(a.scenario_version).title)
                 for a in assignments]
    return _columns(_, criteria), _rows(session, _, (cohort.id, cohort.name), scenarios,
                                        [cid for cid, _t in criteria])


@dataclass(frozen=True)
class _Member:
    user_id: int
    username: str
    name: str
    commune: str
    group_id: int | None


def _member_batches(session: Session, cohort_id: int, groups: dict[int, Any]) -> Iterator[list[_Member]]:
    """Every member of the cohort, by group then name in Vietnamese order, at most ``CHUNK`` at a time.

    Sorted here, not in SQL (SQLite and PostgreSQL collate "Đ" differently): the groups by name from their list,
    then the members of a batch of whole groups (about ``CHUNK`` people) read together and sorted, so only the
    batch, or the one group larger than it, is ever in memory. Members without a group come last."""
    sizes = dict(session.execute(select(m.Membership.group_id, func.count()).where(
        m.Membership.cohort_id == cohort_id).group_by(m.Membership.group_id)).all())
    named = sorted((g for g in sizes if g is not None), key=lambda g: (vietnamese_key(groups[g].name), g))
    rank = {group_id: n for n, group_id in enumerate(named)}
    ordered: list[int | None] = [*named, None] if None in sizes else list(named)
    batch: list[int | None] = []
    count = 0
    for group_id in ordered:
        if group_id is None and batch:              # the ungrouped are read on their own
            yield from _read_members(session, cohort_id, batch, rank)
            batch, count = [], 0
        batch.append(group_id)
        count += sizes[group_id]
        if count >= CHUNK or group_id is None:
            yield from _read_members(session, cohort_id, batch, rank)
            batch, count = [], 0
    if batch:
        yield from _read_members(session, cohort_id, batch, rank)


def _read_members(session: Session, cohort_id: int, group_ids: list[int | None],
                  rank: dict[int, int]) -> Iterator[list[_Member]]:
    """The members of these groups (a batch of at most ``CHUNK`` group ids, or [None]), sorted, in chunks."""
    where = m.Membership.group_id.is_(None) if group_ids == [None] else m.Membership.group_id.in_(group_ids)
    rows = session.execute(
        select(m.User.id, m.User.username, m.User.display_name, m.User.commune, m.Membership.group_id)
        .join(m.Membership, m.Membership.user_id == m.User.id).where(m.Membership.cohort_id == cohort_id, where))
    members = [_Member(*row) for row in rows]
    members.sort(key=lambda p: (rank.get(p.group_id, len(rank)) if p.group_id is not None else len(rank),
                                _compact_key(p.name), p.username, p.user_id))
    for start in range(0, len(members), CHUNK):
        yield members[start:start + CHUNK]


def _compact_key(text: str) -> tuple[str, str]:
    """vietnamese_key as two short strings (the same order, a fraction of the memory of nested tuples)."""
    letters, tones = vietnamese_key(text)
    # (letter, mark) -> one code point in the same order; letters past U+3332F (none in a name) share one
    return "".join(chr(min(ord(c), 0x3332F) * 5 + mark) for c, mark in letters), "".join(map(str, tones))


_LETTER_MARKS = {"\u0306": 1, "\u0302": 2, "\u031b": 3}     # ă â, ê ô, ơ ư: letters of their own
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}   # huyền hỏi ngã sắc nặng


def vietnamese_key(text: str) -> tuple:
    """Alphabetical order of the Vietnamese alphabet: a < ă < â < b … d < đ; tones only break ties."""
    letters: list[tuple[str, int]] = []
    tones: list[int] = []
    for char in unicodedata.normalize("NFD", text.casefold()):
        if char in _LETTER_MARKS and letters:
            letters[-1] = (letters[-1][0], _LETTER_MARKS[char])
        elif char in _TONES:
            tones.append(_TONES[char])
        elif not unicodedata.combining(char):
            letters.append(("d", 4) if char == "đ" else (char, 0))
            tones.append(0)
    return tuple(letters), tuple(tones)


def _rows(session: Session, _: Gettext, cohort: tuple[int, str], scenarios: list[tuple[int, str, str]],
          criteria: list[str]) -> Iterator[list[Any]]:
    """Each cadre's rows together, one per assignment: a batch of cadres is read once for all assignments."""
    cohort_id, cohort_name = cohort
    groups = {g.id: g for g in session.execute(select(m.Group.id, m.Group.name, m.Group.commune)
                                                .where(m.Group.cohort_id == cohort_id))}
    reports = {assignment_id: _group_reports(session, assignment_id) for assignment_id, _s, _t in scenarios}
    yes, no = _(YES), _(NO)
    not_submitted = [None, None, None, "", "", _(NOT_SUBMITTED)]
    no_marks = [None] * (len(ROUNDS) * (len(criteria) + 1))
    for people in _member_batches(session, cohort_id, groups):
        user_ids = [p.user_id for p in people]
        essays = _latest_essays(session, cohort_id, user_ids)
        grades = _grades(session, cohort_id, user_ids)
        for person in people:
            group = groups.get(person.group_id) if person.group_id is not None else None
            who: list[Any] = [cohort_name, group.name if group else "",
                              group.commune if group else person.commune, person.username, person.name]
            for assignment_id, slug, title in scenarios:
                row = who + [slug, title]
                essay = essays.get((person.user_id, assignment_id))
                if essay is None:
                    row += not_submitted
                    row += no_marks
                    row += [None, "", "", None, None]
                else:
                    row += [essay.version, essay.words, _iso(essay.submitted_at), yes if essay.late else no,
                            yes if essay.auto_submitted else no, _status(_, essay.status)]
                    marks = grades.get(essay.id, {})
                    for r in ROUNDS:
                        row += [marks[r].scores.get(c) if r in marks else None for c in criteria]
                    row += [marks[r].total if r in marks else None for r in ROUNDS]
                    row += [essay.final, yes if essay.released_at else no]
                    if essay.appeal_status is not None:
                        row += [_(APPEAL_STATUS[essay.appeal_status]), essay.previous_final, essay.outcome]
                    else:
                        row += ["", None, None]
                row += _report_cells(_, reports[assignment_id], person.group_id, yes, no)
                yield row


def _report_cells(_: Gettext, reports: dict[int, Any], group_id: int | None, yes: str, no: str) -> list[Any]:
    if group_id is None:
        return ["", None, ""]
    report = reports.get(group_id)
    if report is None:
        return [_(NOT_SUBMITTED), None, ""]
    return [_status(_, report.status), report.final, yes if report.released_at else no]


def _status(_: Gettext, status: str | None) -> str:
    """A submitted piece's marking state in words; a submission always has a result row, else it is being marked."""
    key = status or "awaiting_marks"
    return _(STATUS.get(key, key))


def _newest(cohort_id: int, user_ids: list[int]):
    """The latest essay version (not a group report) of each of these cadres (at most ``CHUNK``) in each of the
    cohort's assignments."""
    return (select(m.Essay.user_id, m.Essay.assignment_id, func.max(m.Essay.version).label("v"))
            .join(m.Assignment, m.Assignment.id == m.Essay.assignment_id)
            .where(m.Assignment.cohort_id == cohort_id, m.Essay.kind == "essay", m.Essay.user_id.in_(user_ids))
            .group_by(m.Essay.user_id, m.Essay.assignment_id).subquery())


def _joined_newest(query, newest):
    return query.join(newest, (newest.c.user_id == m.Essay.user_id) & (newest.c.assignment_id == m.Essay.assignment_id)
                      & (newest.c.v == m.Essay.version)).where(m.Essay.kind == "essay")


def _latest_essays(session: Session, cohort_id: int, user_ids: list[int]) -> dict[tuple[int, int], Any]:
    """Each cadre's latest essay of each assignment without its body, with its marking result and appeal,
    by (cadre, assignment): one query."""
    if not user_ids:
        return {}
    rows = session.execute(_joined_newest(
        select(m.Essay.id, m.Essay.user_id, m.Essay.assignment_id, m.Essay.version, m.Essay.words,
               m.Essay.submitted_at, m.Essay.late, m.Essay.auto_submitted, m.EssayResult.status, m.EssayResult.final,
               m.EssayResult.released_at, m.Appeal.status.label("appeal_status"), m.Appeal.previous_final,
               m.Appeal.outcome), _newest(cohort_id, user_ids))
        .outerjoin(m.EssayResult, m.EssayResult.essay_id == m.Essay.id)
        .outerjoin(m.Appeal, m.Appeal.essay_id == m.Essay.id))
    return {(row.user_id, row.assignment_id): row for row in rows}


def _group_reports(session: Session, assignment_id: int) -> dict[int, Any]:
    """The marking of each group's latest report submission of the assignment: one query."""
    newest = (select(m.Essay.group_id, func.max(m.Essay.version).label("v"))
              .where(m.Essay.assignment_id == assignment_id, m.Essay.kind == "report")
              .group_by(m.Essay.group_id).subquery())
    rows = session.execute(
        select(m.Essay.group_id, m.EssayResult.status, m.EssayResult.final, m.EssayResult.released_at)
        .join(newest, (newest.c.group_id == m.Essay.group_id) & (newest.c.v == m.Essay.version))
        .outerjoin(m.EssayResult, m.EssayResult.essay_id == m.Essay.id)
        .where(m.Essay.assignment_id == assignment_id, m.Essay.kind == "report"))
    return {row.group_id: row for row in rows}


def _grades(session: Session, cohort_id: int, user_ids: list[int]) -> dict[int, dict[int, Any]]:
    """Finalised marks of rounds 1-3 of those latest essays (the appeal's re-marking shows as the appeal's
    outcome); never who marked. One query, joined: no list of essay ids."""
    out: dict[int, dict[int, Any]] = {}
    if not user_ids:
        return out
    rows = session.execute(_joined_newest(
        select(m.Grade.essay_id, m.Grade.round, m.Grade.scores, m.Grade.total)
        .join(m.Essay, m.Essay.id == m.Grade.essay_id), _newest(cohort_id, user_ids))
        .where(m.Grade.finalised_at.is_not(None), m.Grade.round.in_(ROUNDS)))
    for row in rows:
        out.setdefault(row.essay_id, {})[row.round] = row
    return out


def _cell(value: Any) -> Any:
    """A CSV cell: text a spreadsheet would run is neutralised; numbers become text."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return spreadsheet_cell(value)


def grades_csv(table: GradeTable) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens Vietnamese names correctly."""
    return b"".join(csv_chunks(table.columns, table.rows))


def csv_chunks(columns: list[str], rows: Iterable[list[Any]], lines: int = 500) -> Iterator[bytes]:
    """The CSV a few hundred lines at a time (the first chunk starts with the BOM)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_cell(c) for c in columns])
    first, count = True, 0
    for row in rows:
        # as _cell, inline (the csv module writes None as ""): millions of cells in a national export
        writer.writerow([spreadsheet_cell(v) if type(v) is str else f"{v:g}" if type(v) is float else v
                         for v in row])
        count += 1
        if count % lines == 0:
            yield out.getvalue().encode("utf-8-sig" if first else "utf-8")
            first = False
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8-sig" if first else "utf-8")


def grades_xlsx(table: GradeTable, sheet_title: str = "grades") -> bytes:
    return b"".join(xlsx_chunks(table.columns, table.rows, sheet_title))


def xlsx_chunks(columns: list[str], rows: Iterable[list[Any]], sheet_title: str = "grades",
                size: int = 1 << 16) -> Iterator[bytes]:
    """Written in openpyxl's write-only mode (rows go to disk as they come, memory stays flat) to a temporary
    file, then sent from it ``size`` bytes at a time; the file is gone once the last chunk is out."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    with tempfile.TemporaryDirectory(prefix="caselab-xlsx-") as folder:
        path = os.path.join(folder, "grades.xlsx")
        book = Workbook(write_only=True)
        sheet = book.create_sheet(_safe_sheet_title(sheet_title))
        sheet.freeze_panes = "A2"
        header = []
        for name in columns:
            cell = _xlsx_cell(sheet, name)
            cell.font = Font(bold=True)
            header.append(cell)
        sheet.append(header)
        for row in rows:
            # neutralised text never starts with "=", so openpyxl keeps it as text (no cell object per value)
            sheet.append([spreadsheet_cell(v) if type(v) is str else v for v in row])
        book.save(path)
        with open(path, "rb") as saved:
            while chunk := saved.read(size):
                yield chunk


def _xlsx_cell(sheet, text: str):
    """Text stays text: neutralised like a CSV cell, and typed as a string so openpyxl never stores it as a
    formula (it does for any str starting with "=")."""
    from openpyxl.cell import WriteOnlyCell
    cell = WriteOnlyCell(sheet, value=spreadsheet_cell(text))
    cell.data_type = "s"
    return cell


def _safe_sheet_title(title: str) -> str:
    return re.sub(r"[\\/*?:\[\]]", " ", title)[:31] or "grades"


def _safe(part: str) -> str:
    """A file name part; never starting with "-" (read as an option by shell tools, a formula by spreadsheets)
    or "." (a hidden file)."""
    return re.sub(r"[^\w.-]+", "_", part, flags=re.UNICODE).strip("_").lstrip("-.") or "x"


def essay_filename(username: str, slug: str, version: int) -> str:
    return f"{_safe(username)}__{_safe(slug)}__v{version}.txt"


MANIFEST = ["file", "username", "name", "scenario", "essay_version", "words", "submitted_at", "sha256"]


def essays_zip(session: Session, user: m.User, cohort_id: int) -> bytes:
    return b"".join(essays_zip_chunks(session, user, cohort_id))


def essays_zip_chunks(session: Session, user: m.User, cohort_id: int) -> Iterator[bytes]:
    """The zip of every essay version of the cohort, produced as it is sent. Who may have it is checked now,
    before the first byte; then one cursor reads the essays, each person's together (by person, assignment,
    version), a few hundred rows at a time."""
    policy.require(user, "export")
    cohort = get_cohort(session, cohort_id)
    query = (select(m.Essay.assignment_id, m.Essay.user_id, m.Essay.version, m.Essay.words, m.Essay.submitted_at,
                    m.Essay.body, m.User.username, m.User.display_name, m.Scenario.slug)
             .join(m.User, m.User.id == m.Essay.user_id)
             .join(m.Assignment, m.Assignment.id == m.Essay.assignment_id)
             .join(m.ScenarioVersion, m.ScenarioVersion.id == m.Assignment.scenario_version_id)
             .join(m.Scenario, m.Scenario.id == m.ScenarioVersion.scenario_id)
             .where(m.Assignment.cohort_id == cohort.id, m.Essay.kind == "essay")
             .order_by(m.Essay.user_id, m.Essay.assignment_id, m.Essay.version)
             .execution_options(yield_per=ZIP_ROWS))
    return _zip_stream(session, query)


ZIP_ROWS = 200          # essays fetched at a time
ZIP_CHUNK = 1 << 16     # bytes handed out at a time


class _Sink(io.RawIOBase):
    """Where the zip is written: the bytes wait here until the next chunk is handed out (not seekable, so
    zipfile writes each entry's sizes after its data)."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self.waiting = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        self.waiting += len(data)
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        self.waiting = 0
        return out


def _zip_stream(session: Session, query) -> Iterator[bytes]:
    """Runs the query when the first chunk is asked for (by then the request may have ended)."""
    rows = session.execute(query)
    sink = _Sink()
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as manifest:
        writer = csv.writer(manifest)
        writer.writerow(MANIFEST)
        with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
            person, used = None, set[str]()   # a name can only repeat among one person's essays
            for row in rows:
                if row.user_id != person:
                    person, used = row.user_id, set()
                name = essay_filename(row.username, row.slug, row.version)
                if name in used:      # two versions of one scenario assigned to the same cohort
                    name = name.removesuffix(".txt") + f"__a{row.assignment_id}.txt"
                used.add(name)
                body = row.body.encode("utf-8")
                info = zipfile.ZipInfo(name, date_time=row.submitted_at.timetuple()[:6])   # UTC, as stored
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, body)
                writer.writerow([_cell(v) for v in (
                    name, row.username, row.display_name, row.slug, row.version, row.words,
                    _iso(row.submitted_at), hashlib.sha256(body).hexdigest())])
                if sink.waiting >= ZIP_CHUNK:
                    yield sink.take()
            manifest.seek(0)
            with archive.open("manifest.csv", "w") as entry:
                entry.write("\ufeff".encode("utf-8"))
                while text := manifest.read(1 << 16):
                    entry.write(text.encode("utf-8"))
                    yield sink.take()
        yield sink.take()
