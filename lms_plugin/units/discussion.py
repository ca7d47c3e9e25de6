"""The group discussion on the scenario's prompt, and the group's shared report."""
from __future__ import annotations

from typing import Any

from ..core.scenarios import Scenario
from .spec import UnitType


class DiscussionUnit(UnitType):
    type_id = "discussion"
    title = "Thảo luận nhóm"

    def applies_to(self, scenario: Scenario) -> bool:
        return scenario.discussion is not None

    def max_score(self, scenario: Scenario) -> float:
        return 0.0   # the group report is assessed by lecturers, not scored into the learner's grade

    def public_view(self, scenario: Scenario) -> dict[str, Any]:
        spec = scenario.discussion
        assert spec is not None  # hosts ask only for the units that apply_to the scenario
        return {"prompt": spec.prompt, "group_report": spec.group_report, "rubric": spec.rubric}
