"""Where the marking of one submission stands, and who marks next: pure rules over its rounds.

Rounds 1 and 2 are the blind double marking, round 3 the third examiner that a
large gap calls, round 4 the re-marking of an appeal. A round is *staffed* when
an examiner is named for it, *done* when that examiner has finalised. Every
round that the rules require is either done, waiting for a named examiner, or
listed as needing one (``unstaffed``): nothing can wait without showing up.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .grading import DEFAULT_STEP, DEFAULT_THRESHOLD, Mark, reconcile, round_to_step

FIRST, SECOND, THIRD, APPEAL = 1, 2, 3, 4


@dataclass(frozen=True)
class Round:
    round: int
    examiner: int | None      # None: nobody is named for it
    total: float | None
    finalised: bool


@dataclass(frozen=True)
class MarkingState:
    status: str                       # awaiting_marks | needs_third | final
    marks_done: int                   # finalised rounds among 1-3
    final: float | None
    gap: float | None
    rule: str
    waiting: tuple[int, ...]          # required rounds with a named examiner who has not finalised
    unstaffed: tuple[int, ...]        # required rounds with nobody named: the chief examiner must act

    @property
    def needs_examiner(self) -> bool:
        return bool(self.unstaffed)

    @property
    def stage(self) -> str:
        return stage_of(self.status, self.marks_done)


def stage_of(status: str, marks_done: int) -> str:
    """The allocation page's column: awaiting_first | awaiting_second | needs_third | final."""
    if status in ("final", "needs_third"):
        return status
    return "awaiting_first" if marks_done == 0 else "awaiting_second"


def marking_state(rounds: Iterable[Round], *, appeal_open: bool = False, threshold: float = DEFAULT_THRESHOLD,
                  step: float = DEFAULT_STEP) -> MarkingState:
    by_round = {r.round: r for r in rounds}
    marks = [Mark(str(r.examiner), r.round, r.total) for r in by_round.values()
             if r.round in (FIRST, SECOND, THIRD) and r.finalised and r.total is not None]
    decided = reconcile(marks, threshold, step)
    required = [FIRST, SECOND]
    if decided.gap is not None and decided.gap > threshold:
        required.append(THIRD)
    if appeal_open:
        required.append(APPEAL)
    waiting, unstaffed = [], []
    for number in required:
        found = by_round.get(number)
        if found is None or found.examiner is None:
            unstaffed.append(number)
        elif not found.finalised:
            waiting.append(number)
    return MarkingState(decided.status, len(marks), decided.final, decided.gap, decided.rule,
                        tuple(waiting), tuple(unstaffed))


def choose_examiners(pool: Sequence[int], loads: Mapping[int, int], exclude: Iterable[int],
                     count: int) -> list[int]:
    """The ``count`` least-loaded pool members not excluded; ties go to the earlier pool member."""
    excluded = set(exclude)
    free = [e for e in dict.fromkeys(pool) if e not in excluded]
    order = {e: i for i, e in enumerate(free)}
    return sorted(free, key=lambda e: (loads.get(e, 0), order[e]))[:count]


def appeal_outcome(previous: float, remark: float, step: float = DEFAULT_STEP) -> tuple[float, str]:
    """The mark after an appeal (docs/rubrics.md): the re-mark, on the marking step, replaces the released
    mark whenever it differs by at least one step, up or down; otherwise the released mark stands."""
    rounded = round_to_step(remark, step)
    if abs(rounded - previous) >= step:
        return rounded, "appeal re-mark replaces the released mark"
    return previous, "appeal re-mark confirms the released mark"
