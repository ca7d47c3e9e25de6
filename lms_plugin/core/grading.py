"""Double marking and the final mark.

Rule (docs/rubrics.md): two examiners mark each essay blind. When their totals
differ by at most the threshold (1.5 points by default) the final mark is their
mean. A larger gap calls a third examiner; the final mark is then the mean of
the third mark and whichever first mark is closer to it (the mean of both first
marks when they are equally close). Final marks are rounded to the nearest
0.25, half up, as Vietnamese marking does.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

DEFAULT_THRESHOLD = 1.5
DEFAULT_STEP = 0.25


@dataclass(frozen=True)
class Mark:
    examiner: str
    round: int        # 1 and 2: the double marking; 3: the third examiner
    total: float


@dataclass(frozen=True)
class Reconciliation:
    status: str               # "awaiting_marks" | "needs_third" | "final"
    final: float | None
    gap: float | None
    rule: str


def round_to_step(value: float, step: float = DEFAULT_STEP) -> float:
    units = (Decimal(str(value)) / Decimal(str(step))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return float(units * Decimal(str(step)))


def reconcile(marks: list[Mark], threshold: float = DEFAULT_THRESHOLD,
              step: float = DEFAULT_STEP) -> Reconciliation:
    by_round = {m.round: m for m in marks}
    first, second, third = by_round.get(1), by_round.get(2), by_round.get(3)
    if first is None or second is None:
        return Reconciliation("awaiting_marks", None, None, "two marks are needed")
    gap = round(abs(first.total - second.total), 4)
    if gap <= threshold:
        final = round_to_step((first.total + second.total) / 2, step)
        return Reconciliation("final", final, gap, f"mean of two marks (gap {gap:g} ≤ {threshold:g})")
    if third is None:
        return Reconciliation("needs_third", None, gap, f"gap {gap:g} > {threshold:g}: a third examiner marks")
    d1, d2 = abs(first.total - third.total), abs(second.total - third.total)
    if d1 == d2:
        partner, which = (first.total + second.total) / 2, "both first marks"
    else:
        partner, which = (first.total, "first mark") if d1 < d2 else (second.total, "second mark")
    final = round_to_step((third.total + partner) / 2, step)
    return Reconciliation("final", final, gap, f"mean of third mark and the closer {which}")
