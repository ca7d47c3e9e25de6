"""Turn shared fingerprints of document pairs into passages and scores.

Shared fingerprints of one pair, in A's order, form a passage while each
step moves at most ``max_gap`` syllables in both texts: winnowing leaves
gaps of up to w syllables, and a light edit removes up to k k-grams.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
          k: int, max_gap: int, min_syllables: int) -> SharedRuns:
    """Passages from shared fingerprints sorted by (pair, a_pos).

    Runs are first cut where a step exceeds ``max_gap`` in either text, then
    neighbouring runs of a pair are merged while they stay within
    ``max_gap`` of each other in both texts (reordered sentences inside a
    copied passage stay one passage).
    """
    n = pair.size
    if n == 0:
        z = np.zeros(0, np.int64)
        return SharedRuns(z, z, z, z, z)
    a_pos = a_pos.astype(np.int64)
    b_pos = b_pos.astype(np.int64)
    breaks = (pair[1:] != pair[:-1]) | (np.diff(a_pos) > max_gap) | (np.abs(np.diff(b_pos)) > max_gap)
    first = np.flatnonzero(np.concatenate([[True], breaks]))
    while True:
        last = np.append(first[1:], n) - 1
        b_lo = _reduce(np.minimum, b_pos, first, last)
        b_hi = _reduce(np.maximum, b_pos, first, last)
        joins = ((pair[first[1:]] == pair[last[:-1]])
                 & (a_pos[first[1:]] - a_pos[last[:-1]] <= max_gap)
                 & (b_lo[1:] <= b_hi[:-1] + max_gap) & (b_hi[1:] >= b_lo[:-1] - max_gap))
        if not joins.any():
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


def _reduce(ufunc, values: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """ufunc over values[first[i]:last[i]+1] for each i (runs may be sparse)."""
    if first.size == 0:
        return np.zeros(0, np.int64)
    bounds = np.empty(2 * first.size, dtype=np.int64)
    bounds[0::2] = first
    bounds[1::2] = last + 1
    # reduceat needs increasing indices < len: pad with one dummy element
    padded = np.append(values.astype(np.int64), 0)
    return ufunc.reduceat(padded, bounds)[0::2]


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
