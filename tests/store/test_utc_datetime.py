"""The store's one datetime type (models.UTCDateTime): aware UTC out on every backend, naive times refused in,
and no code outside the store left repairing the times it reads."""
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from lms_plugin.services import accounts, cohorts
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.services.errors import Invalid
from lms_plugin.store import models as m

HANOI = timezone(timedelta(hours=7))
SEVEN_THIRTY_IN_HANOI = datetime(2026, 12, 1, 7, 30, tzinfo=HANOI)        # 00:30 UTC
PACKAGE = Path(__file__).resolve().parents[2] / "lms_plugin"

# Times a person types without an offset, read as the adapter documents (input, not values read back):
INPUT_PARSING = {
    "cli.py": "--opens/--closes: an ISO time typed without an offset is UTC (see the option's help)",
}
REPAIRS = re.compile(r"tzinfo is None|\.tzinfo else|replace\(tzinfo=(timezone\.)?utc\)|replace\(tzinfo=UTC\)")


def is_utc(moment: datetime) -> bool:
    return moment.tzinfo is timezone.utc


def test_a_time_written_in_hanoi_reads_back_as_the_same_instant_in_utc(session_factory):
    with session_factory() as session:
        session.add(m.User(username="hv1", role="cadre", created_at=SEVEN_THIRTY_IN_HANOI))
        session.commit()
    with session_factory() as session:
        user = session.scalar(select(m.User).where(m.User.username == "hv1"))
        assert user.created_at == SEVEN_THIRTY_IN_HANOI and is_utc(user.created_at)
        assert user.created_at.hour == 0 and user.created_at.minute == 30
        # the database compares instants too (SQLite stores the UTC wall time, not 07:30)
        earlier = session.scalar(select(m.User.username).where(
            m.User.created_at < datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)))
        assert earlier == "hv1"
        newest = session.scalar(select(func.max(m.User.created_at)))
        assert newest == SEVEN_THIRTY_IN_HANOI and is_utc(newest)


def test_defaults_and_updates_read_back_aware_too(session_factory):
    with session_factory() as session:
        session.add(m.User(username="hv2", role="cadre"))
        session.commit()
    with session_factory() as session:
        user = session.scalar(select(m.User).where(m.User.username == "hv2"))
        assert is_utc(user.created_at) and abs(datetime.now(timezone.utc) - user.created_at) < timedelta(minutes=5)


def test_a_naive_time_is_refused_not_guessed(session_factory):
    with session_factory() as session:
        session.add(m.User(username="hv3", role="cadre", created_at=datetime(2026, 12, 1, 7, 30)))
        with pytest.raises(StatementError) as refused:
            session.flush()
        assert isinstance(refused.value.orig, ValueError) and "timezone-aware" in str(refused.value.orig)
        session.rollback()
        with pytest.raises(StatementError):
            session.scalar(select(m.User.id).where(m.User.created_at < datetime(2026, 12, 1)))
        session.rollback()
        assert session.scalar(select(func.count(m.User.id)).where(m.User.username == "hv3")) == 0


@pytest.fixture
def assignment(session, tree):
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    lecturer = accounts.create_user(session, "gv", "lecturer", "mat-khau-123")
    cohort = cohorts.create_cohort(session, "Lớp 1", "khoa-thu")
    assigned = cohorts.assign_scenario(session, cohort, "t1-mau", opens_at=None,
                                       closes_at=datetime(2026, 12, 20, 17, 0, tzinfo=HANOI))
    session.commit()
    return lecturer, assigned


def test_a_deadline_set_in_vietnam_time_is_kept_and_audited_in_utc(session_factory, session, assignment):
    lecturer, assigned = assignment
    cohorts.update_assignment(session, lecturer, assigned.id, closes_at=datetime(2026, 12, 21, 17, 0, tzinfo=HANOI),
                              now=datetime(2026, 12, 1, tzinfo=timezone.utc))
    session.commit()
    with session_factory() as fresh:
        row = fresh.get(m.Assignment, assigned.id)
        assert row.closes_at == datetime(2026, 12, 21, 10, 0, tzinfo=timezone.utc) and is_utc(row.closes_at)
        window = cohorts.window(row)
        assert window.state(datetime(2026, 12, 21, 9, 59, tzinfo=timezone.utc)) == "open"
        assert window.state(datetime(2026, 12, 21, 17, 0, tzinfo=HANOI)) == "closed"
        event = fresh.scalar(select(m.AuditEvent).where(m.AuditEvent.action == "assignment.update"))
        assert event.details["closes_at"] == {"before": "2026-12-20T10:00:00+00:00",
                                           "after": "2026-12-21T10:00:00+00:00"}


def test_the_services_refuse_a_deadline_without_a_time_zone(session, assignment):
    lecturer, assigned = assignment
    with pytest.raises(Invalid) as refused:
        cohorts.update_assignment(session, lecturer, assigned.id, closes_at=datetime(2026, 12, 21, 17, 0))
    assert "closes_at" in refused.value.fields


def test_no_module_outside_the_store_repairs_a_naive_time():
    """SQLite's naive times are made aware in one place (store/models.py: UTCDateTime); a repair anywhere
    else hides a writer that forgot its zone. Input parsing that must read a bare time is listed above."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name.startswith("store/") or name in INPUT_PARSING:
            continue
        found += [f"lms_plugin/{name}:{number}: {line.strip()}"
                  for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                  if REPAIRS.search(line)]
    assert found == []
