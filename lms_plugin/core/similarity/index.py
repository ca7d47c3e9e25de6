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
    """Shared fingerprints: entry ``a`` of one document matches entry ``b``.

    ``rank_a`` / ``rank_b``: which occurrence (0 = first) of the fingerprint
    in its own document the entry is; a fingerprint repeated inside a
    document gives one instance per pair of occurrences.
    """

    a: np.ndarray  # int64 entry numbers (or query positions)
    b: np.ndarray
    rank_a: np.ndarray | None = None  # int64
    rank_b: np.ndarray | None = None
    repeated: np.ndarray | None = None  # bool: the fingerprint occurs more than once in a document


def occurrences(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per fingerprint of ONE document (in position order): its rank among
    the occurrences of the same hash (0 = first) and how many there are."""
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    new_run = np.ones(ordered.size, dtype=bool)
    new_run[1:] = ordered[1:] != ordered[:-1]
    run, rank = _runs(new_run)
    out_rank = np.empty(hashes.size, np.int64)
    out_mult = np.empty(hashes.size, np.int64)
    out_rank[order] = rank
    out_mult[order] = run
    return out_rank, out_mult


def _runs(new_run: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For runs starting where ``new_run`` is True (the first element always
    starts one): each element's run length and its rank inside the run."""
    n = new_run.size
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    new_run = new_run.copy()
    new_run[0] = True
    starts = np.flatnonzero(new_run)
    run_id = np.cumsum(new_run) - 1
    return np.diff(np.append(starts, n))[run_id], np.arange(n) - starts[run_id]


def _member(sorted_set: np.ndarray, values: np.ndarray) -> np.ndarray:
    if sorted_set.size == 0:
        return np.zeros(values.size, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
    found: np.ndarray = sorted_set[at] == values
    return found


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
    stop: np.ndarray  # uint64 sorted prefixes that never count

    @classmethod
    def build(cls, fp: Fingerprints, stop_hashes: np.ndarray, df_limit: int,
              shift: int | None = None) -> FingerprintIndex:
        """Index ``fp`` minus ``stop_hashes`` and fingerprints found in more
        than ``df_limit`` documents (boilerplate).  ``shift`` (low bits kept
        for entry numbers) leaves room to ``append`` when given.

        Most fingerprints occur once; only the groups of repeated ones are
        looked at closely, which keeps random memory access low.
        """
        shift = max(1, int(fp.hash.size).bit_length(), shift or 0)
        u_shift = np.uint64(shift)
        stop = np.unique(stop_hashes >> u_shift)
        keys = fp.hash >> u_shift
        keys <<= u_shift
        keys |= np.arange(fp.hash.size, dtype=np.uint64)
        keys.sort()
        if stop.size:
            keys = keys[~_member(stop, keys >> u_shift)]
        at, starts, sizes = _repeated_groups(keys, shift)
        entry = (keys[at] & np.uint64((1 << shift) - 1)).astype(np.int64)
        doc = fp.doc[entry]
        new_group = np.zeros(at.size, dtype=bool)
        new_group[starts] = True
        new_doc = new_group.copy()
        new_doc[1:] |= doc[1:] != doc[:-1]
        df = np.add.reduceat(new_doc.astype(np.int64), starts) if starts.size else np.zeros(0, np.int64)
        too_common = df > df_limit
        if too_common.any():
            dropped = at[np.repeat(too_common, sizes)]
            stop = np.union1d(stop, keys[at[starts[too_common]]] >> u_shift)
            keep = np.ones(keys.size, dtype=bool)
            keep[dropped] = False
            keys = keys[keep]
        return cls(fp, keys, shift, stop)

    def append(self, fp: Fingerprints, stop_hashes: np.ndarray, all_stop_hashes: np.ndarray,
               df_limit: int) -> FingerprintIndex:
        """A new index holding these entries and ``fp`` (documents numbered after them), nothing changed in
        place.  ``stop_hashes`` never count from now on (``all_stop_hashes``: every one so far).

        The new keys are merged into the sorted ones (a stable sort of two sorted runs is a linear
        merge), and only the fingerprints the new entries touch are counted again for boilerplate;
        when entry numbers outgrow the key's low bits, the index is built again with room to spare."""
        n_old = self.entries.hash.size
        entries = Fingerprints.concat([self.entries, fp])
        if entries.hash.size >= 1 << self.shift:
            return FingerprintIndex.build(entries, all_stop_hashes, df_limit,
                                          shift=int(2 * entries.hash.size).bit_length())
        u_shift = np.uint64(self.shift)
        stop, keys = self.stop, self.keys
        if stop_hashes.size:
            new_stop = np.unique(stop_hashes >> u_shift)
            stop = np.union1d(stop, new_stop)
            keys = keys[~_member(new_stop, keys >> u_shift)]
        added = fp.hash >> u_shift
        added <<= u_shift
        added |= np.arange(n_old, entries.hash.size, dtype=np.uint64)
        added.sort()
        if stop.size:
            added = added[~_member(stop, added >> u_shift)]
        keys = np.concatenate([keys, added])
        keys.sort(kind="stable")
        # boilerplate: a group can only exceed the limit in documents if it has more entries than that
        prefixes = np.unique(added >> u_shift)
        lo = np.searchsorted(keys, prefixes << u_shift)
        hi = np.searchsorted(keys, (prefixes + np.uint64(1)) << u_shift)
        drop = []
        mask = np.uint64((1 << self.shift) - 1)
        for at in np.flatnonzero(hi - lo > df_limit).tolist():
            docs = entries.doc[(keys[lo[at]:hi[at]] & mask).astype(np.int64)]
            if np.unique(docs).size > df_limit:
                drop.append(at)
        if drop:
            gone = np.zeros(keys.size, dtype=bool)
            for at in drop:
                gone[lo[at]:hi[at]] = True
            keys = keys[~gone]
            stop = np.union1d(stop, prefixes[drop])
        return FingerprintIndex(entries, keys, self.shift, stop)

    def cohort_instances(self, max_docs: int, max_repeats: int) -> Instances:
        """All pairs of entries of different documents sharing a fingerprint
        (entry a < entry b, so document a <= document b), with the rank of
        each entry among its document's occurrences of the fingerprint.

        Fingerprints occurring more than ``max_repeats`` times in a document
        are left out for that document (in-document repetition).  A
        fingerprint held by more than ``max_docs`` documents links each
        holder only to its first and last holder (``_hub_pairs``), which
        bounds the work while a text copied into many essays still shows.
        """
        at, starts, sizes = _repeated_groups(self.keys, self.shift)
        entry = (self.keys[at] & np.uint64((1 << self.shift) - 1)).astype(np.int64)
        group = np.repeat(np.arange(starts.size), sizes)
        h = self.entries.hash[entry]
        same_group = group[1:] == group[:-1]
        if np.any(same_group & (h[1:] != h[:-1])):
            # prefix collisions: split groups by the full hash (stable, so
            # entries stay in entry order inside each)
            order = np.lexsort((h, group))
            entry, group, h = entry[order], group[order], h[order]
            same_group = group[1:] == group[:-1]
        new_group = np.ones(entry.size, dtype=bool)
        new_group[1:] = ~same_group | (h[1:] != h[:-1])
        del h, group, same_group
        doc = self.entries.doc[entry]
        new_doc = new_group.copy()
        new_doc[1:] |= doc[1:] != doc[:-1]
        mult, rank = _runs(new_doc)
        usable = mult <= max_repeats
        # ranks fit int8 (max_repeats <= 64); "repeated" is all that counts of mult
        entry, doc, rank, several = entry[usable], doc[usable], rank[usable].astype(np.int8), mult[usable] > 1
        del mult
        first_of_doc = new_doc[usable]
        group = np.cumsum(new_group)[usable]
        del new_group, new_doc, usable
        starts = _group_starts(group)
        sizes = np.diff(np.append(starts, entry.size))
        n_docs = np.add.reduceat(first_of_doc.astype(np.int64), starts) if starts.size else starts
        many = n_docs > max_docs
        out_a, out_b = [], []
        small_starts, small_sizes = starts[~many], sizes[~many]
        for size in np.unique(small_sizes[small_sizes >= 2]):
            groups = small_starts[small_sizes == size][:, None] + np.arange(size)
            i, j = np.triu_indices(size, 1)
            gi, gj = groups[:, i].ravel(), groups[:, j].ravel()
            other = doc[gi] != doc[gj]
            out_a.append(gi[other])
            out_b.append(gj[other])
        if many.any():
            gi, gj = _hub_pairs(starts[many], sizes[many])
            other = doc[gi] != doc[gj]
            out_a.append(gi[other])
            out_b.append(gj[other])
        if not out_a:
            z = np.zeros(0, np.int64)
            return Instances(z, z, z.astype(np.int8), z.astype(np.int8), np.zeros(0, dtype=bool))
        gi, gj = np.concatenate(out_a), np.concatenate(out_b)
        return Instances(entry[gi], entry[gj], rank[gi], rank[gj], several[gi] | several[gj])

    def postings(self, hashes: np.ndarray) -> Postings:
        """Every posting of the query fingerprints ``hashes`` (full 64-bit hashes agree), grouped by query
        fingerprint, each group in document order."""
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
        keep = self.entries.hash[entry] == hashes[qi]
        qi, entry = qi[keep], entry[keep]
        # postings of one query fingerprint are in entry (= document) order
        doc = self.entries.doc[entry].astype(np.int64)
        new_run = np.ones(qi.size, dtype=bool)
        new_run[1:] = (qi[1:] != qi[:-1]) | (doc[1:] != doc[:-1])
        mult, rank = _runs(new_run)
        return Postings(qi, entry, doc, rank, mult)


@dataclass(frozen=True)
class Postings:
    """Postings of query fingerprints: query position, entry, its document, the entry's rank among its
    document's occurrences of the fingerprint and how many there are."""

    qi: np.ndarray  # int64
    entry: np.ndarray
    doc: np.ndarray
    rank: np.ndarray
    mult: np.ndarray

    def take(self, mask: np.ndarray) -> Postings:
        return Postings(self.qi[mask], self.entry[mask], self.doc[mask], self.rank[mask], self.mult[mask])


def member(sorted_set: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which ``values`` are in ``sorted_set`` (sorted, unique)."""
    return _member(sorted_set, values)


def _hub_pairs(starts: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i, j), i < j, pairing every member of each group (given by
    start and size, members in entry order) with the group's first and last
    member: O(size) pairs instead of O(size^2).  The first holder is the
    earliest document; references are fitted after the essays, so the last
    is a reference text whenever one holds the fingerprint."""
    member = np.repeat(starts, sizes) + (np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes))
    first = np.repeat(starts, sizes)
    last = np.repeat(starts + sizes - 1, sizes)
    to_first = member > first
    to_last = (member > first) & (member < last)
    return (np.concatenate([first[to_first], member[to_last]]),
            np.concatenate([member[to_first], last[to_last]]))
