"""Inverted index fingerprint -> (document, position), as sorted arrays.

Entries stay in document order (``Fingerprints``); ``keys`` holds, sorted,
the fingerprint's top bits packed with the entry number, so one fast
``np.sort`` replaces an argsort and a dict.  Postings of a fingerprint are a
contiguous range of ``keys``; a posting only counts when the full 64-bit
hashes agree, so the packing loses nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fingerprints import Fingerprints


@dataclass(frozen=True)
class Instances:
    """Shared fingerprints: entry ``a`` of one document matches entry ``b``."""

    a: np.ndarray  # int64 entry numbers (or query positions)
    b: np.ndarray


def _member(sorted_set: np.ndarray, values: np.ndarray) -> np.ndarray:
    if sorted_set.size == 0:
        return np.zeros(values.size, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
    return sorted_set[at] == values


def _group_starts(sorted_values: np.ndarray) -> np.ndarray:
    if sorted_values.size == 0:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.concatenate([[True], sorted_values[1:] != sorted_values[:-1]]))


def _repeated_groups(keys: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions in ``keys`` of fingerprints occurring more than once, and
    the start (in those positions) and size of each such group."""
    prefix = keys >> np.uint64(shift)
    same_as_next = prefix[1:] == prefix[:-1]
    del prefix
    repeated = np.zeros(keys.size, dtype=bool)
    repeated[1:] = same_as_next
    repeated[:-1] |= same_as_next
    at = np.flatnonzero(repeated)
    if at.size == 0:
        return at, np.zeros(0, np.int64), np.zeros(0, np.int64)
    first = np.ones(at.size, dtype=bool)
    first[1:] = ~same_as_next[at[1:] - 1]
    starts = np.flatnonzero(first)
    return at, starts, np.diff(np.append(starts, at.size))


@dataclass(frozen=True)
class FingerprintIndex:
    entries: Fingerprints  # document order
    keys: np.ndarray  # uint64 sorted: prefix << shift | entry
    shift: int  # number of low bits holding the entry number
    solo: np.ndarray  # bool per entry: its fingerprint occurs once in its document
    stop: np.ndarray  # uint64 sorted prefixes that never count

    @classmethod
    def build(cls, fp: Fingerprints, stop_hashes: np.ndarray, df_limit: int) -> "FingerprintIndex":
        """Index ``fp`` minus ``stop_hashes`` and fingerprints found in more
        than ``df_limit`` documents (boilerplate).

        Most fingerprints occur once; only the groups of repeated ones are
        looked at closely, which keeps random memory access low.
        """
        shift = max(1, int(fp.hash.size).bit_length())
        u_shift = np.uint64(shift)
        stop = np.unique(stop_hashes >> u_shift)
        keys = fp.hash >> u_shift
        keys <<= u_shift
        keys |= np.arange(fp.hash.size, dtype=np.uint64)
        keys.sort()
        if stop.size:
            keys = keys[~_member(stop, keys >> u_shift)]
        solo = np.ones(fp.hash.size, dtype=bool)
        at, starts, sizes = _repeated_groups(keys, shift)
        entry = (keys[at] & np.uint64((1 << shift) - 1)).astype(np.int64)
        doc = fp.doc[entry]
        new_group = np.zeros(at.size, dtype=bool)
        new_group[starts] = True
        new_doc = new_group.copy()
        new_doc[1:] |= doc[1:] != doc[:-1]
        df = np.add.reduceat(new_doc.astype(np.int64), starts) if starts.size else np.zeros(0, np.int64)
        # an entry is solo when its document appears once in its group
        next_same = np.zeros(at.size, dtype=bool)
        next_same[:-1] = ~new_doc[1:]
        solo[entry] = new_doc & ~next_same
        too_common = df > df_limit
        if too_common.any():
            dropped = at[np.repeat(too_common, sizes)]
            stop = np.union1d(stop, keys[at[starts[too_common]]] >> u_shift)
            keep = np.ones(keys.size, dtype=bool)
            keep[dropped] = False
            keys = keys[keep]
        return cls(fp, keys, shift, solo, stop)

    def cohort_instances(self, max_group: int) -> Instances:
        """All pairs of solo entries of different documents sharing a
        fingerprint (entry a < entry b, so document a <= document b)."""
        at, starts, sizes = _repeated_groups(self.keys, self.shift)
        entry = (self.keys[at] & np.uint64((1 << self.shift) - 1)).astype(np.int64)
        usable = self.solo[entry]
        entry = entry[usable]
        group = np.repeat(np.arange(starts.size), sizes)[usable]
        starts = _group_starts(group)
        sizes = np.diff(np.append(starts, entry.size))
        out_a, out_b = [], []
        for size in np.unique(sizes[(sizes >= 2) & (sizes <= max_group)]):
            groups = starts[sizes == size][:, None] + np.arange(size)
            i, j = np.triu_indices(size, 1)
            out_a.append(entry[groups[:, i].ravel()])
            out_b.append(entry[groups[:, j].ravel()])
        if not out_a:
            return Instances(np.zeros(0, np.int64), np.zeros(0, np.int64))
        a, b = np.concatenate(out_a), np.concatenate(out_b)
        a, b = np.minimum(a, b), np.maximum(a, b)
        same = self.entries.hash[a] == self.entries.hash[b]
        return Instances(a[same], b[same])

    def lookup(self, hashes: np.ndarray) -> Instances:
        """Postings of query fingerprints: (query index, entry) pairs."""
        u_shift = np.uint64(self.shift)
        prefix = hashes >> u_shift
        ok = ~_member(self.stop, prefix)
        q = np.flatnonzero(ok)
        q = q[np.argsort(prefix[q], kind="stable")]  # sorted needles: numpy narrows each search
        bounds = np.empty(2 * q.size, dtype=np.uint64)
        bounds[0::2] = prefix[q] << u_shift
        bounds[1::2] = (prefix[q] + np.uint64(1)) << u_shift
        found = np.searchsorted(self.keys, bounds)
        lo, hi = found[0::2], found[1::2]
        counts = hi - lo
        qi = np.repeat(q, counts)
        offsets = np.arange(qi.size) - np.repeat(np.cumsum(counts) - counts, counts)
        pos = np.repeat(lo, counts) + offsets
        entry = (self.keys[pos] & np.uint64((1 << self.shift) - 1)).astype(np.int64)
        keep = self.solo[entry] & (self.entries.hash[entry] == hashes[qi])
        return Instances(qi[keep], entry[keep])
