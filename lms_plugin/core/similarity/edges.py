"""Extend passages over the syllables that fingerprints cannot see.

A passage found from shared fingerprints starts and ends on a selected
k-gram: winnowing skips up to ``window - 1`` k-grams, and the last ``k - 1``
syllables of a copied block form no whole shared k-gram.  Reading the
syllables next to each end in both texts and taking those that match
gives the passage its true extent, so the score is not understated.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from lms_plugin.core.text import hash_syllables

from .passages import SharedRuns, merge_overlapping

_CHARS_PER_SYLLABLE = 16  # generous: a slice this long holds `limit` syllables


def extend_runs(runs: SharedRuns, a_texts: Sequence[str], b_texts: Sequence[str], limit: int) -> SharedRuns:
    """``runs`` with each end moved over up to ``limit`` syllables equal in
    both texts; ``a_texts[i]``/``b_texts[i]`` are the texts of run i.  Runs
    that come to overlap in both texts are merged; the result is sorted by
    (pair, a_start)."""
    n = runs.pair.size
    if n == 0 or limit < 1:
        return runs
    span = limit * _CHARS_PER_SYLLABLE
    a_start, a_end = runs.a_start.copy(), runs.a_end.copy()
    b_start, b_end = runs.b_start.copy(), runs.b_end.copy()
    slices, cut = [], []  # per run: A before, B before, A after, B after
    for i in range(n):
        a, b = a_texts[i], b_texts[i]
        a0, b0 = max(int(a_start[i]) - span, 0), max(int(b_start[i]) - span, 0)
        slices += [a[a0:a_start[i]], b[b0:b_start[i]], a[a_end[i]:a_end[i] + span], b[b_end[i]:b_end[i] + span]]
        cut.append((a0, b0, a0 > 0, b0 > 0, a_end[i] + span < len(a), b_end[i] + span < len(b)))
    syl = hash_syllables(slices)
    for i, (a0, b0, a_cut, b_cut, a_tail_cut, b_tail_cut) in enumerate(cut):
        # a slice's outer syllable may be cut in two: never match it
        ha, sa, _ = _syllables(syl, 4 * i, drop_first=a_cut)
        hb, sb, _ = _syllables(syl, 4 * i + 1, drop_first=b_cut)
        m = _common(ha[::-1], hb[::-1], limit)
        if m:
            a_start[i], b_start[i] = a0 + sa[-m], b0 + sb[-m]
        ha, _, ea = _syllables(syl, 4 * i + 2, drop_last=a_tail_cut)
        hb, _, eb = _syllables(syl, 4 * i + 3, drop_last=b_tail_cut)
        m = _common(ha, hb, limit)
        if m:
            a_end[i], b_end[i] = runs.a_end[i] + ea[m - 1], runs.b_end[i] + eb[m - 1]
    order = np.lexsort((b_start, a_start, runs.pair))
    return merge_overlapping(runs.pair[order], a_start[order], a_end[order], b_start[order], b_end[order])


def _syllables(syl, doc: int, drop_first: bool = False, drop_last: bool = False):
    lo, hi = int(syl.bounds[doc]) + drop_first, int(syl.bounds[doc + 1]) - drop_last
    return syl.hashes[lo:hi], syl.starts[lo:hi], syl.ends[lo:hi]


def _common(a: np.ndarray, b: np.ndarray, limit: int) -> int:
    """Length of the common prefix of a and b, at most ``limit``."""
    n = min(a.size, b.size, limit)
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if differ.size else n
