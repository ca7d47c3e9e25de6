"""The examiner's queue a page at a time: every round exactly once across the pages, open rounds first, the
filters, each rubric once per page, and a page costs the same few statements whatever the size of the queue."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import event, select, update

from lms_plugin.services import demo, marking_queue
from lms_plugin.services.errors import Forbidden, Invalid
from lms_plugin.store import models as m

PASSWORD = "mat-khau-demo"


@pytest.fixture
def seeded(session, content):
    demo.seed_demo(session, PASSWORD, cadres=60, communes=3, essays=12)
    session.commit()
    return session.scalar(select(m.User).where(m.User.username == "examiner1"))


def walk(session, examiner, status="all", limit=5):
    pages, cursor = [], None
    while True:
        page = marking_queue.queue_page(session, examiner, status=status, cursor=cursor, limit=limit)
        pages.append(page)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def finalise(session, examiner, essay_ids):
    now = datetime.now(timezone.utc)
    session.execute(update(m.Grade).where(m.Grade.examiner_id == examiner.id, m.Grade.essay_id.in_(essay_ids))
                    .values(finalised_at=now, total=7.5))
    session.commit()


def test_the_pages_hold_every_round_once_open_ones_first(session, seeded):
    mine = set(session.scalars(select(m.Grade.essay_id).where(m.Grade.examiner_id == seeded.id)))
    assert len(mine) == 12
    done = sorted(mine)[:3]
    finalise(session, seeded, done)
    pages = walk(session, seeded, limit=5)
    assert [len(p.items) for p in pages] == [5, 5, 2]
    seen = [item.essay_id for page in pages for item in page.items]
    assert sorted(seen) == sorted(mine)                                        # each once, none missing
    assert [i.status for p in pages for i in p.items] == ["todo"] * 9 + ["final"] * 3
    assert seen[-3:] == done
    assert pages[0].counts == marking_queue.QueueCounts(all=12, todo=9, marked=3, third=0)


def test_filters_to_mark_marked_and_waiting_for_a_third_examiner(session, seeded):
    mine = sorted(session.scalars(select(m.Grade.essay_id).where(m.Grade.examiner_id == seeded.id)))
    finalise(session, seeded, mine[:4])
    session.execute(update(m.EssayResult).where(m.EssayResult.essay_id.in_(mine[:2])).values(status="needs_third"))
    session.commit()

    def ids(status):
        return [i.essay_id for p in walk(session, seeded, status, limit=3) for i in p.items]
    assert ids("todo") == mine[4:]
    assert ids("marked") == mine[:4]
    assert ids("third") == mine[:2]
    third = marking_queue.queue_page(session, seeded, status="third")
    assert {i.result_status for i in third.items} == {"needs_third"} and third.counts.third == 2


def test_each_rubric_is_given_once_per_page_and_items_name_it(session, seeded):
    page = marking_queue.queue_page(session, seeded, limit=10)
    assert len(page.items) == 10 and len(page.rubrics) == 1
    rubric = page.rubrics[0]
    assert {i.rubric_key for i in page.items} == {rubric["key"]} and rubric["criteria"]
    assert all(i.rubric is rubric for i in page.items)       # shared, not a copy per item
    assert not {"author", "user_id", "username"} & set(vars(page.items[0]))


def test_a_page_costs_the_same_statements_however_many_essays_are_queued(session, seeded, engine):
    def statements_for_a_page() -> list[tuple[str, int]]:
        seen: list[tuple[str, int]] = []

        def listener(_conn, _cursor, statement, parameters, _context, _many):
            seen.append((statement, len(parameters or ())))
        session.expire_all()
        examiner = session.get(m.User, seeded.id)
        event.listen(engine, "before_cursor_execute", listener)
        try:
            page = marking_queue.queue_page(session, examiner, limit=10)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert len(page.items) == 10
        return seen
    small = statements_for_a_page()
    demo.seed_demo(session, PASSWORD, cadres=60, communes=3, essays=60)      # five times the essays
    session.commit()
    large = statements_for_a_page()
    assert len(large) == len(small) <= 6
    assert max(count for _s, count in large) <= 12            # no list of the queue's ids as parameters


def test_a_cursor_that_is_not_one_is_refused_and_only_markers_have_a_queue(session, seeded):
    for bad in ("x", "9.1", "0.", "0.-1", "0.1234567890123"):
        with pytest.raises(Invalid):
            marking_queue.queue_page(session, seeded, cursor=bad)
    with pytest.raises(Invalid):
        marking_queue.queue_page(session, seeded, status="everything")
    assert len(marking_queue.queue_page(session, seeded, limit=100_000).items) == 12      # capped, all there
    cadre = session.scalar(select(m.User).where(m.User.username == "cadre1"))
    with pytest.raises(Forbidden):
        marking_queue.queue_page(session, cadre)
