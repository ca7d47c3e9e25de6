"""``caselab_discussion``: the group discussion on the scenario's prompt, and the group's shared report.

The group is the learner's Open edX team in the block's teamset when the LMS
offers the teams service, else their group in the CaseLab cohort (set in the
console), else the cohort's default group.
"""
from __future__ import annotations

import html
import logging
import re
from typing import Any

from marshmallow import Schema, fields, validate
from xblock.fields import Integer, Scope, String

from ..sanitize import render_markdown, to_text
from ..services import discussion
from ..services.discussion import MAX_POST_CHARS, MAX_REPORT_CHARS
from ..services.errors import ServiceError
from .base import N_, CaseLabBlock, Empty, json_call, when

log = logging.getLogger(__name__)


class PostSchema(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=MAX_POST_CHARS))
    parent_id = fields.Integer(load_default=None, allow_none=True)


class ReportSchema(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REPORT_CHARS))
    revision = fields.Integer(required=True, validate=validate.Range(min=0))


def text_to_html(text: str) -> str:
    """What a learner typed, as paragraphs: escaped here, sanitised again by the service."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if p.strip()]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)


def html_to_text(body: str) -> str:
    return to_text(re.sub(r"</p>\s*", "\n\n", re.sub(r"<br\s*/?>", "\n", body or ""))).strip()


class DiscussionBlock(CaseLabBlock):
    UNIT = "discussion"
    EDITABLE = ("display_name", "scenario", "version", "teamset", "deadline")
    STRINGS = {
        "prompt": N_("Vấn đề nhóm cần thống nhất"), "group": N_("Nhóm"), "posts": N_("Thảo luận"),
        "no_posts": N_("Chưa có ý kiến nào. Hãy mở đầu cuộc thảo luận."), "write": N_("Ý kiến của bạn"),
        "send": N_("Gửi ý kiến"), "reply": N_("Trả lời"), "hidden": N_("Bài đăng đã bị ẩn"),
        "edited": N_("đã sửa"), "report": N_("Báo cáo chung của nhóm"), "save_report": N_("Lưu báo cáo"),
        "submit_report": N_("Nộp báo cáo nhóm"), "submitted_by": N_("Đã nộp bởi"),
        "revision": N_("Bản"), "refresh": N_("Tải ý kiến mới"), "empty": N_("Nội dung đang trống"),
        "group_report": N_("Có báo cáo nhóm"),
    }
    icon_class = "other"
    has_custom_completion = True
    completion_mode = "completable"

    display_name = String(display_name=N_("Tên hiển thị"), default=N_("Thảo luận nhóm"), scope=Scope.settings,
                          help="The block's title in the course outline.")
    teamset = String(display_name=N_("Bộ nhóm (teamset) Open edX"), default="", scope=Scope.settings,
                     help="Open edX teamset (topic) id whose teams are the discussion groups; "
                          "empty: the learner's group in the CaseLab cohort.")
    last_seen_post = Integer(default=0, scope=Scope.user_state,
                             help="The newest post this learner has seen, to mark newer ones.")

    def team(self) -> str | None:
        service = self.runtime.service(self, "teams")
        if service is None or not self.teamset:
            return None
        try:
            user_service = self.runtime.service(self, "user")
            user = user_service.get_user_by_anonymous_id(self.learner_id())
            team = service.get_team(user, self.course_key(), self.teamset)
        except Exception:      # the teams app is optional in the LMS: fall back to CaseLab groups
            log.warning("no Open edX team for teamset %r", self.teamset, exc_info=True)
            return None
        return f"{team.name} ({team.team_id})" if team else None

    # --- views --------------------------------------------------------------------------------

    def student_view(self, context=None):
        try:
            page = self.run(self._page)
        except ServiceError as exc:
            return self.notice(exc.translated(self.gettext))
        page["thread"] = self.render_html("discussion_thread.html", **page["thread"])
        html_ = self.render_html("discussion.html", **page)
        return self.fragment(html_, "discussion", "CaseLabDiscussion",
                             {"empty": self.gettext("Nội dung đang trống"), "reply": self.gettext("Trả lời")})

    def _page(self, session) -> dict[str, Any]:
        placed = self.place(session)
        spec = placed.scenario.discussion
        assert spec is not None  # the block plays a scenario with a discussion
        report = None
        if spec.group_report:
            view = discussion.get_group_report(session, placed.user, placed.assignment.id)
            report = {"text": html_to_text(view.body), "revision": view.revision,
                      "submitted": view.submitted_at is not None, "submitted_by": view.submitted_by,
                      "submitted_at": when(view.submitted_at)}
        return {"scenario": placed.scenario, "prompt": render_markdown(spec.prompt), "group": placed.group.name,
                "report": report, "closed": self.past_due(), "thread": self._thread(session, placed)}

    def _thread(self, session, placed) -> dict[str, Any]:
        posts = discussion.list_posts(session, placed.user, placed.assignment.id)
        seen, self.last_seen_post = self.last_seen_post, max([self.last_seen_post] + [p.id for p in posts])
        by_id = {p.id: {"post": p, "new": p.id > seen and p.author_id != placed.user.id, "when": when(p.created_at),
                        "replies": []} for p in posts}
        roots: list[dict[str, Any]] = []
        for item in by_id.values():
            parent = item["post"].parent_id
            while parent in by_id and by_id[parent]["post"].parent_id in by_id:
                parent = by_id[parent]["post"].parent_id
            (by_id[parent]["replies"] if parent in by_id else roots).append(item)
        return {"roots": roots, "closed": self.past_due()}

    def facts(self, scenario):
        return [(N_("Vấn đề nhóm cần thống nhất"), to_text(render_markdown(scenario.discussion.prompt))),
                (N_("Có báo cáo nhóm"), "✓" if scenario.discussion.group_report else "—"),
                (N_("Bộ nhóm (teamset) Open edX"), self.teamset or "—")]

    # --- handlers -----------------------------------------------------------------------------

    @json_call(PostSchema)
    def post(self, body: str, parent_id: int | None):
        """Post to the group (a reply when ``parent_id`` is given); answers the refreshed thread."""
        self.require_open()

        def work(session):
            placed = self.place(session)
            posted = discussion.post_message(session, placed.user, placed.assignment.id, text_to_html(body), parent_id)
            return posted, self._thread(session, placed)
        posted, thread = self.run(work)
        self.runtime.publish(self, "completion", {"completion": 1.0})
        return {"id": posted.id, "html": self.render_html("discussion_thread.html", **thread)}

    @json_call(Empty)
    def refresh(self):
        thread = self.run(lambda session: self._thread(session, self.place(session)))
        return {"html": self.render_html("discussion_thread.html", **thread)}

    @json_call(ReportSchema)
    def save_report(self, body: str, revision: int):
        """Save the group's report; refused (409) when another member saved a newer revision meanwhile."""
        self.require_open()
        saved = self.run(lambda session: discussion.save_group_report(
            session, (placed := self.place(session)).user, placed.assignment.id, text_to_html(body), revision))
        return {"revision": saved.revision, "saved_at": saved.updated_at}

    @json_call(Empty)
    def submit_report(self):
        self.require_open()
        done = self.run(lambda session: discussion.submit_group_report(
            session, (placed := self.place(session)).user, placed.assignment.id))
        return {"submitted_by": done.submitted_by, "submitted_at": when(done.submitted_at), "sha256": done.sha256}

    @staticmethod
    def workbench_scenarios():
        found = [s for s in CaseLabBlock.store_scenarios() if s["discussion"]][:1]
        return [(f"CaseLab: thảo luận nhóm, chuyên đề {s['topic']}", f'<caselab_discussion scenario="{s["id"]}"/>')
                for s in found]
