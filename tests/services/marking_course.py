"""A small cohort whose scenario asks for a group report marked with its own rubric (bao-cao), used by the
export and group-report tests: two groups, four examiners, a lecturer and an organiser."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from lms_plugin.services import accounts, cohorts, grading
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.store import models as m
from tests.samples import SCENARIO

REPORT_RUBRIC = """\
id: bao-cao
version: 1
title: Chấm báo cáo nhóm
criteria:
  - id: lap-luan
    title: Lập luận của nhóm
    weight: 1
    levels:
      - {points: 0, label: Chưa đạt}
      - {points: 1, label: Đạt}
      - {points: 2, label: Khá}
      - {points: 3, label: Tốt}
      - {points: 4, label: Xuất sắc}
"""
DISCUSSION = """\
discussion:
  prompt: Nhóm thống nhất phương án và nộp báo cáo chung.
  group_report: true
  rubric: bao-cao
"""
REPORT_BODY = "<p>Nhóm <strong>Tân Hòa</strong> thống nhất: mở điểm một cửa lưu động hai buổi mỗi tuần.</p>"


@dataclass
class Course:
    people: dict[str, m.User]
    cohort: m.Cohort
    assignment: m.Assignment
    groups: dict[str, m.Group]


def build(session, tree) -> Course:
    """hv1 and hv3 in Xã Tân Hòa, hv2 and hv4 in Xã Bình An; gk1-gk3 in the pool, gk4 outside it."""
    (tree / "rubrics" / "bao-cao.yaml").write_text(REPORT_RUBRIC, encoding="utf-8")
    (tree / "scenarios" / "t1-mau.yaml").write_text(SCENARIO + DISCUSSION, encoding="utf-8")
    catalog = load_catalog(["scenarios", "rubrics"])
    assert catalog.ok, catalog.errors
    import_catalog(session, catalog)
    people = {name: accounts.create_user(session, name, role, None, display_name=display, commune=commune)
              for name, role, display, commune in [
                  ("gv", "lecturer", "Giảng viên", ""), ("qt", "admin", "Quản trị", ""),
                  ("hv1", "cadre", "Đặng Văn An", "Tân Hòa"), ("hv2", "cadre", "Bùi Thị Dung", "Bình An"),
                  ("hv3", "cadre", "Vũ Đức Cường", "Tân Hòa"), ("hv4", "cadre", "Đỗ Minh Đức", "Bình An"),
                  ("gk1", "examiner", "GK 1", ""), ("gk2", "examiner", "GK 2", ""), ("gk3", "examiner", "GK 3", ""),
                  ("gk4", "examiner", "GK 4", "")]}
    cohort = cohorts.create_cohort(session, "Lớp 1", "khoa-thu")
    groups = {"tan-hoa": cohorts.group_named(session, cohort, "Xã Tân Hòa", "Tân Hòa"),
              "binh-an": cohorts.group_named(session, cohort, "Xã Bình An", "Bình An")}
    for name, group in [("hv1", "tan-hoa"), ("hv3", "tan-hoa"), ("hv2", "binh-an"), ("hv4", "binh-an")]:
        cohorts.add_member(session, cohort, people[name], groups[group])
    assignment = cohorts.assign_scenario(session, cohort, "t1-mau",
                                         examiners=[people["gk1"], people["gk2"], people["gk3"]])
    session.flush()
    return Course(people, cohort, assignment, groups)


def mark(session, essay_id: int, points: list[float], criterion: str = "phan-tich", comment: str = "") -> None:
    """Each waiting round in turn finalises the given points (the rubric picks the rest)."""
    for value in points:
        grade = session.scalar(select(m.Grade).where(m.Grade.essay_id == essay_id, m.Grade.finalised_at.is_(None))
                               .order_by(m.Grade.round))
        grading.grade_essay(session, grade.examiner, essay_id, {criterion: value},
                            {criterion: comment} if comment else None, final=True)
