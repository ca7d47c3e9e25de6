"""How far an assignment has come, drilled down: provinces, then a province's communes, a commune's groups, a
group's cadres; and a search for a commune or a cadre by name.

Each level is counted by grouped SQL over the cohort's memberships (members, started, finished, unsubmitted
drafts, submitted, marked, late): a constant number of statements whatever the size of the cohort, and a page
of at most ``PAGE`` rows. Provinces and communes are what the accounts say (``users.province``;
``users.commune``, else the group's commune), shown under their official names where the administrative map
knows them (core/places.py: "ha noi" and "Thành phố Hà Nội" are one row; a commune is looked up in its province
only when that province is on the map), else as written. A level that can be long is paged by keyset: the
communes of a province by name, the groups of a commune by name, the cadres by name and username; never OFFSET.
An organiser whose account names a province sees that province only (services/policy.py: province_scope).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import String, and_, case, cast, exists, false, func, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from ..core import places
from ..core.essays import count_words
from ..core.folding import fold, like_pattern
from ..store import models as m
from . import policy
from .account_admin import MIN_SEARCH, SEARCHED
from .cohorts import get_assignment
from .errors import Invalid, NotFound
from .essays import UnsubmittedDraft, has_content, never_submitted

PAGE = 50                 # rows of a level on one page
DRAFTS_SHOWN = 20         # the most recently saved unsubmitted drafts of the level, listed
COMMUNES_FOUND = 20       # communes a search lists
NO_GROUP = 0              # the group of members not yet placed in one
# a member's commune: their account's, else their group's
COMMUNE = func.coalesce(func.nullif(m.User.commune, ""), m.Group.commune, "")

T = TypeVar("T")


def require_staff(user: m.User) -> None:
    policy.require(user, "progress.read")


# ---- names on the map ----------------------------------------------------------------------------------------

def _spaced(text: str | None) -> str:
    return " ".join((text or "").split())


def province_name(written: str | None) -> tuple[str, bool]:
    """The official name of the province ``written`` names and True, or ``written`` (spaces tidied) and False."""
    found = places.find_province(written)
    return (found.name, True) if found else (_spaced(written), False)


def commune_name(written: str | None, province: str | None) -> tuple[str, bool]:
    """The official name of the commune ``written`` names in ``province`` (an official name) and True, or
    ``written`` and False. A commune of a province not on the map is never looked up (the name may be anyone's)."""
    found = places.find_commune(written, province) if province and places.find_province(province) else None
    return (found.name, True) if found else (_spaced(written), False)


def _sort_key(name: str) -> tuple[bool, str, str]:
    return (name == "", fold(name), name)         # by name, marks aside; "not given" last


# ---- counts ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Counts:
    """Cadres of a level: in it, who started and finished the case, wrote a draft never submitted, submitted
    the essay, have a final mark, submitted late."""
    members: int = 0
    started: int = 0
    finished: int = 0
    drafts: int = 0
    submitted: int = 0
    marked: int = 0
    late: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(astuple(self), astuple(other))))


def _in_cohort(query, assignment: m.Assignment, user_id: Any):
    """``query`` (of rows with the member ``user_id``) joined to the member's membership, account and group."""
    return (query.join(m.Membership, and_(m.Membership.user_id == user_id,
                                          m.Membership.cohort_id == assignment.cohort_id))
            .join(m.User, m.User.id == m.Membership.user_id)
            .outerjoin(m.Group, m.Group.id == m.Membership.group_id))


def _level_counts(session: Session, assignment: m.Assignment, keys: Sequence[Any],
                  where: Sequence[Any]) -> dict[tuple[Any, ...], Counts]:
    """Counts per value of ``keys`` among the cohort's members ``where`` selects: four grouped statements, one per
    kind of activity, each driven by its own table (a plan that stays linear even before the database has
    statistics of a freshly seeded cohort)."""
    aid = assignment.id
    n = len(keys)

    def grouped(query):
        return session.execute(query.group_by(*keys) if keys else query).all()

    def distinct_users(column, condition=None):
        return func.count(func.distinct(column if condition is None else case((condition, column))))

    members = grouped(select(*keys, func.count()).select_from(m.Membership)
                      .join(m.User, m.User.id == m.Membership.user_id)
                      .outerjoin(m.Group, m.Group.id == m.Membership.group_id)
                      .where(m.Membership.cohort_id == assignment.cohort_id, *where))
    attempts = grouped(_in_cohort(
        select(*keys, distinct_users(m.Attempt.user_id),
               distinct_users(m.Attempt.user_id, m.Attempt.finished_at.is_not(None))).select_from(m.Attempt),
        assignment, m.Attempt.user_id).where(m.Attempt.assignment_id == aid, *where))
    essays = grouped(_in_cohort(
        select(*keys, distinct_users(m.Essay.user_id), distinct_users(m.Essay.user_id, m.EssayResult.status == "final"),
               distinct_users(m.Essay.user_id, m.Essay.late.is_(True))).select_from(m.Essay)
        .outerjoin(m.EssayResult, m.EssayResult.essay_id == m.Essay.id), assignment, m.Essay.user_id)
        .where(m.Essay.assignment_id == aid, m.Essay.kind == "essay", *where))
    drafts = grouped(_in_cohort(select(*keys, func.count()).select_from(m.EssayDraft), assignment,
                                m.EssayDraft.user_id)
                     .where(m.EssayDraft.assignment_id == aid, m.EssayDraft.body != "", never_submitted(), *where))
    out: dict[tuple[Any, ...], list[int]] = {}
    for row in members:
        out[tuple(row[:n])] = [int(row[n]), 0, 0, 0, 0, 0, 0]
    for rows, first in ((attempts, 1), (drafts, 3), (essays, 4)):
        for row in rows:
            counts = out.get(tuple(row[:n]))
            if counts is not None:
                counts[first:first + len(row) - n] = [int(v or 0) for v in row[n:]]
    return {key: Counts(*values) for key, values in out.items()}


# ---- where in the country ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """A level of the drill-down: None is every province (commune, group); "" the members whose account names
    none; ``NO_GROUP`` members not yet placed in a group."""
    province: str | None = None
    commune: str | None = None
    group_id: int | None = None


def _scoped(user: m.User, scope: Scope) -> Scope:
    """``scope`` under official names ("ha noi" is "Thành phố Hà Nội"), within the organiser's province (a
    provincial organiser asking for another one: not found)."""
    if scope.province is not None:
        scope = replace(scope, province=province_name(scope.province)[0])
    if scope.commune is not None:
        scope = replace(scope, commune=commune_name(scope.commune, scope.province)[0])
    own = policy.province_scope(user)
    if own is None:
        return scope
    name = province_name(own)[0]
    if scope.province is not None and scope.province != name:
        raise NotFound("Không có tỉnh, thành phố này trong lớp")
    return replace(scope, province=name)


def _provinces_written(session: Session) -> list[str]:
    """Every province as the accounts write it: a walk along the index on users.province (one probe per
    distinct value, a few dozen), not a scan of 100,000 accounts."""
    later = aliased(m.User)
    seen = select(func.min(m.User.province).label("province")).cte("seen", recursive=True)
    seen = seen.union_all(select(select(func.min(later.province)).where(later.province > seen.c.province)
                                 .scalar_subquery()).where(seen.c.province.is_not(None)))
    return [p for p in session.scalars(select(seen.c.province)) if p is not None]


def _where(session: Session, assignment: m.Assignment, scope: Scope) -> list[Any]:
    """SQL conditions on the members of ``scope``: the province and commune as written in the accounts that
    stand for the asked (official) names; a handful of spellings, never one bind parameter per member."""
    where: list[Any] = []
    if scope.province is not None:
        written = [p for p in _provinces_written(session) if province_name(p)[0] == scope.province]
        where.append(m.User.province.in_(written) if written else false())
    if scope.commune is not None:
        communes = session.scalars(
            select(COMMUNE).select_from(m.Membership).join(m.User, m.User.id == m.Membership.user_id)
            .outerjoin(m.Group, m.Group.id == m.Membership.group_id)
            .where(m.Membership.cohort_id == assignment.cohort_id, *where).group_by(COMMUNE))
        written = [c for c in communes if commune_name(c, scope.province)[0] == scope.commune]
        where.append(COMMUNE.in_(written) if written else false())
    if scope.group_id == NO_GROUP:
        where.append(m.Membership.group_id.is_(None))
    elif scope.group_id is not None:
        where.append(m.Membership.group_id == scope.group_id)
    return where


# ---- the levels ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlaceRow:
    """A province, or a commune of a province."""
    name: str                 # official, or as written; "" for members whose account names none
    on_map: bool
    counts: Counts
    province: str = ""        # a commune's province (in search results)


@dataclass(frozen=True)
class GroupRow:
    group_id: int | None      # None: members not yet placed in a group
    name: str
    commune: str
    counts: Counts
    posts: int = 0
    hidden_posts: int = 0
    report_submitted_at: datetime | None = None

    @property
    def report_submitted(self) -> bool:
        return self.report_submitted_at is not None

    @property
    def key(self) -> int:
        """The group's argument in a link (``NO_GROUP`` for members not placed)."""
        return NO_GROUP if self.group_id is None else self.group_id


@dataclass(frozen=True)
class CadreRow:
    user_id: int
    username: str
    name: str
    province: str
    commune: str
    group_id: int | None
    group_name: str
    started: bool
    finished: bool
    posts: int
    essays: int               # submitted versions
    late: bool
    marked: bool              # a submission has its final mark
    draft_saved_at: datetime | None    # a draft never submitted, saved then
    extended_to: datetime | None       # their own deadline


@dataclass(frozen=True)
class Drill:
    """One page of the drill-down: the level ``scope`` names, its rows, and where the next page starts."""
    level: str                            # provinces | communes | groups | cadres | search
    scope: Scope
    totals: Counts                        # of the whole level, not only of this page
    places: list[PlaceRow] = field(default_factory=list)     # provinces, or communes of the province
    groups: list[GroupRow] = field(default_factory=list)
    cadres: list[CadreRow] = field(default_factory=list)
    found_communes: list[PlaceRow] = field(default_factory=list)
    group: GroupRow | None = None         # the group chosen (its posts and report)
    after: str | None = None              # the next page starts after this
    paged: bool = False                   # this is not the first page
    query: str = ""
    national: bool = True                 # False: the organiser sees their province only
    place: tuple[str | None, str | None] = (None, None)    # the province and commune the breadcrumbs name
    drafts: list[UnsubmittedDraft] = field(default_factory=list)   # the latest of the level never submitted

    @property
    def crumbs(self) -> tuple[str | None, str | None]:
        return self.place if self.place != (None, None) else (self.scope.province, self.scope.commune)


def _merged(counted: dict[tuple[Any, ...], Counts], name_of: Callable[[Any], tuple[str, bool]]) -> list[PlaceRow]:
    """Counts by written name, summed under the names they stand for, by name."""
    found: dict[str, tuple[bool, Counts]] = {}
    for (written,), counts in counted.items():
        name, on_map = name_of(written)
        before = found.get(name, (on_map, Counts()))
        found[name] = (before[0] or on_map, before[1] + counts)
    return [PlaceRow(name, on_map, counts) for name, (on_map, counts) in
            sorted(found.items(), key=lambda item: _sort_key(item[0]))]


def _page(rows: list[T], key: Callable[[T], Any], cursor: Callable[[T], str],
          after_key: Any = None) -> tuple[list[T], str | None]:
    """The page of ``rows`` (sorted by ``key``) that starts after ``after_key`` (None: the first page), and the
    cursor of the next one."""
    if after_key is not None:
        rows = [r for r in rows if key(r) > after_key]
    return rows[:PAGE], (cursor(rows[PAGE - 1]) if len(rows) > PAGE else None)


def _require(session: Session, user: m.User, assignment_id: int) -> m.Assignment:
    require_staff(user)
    return get_assignment(session, assignment_id)


def _drafts(session: Session, user: m.User, assignment: m.Assignment, where: Sequence[Any],
            limit: int = DRAFTS_SHOWN) -> list[UnsubmittedDraft]:
    """The most recently saved drafts of the level's members that were never submitted (at most ``limit``)."""
    policy.require(user, "draft.read_others")
    rows = session.execute(_in_cohort(
        select(m.EssayDraft.user_id, m.User.username, m.User.display_name, m.EssayDraft.body,
               m.EssayDraft.saved_at).select_from(m.EssayDraft), assignment, m.EssayDraft.user_id)
        .where(m.EssayDraft.assignment_id == assignment.id, m.EssayDraft.body != "", never_submitted(), *where)
        .order_by(m.EssayDraft.saved_at.desc(), m.EssayDraft.user_id).limit(limit * 2)).all()
    return [UnsubmittedDraft(uid, username, name, count_words(body), saved_at)
            for uid, username, name, body, saved_at in rows if has_content(body)][:limit]


def _place_level(session: Session, user: m.User, assignment_id: int, scope: Scope, after: str | None) -> Drill:
    assignment = _require(session, user, assignment_id)
    scope = _scoped(user, scope)
    where = _where(session, assignment, scope)
    if scope.province is None:
        level = "provinces"
        rows = _merged(_level_counts(session, assignment, (m.User.province,), where), province_name)
    else:
        level, province = "communes", scope.province
        rows = _merged(_level_counts(session, assignment, (COMMUNE,), where),
                       lambda written: commune_name(written, province))
    page, next_after = _page(rows, lambda r: _sort_key(r.name), lambda r: r.name,
                             _sort_key(after) if after is not None else None)
    return Drill(level, scope, sum((r.counts for r in rows), Counts()), places=page, after=next_after,
                 paged=after is not None, national=policy.province_scope(user) is None,
                 drafts=_drafts(session, user, assignment, where))


def provinces_level(session: Session, user: m.User, assignment_id: int, after: str | None = None) -> Drill:
    """The provinces of the cohort's members with their counts (an organiser of a province: theirs alone)."""
    return _place_level(session, user, assignment_id, Scope(), after)


def communes_level(session: Session, user: m.User, assignment_id: int, province: str,
                   after: str | None = None) -> Drill:
    """The communes of a province (its official name, or as written) with their counts, a page by name."""
    return _place_level(session, user, assignment_id, Scope(province=province), after)


def _group_extras(session: Session, assignment_id: int, rows: list[GroupRow]) -> list[GroupRow]:
    """The posts and report of the groups of one page (at most ``PAGE`` of them)."""
    ids = [r.group_id for r in rows if r.group_id is not None]
    if not ids:
        return rows
    posts: dict[tuple[int, bool], int] = {(g, bool(hidden)): n for g, hidden, n in session.execute(
        select(m.Post.group_id, m.Post.hidden_at.is_not(None), func.count())
        .where(m.Post.assignment_id == assignment_id, m.Post.group_id.in_(ids))
        .group_by(m.Post.group_id, m.Post.hidden_at.is_not(None)))}
    reports = dict(session.execute(select(m.GroupReport.group_id, m.GroupReport.submitted_at).where(
        m.GroupReport.assignment_id == assignment_id, m.GroupReport.group_id.in_(ids))).all())
    return [replace(r, posts=posts.get((r.key, False), 0) + posts.get((r.key, True), 0),
                    hidden_posts=posts.get((r.key, True), 0), report_submitted_at=reports.get(r.key))
            for r in rows]


def _group_order(row: GroupRow) -> tuple[bool, str, str, int]:
    return (row.group_id is not None, fold(row.name), row.name, row.key)     # members not placed first


def groups_level(session: Session, user: m.User, assignment_id: int, province: str, commune: str,
                 after: str | None = None) -> Drill:
    """The groups of a commune's members with their counts, posts and report, a page by name."""
    assignment = _require(session, user, assignment_id)
    scope = _scoped(user, Scope(province=province, commune=commune))
    where = _where(session, assignment, scope)
    counted = _level_counts(session, assignment, (m.Membership.group_id, m.Group.name, m.Group.commune), where)
    rows = sorted((GroupRow(group_id, name or "", group_commune or "", counts)
                   for (group_id, name, group_commune), counts in counted.items()), key=_group_order)
    last = next((r for r in rows if str(r.key) == after), None) if after else None
    page, next_after = _page(rows, _group_order, lambda r: str(r.key), _group_order(last) if last else None)
    return Drill("groups", scope, sum((r.counts for r in rows), Counts()),
                 groups=_group_extras(session, assignment.id, page), after=next_after, paged=last is not None,
                 national=policy.province_scope(user) is None, drafts=_drafts(session, user, assignment, where))


def _cadre_query(assignment: m.Assignment, where: Sequence[Any], after: str | None):
    """A page of members ``where`` selects, by name and username, each with what they did (correlated
    subqueries on the page's rows only, each an index lookup)."""
    aid = assignment.id
    user = m.User
    posts = (select(func.count()).select_from(m.Post)
             .where(m.Post.assignment_id == aid, m.Post.group_id == m.Membership.group_id,
                    m.Post.author_id == user.id).scalar_subquery())
    essays = (select(func.count()).select_from(m.Essay)
              .where(m.Essay.assignment_id == aid, m.Essay.user_id == user.id, m.Essay.kind == "essay")
              .scalar_subquery())
    late = exists().where(m.Essay.assignment_id == aid, m.Essay.user_id == user.id, m.Essay.kind == "essay",
                          m.Essay.late)
    marked = exists().where(m.Essay.assignment_id == aid, m.Essay.user_id == user.id, m.Essay.kind == "essay",
                            m.EssayResult.essay_id == m.Essay.id, m.EssayResult.status == "final")
    started = exists().where(m.Attempt.assignment_id == aid, m.Attempt.user_id == user.id)
    finished = exists().where(m.Attempt.assignment_id == aid, m.Attempt.user_id == user.id,
                              m.Attempt.finished_at.is_not(None))
    draft = (select(m.EssayDraft.saved_at)
             .where(m.EssayDraft.assignment_id == aid, m.EssayDraft.user_id == user.id, m.EssayDraft.body != "")
             .scalar_subquery())
    extended = (select(m.AssignmentExtension.closes_at)
                .where(m.AssignmentExtension.assignment_id == aid, m.AssignmentExtension.user_id == user.id)
                .scalar_subquery())
    query = (select(user.id, user.username, user.display_name, user.province, COMMUNE, m.Membership.group_id,
                    m.Group.name, started, finished, posts, essays, late, marked, draft, extended)
             .select_from(m.Membership).join(user, user.id == m.Membership.user_id)
             .outerjoin(m.Group, m.Group.id == m.Membership.group_id)
             .where(m.Membership.cohort_id == assignment.cohort_id, *where))
    if after:
        previous = aliased(m.User)
        query = query.where(tuple_(user.display_name, user.username) > tuple_(
            select(previous.display_name).where(previous.username == after).scalar_subquery(), after))
    return query.order_by(user.display_name, user.username).limit(PAGE + 1)


def _cadres(session: Session, query, province: str | None) -> tuple[list[CadreRow], str | None]:
    found = session.execute(query).all()
    rows = [CadreRow(uid, username, name, province_name(prov)[0],
                     commune_name(commune, province if province is not None else province_name(prov)[0])[0],
                     group_id, group_name or "", bool(started), bool(finished), int(posts or 0), int(essays or 0),
                     bool(late), bool(marked), draft if not essays else None, extended)
            for (uid, username, name, prov, commune, group_id, group_name, started, finished, posts, essays, late,
                 marked, draft, extended) in found[:PAGE]]
    return rows, (rows[-1].username if len(found) > PAGE else None)


def _group_row(session: Session, assignment: m.Assignment, group_id: int, counts: Counts) -> GroupRow:
    if group_id == NO_GROUP:
        return GroupRow(None, "", "", counts)
    group = session.get(m.Group, group_id)
    if group is None or group.cohort_id != assignment.cohort_id:
        raise NotFound("Không có nhóm này trong lớp")
    return _group_extras(session, assignment.id, [GroupRow(group.id, group.name, group.commune, counts)])[0]


def _place_of_group(session: Session, assignment: m.Assignment, group_id: int) -> tuple[str, str]:
    """Where most members of a group are (official names where on the map), for the breadcrumbs of a page
    reached by the group alone."""
    placed = (m.Membership.group_id.is_(None) if group_id == NO_GROUP else m.Membership.group_id == group_id)
    found = session.execute(
        select(m.User.province, COMMUNE).select_from(m.Membership).join(m.User, m.User.id == m.Membership.user_id)
        .outerjoin(m.Group, m.Group.id == m.Membership.group_id)
        .where(m.Membership.cohort_id == assignment.cohort_id, placed)
        .group_by(m.User.province, COMMUNE).order_by(func.count().desc(), m.User.province, COMMUNE).limit(1)).first()
    if found is None:
        return "", ""
    province = province_name(found[0])[0]
    return province, commune_name(found[1], province)[0]


def cadres_level(session: Session, user: m.User, assignment_id: int, group_id: int, *,
                 province: str | None = None, commune: str | None = None, after: str | None = None) -> Drill:
    """The cadres of a group (``NO_GROUP``: not placed), within a province and commune when given, a page by
    name, each with what they did; the group with its counts, posts and report."""
    assignment = _require(session, user, assignment_id)
    asked = Scope(province=province, commune=commune, group_id=group_id)
    if province is None and commune is None:
        if group_id != NO_GROUP:
            _group_row(session, assignment, group_id, Counts())      # not found before anything else
        shown_province, shown_commune = _place_of_group(session, assignment, group_id)
    else:
        shown_province, shown_commune = province or "", commune or ""
    scope = _scoped(user, asked)
    where = _where(session, assignment, scope)
    totals = _level_counts(session, assignment, (), where).get((), Counts())
    rows, next_after = _cadres(session, _cadre_query(assignment, where, after), scope.province)
    return Drill("cadres", scope, totals, cadres=rows, group=_group_row(session, assignment, group_id, totals),
                 after=next_after, paged=bool(after), national=policy.province_scope(user) is None,
                 place=(scope.province if scope.province is not None else shown_province,
                        shown_commune if commune is None else commune),
                 drafts=_drafts(session, user, assignment, where))


def _communes_matching(session: Session, assignment: m.Assignment, query: str, where: Sequence[Any]) -> list[PlaceRow]:
    """The communes whose name holds ``query`` (marks, case and a leading "xã", "phường"… aside), with their
    members: the distinct names (a few thousand) are matched here, then only the members of those are counted."""
    wanted = places.key(query)
    for kind in places.COMMUNE_KINDS:
        if wanted.startswith(kind + " "):
            wanted = wanted[len(kind) + 1:]
            break
    names = {*session.scalars(select(m.User.commune).group_by(m.User.commune)),
             *session.scalars(select(m.Group.commune).where(m.Group.cohort_id == assignment.cohort_id)
                              .group_by(m.Group.commune))}
    matching = sorted(name for name in names if name and wanted in places.key(name))[:COMMUNES_FOUND * 5]
    if not matching:
        return []
    counted = session.execute(
        select(m.User.province, COMMUNE, func.count()).select_from(m.Membership)
        .join(m.User, m.User.id == m.Membership.user_id).outerjoin(m.Group, m.Group.id == m.Membership.group_id)
        .where(m.Membership.cohort_id == assignment.cohort_id, *where, COMMUNE.in_(matching))
        .group_by(m.User.province, COMMUNE)).all()
    merged: dict[tuple[str, str], int] = {}
    for written_province, written_commune, n in counted:
        province = province_name(written_province)[0]
        key = (province, commune_name(written_commune, province)[0])
        merged[key] = merged.get(key, 0) + n
    return [PlaceRow(commune, False, Counts(members=n), province=province) for (province, commune), n in
            sorted(merged.items(), key=lambda item: (_sort_key(item[0][1]), _sort_key(item[0][0])))]


def search(session: Session, user: m.User, assignment_id: int, query: str, after: str | None = None) -> Drill:
    """Communes whose name holds ``query`` and, a page by name, the cadres whose name, username, contact or
    e-mail holds it (marks and case aside)."""
    assignment = _require(session, user, assignment_id)
    query = _spaced(query)[:120]
    if len(fold(query).strip()) < MIN_SEARCH:
        raise Invalid("Hãy gõ ít nhất %(n)s ký tự để tìm", {"q": ["too short"]}, n=MIN_SEARCH)
    scope = _scoped(user, Scope())
    where = _where(session, assignment, scope)
    found = _communes_matching(session, assignment, query, where)
    cadre_where = [*where, func.caselab_fold(SEARCHED).like(like_pattern(query), escape="\\")]
    rows, next_after = _cadres(session, _cadre_query(assignment, cadre_where, after), scope.province)
    return Drill("search", scope, Counts(), cadres=rows, found_communes=found[:COMMUNES_FOUND], after=next_after,
                 paged=bool(after), query=query, national=policy.province_scope(user) is None)


# ---- what the level shows besides its rows ------------------------------------------------------------------

def extensions_count(session: Session, user: m.User, assignment_id: int) -> int:
    require_staff(user)
    return session.scalar(select(func.count()).select_from(m.AssignmentExtension)
                          .where(m.AssignmentExtension.assignment_id == assignment_id)) or 0


def catalogue_source() -> places.Source:
    """Where the provinces' and communes' official names come from, and of which day."""
    return places.source()


@dataclass(frozen=True)
class TrailEntry:
    at: datetime
    actor: str | None
    action: str
    target_type: str
    target_id: str
    details: dict


def assignment_trail(session: Session, user: m.User, assignment_id: int, limit: int = 500) -> list[TrailEntry]:
    """The audit events of an assignment and of its posts, reports and essays, newest first."""
    require_staff(user)
    get_assignment(session, assignment_id)

    def ids(column, where):
        return select(cast(column, String)).where(where)

    event = m.AuditEvent
    rows = session.execute(
        select(event, m.User.username).outerjoin(m.User, m.User.id == event.actor_id)
        .where(or_(
            and_(event.target_type == "assignment", event.target_id == str(assignment_id)),
            and_(event.target_type == "post", event.target_id.in_(
                ids(m.Post.id, m.Post.assignment_id == assignment_id))),
            and_(event.target_type == "group_report", event.target_id.in_(
                ids(m.GroupReport.id, m.GroupReport.assignment_id == assignment_id))),
            and_(event.target_type == "essay", event.target_id.in_(
                ids(m.Essay.id, m.Essay.assignment_id == assignment_id)))))
        .order_by(event.at.desc(), event.id.desc()).limit(limit)).all()
    return [TrailEntry(e.at, username, e.action, e.target_type, e.target_id, e.details or {}) for e, username in rows]
