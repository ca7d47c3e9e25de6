"""Fingerprinting many documents in worker processes."""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator

import numpy as np
import scipy.sparse as sp

from lms_plugin.core.text import hash_syllables

from . import paraphrase
from .fingerprints import Fingerprints, fingerprint

# k, window, n_features, n_terms, search_terms, idf
ChunkArgs = tuple[int, int, int, int, int, np.ndarray]
# fingerprints, text starts, text ends, paraphrase rows, search rows
Chunk = tuple[Fingerprints, np.ndarray, np.ndarray, sp.csr_matrix, sp.csr_matrix]

_WORKER_ARGS: ChunkArgs | None = None
_WORKER_TEXTS: list[str] | None = None  # set in the parent just before forking


def map_chunks(texts: list[str], args: ChunkArgs, chunk_size: int, n_jobs: int | None,
               on_progress: Callable[[int], object] | None = None) -> Iterator[Chunk]:
    """Yield ``process_chunk`` results for consecutive chunks of ``texts``, in order."""
    bounds = [(lo, min(lo + chunk_size, len(texts))) for lo in range(0, len(texts), chunk_size)]
    jobs = min(n_jobs or os.cpu_count() or 1, len(bounds))
    if jobs <= 1:
        for lo, hi in bounds:
            yield process_chunk(args, texts[lo:hi])
            if on_progress:
                on_progress(hi - lo)
        return
    # forked workers read the texts they inherit: pickling them would also
    # make every str cache a UTF-8 copy of itself in the parent
    global _WORKER_TEXTS
    forking = "fork" in multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if forking else "spawn")
    tasks: list[tuple[int, int] | list[str]] = [(lo, hi) if forking else texts[lo:hi] for lo, hi in bounds]
    _WORKER_TEXTS = texts if forking else None
    try:
        with ctx.Pool(jobs, initializer=_init_worker, initargs=(args,)) as pool:
            for (lo, hi), result in zip(bounds, pool.imap(_process_in_worker, tasks)):
                yield result
                if on_progress:
                    on_progress(hi - lo)
    finally:
        _WORKER_TEXTS = None


def _init_worker(args: ChunkArgs) -> None:
    global _WORKER_ARGS
    _WORKER_ARGS = args


def _process_in_worker(task: tuple[int, int] | list[str]) -> Chunk:
    if isinstance(task, tuple):
        assert _WORKER_TEXTS is not None  # inherited from the parent by fork
        texts = _WORKER_TEXTS[task[0]:task[1]]
    else:
        texts = task
    assert _WORKER_ARGS is not None  # set by _init_worker
    return process_chunk(_WORKER_ARGS, texts)


def process_chunk(args: ChunkArgs, texts: list[str]) -> Chunk:
    """Fingerprints, text extents (first/last syllable) and paraphrase rows
    (full and search-pruned) of one batch, worked through in slices small
    enough to stay in the CPU cache."""
    k, window, n_features, n_terms, search_terms, idf = args
    fps, starts, ends, rows, search = [], [], [], [], []
    for lo, hi in _slices(texts):
        syllables = hash_syllables(texts[lo:hi])
        fp = fingerprint(syllables, k, window)
        fps.append(Fingerprints(fp.hash, fp.doc + np.int32(lo), fp.pos, fp.start, fp.end))
        b = syllables.bounds
        has = b[1:] > b[:-1]
        if b[-1]:
            starts.append(np.where(has, syllables.starts[np.minimum(b[:-1], b[-1] - 1)], 0))
            ends.append(np.where(has, syllables.ends[np.maximum(b[1:] - 1, 0)], 0))
        else:
            starts.append(np.zeros(hi - lo, np.int32))
            ends.append(np.zeros(hi - lo, np.int32))
        rows.append(paraphrase.tfidf_rows(paraphrase.term_counts(syllables, n_features), idf, n_terms))
        search.append(paraphrase.top_terms(rows[-1], search_terms))
    if not texts:
        empty = sp.csr_matrix((0, n_features), dtype=np.float32)
        return Fingerprints.concat([]), np.zeros(0, np.int32), np.zeros(0, np.int32), empty, empty
    return (Fingerprints.concat(fps), np.concatenate(starts).astype(np.int32),
            np.concatenate(ends).astype(np.int32), sp.vstack(rows).tocsr(), sp.vstack(search).tocsr())


def _slices(texts: list[str], max_chars: int = 1 << 18) -> Iterator[tuple[int, int]]:
    lo, size = 0, 0
    for i, t in enumerate(texts):
        size += len(t) + 1
        if size >= max_chars:
            yield lo, i + 1
            lo, size = i + 1, 0
    if lo < len(texts):
        yield lo, len(texts)
