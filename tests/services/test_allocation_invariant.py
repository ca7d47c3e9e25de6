"""No essay is ever stuck: after every marking event, each round a submission needs is finalised, held by
someone who can mark it, or shown to the chief examiner as needing an examiner.

The cohort is generated: cadres submit and resubmit, examiners finalise marks (often far apart, so third
marking is needed), go away and come back, join and leave the pool (of one assignment, a cohort or the whole
course), the chief examiner names examiners, releases marks and assigns appeals. Pools start with two
examiners, so the third examiner and the appeal's re-marker often have to wait for someone.

The invariant is computed from the tables (essays, grades, pools, appeals), not from EssayResult, and then
compared with what the services keep and show: EssayResult, the allocation page's list and its counts.
"""
from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from lms_plugin.services import accounts, allocation, appeals, cohorts, discussion, essays, grading, release
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.services.errors import Conflict
from lms_plugin.store import models as m

THRESHOLD = 1.5
# Two criteria with five levels each: totals are 1.25 × (a + b), so two marks are often more than 1.5 apart.
RUBRIC = """\
id: thu-hoach
version: 1
title: Chấm bài thu hoạch
criteria:
""" + "".join(f"""\
  - id: {cid}
    title: {title}
    weight: 1
    levels:
      - {{points: 0, label: Chưa đạt}}
      - {{points: 1, label: Yếu}}
      - {{points: 2, label: Đạt}}
      - {{points: 3, label: Khá}}
      - {{points: 4, label: Tốt}}
""" for cid, title in (("phan-tich", "Phân tích"), ("de-xuat", "Đề xuất")))
ESSAY = ("Xã Tân Hòa cần số hóa hồ sơ đất đai và công khai quy trình một cửa cho người dân (bản {n}).\n\n"
         "## Kiến nghị, đề xuất\n\nĐề nghị huyện hỗ trợ kinh phí số hóa hồ sơ đất đai ngay trong năm nay.\n")
# The sample scenario with a group report marked with the same rubric.
DISCUSSION = """\
discussion:
  prompt: Nhóm thống nhất phương án số hóa hồ sơ
  group_report: true
  rubric: thu-hoach
"""
EVENTS = ("submit", "report", "grade", "absent", "add", "remove", "assign", "release", "appeal")
WALK_WEIGHTS = (4, 1, 6, 2, 1, 1, 3, 2, 3)


@dataclass
class World:
    chief: m.User
    cadres: list[m.User]
    examiners: list[m.User]
    assignments: list[m.Assignment]
    cadre_assignment: dict[int, int]          # cadre id -> assignment id


@pytest.fixture
def catalog(session, tree):
    (tree / "rubrics" / "thu-hoach.yaml").write_text(RUBRIC, encoding="utf-8")
    scenario = tree / "scenarios" / "t1-mau.yaml"
    scenario.write_text(scenario.read_text(encoding="utf-8") + DISCUSSION, encoding="utf-8")
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    session.commit()
    return session


def build(session) -> World:
    """Two cohorts of one course (so a course-wide pool spans both assignments), small pools."""
    chief = accounts.create_user(session, "gv", "lecturer", "mat-khau-123", display_name="Trưởng ban")
    cadres = [accounts.create_user(session, f"hv{i}", "cadre", "mat-khau-123") for i in range(5)]
    examiners = [accounts.create_user(session, f"gk{i}", "examiner", "mat-khau-123", display_name=f"Giám khảo {i}")
                 for i in range(5)]
    cohort_a = cohorts.create_cohort(session, "Lớp A", "khoa-thu")
    cohort_b = cohorts.create_cohort(session, "Lớp B", "khoa-thu")
    for cadre in cadres[:3]:
        cohorts.add_member(session, cohort_a, cadre, cohorts.group_named(session, cohort_a, "Xã Tân Hòa"))
    for cadre in cadres[3:]:
        cohorts.add_member(session, cohort_b, cadre, cohorts.group_named(session, cohort_b, "Xã Bình An"))
    first = cohorts.assign_scenario(session, cohort_a, "t1-mau", examiners=examiners[:2])
    second = cohorts.assign_scenario(session, cohort_b, "t1-mau", examiners=examiners[1:3])
    owner = {c.id: first.id for c in cadres[:3]} | {c.id: second.id for c in cadres[3:]}
    session.flush()
    return World(chief, cadres, examiners, [first, second], owner)


# The events. Each picks, from the state of the tables, a move a person could make; ``a``, ``b``, ``c`` choose.

def play(session, world: World, event: tuple[str, int, int, int]) -> None:
    kind, a, b, c = event
    globals()[f"_{kind}"](session, world, a, b, c)


def _submit(session, world, a, b, c):
    cadre = world.cadres[a % len(world.cadres)]
    assignment = session.get(m.Assignment, world.cadre_assignment[cadre.id])
    if assignment.grades_released_at is not None and essays.latest_essay(session, cadre, assignment.id):
        with pytest.raises(Conflict):
            essays.submit_essay(session, cadre, assignment.id, ESSAY.format(n=b))
        return
    essays.submit_essay(session, cadre, assignment.id, ESSAY.format(n=b))


def _report(session, world, a, b, c):
    """A member of a group writes the group report and submits it (a group submits once)."""
    cadre = world.cadres[a % len(world.cadres)]
    assignment_id = world.cadre_assignment[cadre.id]
    current = discussion.get_group_report(session, cadre, assignment_id)
    if current.submitted_at is not None:
        return
    discussion.save_group_report(session, cadre, assignment_id, f"<p>{ESSAY.format(n=b)}</p>",
                                 revision=current.revision)
    discussion.submit_group_report(session, cadre, assignment_id)


def _grade(session, world, a, b, c):
    open_rounds = list(session.scalars(select(m.Grade).where(m.Grade.finalised_at.is_(None)).order_by(m.Grade.id)))
    if not open_rounds:
        return
    grade = open_rounds[a % len(open_rounds)]
    examiner = session.get(m.User, grade.examiner_id)
    grading.grade_essay(session, examiner, grade.essay_id, {"phan-tich": b % 5, "de-xuat": c % 5},
                        {"phan-tich": "Nhận xét"}, final=True)


def _pool_rows(session):
    return list(session.scalars(select(m.AssignmentExaminer).order_by(m.AssignmentExaminer.id)))


def _absent(session, world, a, b, c):
    rows = _pool_rows(session)
    if rows:
        row = rows[a % len(rows)]
        # mostly a toggle (away, then back); sometimes the same state again
        allocation.set_absent(session, world.chief, row.assignment_id, row.examiner_id,
                              (not row.absent) if b % 4 else row.absent)


def _add(session, world, a, b, c):
    examiner = world.examiners[a % len(world.examiners)]
    allocation.add_to_pool(session, world.chief, world.assignments[b % 2].id, examiner.id,
                           scope=("assignment", "cohort", "course")[c % 3])


def _remove(session, world, a, b, c):
    rows = _pool_rows(session)
    if rows:
        row = rows[a % len(rows)]
        allocation.remove_from_pool(session, world.chief, row.assignment_id, row.examiner_id)


def _assign(session, world, a, b, c):
    """The chief examiner names someone for a round nobody holds, or takes an open round from its holder."""
    wanted = []
    for assignment in world.assignments:
        view = allocation.allocation(session, world.chief, assignment.id, limit=1000)
        wanted += [(item.essay_id, r) for item in view.needs_examiner for r in item.unstaffed]
    if not wanted or c % 3 == 0:
        wanted += [(g.essay_id, g.round) for g in session.scalars(
            select(m.Grade).where(m.Grade.finalised_at.is_(None)).order_by(m.Grade.id))]
    if not wanted:
        return
    essay_id, round_ = wanted[a % len(wanted)]
    essay = session.get(m.Essay, essay_id)
    others = {g.examiner_id for g in session.scalars(select(m.Grade).where(m.Grade.essay_id == essay_id))
              if g.round != round_}
    # members of the pool, and the chief examiner himself; a member marked absent is refused
    present = allocation.pool_ids(session, essay.assignment_id)
    choices = [e for e in allocation.pool_ids(session, essay.assignment_id, present_only=False) + [world.chief.id]
               if e not in others]
    if not choices:
        return
    examiner_id = choices[b % len(choices)]
    if examiner_id != world.chief.id and examiner_id not in present:
        with pytest.raises(Conflict, match="đang vắng"):
            allocation.assign_round(session, world.chief, essay_id, round_, examiner_id)
        return
    allocation.assign_round(session, world.chief, essay_id, round_, examiner_id)


def _release(session, world, a, b, c):
    assignment = world.assignments[a % 2]
    seen = release.preview(session, world.chief, assignment.id)
    done = release.release(session, world.chief, assignment.id, expected=seen.to_release + seen.appeals_to_release)
    assert (done.released, done.appeals) == (seen.to_release, seen.appeals_to_release)


def _appeal(session, world, a, b, c):
    candidates = [e for e, r in session.execute(
        select(m.Essay, m.EssayResult).join(m.EssayResult, m.EssayResult.essay_id == m.Essay.id)
        .where(m.EssayResult.released_at.is_not(None)).order_by(m.Essay.id))
        if appeals.window_end(session, e, r) is not None]
    if candidates:
        essay = candidates[a % len(candidates)]
        appeals.file_appeal(session, essay.author, essay.id, "Em đề nghị chấm lại phần kiến nghị.")


# The invariant, from the tables

def _reconcile(done: dict[int, float]) -> tuple[str, float | None, float | None]:
    """status, gap, final — written out again here, on purpose, from docs/rubrics.md."""
    if 1 not in done or 2 not in done:
        return "awaiting_marks", None, None
    gap = round(abs(done[1] - done[2]), 4)
    if gap <= THRESHOLD:
        return "final", gap, _quarter((done[1] + done[2]) / 2)
    if 3 not in done:
        return "needs_third", gap, None
    d1, d2 = abs(done[1] - done[3]), abs(done[2] - done[3])
    partner = (done[1] + done[2]) / 2 if d1 == d2 else done[1] if d1 < d2 else done[2]
    return "final", gap, _quarter((done[3] + partner) / 2)


def _quarter(value: float) -> float:
    return math.floor(value * 4 + 0.5 + 1e-9) / 4


def check(session, world: World) -> dict[str, int]:
    """Assert the invariant; returns counts of what was seen, for the test to show the walk went somewhere."""
    session.flush()
    chief = world.chief.id
    latest: dict[tuple, m.Essay] = {}
    for essay in session.scalars(select(m.Essay)):
        key = (essay.assignment_id, essay.kind, essay.group_id if essay.kind == "report" else essay.user_id)
        if key not in latest or latest[key].version < essay.version:
            latest[key] = essay
    rounds: dict[int, dict[int, m.Grade]] = defaultdict(dict)
    for grade in session.scalars(select(m.Grade)):
        assert grade.round not in rounds[grade.essay_id], "two rows for one round"
        rounds[grade.essay_id][grade.round] = grade
    superseded = {e.id for e in session.scalars(select(m.Essay))} - {e.id for e in latest.values()}
    assert not [g for e in superseded for g in rounds[e].values() if g.finalised_at is None], \
        "nobody is left marking a version its author has replaced"
    present: dict[int, set[int]] = defaultdict(set)
    for row in _pool_rows(session):
        if not row.absent:
            present[row.assignment_id].add(row.examiner_id)
    filed = {a.essay_id: a for a in session.scalars(select(m.Appeal))}
    results = {r.essay_id: r for r in session.scalars(select(m.EssayResult))}
    seen = defaultdict(int)

    for assignment in world.assignments:
        view = allocation.allocation(session, world.chief, assignment.id, limit=1000)
        listed = {item.essay_id: item for item in view.needs_examiner}
        counts = {kind: {s: 0 for s in allocation.STAGES + ("needs_examiner", "released")}
                  for kind in ("essay", "report")}
        needing = set()
        for essay in (e for e in latest.values() if e.assignment_id == assignment.id):
            held = rounds[essay.id]
            holders = [g.examiner_id for g in held.values()]
            assert len(holders) == len(set(holders)), f"essay {essay.id}: one examiner holds two rounds"
            done = {r: g.total for r, g in held.items() if r in (1, 2, 3) and g.finalised_at is not None}
            status, gap, final = _reconcile(done)
            appeal = filed.get(essay.id)
            required = [1, 2] + ([3] if gap is not None and gap > THRESHOLD else []) + \
                ([4] if appeal is not None and appeal.status in ("submitted", "assigned") else [])
            unstaffed = tuple(r for r in required if r not in held)
            for r, grade in held.items():
                if grade.finalised_at is None:
                    assert r in required, f"essay {essay.id}: round {r} is open but not needed"
                    assert grade.examiner_id in present[assignment.id] or grade.examiner_id == chief, \
                        f"essay {essay.id}: round {r} waits for examiner {grade.examiner_id}, who is away or gone"
            result = results[essay.id]
            assert (result.status, result.marks_done, result.gap) == (status, len(done), gap), essay.id
            assert result.needs_examiner == bool(unstaffed), f"essay {essay.id}: needs {unstaffed}"
            if unstaffed:
                needing.add(essay.id)
                assert essay.id in listed and listed[essay.id].unstaffed == unstaffed, \
                    f"essay {essay.id} needs an examiner for {unstaffed} but the chief is not shown it"
            if appeal is not None and appeal.status == "released":
                assert result.final == appeal.outcome
            elif result.corrected_at is None:
                assert result.final == final, essay.id
            if appeal is not None:
                # the appeal's status says where its re-marking is
                assert (appeal.status == "submitted") == (4 not in held), essay.id
                assert (appeal.status == "assigned") == (4 in held and held[4].finalised_at is None), essay.id
            if appeal is not None and appeal.status in ("decided", "released"):
                remark = held[4].total
                assert appeal.outcome == (remark if abs(remark - appeal.previous_final) >= 0.25
                                          else appeal.previous_final)
            stage = status if status != "awaiting_marks" else "awaiting_first" if not done else "awaiting_second"
            counts[essay.kind][stage] += 1
            counts[essay.kind]["needs_examiner"] += bool(unstaffed)
            counts[essay.kind]["released"] += result.released_at is not None
            seen[essay.kind] += 1
            seen[stage] += 1
            seen["third"] += 3 in required
            seen["needs_examiner"] += bool(unstaffed)
            seen["appeal"] += 4 in required
        assert set(listed) == needing, "the allocation page lists exactly the latest submissions needing someone"
        assert view.needs_examiner_total == len(needing)
        assert view.counts == counts
    return seen


def run(session, world, events) -> dict[str, int]:
    seen = defaultdict(int)
    for key, n in check(session, world).items():
        seen[key] += n
    for event in events:
        play(session, world, event)
        for key, n in check(session, world).items():
            seen[key] += n
    return seen


# The tests

event = st.tuples(st.sampled_from(EVENTS), st.integers(0, 99), st.integers(0, 99), st.integers(0, 99))


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=st.lists(event, min_size=1, max_size=30))
def test_no_essay_is_ever_stuck(catalog, events):
    session = catalog
    try:
        run(session, build(session), events)
    finally:
        session.rollback()


def walk(seed: int, steps: int) -> list[tuple[str, int, int, int]]:
    rng = random.Random(seed)
    return [(rng.choices(EVENTS, WALK_WEIGHTS)[0], rng.randrange(100), rng.randrange(100), rng.randrange(100))
            for _ in range(steps)]


@pytest.mark.parametrize("seed", [1, 5])
def test_a_seeded_walk_never_leaves_an_essay_stuck(catalog, seed):
    """The same invariant on every backend (PostgreSQL too), over a longer walk that gets to appeals."""
    session = catalog
    seen = run(session, build(session), walk(seed, 80))
    # the walk went through the hard parts, not only the easy ones
    assert all(seen[k] for k in ("third", "needs_examiner", "final", "appeal", "report")), dict(seen)


# What the walk found, kept as plain cases

def test_a_resubmission_takes_the_earlier_version_out_of_the_queues_and_the_list(catalog):
    session = catalog
    world = build(session)
    cadre, (gk0, gk1) = world.cadres[0], world.examiners[:2]
    first = essays.submit_essay(session, cadre, world.assignments[0].id, ESSAY.format(n=1))
    grading.grade_essay(session, gk0, first.id, {"phan-tich": 4, "de-xuat": 4}, final=True)
    grading.grade_essay(session, gk1, first.id, {"phan-tich": 0, "de-xuat": 0}, final=True)   # 10 and 0
    assert [i.essay_id for i in allocation.allocation(session, world.chief, first.assignment_id).needs_examiner] \
        == [first.id]                                    # a third examiner is needed, the pool has only two
    second = essays.submit_essay(session, cadre, world.assignments[0].id, ESSAY.format(n=2))
    view = allocation.allocation(session, world.chief, first.assignment_id)
    assert view.needs_examiner == [] and view.counts["essay"]["awaiting_first"] == 1
    todo = [(q.essay_id, q.round) for q in grading.grading_queue(session, gk0) if q.status == "todo"]
    assert todo == [(second.id, 1)]
    # adding an examiner staffs nothing for the superseded version
    allocation.add_to_pool(session, world.chief, first.assignment_id, world.examiners[3].id)
    assert grading.grading_queue(session, world.examiners[3]) == []
    check(session, world)


def test_an_appeal_whose_remarker_goes_away_waits_for_the_chief_again(catalog):
    session = catalog
    world = build(session)
    cadre, (gk0, gk1, gk2) = world.cadres[0], world.examiners[:3]
    aid = world.assignments[0].id
    receipt = essays.submit_essay(session, cadre, aid, ESSAY.format(n=1))
    grading.grade_essay(session, gk0, receipt.id, {"phan-tich": 3, "de-xuat": 3}, final=True)   # 7.5
    grading.grade_essay(session, gk1, receipt.id, {"phan-tich": 3, "de-xuat": 2}, final=True)   # 6.25
    release.release(session, world.chief, aid)
    appeals.file_appeal(session, cadre, receipt.id, "Em đề nghị chấm lại phần kiến nghị.")
    allocation.add_to_pool(session, world.chief, aid, gk2.id)
    allocation.assign_round(session, world.chief, receipt.id, 4, gk2.id)
    assert appeals.appeals_of(session, world.chief, aid)[0].status == "assigned"

    allocation.set_absent(session, world.chief, aid, gk2.id, True)
    with pytest.raises(Conflict, match="đang vắng"):              # and cannot be named again while away
        allocation.assign_round(session, world.chief, receipt.id, 4, gk2.id)
    [item] = allocation.allocation(session, world.chief, aid).needs_examiner
    assert (item.essay_id, item.unstaffed) == (receipt.id, (4,))
    assert [(a.status, a.examiner) for a in appeals.appeals_of(session, world.chief, aid)] == [("submitted", None)]
    assert grading.grading_queue(session, gk2) == []
    check(session, world)
    allocation.assign_round(session, world.chief, receipt.id, 4, world.chief.id)
    outcome = grading.grade_essay(session, world.chief, receipt.id, {"phan-tich": 4, "de-xuat": 4}, final=True)
    assert outcome.result == 7.0                         # (7.5 + 6.25) / 2 = 6.875 → 7.0, until the release
    release.release(session, world.chief, aid)
    assert grading.grade_for_author(session, cadre, receipt.id).final == 10.0    # the re-mark replaces it
    check(session, world)
