"""Paraphrase-level signal: TF-IDF cosine over hashed syllable 1- and 2-grams.

This is scikit-learn's hashing trick (as in ``HashingVectorizer``) applied to
the syllable hashes the engine already has, followed by ``TfidfTransformer``:
re-tokenising with ``HashingVectorizer`` would cost more than all the rest of
the engine at 100,000 essays.  Each document keeps only its ``n_terms``
heaviest terms (then L2-normalised) so the matrix stays small; neighbours
are searched by a sparse product over the ``search_terms`` heaviest.
"""
from __future__ import annotations

import threading

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from lms_plugin.core.text import SyllableHashes

_BIGRAM_MULT = np.uint64(0x9E3779B97F4A7C15)


def term_counts(syllables: SyllableHashes, n_features: int) -> sp.csr_matrix:
    """Documents x hashed terms count matrix (syllable unigrams and bigrams)."""
    h = syllables.hashes
    counts = np.diff(syllables.bounds)
    n_docs = counts.size
    bits = int(n_features).bit_length() - 1
    if n_docs >= 2 ** (32 - bits) - 1:  # (document, term) keys are packed in 32 bits
        half = n_docs // 2
        return sp.vstack([term_counts(_docs(syllables, 0, half), n_features),
                          term_counts(_docs(syllables, half, n_docs), n_features)]).tocsr()
    if h.size == 0:
        return sp.csr_matrix((n_docs, n_features), dtype=np.float32)
    doc = np.repeat(np.arange(n_docs, dtype=np.uint32) << np.uint32(bits), counts)
    shift = np.uint64(64 - bits)
    keys = np.empty(2 * h.size, dtype=np.uint32)
    keys[: h.size] = (h >> shift).astype(np.uint32)
    keys[: h.size] |= doc
    if h.size > 1:
        big = h[:-1] * _BIGRAM_MULT
        big += h[1:]
        big >>= shift
        keys[h.size:-1] = big.astype(np.uint32)
        keys[h.size:-1] |= doc[:-1]
        # a bigram across two documents is dropped by marking it empty
        keys[h.size:-1][doc[:-1] != doc[1:]] = np.uint32(0xFFFFFFFF)
    keys[-1] = np.uint32(0xFFFFFFFF)  # the slot left over by the bigrams
    keys.sort()
    # real keys stay below the marker: document numbers < 2**(32 - bits) - 1
    keys = keys[: np.searchsorted(keys, np.uint32(0xFFFFFFFF))]
    if keys.size == 0:
        return sp.csr_matrix((n_docs, n_features), dtype=np.float32)
    first = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    tf = np.diff(np.append(first, keys.size)).astype(np.float32)
    uniq = keys[first]
    rows = uniq >> np.uint32(bits)
    cols = (uniq & np.uint32(n_features - 1)).astype(np.int32)
    indptr = np.searchsorted(rows, np.arange(n_docs + 1, dtype=np.uint32))
    return sp.csr_matrix((tf, cols, indptr), shape=(n_docs, n_features))


def _docs(s: SyllableHashes, lo: int, hi: int) -> SyllableHashes:
    a, b = s.bounds[lo], s.bounds[hi]
    return SyllableHashes(s.hashes[a:b], s.starts[a:b], s.ends[a:b], s.bounds[lo:hi + 1] - a)


def fit_idf(counts: sp.csr_matrix) -> np.ndarray:
    if counts.shape[0] == 0:
        return np.ones(counts.shape[1], dtype=np.float32)
    tfidf = TfidfTransformer(sublinear_tf=True, smooth_idf=True).fit(counts)
    idf: np.ndarray = tfidf.idf_.astype(np.float32)
    return idf


def tfidf_rows(counts: sp.csr_matrix, idf: np.ndarray, n_terms: int) -> sp.csr_matrix:
    """Sublinear TF-IDF rows pruned to their ``n_terms`` heaviest terms, L2-normalised.

    The same weighting as ``TfidfTransformer(sublinear_tf=True).transform``,
    written out because its diagonal-matrix product costs O(n_features) per
    call, which dominates when checking a single essay.
    """
    weighted = sp.csr_matrix(((1 + np.log(counts.data)) * idf[counts.indices], counts.indices, counts.indptr),
                             shape=counts.shape, dtype=np.float32)
    return _l2(top_terms(weighted, n_terms))


def top_terms(x: sp.csr_matrix, n_terms: int) -> sp.csr_matrix:
    """Keep each row's ``n_terms`` largest entries.

    One ``np.sort`` of packed keys (row | quantised weight, descending |
    column) instead of an argsort: weights keep 20 bits of precision.
    """
    lengths = np.diff(x.indptr)
    if lengths.size == 0 or lengths.max(initial=0) <= n_terms:
        return x.copy()
    if x.shape[1] > 2**20 or x.shape[0] >= 2**24:
        raise ValueError("top_terms packs columns in 20 bits and rows in 24")
    top = 2**20 - 1
    scale = np.float32(top / max(float(x.data.max()), 1e-12))
    keys = np.repeat(np.arange(x.shape[0], dtype=np.uint64) << np.uint64(40), lengths)
    keys |= (top - (x.data * scale).astype(np.uint64)) << np.uint64(20)
    keys |= x.indices.astype(np.uint64)
    keys.sort()
    rows = (keys >> np.uint64(40)).astype(np.int64)
    first = np.searchsorted(rows, np.arange(x.shape[0]))
    keep = np.arange(keys.size) - first[rows] < n_terms
    keys, rows = keys[keep], rows[keep]
    data = (top - ((keys >> np.uint64(20)) & np.uint64(top)).astype(np.float32)) / scale
    indptr = np.searchsorted(rows, np.arange(x.shape[0] + 1))
    out = sp.csr_matrix((data, (keys & np.uint64(top)).astype(np.int32), indptr), shape=x.shape)
    out.sort_indices()
    return out


def _l2(x: sp.csr_matrix) -> sp.csr_matrix:
    lengths = np.diff(x.indptr)
    rows = np.repeat(np.arange(x.shape[0]), lengths)
    norms = np.sqrt(np.bincount(rows, weights=np.square(x.data, dtype=np.float64), minlength=x.shape[0]))
    norms[norms == 0] = 1
    return sp.csr_matrix(((x.data / norms[rows]).astype(np.float32), x.indices, x.indptr), shape=x.shape)


def pair_cosines(x: sp.csr_matrix, a: np.ndarray, b: np.ndarray, batch: int = 20_000) -> np.ndarray:
    """Cosine of rows a[i] and b[i] of the L2-normalised matrix ``x``."""
    out = np.zeros(a.size, dtype=np.float32)
    for lo in range(0, a.size, batch):
        hi = min(lo + batch, a.size)
        out[lo:hi] = np.asarray(x[a[lo:hi]].multiply(x[b[lo:hi]]).sum(axis=1)).ravel()
    return out


def cosines_to_all(row: sp.csr_matrix, transposed: sp.csr_matrix) -> np.ndarray:
    """Cosine of one L2-normalised row with every document, from the
    transposed matrix's postings of the row's terms: scipy slices them and
    sums them in C (a copy of the postings, not of the matrix). The products
    are float32, summed in float64 term by term, as ``cosines_by_rows`` sums."""
    postings = transposed[row.indices]
    postings.data *= np.repeat(row.data, np.diff(postings.indptr))
    return np.asarray(postings.T @ np.ones(row.indices.size, dtype=np.float64))


_scratch = threading.local()      # per thread: one dense query row, zero but for the terms of the query


def cosines_by_rows(row: sp.csr_matrix, x: sp.csr_matrix) -> np.ndarray:
    """Cosine of one L2-normalised row with every row of ``x``, read row by row: for a small matrix that
    keeps growing (a fresh tail of essays), where transposing it again for every query would cost more.
    The products are summed in the same order as ``cosines_to_all`` (by term), so the two agree."""
    dense = getattr(_scratch, "row", None)
    if dense is None or dense.size != x.shape[1]:
        dense = _scratch.row = np.zeros(x.shape[1], dtype=np.float32)
    dense[row.indices] = row.data
    try:
        at = np.flatnonzero(dense[x.indices] != 0)
        doc = np.searchsorted(x.indptr, at, side="right") - 1
        return np.bincount(doc, weights=x.data[at] * dense[x.indices[at]], minlength=x.shape[0])
    finally:
        dense[row.indices] = 0


def neighbours(search: sp.csr_matrix, k: int, min_overlap: float, rows: np.ndarray | None = None,
               max_df: int | None = None, batch: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` neighbours (i, j), i != j, of each row by sparse product.

    ``search`` holds the pruned rows; terms found in more than ``max_df``
    rows are left out (they are no cue and make the product quadratic), and
    only products above ``min_overlap`` are kept.  Restrict the rows
    searched from to ``rows`` when given.
    """
    target_ids = np.arange(search.shape[0]) if rows is None else rows
    if max_df is not None:
        df = np.bincount(search.indices, minlength=search.shape[1])
        search = search.copy()
        search.data[df[search.indices] > max_df] = 0
        search.eliminate_zeros()
    transposed = search.T.tocsr()
    out_a, out_b = [], []
    for lo in range(0, target_ids.size, batch):
        prod = (search[target_ids[lo:lo + batch]] @ transposed).tocsr()
        prod.data[prod.data < min_overlap] = 0
        prod.eliminate_zeros()
        a_local, b = _top_k_per_row(prod, k + 1)
        a = target_ids[lo + a_local]
        keep = a != b
        out_a.append(a[keep])
        out_b.append(b[keep])
    if not out_a:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_a), np.concatenate(out_b)


def _top_k_per_row(m: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.diff(m.indptr)
    rows = np.repeat(np.arange(m.shape[0]), lengths)
    order = np.lexsort((-m.data, rows))
    first = np.searchsorted(rows[order], np.arange(m.shape[0]))
    rank = np.arange(order.size) - first[rows[order]]
    sel = order[rank < k]
    return rows[sel], m.indices[sel].astype(np.int64)
