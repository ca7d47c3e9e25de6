"""Merging two accounts of one person (imported twice, or given one by the LMS and one by a roster).

Everything the merged-away account did moves to the kept one: cohort memberships, attempts, drafts, essays
(their author changes, nothing of what was submitted: migration 0010), appeals, posts, marking rounds, panel
questions and answers, unit records, notifications. Where the kept account already has its own copy of
something that can exist once per person (a membership of the same cohort, a place in the same examiner pool,
an extension of the same assignment, a vote on the same question, the same notification) the kept account's
stays and the other is left with the merged-away account, so nothing is deleted.

Two accounts that both worked on the same assignment (an attempt, a draft, a submission or a unit's record)
are not merged: submissions are never changed or deleted, so there is no way to keep one and drop the other,
and the organiser is told which assignments. Neither are two examiners who hold rounds of the same essay.

The merged-away account is deactivated and marked (``merged_into_id``); its sessions and tokens end; its
external id (an LMS id, a personal number) passes to the kept account when that one has none. Audited on both.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from ..store import models as m
from . import audit, credentials
from .account_admin import account
from .errors import Conflict

SHOWN_CONFLICTS = 5


@dataclass(frozen=True)
class MergePlan:
    source_id: int
    source: str                  # username of the account merged away
    target_id: int
    target: str                  # username of the account kept
    moves: dict[str, int]        # what moves, by kind -> rows
    kept_apart: dict[str, int]   # duplicates left with the merged-away account, by kind -> rows


# (kind, model, column): rows that move whatever the other account has
MOVED = [
    ("attempts", m.Attempt, m.Attempt.user_id),
    ("drafts", m.EssayDraft, m.EssayDraft.user_id),
    ("essays", m.Essay, m.Essay.user_id),
    ("appeals", m.Appeal, m.Appeal.user_id),
    ("posts", m.Post, m.Post.author_id),
    ("grades", m.Grade, m.Grade.examiner_id),
    ("panel_questions", m.PanelQuestion, m.PanelQuestion.author_id),
    ("panel_answers", m.PanelAnswer, m.PanelAnswer.author_id),
]
# columns that only say who did something (moderated, edited, granted): moved, not counted as work
NAMED = [m.Post.hidden_by_id, m.GroupReport.updated_by_id, m.GroupReport.submitted_by_id,
         m.AssignmentExtension.granted_by_id, m.ReferenceText.created_by_id, m.ScenarioVersion.created_by_id]
# (kind, model, person column, the columns that must be unique together with it)
ONCE_PER_PERSON = [
    ("memberships", m.Membership, m.Membership.user_id, (m.Membership.cohort_id,)),
    ("examiner_pools", m.AssignmentExaminer, m.AssignmentExaminer.examiner_id, (m.AssignmentExaminer.assignment_id,)),
    ("extensions", m.AssignmentExtension, m.AssignmentExtension.user_id, (m.AssignmentExtension.assignment_id,)),
    ("panel_votes", m.PanelVote, m.PanelVote.user_id, (m.PanelVote.question_id,)),
    ("notifications", m.Notification, m.Notification.user_id, (m.Notification.dedupe_key,)),
    ("unit_records", m.UnitRecord, m.UnitRecord.owner_id,
     (m.UnitRecord.unit_type, m.UnitRecord.assignment_id, m.UnitRecord.name)),
]


def _worked_on(user_id: int):
    """The assignments ``user_id`` has work in (a union of ids)."""
    return (select(m.Attempt.assignment_id).where(m.Attempt.user_id == user_id)
            .union(select(m.EssayDraft.assignment_id).where(m.EssayDraft.user_id == user_id),
                   select(m.Essay.assignment_id).where(m.Essay.user_id == user_id),
                   select(m.UnitRecord.assignment_id).where(m.UnitRecord.owner_id == user_id)))


def _refuse_conflicts(session: Session, source: m.User, target: m.User) -> None:
    titles = list(session.scalars(
        select(m.ScenarioVersion.title).join(m.Assignment, m.Assignment.scenario_version_id == m.ScenarioVersion.id)
        .where(m.Assignment.id.in_(_worked_on(source.id)), m.Assignment.id.in_(_worked_on(target.id)))
        .order_by(m.Assignment.id).limit(SHOWN_CONFLICTS + 1)))
    if titles:
        shown = "; ".join(titles[:SHOWN_CONFLICTS]) + ("; …" if len(titles) > SHOWN_CONFLICTS else "")
        raise Conflict("Không gộp được: cả “%(source)s” và “%(target)s” đều đã làm bài “%(titles)s”. Bài làm và "
                       "bài nộp không bao giờ bị xóa hay sửa, nên không thể giữ bài của một tài khoản và bỏ bài "
                       "của tài khoản kia; hãy để hai tài khoản riêng.",
                       source=source.username, target=target.username, titles=shown)
    other = aliased(m.Grade)
    shared = session.scalar(select(func.count()).select_from(m.Grade).where(
        m.Grade.examiner_id == source.id,
        exists().where(other.essay_id == m.Grade.essay_id, other.examiner_id == target.id)))
    if shared:
        raise Conflict("Không gộp được: “%(source)s” và “%(target)s” cùng chấm %(n)s bài (một bài cần hai giám khảo "
                       "khác nhau).", source=source.username, target=target.username, n=shared)


def _check(session: Session, actor: m.User, source_id: int, target_id: int) -> tuple[m.User, m.User]:
    source, target = account(session, actor, source_id), account(session, actor, target_id)
    if source.id == target.id:
        raise Conflict("Hãy chọn một tài khoản khác để gộp vào")
    if source.id == actor.id:
        raise Conflict("Bạn không gộp được tài khoản mình đang dùng vào tài khoản khác")
    if source.merged_into_id:
        raise Conflict("“%(source)s” đã được gộp vào một tài khoản khác", source=source.username)
    if not target.active:
        raise Conflict("Tài khoản giữ lại “%(target)s” đang bị khóa: hãy mở lại trước khi gộp",
                       target=target.username)
    if source.role != target.role:
        raise Conflict("Hai tài khoản có vai trò khác nhau: hãy sửa vai trò cho giống nhau trước khi gộp")
    _refuse_conflicts(session, source, target)
    return source, target


def _duplicate(model, person, keys, source_id: int, target_id: int):
    """Rows of the source whose unique key the target already holds."""
    twin = aliased(model)
    twin_person = getattr(twin, person.key)
    return exists().where(twin_person == target_id,
                          *[getattr(twin, key.key) == key for key in keys]) & (person == source_id)


def plan_merge(session: Session, actor: m.User, source_id: int, target_id: int) -> MergePlan:
    """What merging would move, or the Conflict that refuses it (in Vietnamese, naming the assignments)."""
    source, target = _check(session, actor, source_id, target_id)
    moves: dict[str, int] = {}
    for kind, model, column in MOVED:
        moves[kind] = session.scalar(select(func.count()).select_from(model).where(column == source.id)) or 0
    kept_apart: dict[str, int] = {}
    for kind, model, person, keys in ONCE_PER_PERSON:
        total = session.scalar(select(func.count()).select_from(model).where(person == source.id)) or 0
        twins = session.scalar(select(func.count()).select_from(model)
                               .where(_duplicate(model, person, keys, source.id, target.id))) or 0
        moves[kind], kept_apart[kind] = total - twins, twins
    return MergePlan(source.id, source.username, target.id, target.username,
                     {k: v for k, v in moves.items() if v}, {k: v for k, v in kept_apart.items() if v})


def merge_accounts(session: Session, actor: m.User, source_id: int, target_id: int) -> MergePlan:
    """Merge ``source_id`` into ``target_id`` (see the module's docstring); the caller commits."""
    plan = plan_merge(session, actor, source_id, target_id)
    source, target = session.get(m.User, source_id), session.get(m.User, target_id)
    assert source is not None and target is not None
    for _kind, model, column in MOVED:
        session.execute(update(model).where(column == source.id).values({column.key: target.id})
                        .execution_options(synchronize_session=False))
    for named in NAMED:
        session.execute(update(named.class_).where(named == source.id).values({named.key: target.id})
                        .execution_options(synchronize_session=False))
    for _kind, model, person, keys in ONCE_PER_PERSON:
        session.execute(update(model).where(and_(person == source.id,
                                                 ~_duplicate(model, person, keys, source.id, target.id)))
                        .values({person.key: target.id}).execution_options(synchronize_session=False))
    before = {"source": {"active": source.active, "external_id": source.external_id},
              "target": {"external_id": target.external_id}}
    if source.external_id and not target.external_id:
        target_external, source.external_id = source.external_id, None
        session.flush()
        target.external_id = target_external
    source.active, source.merged_into_id = False, target.id
    credentials.end_all(session, source.id)
    after = {"source": {"active": False, "merged_into_id": target.id, "external_id": source.external_id},
             "target": {"external_id": target.external_id}}
    details = {"moved": plan.moves, "kept_apart": plan.kept_apart, "before": before, "after": after}
    audit.record(session, actor.id, "account.merge", "user", source.id, into=target.id, **details)
    audit.record(session, actor.id, "account.merged_in", "user", target.id, source=source.id, **details)
    session.flush()
    session.expire_all()
    return plan
