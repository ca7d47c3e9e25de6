"""SQLAlchemy 2.0 models for DESIGN §3. Changes go through Alembic (store/migrations)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class UTCDateTime(TypeDecorator[datetime]):
    """The store's one datetime type: aware in, aware UTC out, on every backend.

    SQLite keeps no offset (it stores the wall time it is given and hands it back naive), PostgreSQL
    hands back times in the session's zone. So every value is converted to UTC on the way in and
    marked (or converted to) UTC on the way out; no code outside the store repairs a time it read.

    A naive time on the way in is refused (ValueError), not guessed: whoever wrote it did not know
    which zone it was in (a datetime-local field is Vietnam time, ``datetime.utcnow()`` is UTC), and a
    wrong guess silently moves a deadline by seven hours. Adapters turn input into aware times first.
    The database type is unchanged (TIMESTAMP WITH TIME ZONE; DATETIME on SQLite), so no migration.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise ValueError(f"the store takes only timezone-aware datetimes, not {value!r}")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:                # SQLite: the UTC wall time written above
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)        # PostgreSQL: the session's zone


Timestamp = UTCDateTime()


USER_SEARCHED = "display_name || ' ' || username || ' ' || contact || ' ' || email"   # what a search looks in


class User(Base):
    __tablename__ = "users"
    # a roster row without an id or username is matched by name, commune and contact (services/roster.py);
    # the accounts list pages a province's or a role's accounts in username order (services/account_admin.py;
    # its search indexes are expressions on PostgreSQL only: migration 0010)
    __table_args__ = (Index("ix_users_contact_commune", "contact", "commune"),
                      Index("ix_users_province_username", "province", "username"),
                      Index("ix_users_role_username", "role", "username"),
                      Index("ix_users_search", text(f"caselab_fold({USER_SEARCHED}) gin_trgm_ops"),
                            postgresql_using="gin").ddl_if(dialect="postgresql"),
                      Index("ix_users_commune_fold", text("caselab_fold(commune)")).ddl_if(dialect="postgresql"))
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))      # lecturer | cadre | examiner | admin
    province: Mapped[str] = mapped_column(String(120), default="")
    commune: Mapped[str] = mapped_column(String(120), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)  # e.g. an LMS anonymous id
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # set when someone else chose the password (roster import, reset): the owner replaces it first
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    email_notifications: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    merged_into_id: Mapped[int | None] = mapped_column(Integer)   # merged into that account (and deactivated)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)   # sha256: a stolen table gives no tokens
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(Timestamp)   # at most once in 5 minutes
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)     # by its owner, an organiser, a new password
    user: Mapped[User] = relationship()


class SignInLink(Base):
    """A one-time sign-in link handed out with a roster import: whoever opens it before it expires chooses
    the account's first password. Only its sha256 is kept (the link is a 256-bit random secret)."""
    __tablename__ = "sign_in_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    used_at: Mapped[datetime | None] = mapped_column(Timestamp)


class UserSession(Base):
    """A signed-in browser. Its cookies carry only a random key; ending the row (logout, a new password)
    ends the session whatever cookie someone kept."""
    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)     # sha256 of the cookie's key
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)
    user: Mapped[User] = relationship()


class Course(Base):
    __tablename__ = "courses"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    topics: Mapped[list[Any]] = mapped_column(default=list)    # [{id, title, description}]
    source: Mapped[str] = mapped_column(Text, default="")


class Scenario(Base):
    __tablename__ = "scenarios"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    course: Mapped[Course] = relationship()
    versions: Mapped[list[ScenarioVersion]] = relationship(
        back_populates="scenario", order_by="ScenarioVersion.number")


class ScenarioVersion(Base):
    """Immutable: attempts and essays keep the version they started on."""
    __tablename__ = "scenario_versions"
    __table_args__ = (UniqueConstraint("scenario_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    declared_version: Mapped[int] = mapped_column(Integer)
    topic: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(Text)           # the YAML as imported
    sha256: Mapped[str] = mapped_column(String(64))      # of source and attachments together
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    scenario: Mapped[Scenario] = relationship(back_populates="versions")
    attachments: Mapped[list[ScenarioAttachment]] = relationship(order_by="ScenarioAttachment.position")


class ScenarioAttachment(Base):
    __tablename__ = "scenario_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("scenario_versions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    file: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Rubric(Base):
    __tablename__ = "rubrics"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    versions: Mapped[list[RubricVersion]] = relationship(
        back_populates="rubric", order_by="RubricVersion.number")


class RubricVersion(Base):
    __tablename__ = "rubric_versions"
    __table_args__ = (UniqueConstraint("rubric_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    rubric: Mapped[Rubric] = relationship(back_populates="versions")


class Cohort(Base):
    __tablename__ = "cohorts"
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    starts_at: Mapped[datetime | None] = mapped_column(Timestamp)
    ends_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    course: Mapped[Course] = relationship()
    groups: Mapped[list[Group]] = relationship(back_populates="cohort", order_by="Group.id")


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("cohort_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    commune: Mapped[str] = mapped_column(String(120), default="")
    cohort: Mapped[Cohort] = relationship(back_populates="groups")


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("cohort_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), index=True)
    user: Mapped[User] = relationship()
    group: Mapped[Group | None] = relationship()


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("cohort_id", "scenario_version_id", name="uq_assignments_cohort_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    scenario_version_id: Mapped[int] = mapped_column(ForeignKey("scenario_versions.id"))
    essay_rubric_version_id: Mapped[int | None] = mapped_column(ForeignKey("rubric_versions.id"))
    report_rubric_version_id: Mapped[int | None] = mapped_column(ForeignKey("rubric_versions.id"))
    opens_at: Mapped[datetime | None] = mapped_column(Timestamp)
    closes_at: Mapped[datetime | None] = mapped_column(Timestamp)
    allow_retry: Mapped[bool] = mapped_column(Boolean, default=False)
    grades_released_at: Mapped[datetime | None] = mapped_column(Timestamp)   # the first release
    # after the deadline: "refuse" submissions, or "accept_late" and flag them as late
    late_policy: Mapped[str] = mapped_column(String(20), default="refuse", server_default="refuse")
    # drafts never submitted by the deadline are submitted for their authors (flagged auto_submitted)
    auto_submit_drafts: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    appeal_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")  # after a mark's release
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    cohort: Mapped[Cohort] = relationship()
    scenario_version: Mapped[ScenarioVersion] = relationship()
    essay_rubric_version: Mapped[RubricVersion | None] = relationship(foreign_keys=[essay_rubric_version_id])
    report_rubric_version: Mapped[RubricVersion | None] = relationship(foreign_keys=[report_rubric_version_id])


class AssignmentExaminer(Base):
    """The assignment's examiner pool: rounds go to the least-loaded present members."""
    __tablename__ = "assignment_examiners"
    __table_args__ = (UniqueConstraint("assignment_id", "examiner_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    examiner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    absent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # gets no new work
    examiner: Mapped[User] = relationship()


class AssignmentExtension(Base):
    """A later deadline for one cadre of an assignment."""
    __tablename__ = "assignment_extensions"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    closes_at: Mapped[datetime] = mapped_column(Timestamp)
    reason: Mapped[str] = mapped_column(String(500), default="")
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Attempt(Base):
    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    number: Mapped[int] = mapped_column(Integer, default=1)
    decisions: Mapped[list[Any]] = mapped_column(default=list)    # [[stage_id, choice_id], ...]
    points: Mapped[float] = mapped_column(Float, default=0)
    max_points: Mapped[float] = mapped_column(Float, default=0)
    current_stage: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
    assignment: Mapped[Assignment] = relationship()


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    prompt: Mapped[str] = mapped_column(String(60), default="discussion")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    body: Mapped[str] = mapped_column(Text)                       # sanitised HTML
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(Timestamp)
    hidden_at: Mapped[datetime | None] = mapped_column(Timestamp)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    edits: Mapped[list[PostEdit]] = relationship(order_by="PostEdit.id")


class PostEdit(Base):
    """A post's earlier body, kept whenever its author edits it."""
    __tablename__ = "post_edits"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    replaced_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class GroupReport(Base):
    __tablename__ = "group_reports"
    __table_args__ = (UniqueConstraint("assignment_id", "group_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    body: Mapped[str] = mapped_column(Text, default="")           # sanitised HTML
    revision: Mapped[int] = mapped_column(Integer, default=0)     # optimistic lock for co-editing
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sha256: Mapped[str | None] = mapped_column(String(64))


class EssayDraft(Base):
    __tablename__ = "essay_drafts"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text, default="")
    saved_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Essay(Base):
    """A submission: stored exactly as sent, never updated; resubmitting adds a version.

    ``kind`` "essay" is a cadre's bài thu hoạch; "report" is a group report as submitted (``group_id``;
    ``user_id`` is the member who submitted it), marked through the same double-marking rules.
    """
    __tablename__ = "essays"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id", "version", "kind", name="uq_essays_submission"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="essay", server_default="essay")
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    words: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())   # after the deadline
    # a draft submitted at the deadline
    auto_submitted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    assignment: Mapped[Assignment] = relationship()
    author: Mapped[User] = relationship()


class Grade(Base):
    """One examiner's marking of one essay in one round: 1 and 2 blind double marking, 3 a third examiner,
    4 the re-marking of an appeal (phúc khảo). A row names the examiner the round is waiting for."""
    __tablename__ = "grades"
    __table_args__ = (UniqueConstraint("essay_id", "round"), UniqueConstraint("essay_id", "examiner_id"),
                      Index("ix_grades_examiner_open", "examiner_id", "finalised_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    essay_id: Mapped[int] = mapped_column(ForeignKey("essays.id"), index=True)
    examiner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)    # criterion id -> points
    comments: Mapped[dict[str, Any]] = mapped_column(default=dict)  # criterion id -> text
    comment: Mapped[str] = mapped_column(Text, default="")
    total: Mapped[float | None] = mapped_column(Float)
    finalised_at: Mapped[datetime | None] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    essay: Mapped[Essay] = relationship()
    examiner: Mapped[User] = relationship()


class ExaminerLoad(Base):
    """An examiner's unfinalised rounds, in 16 shards by essay id (essay_id % 16): kept by triggers on grades
    (migration 0007), never written by the application; choosing examiners sums an examiner's shards. The shards
    let concurrent submissions given the same examiners update different rows."""
    __tablename__ = "examiner_loads"
    examiner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    open_rounds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class EssayResult(Base):
    """Where the marking of one submission stands, kept up to date on every marking event so the
    allocation page counts states without reading grades."""
    __tablename__ = "essay_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    essay_id: Mapped[int] = mapped_column(ForeignKey("essays.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)      # awaiting_marks | needs_third | final
    marks_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")   # finalised of rounds 1-3
    needs_examiner: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    final: Mapped[float | None] = mapped_column(Float)
    gap: Mapped[float | None] = mapped_column(Float)
    rule: Mapped[str] = mapped_column(String(200), default="")
    released_at: Mapped[datetime | None] = mapped_column(Timestamp)    # the author may see the final mark
    corrected_at: Mapped[datetime | None] = mapped_column(Timestamp)   # a chief examiner's correction
    correction_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    published_at: Mapped[datetime | None] = mapped_column(Timestamp)   # sent to the LMS
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class GradeAnnotation(Base):
    """An examiner's comment on a passage: character offsets into the immutable essay body."""
    __tablename__ = "grade_annotations"
    id: Mapped[int] = mapped_column(primary_key=True)
    grade_id: Mapped[int] = mapped_column(ForeignKey("grades.id", ondelete="CASCADE"), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    quote: Mapped[str] = mapped_column(Text)        # body[start:end], kept to show and to check
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Appeal(Base):
    """A cadre's request for re-marking (phúc khảo) of a released mark; one per submission."""
    __tablename__ = "appeals"
    id: Mapped[int] = mapped_column(primary_key=True)
    essay_id: Mapped[int] = mapped_column(ForeignKey("essays.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    # submitted -> assigned (an examiner re-marks) -> decided (outcome known) -> released (the cadre sees it)
    status: Mapped[str] = mapped_column(String(20), default="submitted", index=True)
    previous_final: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[float | None] = mapped_column(Float)
    rule: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    released_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Notification(Base):
    """Something a person should know: shown under the bell, mailed in a batch unless they opted out."""
    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("user_id", "dedupe_key"),
                      Index("ix_notifications_unread", "user_id", "read_at"),
                      Index("ix_notifications_unmailed", "emailed_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # to_mark | third_needed | deadline_soon | released | appeal_outcome …
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    link: Mapped[str] = mapped_column(String(300), default="")
    dedupe_key: Mapped[str | None] = mapped_column(String(200))   # the same event is told once
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(Timestamp)
    emailed_at: Mapped[datetime | None] = mapped_column(Timestamp)   # also set when no mail is to be sent


class ReferenceText(Base):
    """Sources essays are compared with (lecture notes, legal texts) or whose passages never count."""
    __tablename__ = "reference_texts"
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="reference")   # reference | exclude
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SimilarityReport(Base):
    __tablename__ = "similarity_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    essay_id: Mapped[int] = mapped_column(ForeignKey("essays.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")   # pending | done | failed
    score: Mapped[float | None] = mapped_column(Float)
    paraphrase: Mapped[float | None] = mapped_column(Float)
    sources: Mapped[list[Any]] = mapped_column(default=list)   # [{kind, id, title, share, passages}]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Job(Base):
    """Background work, written in the same transaction as what asked for it (a transactional outbox), so a
    job exists exactly when that work was committed. services/jobs.py hands it to a runner and hands it again
    when it was lost (a killed worker, a restarted broker); the row, not the broker, is the truth."""
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)          # ids only
    key: Mapped[str] = mapped_column(String(200))       # name and args: one waiting job per key
    queue: Mapped[str] = mapped_column(String(20), default="checks")
    state: Mapped[str] = mapped_column(String(20), default="queued")    # queued | running | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)            # runs started
    due_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)  # handed (again) from then if not begun
    error: Mapped[str | None] = mapped_column(Text)
    runner: Mapped[str | None] = mapped_column(String(120))   # host:pid of the process running it
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
    __table_args__ = (
        Index("ix_jobs_waiting_key", "key", unique=True, sqlite_where=text("state = 'queued'"),
              postgresql_where=text("state = 'queued'")),
        Index("ix_jobs_state_due", "state", "due_at"),
        Index("ix_jobs_state_finished", "state", "finished_at"),      # the organisers' "done in the last hour"
    )


class RosterImport(Base):
    """An organiser's "Nhập" of a checked roster file, run as a background job (services/roster_imports.py): the
    kept file it imports (by its sha256), how far it has got, and at the end what it did, for the progress page.
    Its job (``job_id``, no foreign key: finished jobs are deleted after a week) carries this row's id alone."""
    __tablename__ = "roster_imports"
    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))        # the organiser who started it
    digest: Mapped[str] = mapped_column(String(64))                     # the kept upload (roster_files.py)
    kind: Mapped[str] = mapped_column(String(8))                        # csv | xlsx
    job_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="queued")    # queued | running | done | failed
    rows_total: Mapped[int | None] = mapped_column(Integer)             # known once the file is read
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)        # counts, first rows, or the error
    links_ticket: Mapped[str | None] = mapped_column(String(40))        # the one-time links download
    # the first run's start: the accounts and links the import creates carry this time, whichever run writes them
    began_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
    __table_args__ = (Index("ix_roster_imports_cohort_digest", "cohort_id", "digest"),)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(80))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(80))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class UnitRecord(Base):
    """The small store a unit type keeps for itself (``ctx.records``): one value per name, per
    assignment, for one person (owner_id) or for everyone (owner_id 0)."""
    __tablename__ = "unit_records"
    __table_args__ = (UniqueConstraint("unit_type", "assignment_id", "owner_id", "name"),
                      Index("ix_unit_records_tally", "unit_type", "assignment_id", "name", "value"))
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_type: Mapped[str] = mapped_column(String(60))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(Integer, default=0)     # a user's id; 0: shared by the assignment
    name: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(String(200), default="")  # what tally() counts
    data: Mapped[Any] = mapped_column(JSON, nullable=True)
    number: Mapped[int] = mapped_column(Integer, default=0)      # a counter bump() raises in one statement
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class PanelBoard(Base):
    """An expert panel (tọa đàm chuyên gia) of a course on one scenario: every cohort of the course
    that has the scenario asks the same panel. ``version`` grows with every change, so a
    viewer that already has it is answered 304 without a query for the questions."""
    __tablename__ = "panel_boards"
    __table_args__ = (UniqueConstraint("course_id", "scenario_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"))
    version: Mapped[int] = mapped_column(Integer, default=0)
    live: Mapped[bool] = mapped_column(Boolean, default=False)   # the panel is answering now
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)   # no new questions or votes


class PanelQuestion(Base):
    __tablename__ = "panel_questions"
    __table_args__ = (Index("ix_panel_questions_ranked", "board_id", "status", "votes", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("panel_boards.id"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))   # asked for the commune's point
    body: Mapped[str] = mapped_column(Text)
    # open | picked (the panel takes it up) | answered | hidden | merged (into merged_into_id)
    status: Mapped[str] = mapped_column(String(12), default="open")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("panel_questions.id"))
    votes: Mapped[int] = mapped_column(Integer, default=0)    # kept with panel_votes in the same unit of work
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class PanelVote(Base):
    __tablename__ = "panel_votes"
    __table_args__ = (UniqueConstraint("question_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("panel_questions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class PanelAnswer(Base):
    __tablename__ = "panel_answers"
    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("panel_questions.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
