"""Scenarios: a situation, its data, and a directed graph of decision stages.

Pure domain code. Loading from YAML lives in ``lms_plugin.schemas``; the
structural checks live here so every host (file loader, web editor, XBlock
Studio view) rejects the same mistakes with the same messages.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

Path = tuple[str | int, ...]  # a field path such as ("stages", 1, "choices", 0, "next")


@dataclass(frozen=True)
class Choice:
    id: str
    text: str
    feedback: str
    points: float = 0
    next: str | None = None


@dataclass(frozen=True)
class Stage:
    id: str
    prompt: str
    choices: tuple[Choice, ...] = ()

    @property
    def is_ending(self) -> bool:
        return not self.choices

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)


@dataclass(frozen=True)
class Attachment:
    file: str
    title: str


@dataclass(frozen=True)
class DiscussionSpec:
    prompt: str
    group_report: bool = False
    rubric: str | None = None


@dataclass(frozen=True)
class EssaySpec:
    prompt: str
    rubric: str
    min_words: int = 0
    max_words: int | None = None
    recommendations_section: str | None = None
    # the headings the editor starts from (Markdown "## ..."); none: the recommendations heading alone
    sections: tuple[str, ...] = ()
    # a submission without the recommendations section (or with it empty): "refuse" it, or "warn" and accept
    recommendations_check: str = "refuse"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario, located by its field path."""

    path: Path
    message: str


@dataclass(frozen=True)
class Scenario:
    id: str
    version: int
    topic: int | str
    title: str
    stages: tuple[Stage, ...]
    summary: str = ""
    context: str = ""
    attachments: tuple[Attachment, ...] = ()
    discussion: DiscussionSpec | None = None
    essay: EssaySpec | None = None
    allow_cycles: bool = False
    allow_retry: bool = False
    context_html: str = field(default="", compare=False)
    # sections of unit types that plug in (units: in the YAML), by type id, as their schemas loaded them
    units: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @cached_property
    def _stage_index(self) -> dict[str, Stage]:
        index: dict[str, Stage] = {}
        for stage in self.stages:
            index.setdefault(stage.id, stage)   # a duplicate id is reported; the first one stands
        return index

    @property
    def start(self) -> Stage:
        return self.stages[0]

    def stage(self, stage_id: str) -> Stage | None:
        return self._stage_index.get(stage_id)

    def problems(self) -> list[Problem]:
        """Structural checks of DESIGN §4 that need the whole graph."""
        found: list[Problem] = []
        if not self.stages:
            return [Problem(("stages",), "a scenario needs at least one stage")]
        seen: dict[str, int] = {}
        for i, stage in enumerate(self.stages):
            if stage.id in seen:
                found.append(Problem(("stages", i, "id"),
                                     f"duplicate stage id '{stage.id}' (first at stages[{seen[stage.id]}])"))
            else:
                seen[stage.id] = i
            choice_ids: set[str] = set()
            for j, choice in enumerate(stage.choices):
                if choice.id in choice_ids:
                    found.append(Problem(("stages", i, "choices", j, "id"),
                                         f"duplicate choice id '{choice.id}' in stage '{stage.id}'"))
                choice_ids.add(choice.id)
                if choice.next is not None and choice.next not in self._stage_index:
                    found.append(Problem(("stages", i, "choices", j, "next"),
                                         f"unknown stage '{choice.next}'"))
        if not any(s.is_ending for s in self.stages):
            found.append(Problem(("stages",), "no ending: at least one stage must have no choices"))
        reachable = self._reachable()
        for i, stage in enumerate(self.stages):
            if stage.id not in reachable and seen.get(stage.id) == i:
                found.append(Problem(("stages", i, "id"),
                                     f"stage '{stage.id}' cannot be reached from '{self.start.id}'"))
        if not self.allow_cycles:
            cycle = self._find_cycle()
            if cycle:
                i = seen[cycle[0]]
                found.append(Problem(("stages", i),
                                     "cycle " + " -> ".join(cycle) + " (set allow_cycles: true if intended)"))
        for i, stage in enumerate(self.stages):
            for j, choice in enumerate(stage.choices):
                if choice.next is None:
                    found.append(Problem(("stages", i, "choices", j, "next"),
                                         "missing: a choice must lead to a stage (an ending has no choices)"))
        return found

    def _successors(self, stage: Stage) -> list[Stage]:
        return [self._stage_index[c.next] for c in stage.choices
                if c.next is not None and c.next in self._stage_index]

    def _reachable(self) -> set[str]:
        todo, seen = [self.start], {self.start.id}
        while todo:
            for nxt in self._successors(todo.pop()):
                if nxt.id not in seen:
                    seen.add(nxt.id)
                    todo.append(nxt)
        return seen

    def _find_cycle(self) -> list[str] | None:
        state: dict[str, int] = {}  # 1 = on the stack, 2 = done

        def visit(stage: Stage, trail: list[str]) -> list[str] | None:
            state[stage.id] = 1
            for nxt in self._successors(stage):
                if state.get(nxt.id) == 1:
                    return trail[trail.index(nxt.id):] + [nxt.id] if nxt.id in trail else [stage.id, nxt.id]
                if nxt.id not in state:
                    found = visit(nxt, trail + [nxt.id])
                    if found:
                        return found
            state[stage.id] = 2
            return None

        for stage in self.stages:
            if stage.id not in state:
                found = visit(stage, [stage.id])
                if found:
                    return found
        return None

    def max_points(self) -> float:
        """Best total a cadre can reach on any path from the start to an ending.

        On an acyclic graph this is a longest-path search; with cycles allowed a
        revisited stage scores nothing again, so simple paths bound the total.
        """
        best: dict[str, float] = {}

        def from_stage(stage: Stage, on_path: frozenset[str]) -> float:
            if not self.allow_cycles and stage.id in best:
                return best[stage.id]
            total = 0.0
            for choice in stage.choices:
                nxt = self._stage_index.get(choice.next or "")
                if nxt is None or nxt.id in on_path:
                    total = max(total, choice.points)
                else:
                    total = max(total, choice.points + from_stage(nxt, on_path | {nxt.id}))
            if not self.allow_cycles:
                best[stage.id] = total
            return total

        return from_stage(self.start, frozenset({self.start.id}))


class DecisionError(ValueError):
    """A decision that the scenario does not allow at this point.

    ``reason`` says why, for adapters that word it for people: ``ended``
    (the case is over), ``stale`` (the decision is for another stage than
    the current one: a second tab, the back button) or ``no_choice``.
    """

    def __init__(self, reason: str, message: str, current: str):
        super().__init__(message)
        self.reason = reason
        self.current = current


@dataclass(frozen=True)
class Step:
    stage: str
    choice: str
    points: float
    feedback: str


@dataclass(frozen=True)
class PathScore:
    """Where a cadre stands after a sequence of decisions."""

    steps: tuple[Step, ...]
    current: Stage
    points: float
    max_points: float

    @property
    def finished(self) -> bool:
        return self.current.is_ending

    @property
    def ratio(self) -> float:
        """Share of the best reachable total, 0..1; the score an LMS receives."""
        if self.max_points <= 0:
            return 1.0 if self.finished else 0.0
        return max(0.0, min(1.0, self.points / self.max_points))


def walk(scenario: Scenario, decisions: list[tuple[str, str]]) -> PathScore:
    """Replay ``(stage_id, choice_id)`` decisions from the start.

    Raises DecisionError when a decision is not the current stage's or the
    choice does not exist, so a stale or forged request is refused whole.
    On a scenario with cycles a revisited stage scores nothing again.
    """
    current = scenario.start
    steps: list[Step] = []
    scored: set[str] = set()
    points = 0.0
    for stage_id, choice_id in decisions:
        if current.is_ending:
            raise DecisionError("ended", f"the case has ended at stage '{current.id}'", current.id)
        if stage_id != current.id:
            raise DecisionError("stale", f"stage '{stage_id}' is not the current stage '{current.id}'", current.id)
        choice = current.choice(choice_id)
        if choice is None:
            raise DecisionError("no_choice", f"stage '{current.id}' has no choice '{choice_id}'", current.id)
        gained = 0.0 if current.id in scored else choice.points
        scored.add(current.id)
        points += gained
        steps.append(Step(current.id, choice.id, gained, choice.feedback))
        following = scenario.stage(choice.next) if choice.next is not None else None
        # problems() refuses a choice that leads to no known stage, and only a checked scenario is played
        assert following is not None, f"choice '{choice.id}' of stage '{current.id}' leads nowhere"
        current = following
    return PathScore(tuple(steps), current, points, scenario.max_points())


def stage_view(stage: Stage | None) -> dict[str, Any] | None:
    """A stage as a learner sees it: the prompt and the options, never points or feedback."""
    if stage is None:
        return None
    return {"id": stage.id, "prompt": stage.prompt, "ending": stage.is_ending,
            "choices": [{"id": c.id, "text": c.text} for c in stage.choices]}
