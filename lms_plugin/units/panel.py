"""The expert panel (tọa đàm chuyên gia): questions to the panel, ranked by votes, moderated and answered.

Content, under ``units: {panel: {...}}`` of a scenario::

    units:
      panel:
        title: Tọa đàm: xử lý đơn thư sau sắp xếp
        prompt: Các chuyên gia trả lời câu hỏi về ...      # Markdown
        experts:
          - {name: TS. Nguyễn Văn A, role: Thanh tra tỉnh}
        allow_group_questions: true                        # a group may ask for its commune's point

All cohorts of a course that have the scenario share one panel (services/panel.py).
Learners ask, vote and take their vote back; lecturers merge duplicates, hide, pick,
answer, say when the panel is live and close it. Hosts refresh every ``live_seconds``
and are answered 304 while ``version`` holds.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from marshmallow import Schema, fields, validate

from ..core.scenarios import Scenario
from ..hookspecs import hookimpl
from ..sanitize import render_markdown
from ..services import panel
from ..services.errors import N_, Invalid
from ..services.limits import MAX_ID
from .spec import STAFF, Action, Table, UnitContext, UnitType, iso

_TEXT = validate.Length(min=1, error="must not be empty")
_QUESTION_ID = validate.Range(min=1, max=MAX_ID)
VERSION_KEY = "panel.version"      # ctx.extra: the version the state was built on (see ``version``)
LIMIT_RECORD = "limit"             # ctx.records: how many questions this person chose to see


class ExpertSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(load_default="", validate=validate.Length(max=300))


class PanelSchema(Schema):
    """The ``units.panel`` section of a scenario."""
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    prompt = fields.String(required=True, validate=_TEXT)          # Markdown: what the panel is about
    experts = fields.List(fields.Nested(ExpertSchema), load_default=list, validate=validate.Length(max=30))
    allow_group_questions = fields.Boolean(load_default=True)


class AskSchema(Schema):
    body = fields.String(required=True, validate=_TEXT)
    for_group = fields.Boolean(load_default=False)


class QuestionSchema(Schema):
    question_id = fields.Integer(required=True, strict=False, validate=_QUESTION_ID)


class MergeSchema(QuestionSchema):
    into_id = fields.Integer(required=True, strict=False, validate=_QUESTION_ID)


class HideSchema(QuestionSchema):
    reason = fields.String(load_default="")


class AnswerSchema(QuestionSchema):
    body = fields.String(required=True, validate=_TEXT)


class LiveSchema(Schema):
    live = fields.Boolean(required=True)


class CloseSchema(Schema):
    closed = fields.Boolean(load_default=True)


class MoreSchema(Schema):
    limit = fields.Integer(required=True, strict=False, validate=validate.Range(min=1, max=panel.MAX_PAGE))


def _question(q: panel.QuestionView, *, voted: frozenset[int] = frozenset(), viewer_id: int | None = None,
              staff: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": q.id, "body_html": q.body, "votes": q.votes, "status": q.status, "merged_into": q.merged_into_id,
        "author": q.author, "group": q.group, "commune": q.commune, "cohort": q.cohort,
        "created_at": iso(q.created_at), "mine": q.author_id == viewer_id, "voted": q.id in voted,
        "answers": [{"body_html": a.body, "author": a.author, "created_at": iso(a.created_at)} for a in q.answers],
    }
    if staff:
        item["username"] = q.username
    return item


def _page(ctx: UnitContext) -> dict[str, int]:
    """How much of the ranking this person sees: what the host asked for (``extra["limit"]``), else what
    they chose with "show more" (kept for them), else the first page."""
    def number(value: Any) -> int | None:
        try:
            return int(value) if value is not None and not isinstance(value, bool) else None
        except (TypeError, ValueError):
            return None
    limit = number(ctx.extra.get("limit")) or number(ctx.records.get(LIMIT_RECORD)) or panel.PAGE
    return {"limit": min(max(limit, 1), panel.MAX_PAGE), "offset": max(number(ctx.extra.get("offset")) or 0, 0)}


class PanelUnit(UnitType):
    type_id = "panel"
    title = N_("Tọa đàm chuyên gia")
    content_key = None                      # units.panel of the scenario
    content_schema = PanelSchema
    template_folder = str(Path(__file__).parent / "templates")
    templates = {"learner": "panel/learner.html", "staff": "panel/staff.html"}
    static_folder = str(Path(__file__).parent / "static" / "panel")
    styles = ("panel.css",)
    live_seconds = 5                        # votes and answers reach every viewer within seconds
    actions = {
        "ask": Action("ask", AskSchema),
        "vote": Action("vote", QuestionSchema),
        "unvote": Action("unvote", QuestionSchema),
        # "show more" (or fewer): the person's own view only, so also after the deadline
        "more": Action("show_more", MoreSchema, open_only=False),
        # moderators keep working after the deadline: answers may come after the session
        "merge": Action("merge", MergeSchema, STAFF, open_only=False),
        "hide": Action("hide", HideSchema, STAFF, open_only=False),
        "unhide": Action("unhide", QuestionSchema, STAFF, open_only=False),
        "pick": Action("pick", QuestionSchema, STAFF, open_only=False),
        "reopen": Action("reopen", QuestionSchema, STAFF, open_only=False),
        "answer": Action("answer", AnswerSchema, STAFF, open_only=False),
        "staff_more": Action("show_more", MoreSchema, STAFF, open_only=False),
        "live": Action("set_live", LiveSchema, STAFF, open_only=False),
        "close": Action("close", CloseSchema, STAFF, open_only=False),
    }

    def public_view(self, scenario: Scenario) -> dict[str, Any]:
        spec = self.content(scenario) or {}
        return {"title": spec.get("title", ""), "prompt": spec.get("prompt", ""),
                "prompt_html": render_markdown(spec.get("prompt", "")),
                "experts": [{"name": e["name"], "role": e.get("role", "")} for e in spec.get("experts", ())],
                "allow_group_questions": bool(spec.get("allow_group_questions", True))}

    def _allows_groups(self, ctx: UnitContext) -> bool:
        return bool((self.content(ctx.scenario) or {}).get("allow_group_questions", True))

    # --- a learner at the panel ------------------------------------------------------------------------

    def learner_state(self, ctx: UnitContext) -> dict[str, Any]:
        page = panel.learner_page(ctx.session, ctx.user, ctx.assignment_id, **_page(ctx))
        ctx.extra[VERSION_KEY] = page.board.token
        ranked = page.ranked
        group = page.group if self._allows_groups(ctx) else None
        return {
            "live": page.board.live, "board_closed": page.board.closed,
            "can_ask": not page.board.closed and not ctx.closed,
            "group": group and {"name": group[0], "commune": group[1]},
            "max_chars": panel.MAX_QUESTION_CHARS,
            "questions": [_question(q, voted=page.voted, viewer_id=ctx.user.id) for q in ranked.questions],
            "total": ranked.total, "limit": ranked.limit, "offset": ranked.offset, "more": ranked.more,
            "next_limit": min(ranked.limit + panel.PAGE, panel.MAX_PAGE), "page": panel.PAGE,
            "mine": [_question(q, viewer_id=ctx.user.id) for q in page.mine],
        }

    def staff_state(self, ctx: UnitContext) -> dict[str, Any]:
        page = panel.staff_page(ctx.session, ctx.user, ctx.assignment_id, **_page(ctx))
        ctx.extra[VERSION_KEY] = page.board.token
        ranked = page.ranked
        return {
            "live": page.board.live, "board_closed": page.board.closed,
            "closed_at": iso(page.board.closed_at), "counts": page.counts,
            "max_chars": panel.MAX_ANSWER_CHARS,
            "questions": [_question(q, staff=True) for q in ranked.questions],
            "total": ranked.total, "limit": ranked.limit, "offset": ranked.offset, "more": ranked.more,
            "next_limit": min(ranked.limit + panel.PAGE, panel.MAX_PAGE), "page": panel.PAGE,
            "set_aside": [_question(q, staff=True) for q in page.set_aside],
        }

    def version(self, ctx: UnitContext) -> str | None:
        # The token the state was built on, when it was: read before the questions, so a change committed
        # in between makes the viewer fetch once more instead of keeping a page older than its token.
        token = ctx.extra.get(VERSION_KEY) or panel.version_token(ctx.session, ctx.assignment_id)
        return f"{token}:closed" if ctx.closed else token

    # --- actions -----------------------------------------------------------------------------------------

    def ask(self, ctx: UnitContext, body: str, for_group: bool) -> None:
        if for_group and not self._allows_groups(ctx):
            raise Invalid("Tọa đàm này không nhận câu hỏi gửi thay nhóm", {"for_group": ["not allowed"]})
        panel.ask(ctx.session, ctx.user, ctx.assignment_id, body, for_group)

    def vote(self, ctx: UnitContext, question_id: int) -> None:
        panel.vote(ctx.session, ctx.user, ctx.assignment_id, question_id)

    def unvote(self, ctx: UnitContext, question_id: int) -> None:
        panel.unvote(ctx.session, ctx.user, ctx.assignment_id, question_id)

    def show_more(self, ctx: UnitContext, limit: int) -> None:
        # The answer to the action carries the longer list; later polls keep it (the token is the
        # board's: a 304 means the list this person already has is current).
        ctx.records.put(LIMIT_RECORD, limit)

    def merge(self, ctx: UnitContext, question_id: int, into_id: int) -> None:
        panel.merge(ctx.session, ctx.user, ctx.assignment_id, question_id, into_id)

    def hide(self, ctx: UnitContext, question_id: int, reason: str) -> None:
        panel.hide(ctx.session, ctx.user, ctx.assignment_id, question_id, reason)

    def unhide(self, ctx: UnitContext, question_id: int) -> None:
        panel.unhide(ctx.session, ctx.user, ctx.assignment_id, question_id)

    def pick(self, ctx: UnitContext, question_id: int) -> None:
        panel.pick(ctx.session, ctx.user, ctx.assignment_id, question_id)

    def reopen(self, ctx: UnitContext, question_id: int) -> None:
        panel.reopen(ctx.session, ctx.user, ctx.assignment_id, question_id)

    def answer(self, ctx: UnitContext, question_id: int, body: str) -> None:
        panel.answer(ctx.session, ctx.user, ctx.assignment_id, question_id, body)

    def set_live(self, ctx: UnitContext, live: bool) -> None:
        panel.set_live(ctx.session, ctx.user, ctx.assignment_id, live)

    def close(self, ctx: UnitContext, closed: bool) -> None:
        panel.close(ctx.session, ctx.user, ctx.assignment_id, closed)

    # --- for the lecturer --------------------------------------------------------------------------------

    def progress(self, ctx: UnitContext) -> dict[str, int]:
        counts = panel.progress_counts(ctx.session, ctx.assignment_id)
        return {N_("Câu hỏi gửi tọa đàm"): counts.asked, N_("Lượt bình chọn câu hỏi"): counts.votes,
                N_("Câu hỏi đã được trả lời"): counts.answered}

    def export(self, ctx: UnitContext) -> Table:
        return Table(panel.EXPORT_HEADERS, panel.export_rows(ctx.session, ctx.assignment_id))


@hookimpl
def caselab_unit_types() -> list[type[UnitType]]:
    return [PanelUnit]
