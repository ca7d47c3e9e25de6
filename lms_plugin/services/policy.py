"""Who may do what: every role and ownership rule of the services, in one table.

A permission is a name ("essay.read"). Its rule lists the roles that hold it on
any resource, and the ownership that grants it on one resource otherwise (the
author of an essay, a member of the group for a group report, an examiner holding
a round of the essay). Services ask ``require(user, "essay.read", essay)`` and
never compare roles themselves; tests/services/test_policy.py holds the table
every rule must match. Web routes still gate by role first (web/access.py); the
answer a refusal gives (403, or 404 that does not tell the thing exists) is part
of the rule.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import object_session

from ..store import models as m
from .errors import N_, Forbidden, NotFound, ServiceError

STAFF = ("lecturer", "admin")          # roles that run a course: see everything, moderate, release
ORGANISER = ("admin",)                 # runs the accounts and the rosters
MARKERS = ("examiner",) + STAFF        # a chief examiner (lecturer) may take a round himself
LEARNERS = ("cadre", "examiner")       # everyone who is not staff: works in a cohort they belong to


@dataclass(frozen=True)
class SourceOf:
    """A similarity source (an essay or a reference text) seen from the report of ``essay``."""
    essay: m.Essay
    source: m.Essay | m.ReferenceText


Owner = Callable[[m.User, Any], bool]


def _exists(resource: Any, query) -> bool:
    session = object_session(resource)
    assert session is not None  # the resources rules look at are loaded from a session
    return session.scalar(query.limit(1)) is not None


def author(user: m.User, essay: m.Essay) -> bool:
    """Who submitted it (for a group report: the member who sent it)."""
    return essay.user_id == user.id


def essay_author(user: m.User, essay: m.Essay) -> bool:
    """The writer of an individual essay (not of a group report)."""
    return essay.kind == "essay" and essay.user_id == user.id


def group_member(user: m.User, essay: m.Essay) -> bool:
    """For a group report, every member of the group."""
    return essay.kind == "report" and _exists(essay, select(m.Membership.id).where(
        m.Membership.user_id == user.id, m.Membership.group_id == essay.group_id))


def examiner_of(user: m.User, essay: m.Essay) -> bool:
    """An examiner holding a round of the submission (blind: never the author's identity)."""
    return user.role == "examiner" and _exists(essay, select(m.Grade.id).where(
        m.Grade.essay_id == essay.id, m.Grade.examiner_id == user.id))


def cohort_member(user: m.User, assignment: m.Assignment) -> bool:
    return _exists(assignment, select(m.Membership.id).where(
        m.Membership.user_id == user.id, m.Membership.cohort_id == assignment.cohort_id))


def post_author(user: m.User, post: m.Post) -> bool:
    return post.author_id == user.id


def attempt_owner(user: m.User, attempt: m.Attempt) -> bool:
    return attempt.user_id == user.id


def source_for_its_examiner(user: m.User, seen: SourceOf) -> bool:
    """An examiner of the essay reads a source in full when it is course material, an essay of the same
    cohort (the pool they mark from), or an essay they mark too; of another cohort's essays they get only
    the shared passages with a little context (services/similarity.py: excerpts)."""
    if not examiner_of(user, seen.essay):
        return False
    source = seen.source
    if isinstance(source, m.ReferenceText):
        return True
    return source.assignment.cohort_id == seen.essay.assignment.cohort_id or examiner_of(user, source)


def province_scope(user: m.User) -> str | None:
    """The province whose accounts an organiser manages, or None for every province. An organiser whose own
    account names a province is that province's organiser; one without a province is national."""
    province = (user.province or "").strip()
    return province if user.role in ORGANISER and province else None


def organiser_of(user: m.User, account: m.User) -> bool:
    """An organiser manages an account of their province (a national organiser: every account)."""
    if user.role not in ORGANISER:
        return False
    scope = province_scope(user)
    return scope is None or (account.province or "").strip() == scope


def organiser_role_in(*roles: str) -> bool:
    """Whether a role change gives or takes the organiser's role (only a national organiser does that)."""
    return any(role in ORGANISER for role in roles)


def national_organiser(user: m.User, _account: m.User) -> bool:
    return user.role in ORGANISER and province_scope(user) is None


def import_starter(user: m.User, started: m.RosterImport) -> bool:
    """The organiser who started a roster import (web "Nhập") follows it and takes its sign-in links."""
    return user.role in ORGANISER and started.user_id == user.id


@dataclass(frozen=True)
class Rule:
    roles: tuple[str, ...]                     # hold it on any resource
    refusal: type[ServiceError]                # Forbidden (403), or NotFound (404) that hides the resource
    msgid: str                                 # Vietnamese msgid of the refusal
    owners: tuple[Owner, ...] = ()             # or: hold it on this resource


RULES: dict[str, Rule] = {
    # essays and group reports
    "essay.read": Rule(STAFF, NotFound, N_("Không tìm thấy bài thu hoạch"), (author, group_member, examiner_of)),
    "essay.read_author": Rule(STAFF, NotFound, N_("Không tìm thấy bài thu hoạch"), (author, group_member)),
    "grade.read_own": Rule((), NotFound, N_("Không tìm thấy bài thu hoạch của bạn"), (essay_author, group_member)),
    "appeal.file": Rule((), NotFound, N_("Không tìm thấy bài thu hoạch của bạn"), (essay_author,)),
    "draft.read_others": Rule(STAFF, Forbidden, N_("Chỉ giảng viên được xem bản nháp của học viên")),
    # marking
    "grade.mark": Rule(MARKERS, Forbidden, N_("Chỉ giám khảo được chấm bài")),
    "marking.named_examiner": Rule(("examiner",), Forbidden, N_("Chỉ giám khảo được chấm bài")),
    "marking.allocate": Rule(STAFF, Forbidden, N_("Chỉ trưởng ban chấm (giảng viên) được phân công chấm")),
    "release": Rule(STAFF, Forbidden, N_("Chỉ trưởng ban chấm (giảng viên) được công bố và sửa điểm cuối cùng")),
    # similarity
    "similarity.read": Rule(STAFF, NotFound, N_("Không tìm thấy bài thu hoạch"), (examiner_of,)),
    "similarity.source_text": Rule(STAFF, NotFound, N_("Không tìm thấy bài thu hoạch"), (source_for_its_examiner,)),
    "similarity.cohort": Rule(STAFF, Forbidden, N_("Chỉ giảng viên xem báo cáo trùng lặp của cả lớp")),
    "reference.manage": Rule(STAFF, Forbidden, N_("Chỉ giảng viên được quản lý văn bản tham chiếu")),
    # assignments, discussion, scenarios
    "assignment.read": Rule(STAFF, NotFound, N_("Không tìm thấy bài được giao"), (cohort_member,)),
    "assignment.manage": Rule(STAFF, Forbidden, N_("Chỉ giảng viên được sửa bài được giao")),
    "unit.play": Rule(STAFF, NotFound, N_("Không tìm thấy bài được giao"), (cohort_member,)),
    "unit.manage": Rule(STAFF, Forbidden, N_("Chỉ giảng viên được điều hành phần học này")),
    "attempt.play": Rule((), NotFound, N_("Không tìm thấy lượt làm bài"), (attempt_owner,)),
    "discussion.read_any": Rule(STAFF, Forbidden, N_("Chỉ giảng viên được điều hành thảo luận")),
    "post.write": Rule(LEARNERS, Forbidden, N_("Giảng viên điều hành thảo luận; chỉ thành viên nhóm được đăng bài")),
    "post.edit": Rule((), NotFound, N_("Không tìm thấy bài đăng của bạn"), (post_author,)),
    "post.moderate": Rule(STAFF, Forbidden, N_("Chỉ giảng viên được điều hành thảo luận")),
    "scenario.author": Rule(STAFF, Forbidden, N_("Chỉ giảng viên được soạn tình huống")),
    # course data, people
    "progress.read": Rule(STAFF, Forbidden, N_("Chỉ giảng viên và người tổ chức lớp được xem mục này")),
    "directory.read": Rule(STAFF, Forbidden, N_("Chỉ giảng viên và người tổ chức lớp được xem mục này")),
    "export": Rule(STAFF, Forbidden, N_("Chỉ giảng viên và người tổ chức lớp được tải dữ liệu xuất")),
    "account.manage": Rule(ORGANISER, Forbidden, N_("Chỉ người tổ chức lớp được cấp lại mật khẩu")),
    # one account (edit, deactivate, merge, reset its password): 404 outside a provincial organiser's province
    "account.edit": Rule((), NotFound, N_("Không có tài khoản này"), (organiser_of,)),
    "account.grant_admin": Rule((), Forbidden, N_("Chỉ người tổ chức cấp toàn quốc được trao vai trò người tổ "
                                                  "chức lớp"), (national_organiser,)),
    "roster.import": Rule(ORGANISER, Forbidden, N_("Chỉ người tổ chức lớp được nhập danh sách học viên")),
    # an import's progress and result: its organiser, or a national organiser (rights over every cohort)
    "roster.import_result": Rule((), NotFound, N_("Không tìm thấy lần nhập danh sách này"),
                                 (import_starter, national_organiser)),
    # background work (similarity checks, index rebuilds)
    "jobs.read": Rule(ORGANISER, Forbidden, N_("Chỉ người tổ chức lớp được xem các việc chạy nền")),
    "jobs.retry": Rule(ORGANISER, Forbidden, N_("Chỉ người tổ chức lớp được chạy lại việc chạy nền")),
}


def allowed(user: m.User | None, permission: str, resource: Any = None) -> bool:
    """Whether ``user`` holds ``permission`` (on ``resource``, for the rules that look at ownership).
    Nobody (None) holds anything; an unknown permission is a programming error (KeyError)."""
    rule = RULES[permission]
    if user is None:
        return False
    if user.role in rule.roles:
        return True
    return resource is not None and any(owner(user, resource) for owner in rule.owners)


def require(user: m.User | None, permission: str, resource: Any = None) -> None:
    """Raise the rule's refusal (Forbidden or NotFound, with its Vietnamese msgid) unless ``allowed``."""
    if not allowed(user, permission, resource):
        rule = RULES[permission]
        raise rule.refusal(rule.msgid)
