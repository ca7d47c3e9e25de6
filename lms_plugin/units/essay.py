"""The essay (bài thu hoạch), marked by examiners with the scenario's rubric."""
from __future__ import annotations

from typing import Any

from ..core.scenarios import Scenario
from .spec import UnitType

SCALE = 10.0   # essays are marked on the 10-point scale


class EssayUnit(UnitType):
    type_id = "essay"
    title = "Bài thu hoạch"

    def applies_to(self, scenario: Scenario) -> bool:
        return scenario.essay is not None

    def max_score(self, scenario: Scenario) -> float:
        return SCALE

    def public_view(self, scenario: Scenario) -> dict[str, Any]:
        spec = scenario.essay
        assert spec is not None  # hosts ask only for the units that apply_to the scenario
        return {"prompt": spec.prompt, "min_words": spec.min_words, "max_words": spec.max_words,
                "rubric": spec.rubric, "recommendations_section": spec.recommendations_section}
