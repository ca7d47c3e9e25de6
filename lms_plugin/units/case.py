"""The case player: the situation, its data, and the decision stages (a plugin like any other)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from marshmallow import Schema, fields, validate

from ..core.scenarios import Scenario, stage_view
from ..hookspecs import hookimpl
from ..sanitize import render_markdown
from ..schemas.content import StageSchema
from ..services import attempts
from ..services.errors import N_
from .spec import Action, Table, UnitContext, UnitScore, UnitType


class ChooseSchema(Schema):
    stage = fields.String(required=True, validate=validate.Length(min=1, max=120))
    choice = fields.String(required=True, validate=validate.Length(min=1, max=120))


class CaseUnit(UnitType):
    type_id = "case"
    title = N_("Tình huống")
    content_key = "stages"
    content_schema = StageSchema          # each item of the scenario's stages:
    template_folder = str(Path(__file__).parent / "templates")
    templates = {"learner": "case/learner.html"}
    graded = True
    actions = {
        "choose": Action("choose", ChooseSchema),
        "restart": Action("restart"),
    }

    def applies_to(self, scenario: Scenario) -> bool:
        return bool(scenario.stages)

    def max_score(self, scenario: Scenario) -> float:
        return scenario.max_points()

    def public_view(self, scenario: Scenario) -> dict[str, Any]:
        return {
            "id": scenario.id, "version": scenario.version, "topic": scenario.topic,
            "title": scenario.title, "summary": scenario.summary, "context_html": scenario.context_html,
            "attachments": [{"file": a.file, "title": a.title} for a in scenario.attachments],
            "start": stage_view(scenario.start),
        }

    # --- a learner in the case -----------------------------------------------------------------------

    def learner_state(self, ctx: UnitContext) -> dict[str, Any]:
        """The path so far with its feedback, the stage to decide now; nothing is written by looking."""
        state = attempts.current_state(ctx.session, ctx.user, ctx.assignment_id)
        stage = state.stage if state else stage_view(ctx.scenario.start)
        return {
            "started": state is not None, "number": state.number if state else 0,
            "path": [{"stage": s["stage"], "prompt_html": render_markdown(s["prompt"]), "choice": s["choice"],
                      "choice_text": s["choice_text"], "feedback_html": render_markdown(s["feedback"])}
                     for s in (state.path if state else ())],
            "stage": stage and {**stage, "prompt_html": render_markdown(stage["prompt"])},
            "finished": bool(state and state.finished),
            "points": state.points if state else 0.0, "max_points": ctx.scenario.max_points(),
            "score": state.score if state else 0.0,
            "can_retry": bool(state and state.can_retry) and not ctx.closed,
        }

    def choose(self, ctx: UnitContext, stage: str, choice: str) -> None:
        current = attempts.start_attempt(ctx.session, ctx.user, ctx.assignment_id)
        attempts.choose(ctx.session, ctx.user, current.id, stage, choice)

    def restart(self, ctx: UnitContext) -> None:
        attempts.start_attempt(ctx.session, ctx.user, ctx.assignment_id, retry=True)

    def score(self, ctx: UnitContext) -> UnitScore | None:
        state = attempts.current_state(ctx.session, ctx.user, ctx.assignment_id)
        if state is None:
            return None
        return UnitScore(state.points, state.max_points, state.finished)

    # --- for the lecturer ----------------------------------------------------------------------------

    def progress(self, ctx: UnitContext) -> dict[str, int]:
        started, finished = attempts.progress_counts(ctx.session, ctx.assignment_id)
        return {N_("Đã bắt đầu"): started, N_("Đã đi đến kết cục"): finished}

    def export(self, ctx: UnitContext) -> Table:
        return Table((N_("Tên đăng nhập"), N_("Họ và tên"), N_("Lượt"), N_("Điểm"), N_("Điểm tối đa"),
                      N_("Kết thúc lúc")), attempts.export_rows(ctx.session, ctx.assignment_id))


@hookimpl
def caselab_unit_types() -> list[type[UnitType]]:
    return [CaseUnit]
