"""``ctx.records``, the store a unit type keeps for itself: values per person or shared, counts that add up
under concurrent writers, and tallies by one grouped query."""
from __future__ import annotations

import threading

import pytest

from lms_plugin.services import demo, units
from lms_plugin.services.errors import Invalid

from ..web.conftest import first_assignment


@pytest.fixture
def assignment_id(session, content):
    demo.seed_demo(session, "mat-khau-demo")
    session.commit()
    return first_assignment(session).id


def test_values_are_per_person_unless_shared_and_tally_counts_people(session, assignment_id):
    a, b, c = (units.StoreRecords(session, "poll", assignment_id, uid) for uid in (1, 2, 3))
    a.put("vote", "x")
    b.put("vote", "y")
    c.put("vote", "x")
    a.put("vote", "y")                       # a person changes their mind: still one value
    a.put("closed", True, shared=True)
    session.commit()
    assert (a.get("vote"), b.get("vote"), c.get("vote")) == ("y", "y", "x")
    assert b.get("closed", shared=True) is True and b.get("closed") is None
    assert a.tally("vote") == {"y": 2, "x": 1}
    other = units.StoreRecords(session, "quiz", assignment_id, 1)   # another unit type sees none of it
    assert other.get("vote") is None and other.tally("vote") == {}


def test_a_record_is_bounded(session, assignment_id):
    records = units.StoreRecords(session, "poll", assignment_id, 1)
    with pytest.raises(Invalid):
        records.put("essay", "x" * (units.MAX_RECORD_CHARS + 1))
    nested: list = []
    for _ in range(200):
        nested = [nested]
    with pytest.raises(Invalid):
        records.put("deep", nested)


def test_concurrent_bumps_and_first_writes_all_count(session_factory, session, assignment_id):
    """Eight people vote at the same instant: eight versions, and no unique-key error on the first write."""
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def vote(user_id: int) -> None:
        try:
            with session_factory() as own:
                records = units.StoreRecords(own, "poll", assignment_id, user_id)
                start.wait()
                records.put("closed", False, shared=True)
                records.bump()
                own.commit()
        except BaseException as exc:          # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=vote, args=(uid,)) for uid in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert units.records(session, "poll", assignment_id).get("version", shared=True) == 8
