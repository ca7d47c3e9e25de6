"""The contract every unit type fulfils (built-in or from another package).

A unit type is one class registered under the ``lms_plugin.units`` entry-point
group. Hosts (the web app, the XBlocks) ask the registry which units apply to a
scenario, what a learner may see of it, and what it is worth; the actions
(deciding, posting, submitting) are services that the hosts call.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from ..core.scenarios import Scenario


class UnitType(ABC):
    type_id: ClassVar[str]        # stable key: "case", "discussion", "essay", ...
    title: ClassVar[str]          # shown to people; translated by the host

    @abstractmethod
    def applies_to(self, scenario: Scenario) -> bool:
        """Whether the scenario has what this unit needs (e.g. an essay section)."""

    @abstractmethod
    def max_score(self, scenario: Scenario) -> float:
        """Most points a learner can earn in this unit (0 for ungraded units)."""

    @abstractmethod
    def public_view(self, scenario: Scenario) -> dict[str, Any]:
        """What a learner may see before acting: JSON-ready, without points or feedback."""
