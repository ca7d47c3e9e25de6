"""``caselab_case``: the case player. Context, attachments, decision stages with feedback, resumable.

The path score (0..1, the share of the best reachable total) is the block's
score: it is published to the LMS as a grade, with completion, when the case
reaches an ending; the LMS scales it by ``weight``.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from marshmallow import Schema, fields, validate
from webob import Response
from xblock.core import XBlock
from xblock.fields import Float, Scope, String

from ..sanitize import render_markdown
from ..services import attempts, lms
from ..services.attempts import AttemptState
from ..services.content import attachment_table
from ..services.errors import ServiceError
from .base import N_, CaseLabBlock, Empty, json_call

PREVIEW_ROWS = 40
INLINE_TYPES = {"text/csv", "text/plain", "application/pdf", "image/png", "image/jpeg", "image/gif"}


class ChooseSchema(Schema):
    stage = fields.String(required=True, validate=validate.Length(min=1, max=120))
    choice = fields.String(required=True, validate=validate.Length(min=1, max=120))


class CaseBlock(CaseLabBlock):
    UNIT = "case"
    EDITABLE = ("display_name", "scenario", "version", "weight", "deadline")
    STRINGS = {
        "context": N_("Bối cảnh"), "attachments": N_("Tài liệu kèm theo"), "open": N_("Mở tệp"),
        "your_path": N_("Các quyết định của bạn"), "you_chose": N_("Bạn chọn"), "feedback": N_("Nhận xét"),
        "decide": N_("Chọn phương án này"), "choose_first": N_("Hãy chọn một phương án"),
        "ending": N_("Tình huống đã kết thúc"), "score": N_("Điểm tình huống"), "retry": N_("Làm lại từ đầu"),
        "stage": N_("Bước quyết định"), "stages": N_("Số bước quyết định"), "endings": N_("Số kết cục"),
        "max_points": N_("Điểm tối đa trên một lộ trình"),
    }
    has_score = True
    has_custom_completion = True
    completion_mode = "completable"
    icon_class = "problem"

    display_name = String(display_name=N_("Tên hiển thị"), default=N_("Tình huống"), scope=Scope.settings,
                          help="The block's title in the course outline.")
    weight = Float(display_name=N_("Trọng số điểm"), default=1.0, scope=Scope.settings, values={"min": 0},
                   help="Points this case is worth in the course grade (the path score 0..1 times this weight).")
    published_score = Float(default=None, scope=Scope.user_state,
                            help="The path score last published to the LMS, so a view does not publish it again.")

    def max_score(self) -> float:
        return 1.0

    # --- views --------------------------------------------------------------------------------

    def student_view(self, context=None):
        try:
            page = self.run(self._page)
        except ServiceError as exc:
            return self.notice(exc.translated(self.gettext))
        page["player"] = self.render_html("case_player.html", **page["player"])
        html = self.render_html("case.html", **page)
        return self.fragment(html, "case", "CaseLabCase", {"choose_first": self.gettext("Hãy chọn một phương án")})

    def _page(self, session) -> dict[str, Any]:
        placed = self.place(session)
        if self.past_due():
            state = attempts.current_state(session, placed.user, placed.assignment.id)
        else:
            state = attempts.start_attempt(session, placed.user, placed.assignment.id)
        self._publish(state)
        scenario = placed.scenario
        files = [{"title": a.title, "url": self.runtime.handler_url(self, "attachment", str(a.position)),
                  "table": (attachment_table(a) or [])[:PREVIEW_ROWS + 1]}
                 for a in lms.attachments(session, placed.assignment.id)]
        return {"scenario": scenario, "attachments": files, "player": self._player(scenario, state)}

    def _player(self, scenario, state: AttemptState | None) -> dict[str, Any]:
        stage = state.stage if state else None
        return {
            "closed": self.past_due(),
            "path": [{"prompt": render_markdown(s["prompt"]), "choice": s["choice_text"],
                      "feedback": render_markdown(s["feedback"])} for s in (state.path if state else ())],
            "stage": stage and {**stage, "prompt": render_markdown(stage["prompt"])},
            "finished": bool(state and state.finished),
            "score": f"{round((state.score if state else 0) * 100)}%",
            "can_retry": bool(state and state.can_retry) and not self.past_due(),
        }

    def _publish(self, state: AttemptState | None) -> None:
        """Send the path score to the LMS when the case has ended (again only if it changed)."""
        if state is not None and state.finished and self.published_score != state.score:
            self.runtime.publish(self, "grade", {"value": state.score, "max_value": 1.0})
            self.runtime.publish(self, "completion", {"completion": 1.0})
            self.published_score = state.score

    def facts(self, scenario):
        return [(N_("Số bước quyết định"), sum(1 for s in scenario.stages if not s.is_ending)),
                (N_("Số kết cục"), sum(1 for s in scenario.stages if s.is_ending)),
                (N_("Điểm tối đa trên một lộ trình"), scenario.max_points()),
                (N_("Trọng số điểm"), self.weight)]

    # --- handlers -----------------------------------------------------------------------------

    @json_call(ChooseSchema)
    def choose(self, stage: str, choice: str):
        """Take a decision at the current stage; the answer carries its feedback and the next stage."""
        self.require_open()

        def work(session):
            placed = self.place(session)
            current = attempts.start_attempt(session, placed.user, placed.assignment.id)
            outcome = attempts.choose(session, placed.user, current.id, stage, choice)
            self._publish(outcome.attempt)
            return placed.scenario, outcome
        scenario, outcome = self.run(work)
        return {"feedback": outcome.feedback, "finished": outcome.finished, "score": outcome.score,
                "stage": outcome.stage,
                "html": self.render_html("case_player.html", **self._player(scenario, outcome.attempt))}

    @json_call(Empty)
    def restart(self):
        """Begin the case again, when the lecturer allows retries."""
        self.require_open()

        def work(session):
            placed = self.place(session)
            return placed.scenario, attempts.start_attempt(session, placed.user, placed.assignment.id, retry=True)
        scenario, state = self.run(work)
        return {"stage": state.stage, "html": self.render_html("case_player.html", **self._player(scenario, state))}

    @XBlock.handler
    def attachment(self, request, suffix=""):
        """An attachment of the scenario version the learner works on, by its position."""
        def work(session):
            placed = self.place(session)
            return next((a for a in lms.attachments(session, placed.assignment.id) if str(a.position) == suffix), None)
        try:
            found = self.run(work)
        except ServiceError as exc:
            return self.error(exc.status, exc.translated(self.gettext))
        if found is None:
            return self.error(404, self.gettext("Không tìm thấy tệp"))
        media_type = found.media_type or "application/octet-stream"
        response = Response(body=found.content, content_type=media_type)
        if media_type.startswith("text/"):
            response.charset = "utf-8"
        disposition = "inline" if media_type in INLINE_TYPES else "attachment"
        filename = quote(found.file.rsplit("/", 1)[-1])
        response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''" + filename
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "sandbox"
        return response

    @staticmethod
    def workbench_scenarios():
        return [(f"CaseLab: tình huống chuyên đề {s['topic']}", f'<caselab_case scenario="{s["id"]}"/>')
                for s in CaseLabBlock.store_scenarios()]
