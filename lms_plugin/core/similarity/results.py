"""Result types of the reuse detector (plain frozen dataclasses)."""
from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class Passage:
    """A matched passage: [a_start, a_end) in A's text, [b_start, b_end) in B's.

    Offsets are Python ``str`` indices into the ORIGINAL, un-normalised texts.
    """

    a_start: int
    a_end: int
    b_start: int
    b_end: int


@dataclass(frozen=True)
class Match:
    """Text of essay ``a`` found in source ``b``.

    ``score`` is the share of A's characters (from its first to its last
    word) inside passages found in B; ``paraphrase`` is the TF-IDF cosine of
    the two texts, the signal for heavy rewording.  Neither is a verdict: they
    point the examiner to what to read.
    """

    a: Hashable
    b: Hashable
    b_kind: str  # "essay" or "reference"
    score: float
    paraphrase: float
    passages: tuple[Passage, ...]


@dataclass(frozen=True)
class SourceShare:
    source: Hashable
    kind: str
    share: float


@dataclass(frozen=True)
class QueryResult:
    """Report for one essay: overall score, per-source shares, matches.

    ``score`` is the share of the essay's characters covered by a passage
    from ANY source (overlaps between sources counted once).
    """

    score: float
    sources: tuple[SourceShare, ...]
    matches: tuple[Match, ...]
