"""Rubrics: weighted criteria with levels; totals on the rubric's scale (10 by default)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .scenarios import Problem


class RubricError(ValueError):
    """Selections that do not fit the rubric.

    ``reason`` (``unknown_criteria``, ``not_a_level``, ``missing``, ``comment_required``) and
    ``details`` let adapters word it for people; the message is for logs and tests.
    """

    def __init__(self, reason: str, message: str, **details: Any):
        super().__init__(message)
        self.reason = reason
        self.details = details


@dataclass(frozen=True)
class Level:
    points: float
    label: str
    descriptor: str = ""


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    weight: float
    levels: tuple[Level, ...]
    description: str = ""

    @property
    def max_points(self) -> float:
        return max(level.points for level in self.levels)

    def level(self, points: float) -> Level | None:
        return next((lv for lv in self.levels if lv.points == points), None)


@dataclass(frozen=True)
class CriterionScore:
    criterion: str
    points: float
    max_points: float
    weighted: float          # this criterion's share of the total, on the rubric scale
    comment: str = ""


@dataclass(frozen=True)
class RubricScore:
    rubric: str
    version: int
    total: float             # on the rubric scale, rounded to 2 decimals
    scale: float
    criteria: tuple[CriterionScore, ...]

    def points(self) -> dict[str, float]:
        return {c.criterion: c.points for c in self.criteria}


@dataclass(frozen=True)
class Rubric:
    id: str
    version: int
    title: str
    criteria: tuple[Criterion, ...]
    scale: float = 10
    feedback: str = "optional"   # "required": every criterion needs a comment
    description: str = ""

    def criterion(self, criterion_id: str) -> Criterion | None:
        return next((c for c in self.criteria if c.id == criterion_id), None)

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        if not self.criteria:
            found.append(Problem(("criteria",), "a rubric needs at least one criterion"))
        seen: set[str] = set()
        for i, criterion in enumerate(self.criteria):
            if criterion.id in seen:
                found.append(Problem(("criteria", i, "id"), f"duplicate criterion id '{criterion.id}'"))
            seen.add(criterion.id)
            if criterion.weight <= 0:
                found.append(Problem(("criteria", i, "weight"), "weight must be greater than 0"))
            if not criterion.levels:
                found.append(Problem(("criteria", i, "levels"), "a criterion needs at least one level"))
                continue
            points = [lv.points for lv in criterion.levels]
            if len(set(points)) != len(points):
                found.append(Problem(("criteria", i, "levels"), "two levels have the same points"))
            if max(points) <= 0:
                found.append(Problem(("criteria", i, "levels"), "the best level must be worth more than 0"))
        return found

    def check_levels(self, selections: dict[str, float]) -> None:
        """Every selection names a criterion of this rubric and one of its levels (some may be missing)."""
        unknown = sorted(set(selections) - {c.id for c in self.criteria})
        if unknown:
            raise RubricError("unknown_criteria", f"unknown criteria: {', '.join(unknown)}", criteria=unknown)
        for criterion_id, points in selections.items():
            criterion = self.criterion(criterion_id)
            assert criterion is not None  # unknown ids were refused above
            if criterion.level(float(points)) is None:
                allowed = ", ".join(f"{lv.points:g}" for lv in criterion.levels)
                raise RubricError("not_a_level",
                                  f"{criterion_id}: {float(points):g} is not a level (allowed: {allowed})",
                                  criterion=criterion_id, points=float(points), allowed=allowed)

    def score(self, selections: dict[str, float], comments: dict[str, str] | None = None) -> RubricScore:
        """Score one examiner's level selections.

        The total is the weighted mean of each criterion's share of its best
        level, times the scale: weights need not add up to anything.
        """
        comments = comments or {}
        self.check_levels(selections)
        missing = [c.id for c in self.criteria if c.id not in selections]
        if missing:
            raise RubricError("missing", f"no level chosen for: {', '.join(missing)}", criteria=missing)
        total_weight = sum(c.weight for c in self.criteria)
        parts = []
        for criterion in self.criteria:
            points = float(selections[criterion.id])
            comment = (comments.get(criterion.id) or "").strip()
            if self.feedback == "required" and not comment:
                raise RubricError("comment_required",
                                  f"{criterion.id}: this rubric requires a comment on every criterion",
                                  criterion=criterion.id)
            weighted = self.scale * criterion.weight / total_weight * points / criterion.max_points
            parts.append(CriterionScore(criterion.id, points, criterion.max_points, weighted, comment))
        total = round(sum(p.weighted for p in parts), 2)
        return RubricScore(self.id, self.version, total, self.scale, tuple(parts))
