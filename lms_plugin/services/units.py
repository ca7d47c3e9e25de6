"""Playing any unit type through its contract (units/spec.py): what every host calls.

A host (web page, JSON API, Open edX block) names an assignment, a unit type and
maybe an action; this module checks who may do it, builds the unit's context,
lets the unit act, and hands back a view: the unit's state, its public view of
the content, its score and a version token for live refreshes. No host knows
what a case, a discussion, an essay or a panel is.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from marshmallow import EXCLUDE, ValidationError
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..store import models as m
from ..units import registry
from ..units.spec import STAFF, Table, UnitContext, UnitScore, UnitType
from . import policy
from .cohorts import get_assignment, submission_state
from .content import scenario_data
from .errors import Forbidden, Invalid, NotFound
from .limits import MAX_JSON_DEPTH, json_depth

MAX_RECORD_CHARS = 64 * 1024       # one record of a unit: a poll's answer, a checklist, not a document


@dataclass(frozen=True)
class UnitInfo:
    type_id: str
    title: str                 # msgid
    graded: bool
    live_seconds: int | None


@dataclass(frozen=True)
class UnitView:
    """What a host renders: the unit's template with these, or the JSON of ``as_json``."""
    unit: UnitType
    assignment_id: int
    view: dict[str, Any]               # the unit's public view of the content
    state: dict[str, Any]              # the person's state (or the staff state)
    score: UnitScore | None
    version: str | None
    closed: bool
    staff: bool

    def as_json(self) -> dict[str, Any]:
        return {"unit": self.unit.type_id, "assignment_id": self.assignment_id, "view": self.view,
                "state": self.state, "closed": self.closed, "version": self.version,
                "score": None if self.score is None else {
                    "points": self.score.points, "max_points": self.score.max_points,
                    "completed": self.score.completed}}


class StoreRecords:
    """``ctx.records``: the unit type's own values in ``unit_records``.

    Writes are single upserts, so two people voting at the same instant neither lose a count nor
    collide on the unique key (SQLite and PostgreSQL both speak INSERT … ON CONFLICT)."""

    KEY = ("unit_type", "assignment_id", "owner_id", "name")

    def __init__(self, session: Session, unit_type: str, assignment_id: int, user_id: int):
        self.session, self.unit_type, self.assignment_id, self.user_id = session, unit_type, assignment_id, user_id

    def _where(self, name: str, shared: bool):
        return (m.UnitRecord.unit_type == self.unit_type, m.UnitRecord.assignment_id == self.assignment_id,
                m.UnitRecord.owner_id == (0 if shared else self.user_id), m.UnitRecord.name == name)

    def _insert(self, name: str, shared: bool, **values: Any):
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        return insert(m.UnitRecord).values(
            unit_type=self.unit_type, assignment_id=self.assignment_id, owner_id=0 if shared else self.user_id,
            name=name, updated_at=datetime.now(timezone.utc), **values)

    def get(self, name: str, *, shared: bool = False) -> Any:
        """The value put under ``name`` (a counter made by ``bump`` reads back as its number)."""
        row = self.session.execute(select(m.UnitRecord.data, m.UnitRecord.number)
                                   .where(*self._where(name, shared))).first()
        if row is None:
            return None
        return row.data if row.data is not None else (row.number or None)

    def put(self, name: str, data: Any, *, shared: bool = False) -> None:
        encoded = json.dumps(data, ensure_ascii=False)
        if len(encoded) > MAX_RECORD_CHARS or json_depth(encoded) > MAX_JSON_DEPTH:
            raise Invalid("Dữ liệu gửi lên không hợp lệ")
        # what tally() counts: a short scalar as text ("b", "3"), anything else counts as ""
        value = str(data)[:200] if isinstance(data, (str, int, float, bool)) else ""
        statement = self._insert(name, shared, data=data, value=value, number=0)
        self.session.execute(statement.on_conflict_do_update(
            index_elements=list(self.KEY),
            set_={"data": statement.excluded.data, "value": statement.excluded.value,
                  "updated_at": statement.excluded.updated_at}))

    def tally(self, name: str) -> dict[str, int]:
        """People's values of ``name`` in this assignment, counted (one grouped query)."""
        rows = self.session.execute(
            select(m.UnitRecord.value, func.count()).where(
                m.UnitRecord.unit_type == self.unit_type, m.UnitRecord.assignment_id == self.assignment_id,
                m.UnitRecord.name == name, m.UnitRecord.owner_id != 0).group_by(m.UnitRecord.value))
        return {value: count for value, count in rows}

    def bump(self, name: str = "version") -> int:
        """The shared counter ``name`` plus one, in one statement: concurrent bumps all count."""
        table = m.UnitRecord.__table__
        statement = self._insert(name, True, data=None, value="", number=1)
        return int(self.session.execute(statement.on_conflict_do_update(
            index_elements=list(self.KEY),
            set_={"number": table.c.number + 1, "updated_at": statement.excluded.updated_at})
            .returning(table.c.number)).scalar_one())


def records(session: Session, type_id: str, assignment_id: int) -> StoreRecords:
    """A unit type's records of an assignment, for work outside one person's context (progress, export)."""
    return StoreRecords(session, type_id, assignment_id, 0)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _unit(type_id: str) -> UnitType:
    try:
        return registry.unit(type_id)
    except registry.RegistryError:
        raise NotFound("Không tìm thấy phần học này") from None


def units_of(session: Session, user: m.User, assignment_id: int) -> list[UnitInfo]:
    """The unit types that apply to the assignment's scenario, as a host lists them."""
    assignment = get_assignment(session, assignment_id)
    policy.require(user, "unit.play", assignment)
    scenario = scenario_data(assignment.scenario_version)
    return [UnitInfo(u.type_id, u.title, u.graded, u.live_seconds) for u in registry.units_for(scenario)]


def context(session: Session, user: m.User, assignment_id: int, type_id: str, *, host: str = "web",
            closed: bool | None = None, staff: bool = False, now: datetime | None = None,
            extra: dict[str, Any] | None = None) -> tuple[UnitType, UnitContext]:
    """The unit and ``user``'s context in it, after the policy allows them in.

    ``closed``: the host's own verdict (a block's deadline); None: the assignment's
    window for this person (extensions count)."""
    unit = _unit(type_id)
    assignment = get_assignment(session, assignment_id)
    policy.require(user, STAFF if staff else "unit.play", assignment)
    scenario = scenario_data(assignment.scenario_version)
    if not unit.applies_to(scenario):
        raise NotFound("Không tìm thấy phần học này")
    if closed is None:
        # the assignment's window for a learner (staff run the unit at any time); "late" is still open
        closed = not policy.allowed(user, STAFF) and \
            submission_state(session, assignment, user, _now(now)) in ("closed", "not_open")
    ctx = UnitContext(session=session, user=user, assignment_id=assignment_id, scenario=scenario,
                      records=StoreRecords(session, type_id, assignment_id, user.id), closed=closed, staff=staff,
                      host=host, extra=dict(extra or {}))
    return unit, ctx


def _view(unit: UnitType, ctx: UnitContext, staff: bool) -> UnitView:
    state = unit.staff_state(ctx) if staff else unit.learner_state(ctx)
    return UnitView(unit=unit, assignment_id=ctx.assignment_id, view=unit.public_view(ctx.scenario), state=state,
                    score=None if staff else unit.score(ctx), version=unit.version(ctx), closed=ctx.closed,
                    staff=staff)


def view(session: Session, user: m.User, assignment_id: int, type_id: str, *, staff: bool = False,
         **options: Any) -> UnitView:
    unit, ctx = context(session, user, assignment_id, type_id, staff=staff, **options)
    return _view(unit, ctx, staff)


def version(session: Session, user: m.User, assignment_id: int, type_id: str, **options: Any) -> str | None:
    """The unit's version token alone: a live host compares it before building the whole view."""
    unit, ctx = context(session, user, assignment_id, type_id, **options)
    return unit.version(ctx)


def view_if_changed(session: Session, user: m.User, assignment_id: int, type_id: str, known: Any, *,
                    staff: bool = False, **options: Any) -> tuple[str | None, UnitView | None]:
    """A live refresh: the version, and the view only when ``known`` (the ETags the client holds; anything
    with ``in``) does not hold it. One context serves both, so an unchanged unit costs what its version costs."""
    unit, ctx = context(session, user, assignment_id, type_id, staff=staff, **options)
    token = unit.version(ctx)
    if token is not None and token in known:
        return token, None
    return token, _view(unit, ctx, staff)


def act(session: Session, user: m.User, assignment_id: int, type_id: str, action: str, data: Any, *,
        staff: bool = False, **options: Any) -> UnitView:
    """Do ``action`` of the unit with ``data`` (a dict from a form or JSON); the view afterwards.

    Unknown action: 404. Bad input: 422 with the fields at fault. Not allowed:
    the policy's refusal. Closed: 403."""
    unit, ctx = context(session, user, assignment_id, type_id, staff=staff, **options)
    spec = unit.actions.get(action)
    # staff actions go through the staff routes only, learners' through theirs: one door for each
    if spec is None or (spec.permission == STAFF) != staff:
        raise NotFound("Không tìm thấy thao tác này")
    policy.require(user, spec.permission, get_assignment(session, assignment_id))
    if spec.open_only and ctx.closed:
        raise Forbidden("Bài này đã hết hạn")
    if not isinstance(data, dict):
        raise Invalid("Dữ liệu gửi lên không hợp lệ")
    args: dict[str, Any] = {}
    if spec.schema is not None:
        try:
            args = spec.schema(unknown=EXCLUDE).load(data)
        except ValidationError as exc:
            raise Invalid("Dữ liệu gửi lên không hợp lệ", exc.normalized_messages()) from None
    getattr(unit, spec.method)(ctx, **args)
    session.flush()
    return _view(unit, ctx, staff)


def progress(session: Session, user: m.User, assignment_id: int) -> list[tuple[UnitInfo, dict[str, int]]]:
    """Each applying unit's counts for the lecturer's progress page."""
    assignment = get_assignment(session, assignment_id)
    policy.require(user, STAFF, assignment)
    scenario = scenario_data(assignment.scenario_version)
    out = []
    for unit in registry.units_for(scenario):
        _unit, ctx = context(session, user, assignment_id, unit.type_id, staff=True)
        out.append((UnitInfo(unit.type_id, unit.title, unit.graded, unit.live_seconds), unit.progress(ctx)))
    return out


def export(session: Session, user: m.User, assignment_id: int, type_id: str) -> Table:
    unit, ctx = context(session, user, assignment_id, type_id, staff=True)
    policy.require(user, "export")
    table = unit.export(ctx)
    if table is None:
        raise NotFound("Phần học này không có dữ liệu xuất")
    return table
