"""The group discussion on the scenario's prompt, and the group's shared report (a plugin like any other)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from marshmallow import Schema, fields, validate

from ..core.scenarios import Scenario
from ..hookspecs import hookimpl
from ..schemas.content import DiscussionSchema
from ..services import discussion
from ..services.errors import N_
from ..services.limits import MAX_ID
from .spec import Action, Table, UnitContext, UnitType, iso


class PostSchema(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1))
    parent_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=MAX_ID))


class EditSchema(Schema):
    post_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    body = fields.String(required=True, validate=validate.Length(min=1))


class ReportSchema(Schema):
    body = fields.String(required=True)
    revision = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_ID))


class DiscussionUnit(UnitType):
    type_id = "discussion"
    title = N_("Thảo luận nhóm")
    content_key = "discussion"
    content_schema = DiscussionSchema
    template_folder = str(Path(__file__).parent / "templates")
    templates = {"learner": "discussion/learner.html"}
    live_seconds = 3                       # a group talking: new posts within seconds
    actions = {
        "post": Action("post", PostSchema),
        "edit": Action("edit", EditSchema),
        "save_report": Action("save_report", ReportSchema),
        "submit_report": Action("submit_report"),
    }

    def public_view(self, scenario: Scenario) -> dict[str, Any]:
        spec = scenario.discussion
        assert spec is not None  # hosts ask only for the units that apply_to the scenario
        return {"prompt": spec.prompt, "group_report": spec.group_report, "rubric": spec.rubric}

    def learner_state(self, ctx: UnitContext) -> dict[str, Any]:
        posts = discussion.list_posts(ctx.session, ctx.user, ctx.assignment_id)
        spec = ctx.scenario.discussion
        state: dict[str, Any] = {
            "posts": [{"id": p.id, "parent_id": p.parent_id, "author": p.author, "mine": p.author_id == ctx.user.id,
                       "body_html": p.body, "created_at": iso(p.created_at), "edited": p.edited_at is not None,
                       "hidden": p.hidden, "hidden_reason": p.hidden_reason} for p in posts],
            "report": None,
        }
        if spec is not None and spec.group_report:
            report = discussion.get_group_report(ctx.session, ctx.user, ctx.assignment_id)
            state["report"] = {"body_html": report.body, "revision": report.revision,
                               "updated_by": report.updated_by, "updated_at": iso(report.updated_at),
                               "submitted_at": iso(report.submitted_at), "submitted_by": report.submitted_by}
        return state

    def staff_state(self, ctx: UnitContext) -> dict[str, Any]:
        # staff read each group's thread on the lecturer's moderation pages; here, the counts
        return {"progress": self.progress(ctx)}

    def version(self, ctx: UnitContext) -> str | None:
        if ctx.staff:
            return None
        return discussion.thread_version(ctx.session, ctx.user, ctx.assignment_id)

    def post(self, ctx: UnitContext, body: str, parent_id: int | None) -> None:
        discussion.post_message(ctx.session, ctx.user, ctx.assignment_id, body, parent_id)

    def edit(self, ctx: UnitContext, post_id: int, body: str) -> None:
        discussion.edit_post(ctx.session, ctx.user, post_id, body)

    def save_report(self, ctx: UnitContext, body: str, revision: int) -> None:
        discussion.save_group_report(ctx.session, ctx.user, ctx.assignment_id, body, revision)

    def submit_report(self, ctx: UnitContext) -> None:
        discussion.submit_group_report(ctx.session, ctx.user, ctx.assignment_id)

    def progress(self, ctx: UnitContext) -> dict[str, int]:
        posts, groups, reports = discussion.progress_counts(ctx.session, ctx.assignment_id)
        return {N_("Bài đăng"): posts, N_("Nhóm đã thảo luận"): groups, N_("Báo cáo nhóm đã nộp"): reports}

    def export(self, ctx: UnitContext) -> Table:
        return Table((N_("Nhóm"), N_("Tên đăng nhập"), N_("Họ và tên"), N_("Thời gian"), N_("Trả lời bài"),
                      N_("Nội dung"), N_("Đã ẩn")), discussion.export_rows(ctx.session, ctx.assignment_id))


@hookimpl
def caselab_unit_types() -> list[type[UnitType]]:
    return [DiscussionUnit]
