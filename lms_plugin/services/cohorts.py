"""Cohorts (one course run), groups by commune, members, and assignments of scenarios."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, joinedload

from ..core.scenarios import Scenario as ScenarioData
from ..store import models as m
from . import accounts, audit, policy
from .allocation import add_to_pool
from .content import latest_rubric_version, scenario_data
from .errors import Conflict, Forbidden, Invalid, NotFound
from .limits import MAX_ID, bounded_text
from .people import PERSON_COLUMNS, PersonView, person_from_columns

# What hosts receive: views, never rows (tests/test_service_views.py). The row functions below (get_cohort,
# create_cohort, group_named, add_member, assign_scenario, get_assignment) serve the other services.

@dataclass(frozen=True)
class GroupView:
    id: int
    cohort_id: int
    name: str
    commune: str = ""


@dataclass(frozen=True)
class CohortView:
    id: int
    name: str
    course_id: int
    course_title: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass(frozen=True)
class AssignmentView:
    """An assignment with the names pages show beside it (its cohort, its scenario version)."""
    id: int
    cohort_id: int
    cohort_name: str
    scenario_id: int
    scenario_slug: str
    version_number: int
    title: str                      # the scenario version's title
    opens_at: datetime | None
    closes_at: datetime | None
    allow_retry: bool
    late_policy: str
    auto_submit_drafts: bool
    appeal_days: int
    grades_released_at: datetime | None


def group_view(group: m.Group) -> GroupView:
    return GroupView(group.id, group.cohort_id, group.name, group.commune)


def cohort_view_of(cohort: m.Cohort) -> CohortView:
    return CohortView(cohort.id, cohort.name, cohort.course_id, cohort.course.title, cohort.starts_at, cohort.ends_at)


def _assignment_view(a: m.Assignment, cohort_name: str, scenario_id: int, slug: str, number: int,
                     title: str) -> AssignmentView:
    return AssignmentView(a.id, a.cohort_id, cohort_name, scenario_id, slug, number, title, a.opens_at, a.closes_at,
                          bool(a.allow_retry), a.late_policy, bool(a.auto_submit_drafts), a.appeal_days,
                          a.grades_released_at)


def assignment_view_of(assignment: m.Assignment) -> AssignmentView:
    """From a row whose cohort and scenario version are already loaded (else each is one more query)."""
    version = assignment.scenario_version
    return _assignment_view(assignment, assignment.cohort.name, version.scenario_id, version.scenario.slug,
                            version.number, version.title)


def assignment_views(session: Session, *where, order_by=(m.Assignment.id,)) -> list[AssignmentView]:
    """Assignments with their cohort's name and their scenario version's number and title, in one query
    (the scenario's text is not read)."""
    rows = session.execute(
        select(m.Assignment, m.Cohort.name, m.Scenario.id, m.Scenario.slug, m.ScenarioVersion.number,
               m.ScenarioVersion.title)
        .join(m.Cohort, m.Cohort.id == m.Assignment.cohort_id)
        .join(m.ScenarioVersion, m.ScenarioVersion.id == m.Assignment.scenario_version_id)
        .join(m.Scenario, m.Scenario.id == m.ScenarioVersion.scenario_id)
        .where(*where).order_by(*order_by))
    return [_assignment_view(*row) for row in rows]


def _instant(field: str, moment: datetime) -> datetime:
    """A time handed in by an adapter, in UTC. One without an offset is refused, not guessed: the adapter
    knows the zone it was typed in (a web form: Vietnam time; the API: an explicit offset), this cannot."""
    if moment.utcoffset() is None:
        raise Invalid("Thời điểm không hợp lệ", {field: ["no time zone"]})
    return moment.astimezone(timezone.utc)


def create_cohort(session: Session, name: str, course_slug: str, *, starts_at: datetime | None = None,
                  ends_at: datetime | None = None) -> m.Cohort:
    course = session.scalar(select(m.Course).where(m.Course.slug == course_slug))
    if course is None:
        raise NotFound("Không có khóa học '%(id)s': hãy nhập tệp course.yaml trước", id=course_slug)
    name = bounded_text(name, "name", 200)
    if session.scalar(select(m.Cohort).where(m.Cohort.name == name)):
        raise Conflict("Lớp '%(name)s' đã tồn tại", {"name": ["taken"]}, name=name)
    cohort = m.Cohort(name=name, course_id=course.id, starts_at=starts_at, ends_at=ends_at)
    session.add(cohort)
    session.flush()
    return cohort


def get_cohort(session: Session, name_or_id: str | int) -> m.Cohort:
    by_id = str(name_or_id).isdigit() and int(name_or_id) <= MAX_ID
    query = select(m.Cohort).where(m.Cohort.id == int(name_or_id)) if by_id \
        else select(m.Cohort).where(m.Cohort.name == name_or_id)
    cohort = session.scalar(query)
    if cohort is None:
        raise NotFound("Không có lớp '%(name)s'", name=name_or_id)
    return cohort


def cohort_view(session: Session, name_or_id: str | int) -> CohortView:
    return cohort_view_of(get_cohort(session, name_or_id))


def add_cohort(session: Session, name: str, course_slug: str, *, starts_at: datetime | None = None,
               ends_at: datetime | None = None) -> CohortView:
    """A new cohort of the course, for the organiser's page and the command line."""
    return cohort_view_of(create_cohort(session, name, course_slug, starts_at=starts_at, ends_at=ends_at))


def group_named(session: Session, cohort: m.Cohort, name: str, commune: str = "") -> m.Group:
    name, commune = bounded_text(name, "name", 200), bounded_text(commune or name[:120], "commune", 120)
    group = session.scalar(select(m.Group).where(m.Group.cohort_id == cohort.id, m.Group.name == name))
    if group is None:
        group = m.Group(cohort_id=cohort.id, name=name, commune=commune)
        session.add(group)
        session.flush()
    return group


def add_member(session: Session, cohort: m.Cohort, user: m.User, group: m.Group | None = None) -> m.Membership:
    if group is not None and group.cohort_id != cohort.id:
        raise Invalid("Nhóm này thuộc lớp khác")
    member = session.scalar(select(m.Membership).where(m.Membership.cohort_id == cohort.id,
                                                       m.Membership.user_id == user.id))
    if member is None:
        member = m.Membership(cohort_id=cohort.id, user_id=user.id)
        session.add(member)
    member.group_id = group.id if group else None
    session.flush()
    return member


def enrol(session: Session, cohort: str | int, username: str, group_name: str | None = None) -> None:
    """Put the person in the cohort (by name or id) and, when named, in that group (created if new)."""
    found = get_cohort(session, cohort)
    group = group_named(session, found, group_name) if group_name else None
    add_member(session, found, accounts.get_user(session, username), group)


def _members(cohort_id: int):
    return (select(*PERSON_COLUMNS).join(m.Membership, m.Membership.user_id == m.User.id)
            .where(m.Membership.cohort_id == cohort_id))


def cadres_of(session: Session, cohort_id: int) -> list[PersonView]:
    """The cohort's members, by name: whom a lecturer can give an extension."""
    return [person_from_columns(row) for row in session.execute(
        _members(cohort_id).order_by(m.User.display_name, m.User.username))]


def member_named(session: Session, cohort_id: int, username: str) -> PersonView | None:
    """One member of the cohort by username (one indexed query, whatever the cohort's size)."""
    row = session.execute(_members(cohort_id).where(m.User.username == username)).first()
    return person_from_columns(row) if row is not None else None


def membership(session: Session, user_id: int, cohort_id: int) -> m.Membership | None:
    return session.scalar(select(m.Membership).where(m.Membership.cohort_id == cohort_id,
                                                     m.Membership.user_id == user_id))


def assign_scenario(session: Session, cohort: m.Cohort, scenario_slug: str, *,
                    opens_at: datetime | None = None, closes_at: datetime | None = None,
                    allow_retry: bool | None = None, version: int | None = None,
                    examiners: Sequence[m.User] = ()) -> m.Assignment:
    scenario = session.scalar(select(m.Scenario).where(m.Scenario.slug == scenario_slug))
    if scenario is None or not scenario.versions:
        raise NotFound("Không có tình huống '%(id)s'", id=scenario_slug)
    if scenario.course_id != cohort.course_id:
        raise Invalid("Tình huống '%(id)s' thuộc khóa học khác với lớp '%(cohort)s'",
                      id=scenario_slug, cohort=cohort.name)
    chosen = scenario.versions[-1] if version is None else next(
        (v for v in scenario.versions if v.number == version), None)
    if chosen is None:
        raise NotFound("Tình huống '%(id)s' không có phiên bản %(version)s", id=scenario_slug, version=version)
    if opens_at and closes_at and closes_at <= opens_at:
        raise Invalid("Thời điểm đóng phải sau thời điểm mở", {"closes_at": ["before opening"]})
    existing = session.scalar(select(m.Assignment.id).where(m.Assignment.cohort_id == cohort.id,
                                                             m.Assignment.scenario_version_id == chosen.id))
    if existing:
        raise _already_assigned(scenario_slug, chosen.number, cohort.name, existing)
    data = scenario_data(chosen)
    rubric_versions = {}
    for key, spec in (("essay", data.essay), ("report", data.discussion)):
        if spec is not None and spec.rubric:
            rubric_versions[key] = latest_rubric_version(session, spec.rubric)
            if rubric_versions[key] is None:
                raise NotFound("Chưa có tiêu chí chấm '%(id)s': hãy nhập trước", id=spec.rubric)
    assignment = m.Assignment(
        cohort_id=cohort.id, scenario_version_id=chosen.id, opens_at=opens_at, closes_at=closes_at,
        allow_retry=data.allow_retry if allow_retry is None else allow_retry,
        essay_rubric_version=rubric_versions.get("essay"), report_rubric_version=rubric_versions.get("report"))
    try:
        with session.begin_nested():        # two lecturers assigning at once: the second is told, not a 500
            session.add(assignment)
    except IntegrityError:
        existing = session.scalar(select(m.Assignment.id).where(m.Assignment.cohort_id == cohort.id,
                                                                 m.Assignment.scenario_version_id == chosen.id))
        raise _already_assigned(scenario_slug, chosen.number, cohort.name, existing) from None
    for examiner in examiners:
        add_examiner(session, assignment, examiner)
    return assignment


def assign(session: Session, cohort: str | int, scenario_slug: str, *, opens_at: datetime | None = None,
           closes_at: datetime | None = None, allow_retry: bool | None = None, version: int | None = None,
           examiner_ids: Sequence[int] = ()) -> AssignmentView:
    """Assign a scenario to the cohort (by name or id) with the examiners named by id: what hosts call."""
    found = get_cohort(session, cohort)
    examiners = []
    for examiner_id in examiner_ids:
        examiner = session.get(m.User, examiner_id)
        if examiner is None:
            raise Invalid("'%(name)s' không phải giám khảo", name=examiner_id)
        examiners.append(examiner)
    assignment = assign_scenario(session, found, scenario_slug, opens_at=opens_at, closes_at=closes_at,
                                 allow_retry=allow_retry, version=version, examiners=examiners)
    session.flush()
    return assignment_view(session, assignment.id)


def _already_assigned(slug: str, number: int, cohort: str, existing: int | None) -> Conflict:
    """A version is assigned to a cohort once: say so, and point to the assignment to edit instead."""
    return Conflict("Phiên bản %(version)s của tình huống '%(id)s' đã được giao cho lớp '%(cohort)s' "
                    "(bài được giao số %(assignment)s). Không giao lại được: hãy sửa bài được giao đó "
                    "(hạn nộp, gia hạn, cách nhận bài muộn).",
                    {"assignment_id": [str(existing)]}, id=slug, version=number, cohort=cohort, assignment=existing)


def add_examiner(session: Session, assignment: m.Assignment, examiner: m.User) -> None:
    """Put an examiner in the assignment's pool; rounds waiting for an examiner go to them at once."""
    if not policy.allowed(examiner, "marking.named_examiner"):
        raise Invalid("'%(name)s' không phải giám khảo", name=examiner.username)
    add_to_pool(session, None, assignment.id, examiner.id)


@dataclass(frozen=True)
class Window:
    opens_at: datetime | None
    closes_at: datetime | None
    extended: bool = False          # closes_at is this cadre's extension, not the assignment's deadline

    def state(self, now: datetime) -> str:
        if self.opens_at and now < self.opens_at:
            return "not_open"
        if self.closes_at and now >= self.closes_at:
            return "closed"
        return "open"


def window(assignment: m.Assignment | AssignmentView) -> Window:
    return Window(assignment.opens_at, assignment.closes_at)


def get_assignment(session: Session, assignment_id: int) -> m.Assignment:
    assignment = session.get(m.Assignment, assignment_id)
    if assignment is None:
        raise NotFound("Không tìm thấy bài được giao")
    return assignment


def assignment_view(session: Session, assignment_id: int) -> AssignmentView:
    found = assignment_views(session, m.Assignment.id == assignment_id)
    if not found:
        raise NotFound("Không tìm thấy bài được giao")
    return found[0]


def assignment_scenario(session: Session, assignment_id: int) -> ScenarioData:
    """The content of the scenario version the assignment uses."""
    version = session.scalar(select(m.ScenarioVersion)
                             .join(m.Assignment, m.Assignment.scenario_version_id == m.ScenarioVersion.id)
                             .where(m.Assignment.id == assignment_id))
    if version is None:
        raise NotFound("Không tìm thấy bài được giao")
    return scenario_data(version)


def learner_assignment(session: Session, user: m.User, assignment_id: int) -> tuple[m.Assignment, m.Membership]:
    """The assignment if ``user`` is a member of its cohort; else NotFound (no hint that it exists).

    One query, which also reads the cadre's extension: the deadline checks that follow on a submission in a
    rush then need no round trip of their own (``window_for`` finds it until the session next writes)."""
    found = session.execute(
        select(m.Assignment, m.Membership, m.AssignmentExtension)
        .join(m.Membership, (m.Membership.cohort_id == m.Assignment.cohort_id) & (m.Membership.user_id == user.id))
        .outerjoin(m.AssignmentExtension, (m.AssignmentExtension.assignment_id == m.Assignment.id)
                   & (m.AssignmentExtension.user_id == user.id))
        .where(m.Assignment.id == assignment_id)
        .options(joinedload(m.Assignment.scenario_version))).first()     # what the cadre works on, read once
    if found is None:
        raise NotFound("Không tìm thấy bài được giao")
    assignment, member, extension = found
    session.info.setdefault(_EXTENSIONS, {})[(assignment.id, user.id)] = extension
    return assignment, member


def _refuse(state: str) -> None:
    if state == "not_open":
        raise Forbidden("Bài này chưa mở")
    if state == "closed":
        raise Forbidden("Bài này đã hết hạn")


def require_open(assignment: m.Assignment, now: datetime) -> None:
    """The assignment's own window; cadre-facing checks use ``require_open_for`` (extensions count)."""
    _refuse(window(assignment).state(now))


_EXTENSIONS = "caselab.extensions_read"     # session.info: (assignment, user) -> extension, as last read


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_extensions(session: Session, *_args) -> None:
    session.info.pop(_EXTENSIONS, None)      # what was read may have changed


def extension_for(session: Session, assignment_id: int, user_id: int) -> m.AssignmentExtension | None:
    read = session.info.get(_EXTENSIONS, {})
    if (assignment_id, user_id) in read:
        return read[(assignment_id, user_id)]
    return session.scalar(select(m.AssignmentExtension).where(m.AssignmentExtension.assignment_id == assignment_id,
                                                              m.AssignmentExtension.user_id == user_id))


def window_for(session: Session, assignment: m.Assignment, user: m.User) -> Window:
    """The window one cadre works in: an extension moves their deadline later, never earlier."""
    base = window(assignment)
    extension = extension_for(session, assignment.id, user.id) if base.closes_at else None
    if extension is None or base.closes_at is None or extension.closes_at <= base.closes_at:
        return base
    return Window(base.opens_at, extension.closes_at, extended=True)


def require_open_for(session: Session, assignment: m.Assignment, user: m.User, now: datetime) -> None:
    _refuse(window_for(session, assignment, user).state(now))


def submission_state(session: Session, assignment: m.Assignment, user: m.User, now: datetime) -> str:
    """For essays: "open", "late" (past this cadre's deadline, late work accepted and flagged),
    "closed" or "not_open"."""
    state = window_for(session, assignment, user).state(now)
    if state == "closed" and assignment.late_policy == "accept_late":
        return "late"
    return state


def require_submission_open(session: Session, assignment: m.Assignment, user: m.User, now: datetime) -> bool:
    """Raises when the cadre may not save or submit their essay now; True when it would be late."""
    state = submission_state(session, assignment, user, now)
    _refuse(state)
    return state == "late"


# Changing an assignment as the course goes: every change is audited with its before and after values.

LATE_POLICIES = ("refuse", "accept_late")
EDITABLE = ("opens_at", "closes_at", "late_policy", "auto_submit_drafts", "allow_retry", "appeal_days")
MAX_APPEAL_DAYS = 365


def _require_staff(actor: m.User) -> None:
    policy.require(actor, "assignment.manage")


def _jsonable(value):
    """For the audit log's JSON: datetimes as ISO 8601 in UTC (stored and checked times are aware)."""
    return value.astimezone(timezone.utc).isoformat() if isinstance(value, datetime) else value


def _checked(field: str, value):
    if field in ("opens_at", "closes_at"):
        if value is not None and not isinstance(value, datetime):
            raise Invalid("Thời điểm không hợp lệ", {field: ["not a datetime"]})
        return _instant(field, value) if value is not None else None
    if field == "late_policy":
        if value not in LATE_POLICIES:
            raise Invalid("Cách xử lý bài nộp muộn phải là “refuse” (không nhận) hoặc “accept_late” "
                          "(nhận và đánh dấu nộp muộn)", {field: ["unknown"]})
        return value
    if field == "appeal_days":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_APPEAL_DAYS:
            raise Invalid("Thời hạn phúc khảo phải từ 0 đến %(n)s ngày", {field: ["out of range"]}, n=MAX_APPEAL_DAYS)
        return value
    if not isinstance(value, bool):
        raise Invalid("Giá trị không hợp lệ", {field: ["not a boolean"]})
    return value


def update_assignment(session: Session, actor: m.User, assignment_id: int, *, now: datetime | None = None,
                      **changes) -> AssignmentView:
    """Change deadlines and rules; a closed assignment given a later deadline is audited as reopened."""
    _require_staff(actor)
    assignment = get_assignment(session, assignment_id)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise Invalid("Không sửa được mục: %(names)s", {name: ["unknown"] for name in unknown},
                      names=", ".join(unknown))
    wanted = {field: _checked(field, value) for field, value in changes.items()}
    opens = wanted.get("opens_at", assignment.opens_at)
    closes = wanted.get("closes_at", assignment.closes_at)
    if opens and closes and closes <= opens:
        raise Invalid("Thời điểm đóng phải sau thời điểm mở", {"closes_at": ["before opening"]})
    now = now or datetime.now(timezone.utc)
    was_closed = window(assignment).state(now) == "closed"
    diff = {}
    for field, value in wanted.items():
        before = getattr(assignment, field)
        if _jsonable(before) != _jsonable(value):
            diff[field] = {"before": _jsonable(before), "after": _jsonable(value)}
            setattr(assignment, field, value)
    if not diff:
        return assignment_view(session, assignment.id)
    reopened = was_closed and "closes_at" in diff and window(assignment).state(now) == "open"
    audit.record(session, actor.id, "assignment.reopen" if reopened else "assignment.update", "assignment",
                 assignment.id, **diff)
    session.flush()
    return assignment_view(session, assignment.id)


@dataclass(frozen=True)
class ExtensionView:
    user_id: int
    username: str
    name: str
    closes_at: datetime
    reason: str
    granted_by: str | None
    created_at: datetime


def extensions(session: Session, actor: m.User, assignment_id: int) -> list[ExtensionView]:
    _require_staff(actor)
    get_assignment(session, assignment_id)
    granter = aliased(m.User)
    rows = session.execute(
        select(m.AssignmentExtension, m.User, granter.username)
        .join(m.User, m.User.id == m.AssignmentExtension.user_id)
        .outerjoin(granter, granter.id == m.AssignmentExtension.granted_by_id)
        .where(m.AssignmentExtension.assignment_id == assignment_id).order_by(m.User.username)).all()
    return [ExtensionView(user.id, user.username, user.display_name, ext.closes_at, ext.reason, by,
                          ext.created_at) for ext, user, by in rows]


def _cadre_of(session: Session, assignment: m.Assignment, user_id: int) -> m.User:
    user = session.get(m.User, user_id)
    if user is None or membership(session, user_id, assignment.cohort_id) is None:
        raise NotFound("Học viên này không thuộc lớp được giao bài")
    return user


def grant_extension(session: Session, actor: m.User, assignment_id: int, user_id: int, closes_at: datetime,
                    reason: str = "") -> ExtensionView:
    """Give one cadre a later deadline (or change theirs); the reason is kept in the audit log."""
    _require_staff(actor)
    assignment = get_assignment(session, assignment_id)
    user = _cadre_of(session, assignment, user_id)
    if not isinstance(closes_at, datetime):
        raise Invalid("Hãy nhập hạn mới", {"closes_at": ["required"]})
    closes_at = _instant("closes_at", closes_at)
    reason = bounded_text((reason or "").strip(), "reason", 500)
    if assignment.closes_at is None:
        raise Invalid("Bài này không có hạn chót nên không cần gia hạn", {"closes_at": ["no deadline"]})
    if closes_at <= assignment.closes_at:
        raise Invalid("Hạn gia hạn phải sau hạn chót chung của bài", {"closes_at": ["not later"]})
    extension = extension_for(session, assignment_id, user_id)
    before = _jsonable(extension.closes_at) if extension else None
    if extension is None:
        extension = m.AssignmentExtension(assignment_id=assignment_id, user_id=user_id, closes_at=closes_at)
        session.add(extension)
    extension.closes_at, extension.reason, extension.granted_by_id = closes_at, reason, actor.id
    audit.record(session, actor.id, "assignment.extension.grant", "assignment", assignment_id, user_id=user_id,
                 username=user.username, closes_at={"before": before, "after": _jsonable(closes_at)}, reason=reason)
    session.flush()
    return ExtensionView(user.id, user.username, user.display_name, closes_at, reason, actor.username,
                         extension.created_at or datetime.now(timezone.utc))


def revoke_extension(session: Session, actor: m.User, assignment_id: int, user_id: int) -> None:
    _require_staff(actor)
    get_assignment(session, assignment_id)
    extension = extension_for(session, assignment_id, user_id)
    if extension is None:
        raise NotFound("Học viên này không có gia hạn")
    user = session.get(m.User, user_id)
    audit.record(session, actor.id, "assignment.extension.revoke", "assignment", assignment_id, user_id=user_id,
                 username=user.username if user else None,
                 closes_at={"before": _jsonable(extension.closes_at), "after": None}, reason=extension.reason)
    session.delete(extension)
    session.flush()


def assignments_for(session: Session, user: m.User) -> list[tuple[m.Assignment, m.Membership]]:
    rows = session.execute(
        select(m.Assignment, m.Membership)
        .join(m.Membership, m.Membership.cohort_id == m.Assignment.cohort_id)
        .where(m.Membership.user_id == user.id).order_by(m.Assignment.closes_at, m.Assignment.id))
    return [(a, mem) for a, mem in rows]
