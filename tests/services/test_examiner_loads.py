"""The examiner load counters (examiner_loads, kept by triggers on grades) always equal what they replace: the
count of each examiner's unfinalised grades, per shard (essay id % 16), after whatever the services or SQL do."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, func, insert, literal_column, select, text, update

from lms_plugin.services import allocation, essays, grading
from lms_plugin.store import db, models as m
from tests.services.test_allocation_invariant import ESSAY, build, catalog, play, walk  # noqa: F401 (a fixture)

SHARDS = 16


def counted(session) -> dict[tuple[int, int], int]:
    """What the counters replace: unfinalised grades per (examiner, shard), counted from the grades."""
    session.flush()
    shard = m.Grade.essay_id % literal_column(str(SHARDS))
    return {(e, s): n for e, s, n in session.execute(
        select(m.Grade.examiner_id, shard, func.count())
        .where(m.Grade.finalised_at.is_(None)).group_by(m.Grade.examiner_id, shard))}


def kept(session) -> dict[tuple[int, int], int]:
    session.flush()
    return {(e, s): n for e, s, n in session.execute(
        select(m.ExaminerLoad.examiner_id, m.ExaminerLoad.shard, m.ExaminerLoad.open_rounds)) if n}


def assert_kept(session) -> None:
    assert kept(session) == counted(session)
    assert not session.scalar(select(func.count()).where(m.ExaminerLoad.open_rounds < 0))


def per_examiner(loads: dict[tuple[int, int], int]) -> dict[int, int]:
    total: dict[int, int] = {}
    for (examiner, _shard), n in loads.items():
        total[examiner] = total.get(examiner, 0) + n
    return total


@pytest.mark.parametrize("seed", [1, 5])
def test_the_counters_follow_every_marking_event_of_a_walk(catalog, seed):    # noqa: F811 (the fixture)
    """Submissions, resubmissions (superseded rounds withdrawn), finalised marks, absences, pool changes,
    rounds named or taken away by the chief examiner, appeals: after each, the counters equal the count."""
    session = catalog
    world = build(session)
    markers = [e.id for e in world.examiners] + [world.chief.id]
    seen, most = set(), 0
    for event in walk(seed, 80):
        play(session, world, event)
        assert_kept(session)
        assert allocation.open_loads(session, markers) == per_examiner(counted(session))
        seen.add(event[0])
        most = max(most, sum(counted(session).values()))
    assert {"submit", "grade", "absent", "remove", "assign", "appeal"} <= seen and most >= 3


def test_each_change_to_a_grade_moves_the_counters(catalog):    # noqa: F811 (the fixture)
    session = catalog
    world = build(session)
    gk0, gk1, gk2 = world.examiners[:3]
    aid = world.assignments[0].id
    receipt = essays.submit_essay(session, world.cadres[0], aid, ESSAY.format(n=1))
    shard = receipt.id % SHARDS
    assert kept(session) == {(gk0.id, shard): 1, (gk1.id, shard): 1}
    assert allocation.open_loads(session, [gk0.id, gk1.id, gk2.id]) == {gk0.id: 1, gk1.id: 1}

    grading.grade_essay(session, gk0, receipt.id, {"phan-tich": 3, "de-xuat": 3}, final=True)   # finalised: -1
    assert kept(session) == {(gk1.id, shard): 1}
    allocation.add_to_pool(session, world.chief, aid, gk2.id)
    allocation.assign_round(session, world.chief, receipt.id, 2, gk2.id)          # taken from gk1, given to gk2
    assert kept(session) == {(gk2.id, shard): 1}
    allocation.remove_from_pool(session, world.chief, aid, gk2.id)                # back to a present member
    assert_kept(session)
    assert per_examiner(kept(session)) == {gk1.id: 1}

    second = essays.submit_essay(session, world.cadres[0], aid, ESSAY.format(n=2))   # round 2 of v1 withdrawn
    assert kept(session) == {(gk0.id, second.id % SHARDS): 1, (gk1.id, second.id % SHARDS): 1}

    # by hand, in SQL: un-finalised (+1), moved to another examiner, deleted while open (-1)
    first_round = select(m.Grade.id).where(m.Grade.essay_id == receipt.id, m.Grade.round == 1).scalar_subquery()
    session.execute(update(m.Grade).where(m.Grade.id == first_round).values(finalised_at=None))
    assert kept(session)[(gk0.id, shard)] == 1
    session.execute(update(m.Grade).where(m.Grade.id == first_round).values(examiner_id=gk2.id))
    assert (gk0.id, shard) not in kept(session) and kept(session)[(gk2.id, shard)] == 1
    session.execute(update(m.Grade).where(m.Grade.id == first_round).values(comment="Đã xem lại"))  # no change
    assert_kept(session)
    session.execute(delete(m.Grade).where(m.Grade.id == first_round))
    assert (gk2.id, shard) not in kept(session)
    assert_kept(session)


def test_bulk_inserts_of_grades_are_counted_per_shard(catalog):    # noqa: F811 (the fixture)
    """One INSERT of many rows (as the demo seeding does) counts every row, in its essay's shard."""
    session = catalog
    world = build(session)
    gk0, gk1 = world.examiners[:2]
    receipts = [essays.submit_essay(session, cadre, world.cadre_assignment[cadre.id], ESSAY.format(n=i))
                for i, cadre in enumerate(world.cadres)]
    session.execute(delete(m.Grade))
    assert kept(session) == {}
    session.execute(insert(m.Grade), [{"essay_id": r.id, "examiner_id": examiner.id, "round": number,
                                       "scores": {}, "comments": {}, "comment": ""}
                                      for r in receipts for number, examiner in ((1, gk0), (2, gk1))])
    assert_kept(session)
    assert per_examiner(kept(session)) == {gk0.id: len(receipts), gk1.id: len(receipts)}
    session.execute(update(m.Grade).where(m.Grade.examiner_id == gk0.id)
                    .values(finalised_at=func.current_timestamp()))
    assert_kept(session)
    assert per_examiner(kept(session)) == {gk1.id: len(receipts)}


def test_the_migration_counts_the_rounds_already_open(engine, tmp_path, monkeypatch, shipped_catalog):
    """Upgrading a database that already has open rounds fills the counters from them."""
    from lms_plugin.services import accounts, cohorts
    from lms_plugin.services.content import import_catalog
    factory = db.session_factory(engine)
    with db.unit_of_work(factory) as session:
        import_catalog(session, shipped_catalog)
        world_examiners = [accounts.create_user(session, f"gk{i}", "examiner", None) for i in range(3)]
        cohort = cohorts.create_cohort(session, "Lớp 1", "boi-duong-can-bo-co-so-2026")
        assignment = cohorts.assign_scenario(session, cohort, "t1-ton-dong-ho-so-dat-dai",
                                             examiners=world_examiners)
        cadre = accounts.create_user(session, "hv", "cadre", None)
        cohorts.add_member(session, cohort, cadre)
        assignment_id, cadre_id = assignment.id, cadre.id
        examiner_ids = [e.id for e in world_examiners]
    db.downgrade(engine, "0006")
    with engine.begin() as conn:
        for n in range(20):
            essay_id = conn.execute(text(
                "INSERT INTO essays (assignment_id, user_id, kind, version, body, sha256, words, submitted_at, "
                "late, auto_submitted) VALUES (:a, :u, 'essay', :v, 'x', 'x', 1, CURRENT_TIMESTAMP, :f, :f) "
                "RETURNING id"), {"a": assignment_id, "u": cadre_id, "v": n + 1, "f": False}).scalar()
            for number, examiner in enumerate(examiner_ids[n % 2:n % 2 + 2], start=1):
                conn.execute(text("INSERT INTO grades (essay_id, examiner_id, round, scores, comments, comment, "
                                  "finalised_at, updated_at) VALUES (:e, :x, :r, '{}', '{}', '', "
                                  + ("CURRENT_TIMESTAMP" if n % 3 == 0 and number == 1 else "NULL")
                                  + ", CURRENT_TIMESTAMP)"), {"e": essay_id, "x": examiner, "r": number})
    db.upgrade(engine)
    with factory() as session:
        assert_kept(session)
        assert sum(kept(session).values()) == 40 - 7
