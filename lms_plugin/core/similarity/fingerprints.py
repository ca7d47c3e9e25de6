"""Syllable k-gram hashes and winnowing (Schleimer, Wilkerson, Aiken 2003).

All functions work on the syllables of many documents at once (one numpy
array with per-document bounds), never with a Python loop per token.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lms_plugin.core.text import SyllableHashes

_EMPTY = np.iinfo(np.uint64).max  # marks k-grams that cross a document end
_KGRAM_BASE = np.uint64(0x100000001B3)


@dataclass(frozen=True)
class Fingerprints:
    """Winnowed fingerprints of a batch of documents, in document order.

    ``pos`` is the index of the k-gram's first syllable in its document;
    [start, end) the k-gram's span in the original text.
    """

    hash: np.ndarray  # uint64
    doc: np.ndarray  # int32, index in the batch
    pos: np.ndarray  # int32
    start: np.ndarray  # int32
    end: np.ndarray  # int32

    @staticmethod
    def concat(parts: list[Fingerprints]) -> Fingerprints:
        """Concatenate, emptying ``parts`` field by field to bound the peak."""
        fields = {}
        for name in ("hash", "doc", "pos", "start", "end"):
            dtype = np.uint64 if name == "hash" else np.int32
            fields[name] = np.concatenate([getattr(p, name) for p in parts]) if parts else np.zeros(0, dtype)
            for i, p in enumerate(parts):  # drop this field of every part now
                parts[i] = Fingerprints(**{**p.__dict__, name: None})
        parts.clear()
        return Fingerprints(**fields)

    def take(self, mask_or_index: np.ndarray | slice) -> Fingerprints:
        m = mask_or_index
        return Fingerprints(self.hash[m], self.doc[m], self.pos[m], self.start[m], self.end[m])


def kgram_hashes(syllables: SyllableHashes, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hash of the k-gram starting at each syllable, its document, and its
    index among the document's k-grams (k-grams past a document's end get
    ``_EMPTY``)."""
    h = syllables.hashes
    n = h.size
    out = h.copy()
    for t in range(1, k):
        m = max(n - t, 0)  # fewer syllables than k in all: no whole k-gram (and no negative slice)
        out[:m] *= _KGRAM_BASE
        out[:m] += h[t:t + m]
    counts = np.diff(syllables.bounds)
    doc = np.repeat(np.arange(counts.size, dtype=np.int32), counts)
    local = np.arange(n, dtype=np.int64) - np.repeat(syllables.bounds[:-1], counts)
    out[local > np.repeat(counts, counts) - k] = _EMPTY
    return out, doc, local


def _sliding_min(x: np.ndarray, w: int) -> np.ndarray:
    out = x[: x.size - w + 1].copy()
    for t in range(1, w):
        np.minimum(out, x[t : t + out.size], out=out)
    return out


def winnow(hashes: np.ndarray, window_ok: np.ndarray, w: int) -> np.ndarray:
    """Indices selected by winnowing with window ``w``.

    A position is selected when its hash is the minimum of at least one
    window that contains it, i.e. when it equals the largest of those
    windows' minima; every shared run of w + k - 1 syllables thus shares at
    least one fingerprint.  Only windows with ``window_ok`` (inside one
    document) count, so a document gets the same fingerprints alone or in
    a batch.
    """
    n = hashes.size
    if n < w:
        return np.zeros(0, np.int64)
    minima = _sliding_min(hashes, w)
    minima[~window_ok[: minima.size]] = 0
    padded = np.zeros(minima.size + 2 * (w - 1), dtype=np.uint64)
    padded[w - 1 : w - 1 + minima.size] = minima
    best = padded[:n].copy()
    for t in range(1, w):
        np.maximum(best, padded[t : t + n], out=best)
    return np.flatnonzero((hashes == best) & (hashes != _EMPTY))


def fingerprint(syllables: SyllableHashes, k: int, w: int) -> Fingerprints:
    """Winnowed k-gram fingerprints of every document in ``syllables``."""
    kg, doc, local = kgram_hashes(syllables, k)
    n_kgrams = np.diff(syllables.bounds) - k + 1
    window_ok = local <= n_kgrams[doc] - w
    selected = winnow(kg, window_ok, w)
    # a document with fewer than w k-grams has no whole window: keep them all
    short = np.flatnonzero((n_kgrams > 0) & (n_kgrams < w))
    if short.size:
        extra = np.concatenate([np.arange(syllables.bounds[d], syllables.bounds[d] + n_kgrams[d]) for d in short])
        selected = np.union1d(selected, extra)
    first = syllables.bounds[:-1]
    return Fingerprints(
        hash=kg[selected],
        doc=doc[selected],
        pos=(selected - first[doc[selected]]).astype(np.int32),
        start=syllables.starts[selected],
        end=syllables.ends[selected + k - 1],
    )
