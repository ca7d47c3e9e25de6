"""What a cadre sees at a glance: their assignments by topic, deadlines, progress and next step; the case's files.

Read-only views built from the other use cases' tables, so the dashboard and
an assignment's overview show the same progress marks.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from ..core.courses import Course as CourseData
from ..core.scenarios import Scenario as ScenarioData
from ..store import models as m
from ..units import registry
from . import policy
from .cohorts import Window, get_assignment, learner_assignment, window_for
from .content import AttachmentView, attachment_view, course_data, scenario_data
from .errors import N_, NotFound

DUE_SOON = timedelta(hours=48)      # the dashboard's summary counts work due within this
FAR = datetime(9999, 12, 31, tzinfo=timezone.utc)      # no deadline: after every dated one
STATE_ORDER = {"open": 0, "not_open": 1, "closed": 2}

# What a cadre does next on an assignment: the kinds that are a page to open (the host links them) ...
ACTIONS = frozenset({"case", "discussion", "report", "essay", "grade"})
# ... and the lines that only say where things stand: not_open, waiting, missed, closed, done.


@dataclass(frozen=True)
class NextStep:
    kind: str                       # case | discussion | report | essay | grade | not_open | waiting | missed | ...
    label: str                      # msgid; ``at`` fills its %(t)s
    at: datetime | None = None

    @property
    def is_action(self) -> bool:
        return self.kind in ACTIONS


@dataclass(frozen=True)
class AssignmentCard:
    assignment_id: int
    title: str
    summary: str
    topic: str
    state: str                      # not_open | open | closed
    opens_at: datetime | None
    closes_at: datetime | None
    group_name: str | None
    has_discussion: bool
    has_report: bool
    has_essay: bool
    case_started: bool
    case_finished: bool
    my_posts: int
    group_posts: int
    report_submitted: bool
    essay_id: int | None            # the latest submission, if any
    essay_submitted_at: datetime | None
    grades_released: bool
    min_words: int
    max_words: int | None
    # every unit type that applies, (type id, title msgid), built-ins first: hosts give each a tab
    units: tuple[tuple[str, str], ...] = ()
    accepts_late: bool = False      # after the deadline the essay is still taken, flagged late

    @property
    def next_step(self) -> NextStep:
        return next_step(self)


def next_step(card: AssignmentCard) -> NextStep:
    """The one thing this cadre does next on an assignment, from what the card shows (no clock, no query).

    Open work follows the course: the case, the group's discussion and report, then the essay; a released mark
    comes first, and a closed assignment only says what became of the essay."""
    if card.state == "not_open":
        return NextStep("not_open", N_("Mở lúc %(t)s"), card.opens_at)
    if card.grades_released and card.essay_id is not None:
        return NextStep("grade", N_("Xem điểm"))
    if card.state == "open":
        if not card.case_started:
            return NextStep("case", N_("Bắt đầu tình huống"))
        if not card.case_finished:
            return NextStep("case", N_("Tiếp tục tình huống"))
        in_group = card.group_name is not None          # the discussion and the report are a group's
        if in_group and card.has_discussion and not card.my_posts:
            return NextStep("discussion", N_("Thảo luận nhóm"))
        if in_group and card.has_report and not card.report_submitted:
            return NextStep("report", N_("Nộp báo cáo nhóm"))
    if card.essay_id is not None:
        return NextStep("waiting", N_("Đã nộp — chờ kết quả chấm"))
    if card.has_essay:
        if card.state == "open":
            return NextStep("essay", N_("Viết bài thu hoạch"))
        if card.accepts_late:
            return NextStep("essay", N_("Viết bài thu hoạch (nộp muộn)"))
        return NextStep("missed", N_("Đã đóng — bạn chưa nộp bài thu hoạch"))
    if card.state == "closed":
        return NextStep("closed", N_("Đã đóng"))
    return NextStep("done", N_("Đã hoàn thành"))


@dataclass(frozen=True)
class _Done:
    """What one cadre has done on one assignment (and their group, if any)."""
    case_started: bool = False
    case_finished: bool = False
    my_posts: int = 0
    group_posts: int = 0
    report_submitted: bool = False
    essay_id: int | None = None
    essay_submitted_at: datetime | None = None


def _done(session: Session, user: m.User, assignments: list[tuple[int, int | None]]) -> dict[int, _Done]:
    """(assignment id, the cadre's group id there) -> their progress: four queries however many assignments."""
    ids = [a for a, _group in assignments]
    if not ids:
        return {}
    attempts: dict[int, tuple[int, bool]] = {}          # assignment -> (latest attempt's number, finished)
    for assignment_id, number, finished_at in session.execute(
            select(m.Attempt.assignment_id, m.Attempt.number, m.Attempt.finished_at)
            .where(m.Attempt.user_id == user.id, m.Attempt.assignment_id.in_(ids))):
        if assignment_id not in attempts or number > attempts[assignment_id][0]:
            attempts[assignment_id] = (number, finished_at is not None)
    essays: dict[int, tuple[int, int, datetime]] = {}   # assignment -> (latest version, its id, submitted at)
    for assignment_id, version, essay_id, submitted_at in session.execute(
            select(m.Essay.assignment_id, m.Essay.version, m.Essay.id, m.Essay.submitted_at)
            .where(m.Essay.user_id == user.id, m.Essay.kind == "essay", m.Essay.assignment_id.in_(ids))):
        if assignment_id not in essays or version > essays[assignment_id][0]:
            essays[assignment_id] = (version, essay_id, submitted_at)
    in_groups = {(a, g) for a, g in assignments if g is not None}
    posts: dict[int, tuple[int, int]] = {}              # assignment -> (mine, the group's)
    reported: set[int] = set()
    if in_groups:
        groups = {g for _a, g in in_groups}
        for assignment_id, group_id, author_id, n in session.execute(
                select(m.Post.assignment_id, m.Post.group_id, m.Post.author_id, func.count())
                .where(m.Post.assignment_id.in_(ids), m.Post.group_id.in_(groups))
                .group_by(m.Post.assignment_id, m.Post.group_id, m.Post.author_id)):
            if (assignment_id, group_id) in in_groups:
                mine, everyone = posts.get(assignment_id, (0, 0))
                posts[assignment_id] = (mine + (n if author_id == user.id else 0), everyone + n)
        reported = {a for a, g in session.execute(
            select(m.GroupReport.assignment_id, m.GroupReport.group_id)
            .where(m.GroupReport.assignment_id.in_(ids), m.GroupReport.group_id.in_(groups),
                   m.GroupReport.submitted_at.is_not(None))) if (a, g) in in_groups}
    out = {}
    for assignment_id in ids:
        started = assignment_id in attempts
        essay = essays.get(assignment_id)
        mine, everyone = posts.get(assignment_id, (0, 0))
        out[assignment_id] = _Done(
            case_started=started, case_finished=started and attempts[assignment_id][1],
            my_posts=mine, group_posts=everyone, report_submitted=assignment_id in reported,
            essay_id=essay[1] if essay else None, essay_submitted_at=essay[2] if essay else None)
    return out


def _card(assignment: m.Assignment, window_: Window, group_name: str | None, done: _Done,
          now: datetime) -> AssignmentCard:
    scenario = scenario_data(assignment.scenario_version)
    spec = scenario.essay
    return AssignmentCard(
        assignment_id=assignment.id, title=scenario.title, summary=scenario.summary, topic=str(scenario.topic),
        state=window_.state(now), opens_at=window_.opens_at, closes_at=window_.closes_at,
        group_name=group_name,
        has_discussion=scenario.discussion is not None,
        has_report=bool(scenario.discussion and scenario.discussion.group_report),
        has_essay=spec is not None,
        case_started=done.case_started, case_finished=done.case_finished,
        my_posts=done.my_posts, group_posts=done.group_posts,
        report_submitted=done.report_submitted,
        essay_id=done.essay_id, essay_submitted_at=done.essay_submitted_at,
        grades_released=assignment.grades_released_at is not None,
        min_words=spec.min_words if spec else 0, max_words=spec.max_words if spec else None,
        units=tuple((u.type_id, u.title) for u in registry.units_for(scenario)),
        accepts_late=assignment.late_policy == "accept_late")


def _order(card: AssignmentCard) -> tuple[int, datetime, int]:
    """Open work first, then what has not opened yet, then closed; earliest deadline first within each."""
    return STATE_ORDER[card.state], card.closes_at or FAR, card.assignment_id


def _extended(assignment: m.Assignment, extension: datetime | None) -> Window:
    """As ``window_for``: an extension moves this cadre's deadline later, never earlier."""
    if extension is None or assignment.closes_at is None or extension <= assignment.closes_at:
        return Window(assignment.opens_at, assignment.closes_at)
    return Window(assignment.opens_at, extension, extended=True)


def _my_assignments(session: Session, user: m.User, now: datetime) -> list[tuple[AssignmentCard, int]]:
    """Every assignment of the cadre's cohorts as a card, with its course's id: five queries at most."""
    rows = session.execute(
        select(m.Assignment, m.Membership.group_id, m.Group.name, m.Cohort.course_id,
               m.AssignmentExtension.closes_at)
        .join(m.Membership, (m.Membership.cohort_id == m.Assignment.cohort_id) & (m.Membership.user_id == user.id))
        .join(m.Cohort, m.Cohort.id == m.Assignment.cohort_id)
        .outerjoin(m.Group, m.Group.id == m.Membership.group_id)
        .outerjoin(m.AssignmentExtension, (m.AssignmentExtension.assignment_id == m.Assignment.id)
                   & (m.AssignmentExtension.user_id == user.id))
        .options(joinedload(m.Assignment.scenario_version))
        .order_by(m.Assignment.closes_at, m.Assignment.id)).all()
    done = _done(session, user, [(a.id, group_id) for a, group_id, *_rest in rows])
    return [(_card(a, _extended(a, extension), group_name, done[a.id], now), course_id)
            for a, _group_id, group_name, course_id, extension in rows]


def assignment_cards(session: Session, user: m.User, now: datetime | None = None) -> list[AssignmentCard]:
    """Open work first, then what has not opened yet, then closed; earliest deadline first within each."""
    now = now or datetime.now(timezone.utc)
    return sorted((card for card, _course in _my_assignments(session, user, now)), key=_order)


def assignment_card(session: Session, user: m.User, assignment_id: int,
                    now: datetime | None = None) -> AssignmentCard:
    assignment, member = learner_assignment(session, user, assignment_id)
    done = _done(session, user, [(assignment.id, member.group_id)])[assignment.id]
    return _card(assignment, window_for(session, assignment, user), member.group.name if member.group else None,
                 done, now or datetime.now(timezone.utc))


@dataclass(frozen=True)
class TopicGroup:
    """A topic (chuyên đề) of a course and the cadre's assignments on it, in the dashboard's order."""
    topic_id: str
    title: str | None               # from the course file; None when the course does not name the topic
    cards: tuple[AssignmentCard, ...]

    @property
    def has_open(self) -> bool:
        return any(c.state == "open" for c in self.cards)


@dataclass(frozen=True)
class Dashboard:
    groups: tuple[TopicGroup, ...]
    open_count: int                 # assignments open now
    due_soon: int                   # open, with something left to do, and a deadline within DUE_SOON

    @property
    def empty(self) -> bool:
        return not self.groups


def topic_groups(cards: Iterable[tuple[AssignmentCard, CourseData | None]]) -> tuple[TopicGroup, ...]:
    """The cards by topic: a topic with open work first, then in the course file's order (a topic the course
    does not list after those it does); within a topic open, not yet open, closed, earliest deadline first."""
    found: dict[tuple[str, str], list[AssignmentCard]] = {}        # (course, topic) -> its cards
    place: dict[tuple[str, str], tuple[str, int, str]] = {}
    titles: dict[tuple[str, str], str | None] = {}
    for card, course in cards:
        key = (course.id if course else "", card.topic)
        if key not in found:
            topics = course.topics if course else ()
            topic = course.topic(card.topic) if course else None
            place[key] = (key[0], topics.index(topic) if topic else len(topics), card.topic)
            titles[key] = topic.title if topic and topic.title else None
            found[key] = []
        found[key].append(card)
    groups = {key: TopicGroup(key[1], titles[key], tuple(sorted(listed, key=_order)))
              for key, listed in found.items()}
    return tuple(groups[key] for key in sorted(groups, key=lambda k: (not groups[k].has_open, place[k])))


def cadre_dashboard(session: Session, user: m.User, now: datetime | None = None) -> Dashboard:
    """The cadre's assignments by topic, with how many are open and how many are due soon: six queries
    (the assignments, their progress in four, the courses' topics once) however many assignments there are."""
    now = now or datetime.now(timezone.utc)
    found = _my_assignments(session, user, now)
    course_ids = sorted({course_id for _card, course_id in found})
    courses: dict[int, CourseData] = {}
    if course_ids:
        courses = {row.id: course_data(row)
                   for row in session.scalars(select(m.Course).where(m.Course.id.in_(course_ids)))}
    cards = [card for card, _course in found]
    open_ = [c for c in cards if c.state == "open"]
    due = [c for c in open_ if c.closes_at is not None and c.closes_at - now <= DUE_SOON and c.next_step.is_action]
    return Dashboard(topic_groups((card, courses.get(course_id)) for card, course_id in found),
                     open_count=len(open_), due_soon=len(due))


def attachment(session: Session, user: m.User, assignment_id: int, position: int) -> AttachmentView:
    """A file of the assignment's scenario: for the cohort's members and for lecturers."""
    assignment = get_assignment(session, assignment_id)
    policy.require(user, "assignment.read", assignment)
    found = session.scalar(select(m.ScenarioAttachment).where(
        m.ScenarioAttachment.version_id == assignment.scenario_version_id, m.ScenarioAttachment.position == position))
    if found is None:
        raise NotFound("Không tìm thấy tệp đính kèm")
    return attachment_view(found)


def learner_scenario(session: Session, user: m.User, assignment_id: int) -> ScenarioData:
    """The scenario version this cadre's assignment uses (a member of its cohort, else NotFound)."""
    assignment, _member = learner_assignment(session, user, assignment_id)
    return scenario_data(assignment.scenario_version)


def learner_attachments(session: Session, user: m.User, assignment_id: int) -> list[AttachmentView]:
    """The files of the scenario version this cadre's assignment uses, in their order."""
    assignment, _member = learner_assignment(session, user, assignment_id)
    return [attachment_view(a) for a in assignment.scenario_version.attachments]


@dataclass(frozen=True)
class ScenarioRef:
    id: str                         # the scenario's id (slug)
    title: str
    topic: str
    version: int


@dataclass(frozen=True)
class GroupRef:
    id: int
    name: str


@dataclass(frozen=True)
class LearnerAssignment:
    """One of a cadre's assignments as the API lists them, in their own window (an extension counts)."""
    id: int
    scenario: ScenarioRef
    group: GroupRef | None
    opens_at: datetime | None
    closes_at: datetime | None
    state: str                      # not_open | open | closed
    grades_released: bool


def learner_assignments(session: Session, user: m.User, now: datetime | None = None) -> list[LearnerAssignment]:
    """The cadre's assignments, earliest deadline first: one query for them, one for their extensions."""
    now = now or datetime.now(timezone.utc)
    rows = session.execute(
        select(m.Assignment, m.Scenario.slug, m.ScenarioVersion.title, m.ScenarioVersion.topic,
               m.ScenarioVersion.number, m.Group.id, m.Group.name)
        .join(m.Membership, m.Membership.cohort_id == m.Assignment.cohort_id)
        .join(m.ScenarioVersion, m.ScenarioVersion.id == m.Assignment.scenario_version_id)
        .join(m.Scenario, m.Scenario.id == m.ScenarioVersion.scenario_id)
        .outerjoin(m.Group, m.Group.id == m.Membership.group_id)
        .where(m.Membership.user_id == user.id).order_by(m.Assignment.closes_at, m.Assignment.id)).all()
    extended = dict(session.execute(
        select(m.AssignmentExtension.assignment_id, m.AssignmentExtension.closes_at)
        .where(m.AssignmentExtension.user_id == user.id,
               m.AssignmentExtension.assignment_id.in_([row[0].id for row in rows]))).all()) if rows else {}
    out = []
    for assignment, slug, title, topic, number, group_id, group_name in rows:
        shown = Window(assignment.opens_at, assignment.closes_at)
        later = extended.get(assignment.id)        # as window_for: an extension moves a deadline later, never earlier
        if later is not None and shown.closes_at is not None and later > shown.closes_at:
            shown = Window(shown.opens_at, later, extended=True)
        out.append(LearnerAssignment(
            assignment.id, ScenarioRef(slug, title, topic, number),
            GroupRef(group_id, group_name) if group_id is not None else None,
            shown.opens_at, shown.closes_at, shown.state(now), assignment.grades_released_at is not None))
    return out
