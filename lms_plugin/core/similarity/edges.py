"""Extend passages over the syllables that fingerprints cannot see.

A passage found from shared fingerprints starts and ends on a selected
k-gram: winnowing skips up to ``window - 1`` k-grams, and the last ``k - 1``
syllables of a copied block form no whole shared k-gram.  Reading the
syllables next to each end in both texts and taking those that match
gives the passage its true extent, so the score is not understated.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lms_plugin.core.text import SyllableHashes, hash_syllables

from .passages import SharedRuns, merge_overlapping

_CHARS_PER_SYLLABLE = 16  # generous: a slice this long holds `limit` syllables
_BATCH = 2048  # runs whose edge slices are hashed together


def extend_runs(runs: SharedRuns, a_texts: Sequence[str], b_texts: Sequence[str], limit: int) -> SharedRuns:
    """``runs`` with each end moved over up to ``limit`` syllables equal in
    both texts; ``a_texts[i]``/``b_texts[i]`` are the texts of run i.  Runs
    that come to overlap in both texts are merged; the result is sorted by
    (pair, a_start)."""
    n = runs.pair.size
    if n == 0 or limit < 1:
        return runs
    a_start, a_end = runs.a_start.copy(), runs.a_end.copy()
    b_start, b_end = runs.b_start.copy(), runs.b_end.copy()
    for lo in range(0, n, _BATCH):  # the syllables of a batch's slices only: bounded memory
        hi = min(lo + _BATCH, n)
        _extend_batch(range(lo, hi), a_texts, b_texts, limit, a_start, a_end, b_start, b_end)
    order = np.lexsort((b_start, a_start, runs.pair))
    return merge_overlapping(runs.pair[order], a_start[order], a_end[order], b_start[order], b_end[order])


def _extend_batch(runs: range, a_texts: Sequence[str], b_texts: Sequence[str], limit: int, a_start: np.ndarray,
                  a_end: np.ndarray, b_start: np.ndarray, b_end: np.ndarray) -> None:
    """Move the ends of ``runs`` in place."""
    span = limit * _CHARS_PER_SYLLABLE
    slices, cut = [], []  # per run: A before, B before, A after, B after
    for i in runs:
        a, b = a_texts[i], b_texts[i]
        a0, b0 = max(int(a_start[i]) - span, 0), max(int(b_start[i]) - span, 0)
        a1, b1 = int(a_end[i]), int(b_end[i])
        slices += [a[a0:a_start[i]], b[b0:b_start[i]], a[a1:a1 + span], b[b1:b1 + span]]
        cut.append((a0, b0, a1, b1, a0 > 0, b0 > 0, a1 + span < len(a), b1 + span < len(b)))
    syl = hash_syllables(slices)
    for j, (i, (a0, b0, a1, b1, a_cut, b_cut, a_tail_cut, b_tail_cut)) in enumerate(zip(runs, cut)):
        # a slice's outer syllable may be cut in two: never match it
        ha, sa, _ = _syllables(syl, 4 * j, drop_first=a_cut)
        hb, sb, _ = _syllables(syl, 4 * j + 1, drop_first=b_cut)
        m = _common(ha[::-1], hb[::-1], limit)
        if m:
            a_start[i], b_start[i] = a0 + sa[-m], b0 + sb[-m]
        ha, _, ea = _syllables(syl, 4 * j + 2, drop_last=a_tail_cut)
        hb, _, eb = _syllables(syl, 4 * j + 3, drop_last=b_tail_cut)
        m = _common(ha, hb, limit)
        if m:
            a_end[i], b_end[i] = a1 + ea[m - 1], b1 + eb[m - 1]


def _syllables(syl: SyllableHashes, doc: int, drop_first: bool = False,
               drop_last: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = int(syl.bounds[doc]) + drop_first, int(syl.bounds[doc + 1]) - drop_last
    return syl.hashes[lo:hi], syl.starts[lo:hi], syl.ends[lo:hi]


def _common(a: np.ndarray, b: np.ndarray, limit: int) -> int:
    """Length of the common prefix of a and b, at most ``limit``."""
    n = min(a.size, b.size, limit)
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if differ.size else n
