"""Exports of a cohort for organisers and lecturers: grades (CSV, XLSX) and the essays themselves (zip).

Grades: one row per submitted essay version, with each marker's finalised
points per criterion, each marker's total, the final mark and its status.
Column names are stable identifiers (scripts read them); criteria columns are
``m<round>_<criterion id>``. Essays: one UTF-8 .txt per essay holding exactly
the submitted body, plus manifest.csv with the sha256 of every file.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store import models as m
from .cohorts import get_cohort
from .content import rubric_data
from .errors import Forbidden

READERS = ("admin", "lecturer")
ROUNDS = (1, 2, 3)
BASE_COLUMNS = ["cohort", "group", "commune", "username", "name", "scenario", "essay_version", "words",
                "submitted_at"]


@dataclass(frozen=True)
class GradeTable:
    columns: list[str]
    rows: list[list[Any]]


def _require_reader(user: m.User) -> None:
    if user.role not in READERS:
        raise Forbidden("Chỉ giảng viên và người tổ chức lớp được tải dữ liệu xuất")


def _essays(session: Session, cohort: m.Cohort) -> list[tuple[m.Essay, m.Membership | None]]:
    rows = session.execute(
        select(m.Essay, m.Membership).join(m.Assignment, m.Assignment.id == m.Essay.assignment_id)
        .outerjoin(m.Membership, (m.Membership.user_id == m.Essay.user_id)
                   & (m.Membership.cohort_id == m.Assignment.cohort_id))
        .where(m.Assignment.cohort_id == cohort.id)
        .order_by(m.Essay.assignment_id, m.Essay.user_id, m.Essay.version)).all()
    return [(essay, member) for essay, member in rows]


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _iso(moment: datetime | None) -> str:
    return _utc(moment).isoformat(timespec="seconds") if moment else ""


def grade_table(session: Session, user: m.User, cohort_id: int) -> GradeTable:
    _require_reader(user)
    cohort = get_cohort(session, cohort_id)
    essays = _essays(session, cohort)
    criteria: list[str] = []
    for assignment in {e.assignment_id: e.assignment for e, _ in essays}.values():
        if assignment.essay_rubric_version is not None:
            for criterion in rubric_data(assignment.essay_rubric_version).criteria:
                if criterion.id not in criteria:
                    criteria.append(criterion.id)
    essay_ids = [e.id for e, _ in essays]
    grades: dict[tuple[int, int], m.Grade] = {}
    results: dict[int, m.EssayResult] = {}
    if essay_ids:
        for grade in session.scalars(select(m.Grade).where(m.Grade.essay_id.in_(essay_ids),
                                                           m.Grade.finalised_at.is_not(None))):
            grades[(grade.essay_id, grade.round)] = grade
        results = {r.essay_id: r for r in session.scalars(
            select(m.EssayResult).where(m.EssayResult.essay_id.in_(essay_ids)))}
    columns = (BASE_COLUMNS + [f"m{r}_{c}" for r in ROUNDS for c in criteria]
               + [f"m{r}_total" for r in ROUNDS] + ["final", "status"])
    rows = []
    for essay, member in essays:
        group = member.group if member is not None else None
        row: list[Any] = [cohort.name, group.name if group else "", group.commune if group else essay.author.commune,
                          essay.author.username, essay.author.display_name,
                          essay.assignment.scenario_version.scenario.slug, essay.version, essay.words,
                          _iso(essay.submitted_at)]
        for r in ROUNDS:
            grade = grades.get((essay.id, r))
            row += [grade.scores.get(c) if grade else None for c in criteria]
        row += [grades[(essay.id, r)].total if (essay.id, r) in grades else None for r in ROUNDS]
        result = results.get(essay.id)
        row += [result.final if result else None, result.status if result else "awaiting_marks"]
        rows.append(row)
    return GradeTable(columns, rows)


def grades_csv(table: GradeTable) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens Vietnamese names correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if v is None else (f"{v:g}" if isinstance(v, float) else v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def grades_xlsx(table: GradeTable, sheet_title: str = "grades") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title[:31]
    sheet.append(table.columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append(row)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _safe(part: str) -> str:
    return re.sub(r"[^\w.-]+", "_", part, flags=re.UNICODE).strip("_") or "x"


def essay_filename(essay: m.Essay) -> str:
    slug = essay.assignment.scenario_version.scenario.slug
    return f"{_safe(essay.author.username)}__{_safe(slug)}__v{essay.version}.txt"


def essays_zip(session: Session, user: m.User, cohort_id: int) -> bytes:
    _require_reader(user)
    cohort = get_cohort(session, cohort_id)
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(["file", "username", "name", "scenario", "essay_version", "words", "submitted_at", "sha256"])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        used: set[str] = set()
        for essay, _ in _essays(session, cohort):
            name = essay_filename(essay)
            if name in used:      # two versions of one scenario assigned to the same cohort
                name = name.removesuffix(".txt") + f"__a{essay.assignment_id}.txt"
            used.add(name)
            body = essay.body.encode("utf-8")
            stamp = _utc(essay.submitted_at)
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, body)
            writer.writerow([name, essay.author.username, essay.author.display_name,
                             essay.assignment.scenario_version.scenario.slug, essay.version, essay.words,
                             _iso(essay.submitted_at), hashlib.sha256(body).hexdigest()])
        archive.writestr("manifest.csv", manifest.getvalue().encode("utf-8-sig"))
    return out.getvalue()

