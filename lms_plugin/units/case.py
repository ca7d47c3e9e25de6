"""The case player: the situation, its data, and the decision stages."""
from __future__ import annotations

from typing import Any

from ..core.scenarios import Scenario, Stage
from .spec import UnitType


def stage_view(stage: Stage | None) -> dict[str, Any] | None:
    """A stage as a learner sees it: the prompt and the options, never points or feedback."""
    if stage is None:
        return None
    return {"id": stage.id, "prompt": stage.prompt, "ending": stage.is_ending,
            "choices": [{"id": c.id, "text": c.text} for c in stage.choices]}


class CaseUnit(UnitType):
    type_id = "case"
    title = "Tình huống"

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
