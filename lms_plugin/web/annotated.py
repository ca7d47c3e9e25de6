"""An essay with its inline comments highlighted: the body cut into plain-text pieces at the comments' offsets.

The pieces are escaped by the templates (never marked safe), so the element
that shows them has exactly the essay as its text content: the offsets the
browser computes (annotate.js) are the offsets the service checks. Comments
may overlap (two examiners, or one comment inside another): a piece lists every
comment that covers it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Piece:
    text: str
    notes: tuple[str, ...]        # keys of the comments covering this piece; () for plain text


def pieces(body: str, spans: Iterable[tuple[str, int, int]]) -> list[Piece]:
    """``body`` cut at every (key, start, end) span's offsets (code points, as Python counts them)."""
    spans = [(key, max(start, 0), min(end, len(body))) for key, start, end in spans]
    spans = [(key, start, end) for key, start, end in spans if start < end]
    cuts = sorted({0, len(body), *(s for _k, s, _e in spans), *(e for _k, _s, e in spans)})
    out: list[Piece] = []
    for a, b in zip(cuts, cuts[1:]):
        notes = tuple(key for key, start, end in spans if start <= a and b <= end)
        if out and out[-1].notes == notes:
            out[-1] = Piece(out[-1].text + body[a:b], notes)
        else:
            out.append(Piece(body[a:b], notes))
    return out
