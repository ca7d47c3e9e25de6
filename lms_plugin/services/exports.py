"""Exports of a cohort for organisers and lecturers: grades (CSV, XLSX) and the essays themselves (zip).

Grades: one row per cadre of the cohort and assignment, whether or not they
submitted ("Chưa nộp"), for their latest essay: each round's finalised points
per criterion and total, the final mark, whether it is released, late and
auto-submitted flags, the appeal (status, previous mark, outcome), and the
final mark of their group's report in its own columns. Examiners are never
named (blind marking). Headers are in the reader's language: the web passes its
gettext; criteria are shown by title. Rows are built per assignment in batches
of at most ``CHUNK`` cadres, a few queries per batch, never one per row.

Essays: one UTF-8 .txt per essay holding exactly the submitted body, plus
manifest.csv with the sha256 of every file.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ..sanitize import spreadsheet_cell
from ..store import models as m
from . import policy
from .cohorts import get_cohort
from .content import rubric_data, scenario_data
from .errors import N_

ROUNDS = (1, 2, 3)
CHUNK = 1000                 # ids per IN list, cadres per batch

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


def _chunks(ids: list[int], size: int = CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


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
    return _columns(_, criteria), _rows(session, _, cohort, assignments, [cid for cid, _t in criteria])


@dataclass(frozen=True)
class _Member:
    user_id: int
    username: str
    name: str
    commune: str
    group_id: int | None


def _members(session: Session, cohort: m.Cohort, groups: dict[int, m.Group]) -> list[_Member]:
    """Every member of the cohort, by group then name in Vietnamese order (columns only: no ORM object per
    cadre). Sorted here, not in SQL: SQLite and PostgreSQL collate "Đ" differently."""
    rows = session.execute(
        select(m.User.id, m.User.username, m.User.display_name, m.User.commune, m.Membership.group_id)
        .join(m.Membership, m.Membership.user_id == m.User.id).where(m.Membership.cohort_id == cohort.id))
    members = [_Member(*row) for row in rows]
    members.sort(key=lambda p: (p.group_id is None, vietnamese_key(groups[p.group_id].name if p.group_id else ""),
                                vietnamese_key(p.name), p.username, p.user_id))
    return members


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


def _rows(session: Session, _: Gettext, cohort: m.Cohort, assignments: list[m.Assignment],
          criteria: list[str]) -> Iterator[list[Any]]:
    groups = {g.id: g for g in session.scalars(select(m.Group).where(m.Group.cohort_id == cohort.id))}
    members = _members(session, cohort, groups)
    yes, no = _(YES), _(NO)
    for assignment in assignments:
        slug = assignment.scenario_version.scenario.slug
        title = scenario_data(assignment.scenario_version).title
        reports = _group_reports(session, assignment.id)
        for start in range(0, len(members), CHUNK):
            people = members[start:start + CHUNK]
            essays = _latest_essays(session, assignment.id, [p.user_id for p in people])
            ids = [e.id for e in essays.values()]
            results, grades, appeals = _results(session, ids), _grades(session, ids), _appeals(session, ids)
            for person in people:
                group = groups.get(person.group_id) if person.group_id is not None else None
                row: list[Any] = [cohort.name, group.name if group else "",
                                  group.commune if group else person.commune, person.username, person.name,
                                  slug, title]
                essay = essays.get(person.user_id)
                result = results.get(essay.id) if essay else None
                if essay is None:
                    row += [None, None, None, "", "", _(NOT_SUBMITTED)]
                else:
                    row += [essay.version, essay.words, _iso(essay.submitted_at), yes if essay.late else no,
                            yes if essay.auto_submitted else no, _status(_, result.status if result else None)]
                marks = grades.get(essay.id, {}) if essay else {}
                for r in ROUNDS:
                    row += [marks[r].scores.get(c) if r in marks else None for c in criteria]
                row += [marks[r].total if r in marks else None for r in ROUNDS]
                row += [result.final if result else None,
                        "" if essay is None else (yes if result and result.released_at else no)]
                appeal = appeals.get(essay.id) if essay else None
                row += ([_(APPEAL_STATUS[appeal.status]), appeal.previous_final, appeal.outcome] if appeal
                        else ["", None, None])
                row += _report_cells(_, reports, person.group_id, yes, no)
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


def _latest_essays(session: Session, assignment_id: int, user_ids: list[int]) -> dict[int, Any]:
    """Each cadre's latest essay (not a group report), without its body."""
    if not user_ids:
        return {}
    newest = (select(m.Essay.user_id, func.max(m.Essay.version).label("v"))
              .where(m.Essay.assignment_id == assignment_id, m.Essay.kind == "essay", m.Essay.user_id.in_(user_ids))
              .group_by(m.Essay.user_id).subquery())
    rows = session.execute(
        select(m.Essay.id, m.Essay.user_id, m.Essay.version, m.Essay.words, m.Essay.submitted_at, m.Essay.late,
               m.Essay.auto_submitted)
        .join(newest, (newest.c.user_id == m.Essay.user_id) & (newest.c.v == m.Essay.version))
        .where(m.Essay.assignment_id == assignment_id, m.Essay.kind == "essay"))
    return {row.user_id: row for row in rows}


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


def _results(session: Session, essay_ids: list[int]) -> dict[int, m.EssayResult]:
    out: dict[int, m.EssayResult] = {}
    for ids in _chunks(essay_ids):
        out.update((r.essay_id, r) for r in session.scalars(select(m.EssayResult)
                                                             .where(m.EssayResult.essay_id.in_(ids))))
    return out


def _grades(session: Session, essay_ids: list[int]) -> dict[int, dict[int, Any]]:
    """Finalised marks of rounds 1-3 (the appeal's re-marking shows as the appeal's outcome); never who marked."""
    out: dict[int, dict[int, Any]] = {}
    for ids in _chunks(essay_ids):
        for row in session.execute(select(m.Grade.essay_id, m.Grade.round, m.Grade.scores, m.Grade.total).where(
                m.Grade.essay_id.in_(ids), m.Grade.finalised_at.is_not(None), m.Grade.round.in_(ROUNDS))):
            out.setdefault(row.essay_id, {})[row.round] = row
    return out


def _appeals(session: Session, essay_ids: list[int]) -> dict[int, m.Appeal]:
    out: dict[int, m.Appeal] = {}
    for ids in _chunks(essay_ids):
        out.update((a.essay_id, a) for a in session.scalars(select(m.Appeal).where(m.Appeal.essay_id.in_(ids))))
    return out


def _cell(value: Any) -> Any:
    """A CSV cell: text a spreadsheet would run is neutralised before numbers become text."""
    value = spreadsheet_cell(value)
    return "" if value is None else (f"{value:g}" if isinstance(value, float) else value)


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
        writer.writerow([_cell(v) for v in row])
        count += 1
        if count % lines == 0:
            yield out.getvalue().encode("utf-8-sig" if first else "utf-8")
            first = False
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8-sig" if first else "utf-8")


def grades_xlsx(table: GradeTable, sheet_title: str = "grades") -> bytes:
    """Written in openpyxl's write-only mode: rows go out as they come, memory stays flat."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_safe_sheet_title(sheet_title))
    sheet.freeze_panes = "A2"
    header = []
    for name in table.columns:
        cell = _xlsx_cell(sheet, name)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in table.rows:
        sheet.append([_xlsx_cell(sheet, v) if isinstance(v, str) else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


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


def essay_filename(essay: m.Essay) -> str:
    slug = essay.assignment.scenario_version.scenario.slug
    return f"{_safe(essay.author.username)}__{_safe(slug)}__v{essay.version}.txt"


def _essays(session: Session, cohort: m.Cohort) -> list[m.Essay]:
    """Every essay version of the cohort (group reports are not anyone's essay), authors loaded with them."""
    return list(session.scalars(
        select(m.Essay).options(joinedload(m.Essay.author)).join(m.Assignment, m.Assignment.id == m.Essay.assignment_id)
        .where(m.Assignment.cohort_id == cohort.id, m.Essay.kind == "essay")
        .order_by(m.Essay.assignment_id, m.Essay.user_id, m.Essay.version)))


def essays_zip(session: Session, user: m.User, cohort_id: int) -> bytes:
    policy.require(user, "export")
    cohort = get_cohort(session, cohort_id)
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(["file", "username", "name", "scenario", "essay_version", "words", "submitted_at", "sha256"])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        used: set[str] = set()
        for essay in _essays(session, cohort):
            name = essay_filename(essay)
            if name in used:      # two versions of one scenario assigned to the same cohort
                name = name.removesuffix(".txt") + f"__a{essay.assignment_id}.txt"
            used.add(name)
            body = essay.body.encode("utf-8")
            stamp = essay.submitted_at          # UTC, as the store gives it
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, body)
            writer.writerow([_cell(v) for v in (
                name, essay.author.username, essay.author.display_name,
                essay.assignment.scenario_version.scenario.slug, essay.version, essay.words,
                _iso(essay.submitted_at), hashlib.sha256(body).hexdigest())])
        archive.writestr("manifest.csv", manifest.getvalue().encode("utf-8-sig"))
    return out.getvalue()
