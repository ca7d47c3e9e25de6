"""A demo cohort to try every role, or to load a national course at its deadline.

By default: two communes, six cadres (cadre1-6), a lecturer, two examiners and an organiser, every scenario of
the course assigned and open. With ``cadres`` and ``communes``: cadre1…cadreN spread over M commune groups
(about 97 to a province), and with ``essays`` the first K cadres have submitted the essay of the first
assignment whose scenario asks for one. Names, communes and essays are made up deterministically
(services/demo_text.py).

Idempotent: running it again resets the demo passwords and adds only what is missing (people, groups,
memberships, essays); a cadre already in the cohort stays in their group.

Built for size: people, groups, memberships and essays go in with bulk INSERTs in batches, and every demo
account gets the same password hash (the password is hashed once: scrypt for each of 100,000 accounts would
take hours). An essay is stored as the submission path stores it (essays._store): exact body, sha256, words,
version 1, rounds 1 and 2 given to the least-loaded present pool members as ``allocation.refresh`` would
choose them, the marking result and a similarity report. Left out, being one per essay: the audit events
(one ``demo.seed`` event says what was seeded), the examiners' notifications and the similarity jobs (the
reports stay pending, as during a deadline rush before the checks have run).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from ..core.allocation import Round, choose_examiners, marking_state
from ..core.grading import DEFAULT_THRESHOLD
from ..store import models as m
from . import accounts, allocation, audit, cohorts, credentials
from .content import latest_scenario_versions, scenario_data
from .demo_text import FIRST_GROUPS, EssayWriter, commune_names, person_name, province_of
from .errors import Invalid, NotFound

COHORT = "Lớp trình diễn"
STAFF = [
    ("lecturer1", "lecturer", "Giảng viên Nguyễn Thị Lan"),
    ("examiner1", "examiner", "Giám khảo Trần Văn Minh"),
    ("examiner2", "examiner", "Giám khảo Lê Thị Hoa"),
    ("admin1", "admin", "Quản trị Phạm Quốc Huy"),
]
FIRST_CADRES = ("Đặng Văn An", "Hoàng Thị Bích", "Vũ Đức Cường", "Bùi Thị Dung", "Đỗ Minh Đức", "Ngô Thị Giang")
CADRES, COMMUNES = 6, len(FIRST_GROUPS)     # the small demo
BATCH = 5_000            # rows per bulk statement (people, memberships, id lookups)
ESSAY_BATCH = 1_000      # essays per batch (about 6 MB of text)
COPIERS = 20             # in a hundred cadres, about this many copy a neighbour's paragraphs
PROVINCE = province_of(0, 1)     # the staff's (and the small demo's) province
T = TypeVar("T")


@dataclass(frozen=True)
class DemoSummary:
    cohort: str
    staff: tuple[str, ...]
    cadres: int                     # cadre1…cadreN are in the cohort
    communes: int
    assignments: int
    people_added: int               # by this run
    memberships_added: int
    essays: int                     # essays of cadre1…cadreK on the essay assignment
    essays_added: int
    essay_assignment_id: int | None


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _hash(password: str) -> str:
    if len(password) < accounts.MIN_PASSWORD:
        raise Invalid("Mật khẩu phải có ít nhất %(n)s ký tự", {"password": ["too short"]}, n=accounts.MIN_PASSWORD)
    return generate_password_hash(password, accounts.hash_method())


def seed_demo(session: Session, password: str, *, cadres: int = CADRES, communes: int = COMMUNES, essays: int = 0,
              days_open: int = 30, now: datetime | None = None) -> DemoSummary:
    if cadres < 1 or communes < 1 or essays < 0:
        raise ValueError("cadres and communes must be at least 1, essays at least 0")   # the command checks them
    versions = latest_scenario_versions(session)
    if not versions:
        raise NotFound("Chưa có tình huống nào: hãy chạy 'caselab import scenarios rubrics' trước")
    now = now or datetime.now(timezone.utc)
    password_hash = _hash(password)           # once, for every demo account
    if session.get_bind().dialect.name == "postgresql":
        # The same lookup of 5,000 names runs again and again: after five, psycopg prepares it and PostgreSQL
        # may keep a generic plan, made while the table was empty, that compares every row with every name
        # (minutes at 100,000 cadres). A plan per statement hashes the list. For this transaction only.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    course = versions[0].scenario.course
    cohort = session.scalar(select(m.Cohort).where(m.Cohort.name == COHORT)) or \
        cohorts.create_cohort(session, COHORT, course.slug)
    staff, staff_added = _staff(session, password_hash)
    group_ids = _groups(session, cohort, communes)
    cadre_ids, cadres_added = _cadres(session, cadres, communes, password_hash, now)
    memberships_added = _memberships(session, cohort, cadre_ids, group_ids, communes)

    assigned = {a.scenario_version.scenario_id for a in session.scalars(
        select(m.Assignment).where(m.Assignment.cohort_id == cohort.id))}
    examiners = [staff["examiner1"], staff["examiner2"]]
    count = len(assigned)
    for version in versions:
        if version.scenario.course_id != course.id or version.scenario_id in assigned:
            continue
        cohorts.assign_scenario(session, cohort, version.scenario.slug, opens_at=now - timedelta(hours=1),
                                closes_at=now + timedelta(days=days_open), examiners=examiners)
        count += 1
    session.flush()
    essay_assignment, essays_added = _essays(session, cohort, cadre_ids[:essays], now)
    summary = DemoSummary(cohort.name, tuple(staff), cadres, communes, count, staff_added + cadres_added,
                          memberships_added, min(essays, cadres), essays_added,
                          essay_assignment.id if essay_assignment else None)
    audit.record(session, None, "demo.seed", "cohort", cohort.id, cadres=cadres, communes=communes,
                 people_added=summary.people_added, memberships_added=memberships_added, essays=summary.essays,
                 essays_added=essays_added)
    if session.get_bind().dialect.name == "postgresql" and summary.people_added + essays_added > 1000:
        # statistics for what was just bulk-inserted: a server whose autovacuum has not yet looked at the tables
        # would otherwise plan the first pages as if they were empty (seconds instead of milliseconds)
        session.flush()
        session.execute(text("ANALYZE users, memberships, groups, essays, grades, essay_results"))
    return summary


def _reset(session: Session, user_ids: Sequence[int], password_hash: str) -> None:
    """Existing demo accounts get the demo password again (what was signed in with the old one ends)."""
    for chunk in _chunks(user_ids, BATCH):
        session.execute(update(m.User).where(m.User.id.in_(chunk)).values(password_hash=password_hash)
                        .execution_options(synchronize_session=False))
        credentials.end_all_of(session, chunk)


def _staff(session: Session, password_hash: str) -> tuple[dict[str, m.User], int]:
    people, existing = {}, []
    for username, role, name in STAFF:
        user = session.scalar(select(m.User).where(m.User.username == username))
        if user is None:
            user = accounts.create_user(session, username, role, None, display_name=name, province=PROVINCE)
            user.password_hash = password_hash
        else:
            existing.append(user.id)
        people[username] = user
    session.flush()
    _reset(session, existing, password_hash)
    for user in people.values():
        session.refresh(user)
    return people, len(STAFF) - len(existing)


def _groups(session: Session, cohort: m.Cohort, communes: int) -> list[int]:
    """The cohort's commune groups, by index (created when missing)."""
    names = commune_names(communes)
    existing = dict(session.execute(select(m.Group.name, m.Group.id).where(m.Group.cohort_id == cohort.id)).all())
    missing = [{"cohort_id": cohort.id, "name": name, "commune": commune} for name, commune in names
               if name not in existing]
    for chunk in _chunks(missing, BATCH):
        session.execute(insert(m.Group), list(chunk))
    if missing:
        existing = dict(session.execute(select(m.Group.name, m.Group.id).where(m.Group.cohort_id == cohort.id)).all())
    return [existing[name] for name, _ in names]


def _group_of(index: int, cadres: int, communes: int) -> int:
    """cadre1…cadreN fill the communes in order (the small demo: cadre1-3 in the first, cadre4-6 in the second)."""
    return (index - 1) * communes // cadres


def _ids(session: Session, usernames: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(usernames, BATCH):
        found.update(session.execute(select(m.User.username, m.User.id).where(m.User.username.in_(chunk))).all())
    return found


def _cadres(session: Session, cadres: int, communes: int, password_hash: str,
            now: datetime) -> tuple[list[int], int]:
    """cadre1…cadreN's ids, in order (created when missing, else given the demo password again)."""
    usernames = [f"cadre{i}" for i in range(1, cadres + 1)]
    existing = _ids(session, usernames)
    names = commune_names(communes)
    rows: list[dict[str, Any]] = []
    for i, username in enumerate(usernames, start=1):
        if username in existing:
            continue
        group = _group_of(i, cadres, communes)
        rows.append({"username": username, "role": "cadre", "password_hash": password_hash,
                     "display_name": FIRST_CADRES[i - 1] if i <= len(FIRST_CADRES) else person_name(i),
                     "province": province_of(group, communes), "commune": names[group][1], "contact": "",
                     "external_id": None, "locale": "vi", "active": True, "must_change_password": False,
                     "email": "", "email_notifications": True, "created_at": now})
    for chunk in _chunks(rows, BATCH):
        session.execute(insert(m.User), list(chunk))
    _reset(session, list(existing.values()), password_hash)
    ids = _ids(session, usernames) if rows else existing
    return [ids[u] for u in usernames], len(rows)


def _memberships(session: Session, cohort: m.Cohort, cadre_ids: Sequence[int], group_ids: Sequence[int],
                 communes: int) -> int:
    members = set(session.scalars(select(m.Membership.user_id).where(m.Membership.cohort_id == cohort.id)))
    rows = [{"cohort_id": cohort.id, "user_id": user_id,
             "group_id": group_ids[_group_of(i, len(cadre_ids), communes)]}
            for i, user_id in enumerate(cadre_ids, start=1) if user_id not in members]
    for chunk in _chunks(rows, BATCH):
        session.execute(insert(m.Membership), list(chunk))
    return len(rows)


# ---- essays ------------------------------------------------------------------------------------------------

def essay_assignment(session: Session, cohort: m.Cohort) -> m.Assignment | None:
    """The demo's essay assignment: the cohort's first whose scenario asks for an essay."""
    for assignment in session.scalars(select(m.Assignment).where(m.Assignment.cohort_id == cohort.id)
                                      .order_by(m.Assignment.id)):
        if scenario_data(assignment.scenario_version).essay is not None:
            return assignment
    return None


def _copies(index: int, places: Sequence[tuple[str, str]]) -> int | None:
    """The neighbour (an earlier cadre of the same commune who wrote their own) whose paragraphs the
    ``index``-th cadre copies, or None: about one cadre in five copies."""
    def copier(i: int) -> bool:
        return (i * 40503) % 100 < COPIERS
    if not copier(index):
        return None
    for j in range(index - 1, max(0, index - 6), -1):
        if places[j - 1] == places[index - 1] and not copier(j):
            return j
    return None


def _essays(session: Session, cohort: m.Cohort, cadre_ids: Sequence[int],
            now: datetime) -> tuple[m.Assignment | None, int]:
    """cadre1…cadreK have submitted the essay (those who have not yet); returns the assignment and how many
    essays were added."""
    assignment = essay_assignment(session, cohort)
    if assignment is None or not cadre_ids:
        return assignment, 0
    scenario = scenario_data(assignment.scenario_version)
    assert scenario.essay is not None  # essay_assignment chose it for its essay
    writer = EssayWriter(scenario, scenario.essay)
    submitted = set(session.scalars(select(m.Essay.user_id).where(m.Essay.assignment_id == assignment.id,
                                                                  m.Essay.kind == "essay")))
    places: list[tuple[str, str]] = []
    for chunk in _chunks(cadre_ids, BATCH):
        found = {i: (c or FIRST_GROUPS[0][1], p or PROVINCE) for i, c, p in session.execute(
            select(m.User.id, m.User.commune, m.User.province).where(m.User.id.in_(chunk)))}
        places.extend(found[i] for i in chunk)
    loads = allocation.pool_loads(session, assignment.id)      # the present pool, in order, with its loads
    pool = list(loads)
    states: dict[int, Any] = {}
    start = max(assignment.opens_at or now - timedelta(hours=1), now - timedelta(hours=1))
    todo = [(i, user_id) for i, user_id in enumerate(cadre_ids, start=1) if user_id not in submitted]
    for batch in _chunks(todo, ESSAY_BATCH):
        rows, at = [], []
        for i, user_id in batch:
            commune, province = places[i - 1]
            written = writer.write(i, commune, province, _copies(i, places))
            when = start + (now - start) * i / (len(cadre_ids) + 1)
            at.append(when)
            rows.append({"assignment_id": assignment.id, "user_id": user_id, "kind": "essay", "group_id": None,
                         "version": 1, "body": written.body, "sha256": written.sha256, "words": written.words,
                         "submitted_at": when, "late": False, "auto_submitted": False})
        essay_ids = list(session.scalars(insert(m.Essay).returning(m.Essay.id, sort_by_parameter_order=True), rows))
        grades, results, reports = [], [], []
        for essay_id, when in zip(essay_ids, at):
            chosen = choose_examiners(pool, loads, (), 2)
            for number, examiner_id in zip((1, 2), chosen):
                grades.append({"essay_id": essay_id, "examiner_id": examiner_id, "round": number, "scores": {},
                               "comments": {}, "comment": "", "total": None, "finalised_at": None,
                               "updated_at": when})
                loads[examiner_id] = loads.get(examiner_id, 0) + 1
            state = states.get(len(chosen))
            if state is None:
                state = states[len(chosen)] = marking_state(
                    [Round(n, e, None, False) for n, e in zip((1, 2), chosen)], threshold=DEFAULT_THRESHOLD)
            results.append({"essay_id": essay_id, "status": state.status, "marks_done": state.marks_done,
                            "needs_examiner": state.needs_examiner, "final": state.final, "gap": state.gap,
                            "rule": state.rule, "correction_reason": "", "updated_at": when})
            reports.append({"essay_id": essay_id, "status": "pending", "sources": [], "created_at": when})
        for model, made in ((m.Grade, grades), (m.EssayResult, results), (m.SimilarityReport, reports)):
            if made:
                session.execute(insert(model), made)
    return assignment, len(todo)
