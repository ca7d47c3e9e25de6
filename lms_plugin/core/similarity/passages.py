"""Turn shared fingerprints of document pairs into passages and scores.

Shared fingerprints of one pair, in A's order, form a passage while each
step moves at most ``max_gap`` syllables in both texts: winnowing leaves
gaps of up to w syllables, and a light edit removes up to k k-grams.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# a_pos, b_pos, a_start, a_end, b_start, b_end of some shared fingerprints
Gathered = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class SharedRuns:
    """Passages of many pairs: pair number and spans in both texts."""

    pair: np.ndarray
    a_start: np.ndarray
    a_end: np.ndarray
    b_start: np.ndarray
    b_end: np.ndarray


def align(pair: np.ndarray, a_pos: np.ndarray, b_pos: np.ndarray,
          a_start: np.ndarray, a_end: np.ndarray, b_start: np.ndarray, b_end: np.ndarray,
          k: int, max_gap: int, min_syllables: int, max_skew: int | None = None) -> SharedRuns:
    """Passages from shared fingerprints sorted by (pair, a_pos).

    Runs are first cut where a step exceeds ``max_gap`` in either text, then
    neighbouring runs of a pair are merged while they stay within
    ``max_gap`` of each other in both texts (reordered sentences inside a
    copied passage stay one passage).  With ``max_skew``, runs are also cut
    where B does not move forward by A's step, give or take ``max_skew``
    (one diagonal, as in a copy), and are not merged.
    """
    n = pair.size
    if n == 0:
        z = np.zeros(0, np.int64)
        return SharedRuns(z, z, z, z, z)
    a_pos = a_pos.astype(np.int64)
    b_pos = b_pos.astype(np.int64)
    breaks = (pair[1:] != pair[:-1]) | (np.diff(a_pos) > max_gap) | (np.abs(np.diff(b_pos)) > max_gap)
    if max_skew is not None:
        b_step = np.diff(b_pos)
        breaks |= (b_step <= 0) | (np.abs(b_step - np.diff(a_pos)) > max_skew)
    first = np.flatnonzero(np.concatenate([[True], breaks]))
    while True:
        last = np.append(first[1:], n) - 1
        b_lo = _reduce(np.minimum, b_pos, first, last)
        b_hi = _reduce(np.maximum, b_pos, first, last)
        joins = ((pair[first[1:]] == pair[last[:-1]])
                 & (a_pos[first[1:]] - a_pos[last[:-1]] <= max_gap)
                 & (b_lo[1:] <= b_hi[:-1] + max_gap) & (b_hi[1:] >= b_lo[:-1] - max_gap))
        if max_skew is not None or not joins.any():
            break
        # merge every other candidate per round so each merge sees fresh B ranges
        joins &= ~np.concatenate([[False], joins[:-1]])
        first = first[np.concatenate([[True], ~joins])]
    syllables = a_pos[last] - a_pos[first] + k
    keep = syllables >= min_syllables
    first, last = first[keep], last[keep]
    return SharedRuns(
        pair=pair[first],
        a_start=a_start[first].astype(np.int64),
        a_end=_reduce(np.maximum, a_end, first, last),
        b_start=_reduce(np.minimum, b_start, first, last),
        b_end=_reduce(np.maximum, b_end, first, last),
    )


def align_layers(pair: np.ndarray, rank_a: np.ndarray, rank_b: np.ndarray, repeated: np.ndarray,
                 max_repeats: int, order_a: np.ndarray, gather: Callable[[np.ndarray], Gathered], k: int,
                 max_gap: int, dense_gap: int,
                 min_syllables: int) -> SharedRuns:
    """Passages of shared fingerprints given in any order; a fingerprint may
    occur up to ``max_repeats`` times in either text (``repeated``).

    Fingerprints found once in both texts are aligned as by ``align``.
    Repeated ones are aligned apart, one layer per (occurrence in A,
    occurrence in B) rank pair, so a block pasted twice into A gives two
    passages, each aligned to the source; inside a layer a run only goes
    on while steps stay within ``dense_gap`` (as dense as a copy's
    fingerprints) and on one diagonal (B moves on by A's step, give or take
    k), so scattered repeats of set phrases do not chain into passages, and
    they never cut the runs of the fingerprints found once.
    ``order_a`` orders the fingerprints of A (its positions);
    ``gather(index)`` gives (a_pos, b_pos, a_start, a_end, b_start, b_end)
    of the shared fingerprints at ``index`` (built per subset, so the
    arrays exist once).  Runs come
    back sorted by (pair, a_start), as ``covered`` needs; a repeated-layer
    run overlapping another run in both texts is merged into it.
    """
    if repeated.any():
        order = np.flatnonzero(~repeated)
        order = order[np.lexsort((order_a[order], pair[order]))]
    else:
        order = np.lexsort((order_a, pair))
    runs = align(pair[order], *gather(order), k, max_gap, min_syllables)
    if not repeated.any():
        return runs
    layers = max_repeats * max_repeats
    rep = np.flatnonzero(repeated)
    key = pair[rep].astype(np.int64) * layers + rank_a[rep].astype(np.int64) * max_repeats + rank_b[rep]
    order = np.lexsort((order_a[rep], key))
    extra = align(key[order], *gather(rep[order]), k, min(max_gap, dense_gap), min_syllables, max_skew=k)
    if extra.pair.size == 0:
        return runs
    fields = [np.concatenate([runs.pair, extra.pair // layers])]
    fields += [np.concatenate([getattr(runs, f), getattr(extra, f)]) for f in ("a_start", "a_end", "b_start", "b_end")]
    order = np.lexsort((fields[3], fields[1], fields[0]))
    return merge_overlapping(*(f[order] for f in fields))


def merge_overlapping(pair: np.ndarray, a_start: np.ndarray, a_end: np.ndarray, b_start: np.ndarray,
                      b_end: np.ndarray) -> SharedRuns:
    """Merge neighbouring runs of a pair (sorted by a_start) that overlap in
    both texts."""
    while True:
        joins = ((pair[1:] == pair[:-1]) & (a_start[1:] < a_end[:-1])
                 & (b_start[1:] < b_end[:-1]) & (b_end[1:] > b_start[:-1]))
        if not joins.any():
            return SharedRuns(pair, a_start, a_end, b_start, b_end)
        joins &= ~np.concatenate([[False], joins[:-1]])  # disjoint (i, i + 1) merges this round
        into = np.flatnonzero(joins)
        a_end[into] = np.maximum(a_end[into], a_end[into + 1])
        b_start[into] = np.minimum(b_start[into], b_start[into + 1])
        b_end[into] = np.maximum(b_end[into], b_end[into + 1])
        keep = np.ones(pair.size, dtype=bool)
        keep[into + 1] = False
        pair, a_start, a_end, b_start, b_end = pair[keep], a_start[keep], a_end[keep], b_start[keep], b_end[keep]


def _reduce(ufunc: np.ufunc, values: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """ufunc over values[first[i]:last[i]+1] for each i (runs may be sparse)."""
    if first.size == 0:
        return np.zeros(0, np.int64)
    bounds = np.empty(2 * first.size, dtype=np.int64)
    bounds[0::2] = first
    bounds[1::2] = last + 1
    # reduceat needs increasing indices < len: pad with one dummy element
    padded = np.append(values.astype(np.int64), 0)
    reduced: np.ndarray = ufunc.reduceat(padded, bounds)
    return reduced[0::2]


def covered(pair: np.ndarray, start: np.ndarray, end: np.ndarray, n_pairs: int) -> np.ndarray:
    """Characters covered by the union of spans, per pair.

    Spans must be sorted by (pair, start).
    """
    out = np.zeros(n_pairs, dtype=np.int64)
    if pair.size == 0:
        return out
    # offset each pair far apart so one running maximum serves all pairs
    far = np.int64(1 << 32)
    s = start.astype(np.int64) + pair * far
    e = end.astype(np.int64) + pair * far
    reach = np.maximum.accumulate(e)
    prev = np.concatenate([[np.int64(-1)], reach[:-1]])
    gain = np.maximum(e - np.maximum(s, prev), 0)
    np.add.at(out, pair, gain)
    return out
