"""The essay (bài thu hoạch), marked by examiners with the scenario's rubric (a plugin like any other)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from marshmallow import Schema, fields

from ..core.scenarios import Scenario
from ..hookspecs import hookimpl
from ..schemas.content import EssaySpecSchema
from ..services import essays
from ..services.errors import N_
from .spec import Action, Table, UnitContext, UnitScore, UnitType, iso

SCALE = 10.0   # essays are marked on the 10-point scale


class BodySchema(Schema):
    body = fields.String(required=True)     # bounded by the essay service (MAX_ESSAY_CHARS)


class EssayUnit(UnitType):
    type_id = "essay"
    title = N_("Bài thu hoạch")
    content_key = "essay"
    content_schema = EssaySpecSchema
    template_folder = str(Path(__file__).parent / "templates")
    templates = {"learner": "essay/learner.html"}
    graded = True
    actions = {
        # the services decide on the window: late work may be accepted and flagged
        "save_draft": Action("save_draft", BodySchema, open_only=False),
        "submit": Action("submit", BodySchema, open_only=False),
    }

    def max_score(self, scenario: Scenario) -> float:
        return SCALE

    def public_view(self, scenario: Scenario) -> dict[str, Any]:
        spec = scenario.essay
        assert spec is not None  # hosts ask only for the units that apply_to the scenario
        return {"prompt": spec.prompt, "min_words": spec.min_words, "max_words": spec.max_words,
                "rubric": spec.rubric, "recommendations_section": spec.recommendations_section}

    def learner_state(self, ctx: UnitContext) -> dict[str, Any]:
        spec = ctx.scenario.essay
        draft = essays.get_draft(ctx.session, ctx.user, ctx.assignment_id)
        receipt = essays.latest_receipt(ctx.session, ctx.user, ctx.assignment_id)
        window = essays.essay_window(ctx.session, ctx.user, ctx.assignment_id)
        return {
            # an empty draft starts from the scenario's section headings
            "draft": draft.body or essays.starting_text(spec), "words": draft.words,
            "saved_at": iso(draft.saved_at),
            "window": window.state, "closes_at": iso(window.closes_at), "writable": window.writable,
            "receipt": None if receipt is None else {
                "id": receipt.id, "version": receipt.version, "submitted_at": iso(receipt.submitted_at),
                "sha256": receipt.sha256, "words": receipt.words, "late": receipt.late},
            "mark": essays.released_mark(ctx.session, ctx.user, ctx.assignment_id),
        }

    def save_draft(self, ctx: UnitContext, body: str) -> None:
        essays.save_draft(ctx.session, ctx.user, ctx.assignment_id, body.replace("\r\n", "\n"))

    def submit(self, ctx: UnitContext, body: str) -> None:
        """Stored exactly as sent (line ends made one form), with a receipt; the draft keeps the same text."""
        body = body.replace("\r\n", "\n")
        essays.save_draft(ctx.session, ctx.user, ctx.assignment_id, body)
        essays.submit_essay(ctx.session, ctx.user, ctx.assignment_id, body)

    def score(self, ctx: UnitContext) -> UnitScore | None:
        receipt = essays.latest_receipt(ctx.session, ctx.user, ctx.assignment_id)
        if receipt is None:
            return None
        mark = essays.released_mark(ctx.session, ctx.user, ctx.assignment_id)
        # submitted: complete; the points reach the LMS only once the final mark is released
        return UnitScore(mark or 0.0, SCALE, True)

    def progress(self, ctx: UnitContext) -> dict[str, int]:
        drafts, submitted = essays.progress_counts(ctx.session, ctx.assignment_id)
        return {N_("Có bản nháp"): drafts, N_("Đã nộp"): submitted}

    def export(self, ctx: UnitContext) -> Table:
        return Table((N_("Tên đăng nhập"), N_("Họ và tên"), N_("Lần nộp"), N_("Nộp lúc"), N_("Số chữ"),
                      N_("Mã SHA-256"), N_("Nộp muộn")), essays.export_rows(ctx.session, ctx.assignment_id))


@hookimpl
def caselab_unit_types() -> list[type[UnitType]]:
    return [EssayUnit]
