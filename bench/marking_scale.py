"""The chief examiner's pages at the size of a city's course: how long the allocation view, the release
preview and a release take with 10,000 essays, a pool of 40 examiners and a fifth of the essays marked (some
needing a third examiner), on SQLite or PostgreSQL.

    .venv/bin/python bench/marking_scale.py [--essays 10000] [--database postgresql://postgres@127.0.0.1/test]

Essays go in through services.essays.submit_essay (allocation included; similarity jobs left out), marks
through services.grading.grade_essay; each figure is the median of five calls.
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ESSAY = ("Sau khi hợp nhất, xã tồn đọng nhiều hồ sơ đất đai vì dữ liệu của hai xã cũ chưa thống nhất. " * 70
         + "\n\n## Kiến nghị, đề xuất\n\nĐề nghị tỉnh hướng dẫn chỉnh lý hồ sơ địa chính.\n")


def median_ms(call, times: int = 5) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--essays", type=int, default=10_000)
    parser.add_argument("--examiners", type=int, default=40)
    parser.add_argument("--database", default=None, help="default: a new SQLite file")
    args = parser.parse_args()

    from sqlalchemy import select, text

    from lms_plugin.services import jobs
    jobs.submit = lambda *a, **k: None          # similarity checks are measured in bench/speed.py
    from lms_plugin.services import accounts, allocation, cohorts, essays, grading, release
    from lms_plugin.services.catalog import load_catalog
    from lms_plugin.services.content import import_catalog
    from lms_plugin.store import db, models as m

    if args.database:
        schema = "bench_" + uuid.uuid4().hex[:8]
        admin = db.make_engine(args.database)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = db.make_engine(f"{args.database}?options=-csearch_path%3D{schema}")
    else:
        engine = db.make_engine(f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}")
    db.upgrade(engine)
    factory = db.session_factory(engine)
    rng = random.Random(7)
    started = time.perf_counter()
    with db.unit_of_work(factory) as session:
        import_catalog(session, load_catalog([ROOT / "scenarios", ROOT / "rubrics"]))
        cohort = cohorts.create_cohort(session, "Lớp thành phố", "boi-duong-can-bo-co-so-2026")
        groups = [cohorts.group_named(session, cohort, f"Xã số {i}") for i in range(168)]
        chief = accounts.create_user(session, "truongban", "lecturer", None)
        pool = [accounts.create_user(session, f"gk{i}", "examiner", None) for i in range(args.examiners)]
        assignment = cohorts.assign_scenario(session, cohort, "t1-ton-dong-ho-so-dat-dai", examiners=pool)
        cadres = []
        for i in range(args.essays):
            person = accounts.create_user(session, f"hv{i}", "cadre", None)
            cohorts.add_member(session, cohort, person, groups[i % len(groups)])
            cadres.append(person.id)
        assignment_id, chief_id = assignment.id, chief.id
    for start in range(0, len(cadres), 500):
        with db.unit_of_work(factory) as session:
            for user_id in cadres[start:start + 500]:
                essays.submit_essay(session, session.get(m.User, user_id), assignment_id, ESSAY)
    seeded = time.perf_counter() - started
    marked = 0
    with db.unit_of_work(factory) as session:
        rubric = grading.essay_rubric(session.get(m.Assignment, assignment_id))
        # both rounds of the first fifth of the essays
        grades = session.execute(select(m.Grade.essay_id, m.Grade.examiner_id).where(m.Grade.round.in_((1, 2)))
                                 .order_by(m.Grade.essay_id, m.Grade.round).limit(2 * args.essays // 5)).all()
    for start in range(0, len(grades), 500):
        with db.unit_of_work(factory) as session:
            for essay_id, examiner_id in grades[start:start + 500]:
                levels = {c.id: rng.choice([lv.points for lv in c.levels]) for c in rubric.criteria}
                notes = {c.id: "Nhận xét" for c in rubric.criteria}
                grading.grade_essay(session, session.get(m.User, examiner_id), essay_id, levels, notes, final=True)
                marked += 1
    with factory() as session:
        chief = session.get(m.User, chief_id)
        view = allocation.allocation(session, chief, assignment_id)
        allocation_ms = median_ms(lambda: allocation.allocation(session, chief, assignment_id))
        preview = release.preview(session, chief, assignment_id)
        preview_ms = median_ms(lambda: release.preview(session, chief, assignment_id))
        started_release = time.perf_counter()
        outcome = release.release(session, chief, assignment_id,
                                  expected=preview.to_release + preview.appeals_to_release)
        session.commit()
        release_ms = (time.perf_counter() - started_release) * 1000
    counts = view.counts["essay"]
    print(f"{engine.dialect.name}: {args.essays} essays, {args.examiners} examiners, {marked} marks finalised "
          f"(seeded in {seeded:.0f} s)")
    print("  states: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"  allocation view (counts, pool load and pace, first 200 waiting)   {allocation_ms:8.1f} ms")
    print(f"  release preview                                                   {preview_ms:8.1f} ms")
    print(f"  release of {outcome.released} final marks (notifications included)      {release_ms:8.1f} ms")


if __name__ == "__main__":
    main()
