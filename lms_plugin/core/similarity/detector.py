"""ReuseDetector: the estimator-style entry point of the similarity engine."""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from lms_plugin.core.text import hash_syllables

from . import paraphrase, storage
from .edges import extend_runs
from .fingerprints import Fingerprints, fingerprint, kgram_hashes
from .index import FingerprintIndex, Instances, Postings, member, occurrences
from .passages import Gathered, SharedRuns, align_layers, covered
from .results import Match, Passage, QueryResult, SourceShare
from .workers import map_chunks

Document = tuple[Hashable, str]
Scored = tuple[np.ndarray, dict[int, tuple[Passage, ...]]]   # per candidate pair: score; passages of some
Found = dict[tuple[int, int], tuple[float, tuple[Passage, ...]]]  # (a, b) document numbers: score, passages
ESSAY, REFERENCE = 0, 1
_KIND_NAMES = ("essay", "reference")


class ReuseDetector:
    """Find text of essays reused from other essays or reference texts.

    Parameters
    ----------
    k : syllables per k-gram.
    window : winnowing window; any shared run of ``k + window - 1``
        syllables is guaranteed to be seen.
    min_shared : fingerprints two documents must share to be compared.
    min_passage : shortest passage reported, in syllables.
    max_gap : largest step (syllables) inside a passage; default
        2 * (k + window), so lightly edited copies stay one passage.
    boilerplate_share, boilerplate_min_docs : a fingerprint found in more
        than max(boilerplate_min_docs, boilerplate_share * essays) documents
        is boilerplate and never counts.
    max_postings : a fingerprint held by more documents than this (but not
        boilerplate) links each holder only to its first and last holder:
        the work per fingerprint stays linear on large cohorts, and a text
        copied into thousands of essays is still found.
    max_repeats : a fingerprint found more than this many times in one
        document is in-document repetition and not used for that document;
        up to this many occurrences are each aligned (a block pasted twice
        counts twice).
    n_features : hashed term space of the paraphrase signal (power of 2).
    n_terms, search_terms : terms kept per essay for the paraphrase
        cosine, and for the neighbour search among the whole cohort.
    reference_terms : terms kept per reference text; references are few and
        long, and an essay may paraphrase any part of one, so they keep more.
    neighbours, min_paraphrase : paraphrase neighbours per essay reported
        when their cosine reaches ``min_paraphrase``.
    idf_sample : documents used to estimate the IDF (all when fewer).
    chunk_size, n_jobs : documents per work unit; processes (None = cores).
    """

    # the fitted state, set by ``fit`` or ``load``
    ids_: list[Hashable]
    texts_: storage.Texts | None  # None: an index saved without texts
    kinds_: np.ndarray
    n_essays_: int
    idf_: np.ndarray
    text_start_: np.ndarray
    text_end_: np.ndarray
    tfidf_: sp.csr_matrix
    search_: sp.csr_matrix
    df_limit_: int
    index_: FingerprintIndex
    excluded_: np.ndarray  # every k-gram hash of the exclude texts, sorted
    cohort_essays_: int  # essays the boilerplate share is taken of
    _tfidf_t: sp.csr_matrix | None
    _numbers: dict[Hashable, int] | None  # id -> document number, built when first needed

    def __init__(self, *, k: int = 5, window: int = 8, min_shared: int = 2, min_passage: int = 8,
                 max_gap: int | None = None, boilerplate_share: float = 0.1, boilerplate_min_docs: int = 5,
                 max_postings: int = 200, max_repeats: int = 4, n_features: int = 2**20, n_terms: int = 256,
                 reference_terms: int = 4096, search_terms: int = 48, neighbours: int = 5, min_paraphrase: float = 0.5,
                 idf_sample: int = 2000,
                 chunk_size: int = 2000, n_jobs: int | None = None):
        self.k = k
        self.window = window
        self.min_shared = min_shared
        self.min_passage = min_passage
        self.max_gap = max_gap
        self.boilerplate_share = boilerplate_share
        self.boilerplate_min_docs = boilerplate_min_docs
        self.max_postings = max_postings
        self.max_repeats = max_repeats
        self.n_features = n_features
        self.n_terms = n_terms
        self.reference_terms = reference_terms
        self.search_terms = search_terms
        self.neighbours = neighbours
        self.min_paraphrase = min_paraphrase
        self.idf_sample = idf_sample
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs

    _PARAMS = ("k", "window", "min_shared", "min_passage", "max_gap", "boilerplate_share",
               "boilerplate_min_docs", "max_postings", "max_repeats", "n_features", "n_terms",
               "reference_terms", "search_terms",
               "neighbours", "min_paraphrase", "idf_sample", "chunk_size", "n_jobs")

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._PARAMS}

    # ------------------------------------------------------------------ fit
    def fit(self, documents: Iterable[Document], exclude: Iterable[Document] = (),
            references: Iterable[Document] = (), *, idf: np.ndarray | None = None,
            cohort_essays: int | None = None,
            on_progress: Callable[[int], object] | None = None) -> ReuseDetector:
        """Index essays ``documents`` and ``references``; fingerprints of the
        ``exclude`` texts (scenario, template, quoted law) never count.

        ``idf``: weigh the paraphrase terms with this IDF instead of fitting one
        (the segments of one index share their first segment's).
        ``cohort_essays``: the essays the boilerplate share is taken of, when
        these documents are a segment of a larger index (default: the essays
        fitted here).
        ``on_progress(n)`` is called as each batch of n documents is done.
        """
        self._check_params()
        essays = list(documents)
        refs = list(references)
        docs = essays + refs
        ids = [d[0] for d in docs]
        _check_ids(ids)
        if len(set(ids)) != len(ids):
            raise ValueError("document ids must be unique across essays and references")
        texts = [d[1] for d in docs]
        self.ids_ = ids
        self._numbers = None
        self.texts_ = texts  # passage ends are read from the texts (see edges.py)
        self.kinds_ = np.array([ESSAY] * len(essays) + [REFERENCE] * len(refs), dtype=np.int8)
        self.n_essays_ = len(essays)
        self.cohort_essays_ = max(self.n_essays_, cohort_essays or 0)
        if idf is None:
            self.idf_ = paraphrase.fit_idf(paraphrase.term_counts(
                hash_syllables(texts[: self.idf_sample]), self.n_features))
        elif np.shape(idf) != (self.n_features,):
            raise ValueError(f"idf must hold n_features={self.n_features} weights")
        else:
            self.idf_ = np.asarray(idf, dtype=np.float32)

        fp, starts, ends, rows, search = self._fitted_chunks(texts[: self.n_essays_], texts[self.n_essays_:],
                                                             on_progress)
        self.text_start_, self.text_end_ = starts, ends
        self.tfidf_, self.search_ = rows, search
        self.excluded_ = self._all_kgram_hashes([d[1] for d in exclude])
        boilerplate = self._boilerplate()
        self.df_limit_ = min(self.max_postings, boilerplate)
        self.index_ = FingerprintIndex.build(fp, self.excluded_, boilerplate)
        self._tfidf_t = None
        return self

    def partial_fit(self, documents: Iterable[Document], exclude: Iterable[Document] = (),
                    references: Iterable[Document] = ()) -> ReuseDetector:
        """Add essays ``documents`` and ``references`` to the fitted index (``fit`` when there is none);
        fingerprints of the ``exclude`` texts never count from now on.

        The IDF stays the one fitted first (a paraphrase signal barely moves with a few more essays);
        boilerplate is judged on every essay so far, and a fingerprint once found to be boilerplate stays
        so.  New documents are numbered after the others.  Nothing fitted is changed in place: a copy
        taken before (``copy.copy``) still answers as it did, so a thread may query it meanwhile."""
        if not hasattr(self, "index_"):
            return self.fit(documents, exclude, references)
        essays, refs = list(documents), list(references)
        ids = [d[0] for d in essays + refs]
        _check_ids(ids)
        numbers = self._doc_numbers_map()
        if len(set(ids)) != len(ids) or any(i in numbers for i in ids):
            raise ValueError("document ids must be unique across essays and references")
        texts = [d[1] for d in essays + refs]
        fp, starts, ends, rows, search = self._fitted_chunks(texts[: len(essays)], texts[len(essays):], None)
        n_old = len(self.ids_)
        fp = Fingerprints(fp.hash, fp.doc + np.int32(n_old), fp.pos, fp.start, fp.end)
        self.ids_ = [*self.ids_, *ids]
        self._numbers = {**numbers, **{doc_id: n_old + i for i, doc_id in enumerate(ids)}}
        self.texts_ = storage.chain_texts(self.texts_, texts)
        self.kinds_ = np.concatenate([self.kinds_, np.array([ESSAY] * len(essays) + [REFERENCE] * len(refs),
                                                            dtype=np.int8)])
        self.n_essays_ += len(essays)
        self.cohort_essays_ = max(self.cohort_essays_ + len(essays), self.n_essays_)
        self.text_start_ = np.concatenate([self.text_start_, starts])
        self.text_end_ = np.concatenate([self.text_end_, ends])
        self.tfidf_ = _stack_rows(self.tfidf_, rows)
        self.search_ = _stack_rows(self.search_, search)
        stop = self._all_kgram_hashes([d[1] for d in exclude])
        self.excluded_ = np.union1d(self.excluded_, stop)
        boilerplate = self._boilerplate()
        self.df_limit_ = min(self.max_postings, boilerplate)
        self.index_ = self.index_.append(fp, stop, self.excluded_, boilerplate)
        self._tfidf_t = None
        return self

    def _boilerplate(self) -> int:
        """Documents above which a fingerprint is boilerplate."""
        return int(max(self.boilerplate_min_docs, self.boilerplate_share * self.cohort_essays_))

    def _fitted_chunks(self, essays: list[str], refs: list[str], on_progress: Callable[[int], object] | None
                       ) -> tuple[Fingerprints, np.ndarray, np.ndarray, sp.csr_matrix, sp.csr_matrix]:
        """Fingerprints (documents numbered from 0), text extents and paraphrase rows of the essays, then
        of the references (which keep ``reference_terms`` paraphrase terms)."""
        parts, starts, ends, rows, search = [], [], [], [], []
        offset = 0
        for group, n_terms in ((essays, self.n_terms), (refs, self.reference_terms)):
            args = (self.k, self.window, self.n_features, n_terms, self.search_terms, self.idf_)
            for part in map_chunks(group, args, self.chunk_size, self.n_jobs, on_progress):
                fp_part = part[0]
                parts.append(Fingerprints(fp_part.hash, fp_part.doc + np.int32(offset), fp_part.pos,
                                          fp_part.start, fp_part.end))
                offset += part[1].size
                starts.append(part[1])
                ends.append(part[2])
                rows.append(part[3])
                search.append(part[4])
        empty = sp.csr_matrix((0, self.n_features), dtype=np.float32)
        return (Fingerprints.concat(parts),
                np.concatenate(starts) if starts else np.zeros(0, np.int32),
                np.concatenate(ends) if ends else np.zeros(0, np.int32),
                (rows[0] if len(rows) == 1 else sp.vstack(rows).tocsr()) if rows else empty,
                (search[0] if len(search) == 1 else sp.vstack(search).tocsr()) if search else empty)

    def _check_params(self) -> None:
        if self.k < 1 or self.window < 1:
            raise ValueError("k and window must be >= 1")
        if self.n_features & (self.n_features - 1) or not 2**10 <= self.n_features <= 2**20:
            raise ValueError("n_features must be a power of 2 between 2**10 and 2**20")
        if not 0 < self.boilerplate_share <= 1:
            raise ValueError("boilerplate_share must be in (0, 1]")
        if not 1 <= self.max_repeats <= 64:
            raise ValueError("max_repeats must be between 1 and 64")

    def _all_kgram_hashes(self, texts: Sequence[str]) -> np.ndarray:
        return kgram_set(texts, self.k)

    # --------------------------------------------------------------- pairs
    def pairs(self, min_score: float = 0.1) -> list[Match]:
        """All directed matches (a essay, b essay or reference) of the fitted
        cohort with ``score >= min_score``, plus paraphrase neighbours whose
        cosine reaches ``min_paraphrase``."""
        n = len(self.ids_)
        inst, pair, cand = self._candidates(n)
        cand_a, cand_b = cand // n, cand % n
        forward, backward = self._aligned(pair, inst, cand_a, cand_b)
        back_ok = self.kinds_[cand_b] == ESSAY

        found: dict[tuple[int, int], tuple[float, tuple[Passage, ...]]] = {}
        for p in np.flatnonzero(forward[0] >= min_score):
            found[(int(cand_a[p]), int(cand_b[p]))] = (float(forward[0][p]), forward[1].get(int(p), ()))
        for p in np.flatnonzero((backward[0] >= min_score) & back_ok):
            found[(int(cand_b[p]), int(cand_a[p]))] = (float(backward[0][p]), backward[1].get(int(p), ()))
        self._add_paraphrase_neighbours(found, forward, backward, cand_a, cand_b, cand)
        return self._matches(found)

    def _candidates(self, n: int) -> tuple[Instances, np.ndarray, np.ndarray]:
        """Shared fingerprints of the document pairs (an essay first) that share at least
        ``min_shared`` distinct ones: the instances, each one's pair number, and the pairs'
        keys ``a * n + b``, sorted.  On 100,000 essays each array holds millions of entries,
        so each is let go as soon as it has served."""
        index = self.index_
        inst = index.cohort_instances(max_docs=self.df_limit_, max_repeats=self.max_repeats)
        doc_a = index.entries.doc[inst.a].astype(np.int64)
        pair_key = doc_a * n
        pair_key += index.entries.doc[inst.b]
        useful = self.kinds_[doc_a] == ESSAY  # a pair of references is no finding
        del doc_a
        if not useful.all():
            inst, pair_key = _take(inst, useful), pair_key[useful]
        del useful
        # min_shared counts distinct fingerprints: their first occurrences
        keys, counts = np.unique(pair_key[(inst.rank_a == 0) & (inst.rank_b == 0)], return_counts=True)
        cand = keys[counts >= self.min_shared]
        del keys, counts
        pair = np.searchsorted(cand, pair_key)
        chosen = cand[np.minimum(pair, max(cand.size - 1, 0))] == pair_key if cand.size else pair_key < 0
        del pair_key
        return _take(inst, chosen), pair[chosen], cand

    _ALIGN_CHUNK = 2_000_000  # shared fingerprints aligned at a time: bounds the memory of pairs()

    def _aligned(self, pair: np.ndarray, inst: Instances, cand_a: np.ndarray,
                 cand_b: np.ndarray) -> tuple[Scored, Scored]:
        """Scores and passages of every candidate pair, (a, b) then (b, a), aligned a slice
        of pairs at a time."""
        n_pairs = cand_a.size
        per_pair = np.cumsum(np.bincount(pair, minlength=n_pairs))
        cuts = np.searchsorted(per_pair, np.arange(self._ALIGN_CHUNK, per_pair[-1] if n_pairs else 0,
                                                   self._ALIGN_CHUNK))
        bounds = np.unique(np.concatenate([[0], cuts, [n_pairs]])).tolist()
        out: list[Scored] = [(np.zeros(n_pairs), {}), (np.zeros(n_pairs), {})]
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            if len(bounds) > 2:
                in_slice = (pair >= lo) & (pair < hi)
                part, p = _take(inst, in_slice), pair[in_slice] - lo
            else:
                part, p = inst, pair
            # cohort instances carry the ranks of both sides
            assert part.rank_a is not None and part.rank_b is not None and part.repeated is not None
            for (scores, passages), forward in zip(out, (True, False)):
                a, b, rank_a, rank_b = ((part.a, part.b, part.rank_a, part.rank_b) if forward
                                        else (part.b, part.a, part.rank_b, part.rank_a))
                doc_a, doc_b = (cand_a, cand_b) if forward else (cand_b, cand_a)
                part_scores, part_passages = self._directed(p, a, b, rank_a, rank_b, part.repeated,
                                                            doc_a[lo:hi], doc_b[lo:hi])
                scores[lo:hi] = part_scores
                passages.update({k + lo: v for k, v in part_passages.items()})
        return out[0], out[1]

    def _directed(self, pair: np.ndarray, entry_a: np.ndarray, entry_b: np.ndarray, rank_a: np.ndarray,
                  rank_b: np.ndarray, repeated: np.ndarray, doc_of_a: np.ndarray, doc_of_b: np.ndarray) -> Scored:
        """Scores and passages (A = the document of ``entry_a``) per pair."""
        n_pairs = doc_of_a.size
        e = self.index_.entries

        def gather(at: np.ndarray) -> Gathered:
            a, b = entry_a[at], entry_b[at]
            return e.pos[a], e.pos[b], e.start[a], e.end[a], e.start[b], e.end[b]

        runs = align_layers(pair, rank_a, rank_b, repeated, self.max_repeats, entry_a, gather,
                            self.k, self._max_gap(), self._dense_gap(), self.min_passage)
        runs = self._extend(runs, lambda: self._texts_of(doc_of_a[runs.pair]),
                            lambda: self._texts_of(doc_of_b[runs.pair]))
        chars = covered(runs.pair, runs.a_start, runs.a_end, n_pairs)
        length = np.maximum(self.text_end_[doc_of_a] - self.text_start_[doc_of_a], 1)
        scores = chars / length
        return scores, _group_passages(runs)

    def _extend(self, runs: SharedRuns, a_texts: Callable[[], Sequence[str]],
                b_texts: Callable[[], Sequence[str]]) -> SharedRuns:
        """Passages moved over the matching syllables next to their ends;
        ``a_texts()``/``b_texts()`` give each run's texts."""
        if getattr(self, "texts_", None) is None:  # an index saved without texts
            return runs
        return extend_runs(runs, a_texts(), b_texts(), self.k + self.window)

    def _texts_of(self, docs: np.ndarray) -> list[str]:
        """The text of each document in ``docs``, each read once (a loaded index decodes them)."""
        unique, where = np.unique(docs, return_inverse=True)
        stored = self.texts_
        assert stored is not None  # _extend reads texts only from an index that has them
        texts = [stored[d] for d in unique.tolist()]
        return [texts[i] for i in where.tolist()]

    def _max_gap(self) -> int:
        return self.max_gap if self.max_gap is not None else self._dense_gap()

    def _dense_gap(self) -> int:
        """Largest step inside a passage of repeated fingerprints (and the
        default ``max_gap``)."""
        return 2 * (self.k + self.window)

    def _add_paraphrase_neighbours(self, found: Found, forward: Scored, backward: Scored,
                                   cand_a: np.ndarray, cand_b: np.ndarray, cand: np.ndarray) -> None:
        essays = np.flatnonzero(self.kinds_ == ESSAY)
        a, b = paraphrase.neighbours(self.search_, self.neighbours, min_overlap=self.min_paraphrase / 4,
                                     rows=essays, max_df=self.df_limit_)
        if a.size == 0:
            return
        cos = paraphrase.pair_cosines(self.tfidf_, a, b)
        n = len(self.ids_)
        for i, j in zip(a[cos >= self.min_paraphrase].tolist(), b[cos >= self.min_paraphrase].tolist()):
            if (i, j) in found:
                continue
            lo, hi = min(i, j), max(i, j)
            p = np.searchsorted(cand, lo * n + hi)
            if p < cand.size and cand[p] == lo * n + hi:
                scores, passages = forward if i == lo else backward
                found[(i, j)] = (float(scores[p]), passages.get(p, ()))
            else:
                found[(i, j)] = (0.0, ())

    def _matches(self, found: Found) -> list[Match]:
        if not found:
            return []
        keys = np.array(list(found.keys()), dtype=np.int64)
        cos = paraphrase.pair_cosines(self.tfidf_, keys[:, 0], keys[:, 1])
        out = []
        for (i, j), c in zip(found, cos.tolist()):
            score, passages = found[(i, j)]
            out.append(Match(self.ids_[i], self.ids_[j], _KIND_NAMES[self.kinds_[j]], score, round(c, 6), passages))
        out.sort(key=lambda m: (-m.score, -m.paraphrase))
        return out

    # --------------------------------------------------------------- query
    def query(self, text: str, *, ignore: Iterable[Hashable] = ()) -> QueryResult:
        """Report for one new essay against the fitted index; documents
        whose id is in ``ignore`` are left out (e.g. the essay itself)."""
        return query_segments([self], text, ignore=ignore)

    def report(self, doc_id: Hashable) -> QueryResult:
        """Report for a fitted essay against all other fitted documents."""
        found = self._doc_numbers([doc_id])
        if found.size == 0:
            raise KeyError(f"{doc_id!r} is not in the fitted index")
        d = int(found[0])
        e = self.index_.entries
        lo, hi = np.searchsorted(e.doc, np.array([d, d + 1], dtype=e.doc.dtype))    # its dtype: never a copy
        own = e.take(slice(lo, hi))
        length = int(self.text_end_[d] - self.text_start_[d])
        stored = getattr(self, "texts_", None)
        text = stored[d] if stored is not None else ""
        return _report([self], doc_id, text, own, length, [self.tfidf_[d]], [np.array([d])])

    def _doc_numbers_map(self) -> dict[Hashable, int]:
        numbers = getattr(self, "_numbers", None)
        if numbers is None:      # built once per fitted (or loaded) index: a check must not pay for it
            numbers = self._numbers = {doc_id: i for i, doc_id in enumerate(self.ids_)}
        return numbers

    def _doc_numbers(self, ids: Iterable[Hashable]) -> np.ndarray:
        ids = list(ids)
        if not ids:
            return np.zeros(0, np.int64)
        where = self._doc_numbers_map()
        return np.array([where[i] for i in ids if i in where], dtype=np.int64)

    def _transposed_tfidf(self) -> sp.csr_matrix:
        if getattr(self, "_tfidf_t", None) is None:
            self._tfidf_t = self.tfidf_.T.tocsr()
        return self._tfidf_t

    _DIRECT_COSINES = 400_000   # paraphrase terms below which cosines are read row by row (a growing tail)

    def _cosines(self, vector: sp.csr_matrix) -> np.ndarray:
        """Cosine of the L2-normalised ``vector`` with every fitted document."""
        if getattr(self, "_tfidf_t", None) is None and self.tfidf_.nnz <= self._DIRECT_COSINES:
            return paraphrase.cosines_by_rows(vector, self.tfidf_)
        return paraphrase.cosines_to_all(vector, self._transposed_tfidf())

    # ----------------------------------------------------------- save/load
    def save(self, path: storage.StrPath) -> None:
        """Write the fitted index to ``path`` (numpy .npz, no pickle)."""
        storage.save(self, path)

    @classmethod
    def load(cls, path: storage.StrPath) -> ReuseDetector:
        """A fitted detector read back from ``save``; any worker can query it."""
        return storage.load(cls, path)


def query_segments(segments: Sequence[ReuseDetector], text: str, *, ignore: Iterable[Hashable] = (),
                   stop: np.ndarray | None = None) -> QueryResult:
    """Report for one new essay against several fitted detectors taken as one index: the segments of an index
    kept in parts (same parameters; the IDF of one fit, given to the others by ``fit(idf=...)``), in the order
    their documents came (references last, as in ``fit``).

    Documents whose id is in ``ignore`` are left out; query fingerprints whose hash is in ``stop`` (sorted,
    all k-grams of texts that never count, see ``kgram_set``) are not looked up. As in one index, a
    fingerprint held by more documents than the boilerplate share of all the segments' essays never counts,
    and one held by more than ``max_postings`` links the essay only to its first and last holder over all."""
    first = segments[0]
    syllables = hash_syllables([text])
    fp = fingerprint(syllables, first.k, first.window)
    if stop is not None and stop.size:
        fp = fp.take(~member(stop, fp.hash))
    length = int(syllables.ends[-1] - syllables.starts[0]) if syllables.hashes.size else 0
    counts = paraphrase.term_counts(syllables, first.n_features)
    vectors: dict[int, sp.csr_matrix] = {}      # segments of one index share their IDF: weigh once
    for seg in segments:
        if id(seg.idf_) not in vectors:
            vectors[id(seg.idf_)] = paraphrase.tfidf_rows(counts, seg.idf_, seg.n_terms)
    ignore = list(ignore)
    return _report(segments, None, text, fp, length, [vectors[id(seg.idf_)] for seg in segments],
                   [seg._doc_numbers(ignore) for seg in segments])


def report_segments(segments: Sequence[ReuseDetector], doc_id: Hashable, *, ignore: Iterable[Hashable] = (),
                    stop: np.ndarray | None = None) -> QueryResult:
    """``query_segments`` for a document fitted in one of the segments (itself left out), from what was fitted
    of it: its text is not hashed again. The segments must share their IDF."""
    for holder in segments:
        found = holder._doc_numbers([doc_id])
        if found.size:
            break
    else:
        raise KeyError(f"{doc_id!r} is not in the segments")
    d = int(found[0])
    e = holder.index_.entries
    # needles of the array's own dtype: a Python int would make numpy convert the whole (mapped) array first
    lo, hi = np.searchsorted(e.doc, np.array([d, d + 1], dtype=e.doc.dtype))
    own = e.take(slice(lo, hi))
    if stop is not None and stop.size:
        own = own.take(~member(stop, own.hash))
    length = int(holder.text_end_[d] - holder.text_start_[d])
    text = holder.texts_[d] if holder.texts_ is not None else ""
    ignore = [*ignore, doc_id]
    return _report(segments, doc_id, text, own, length, [holder.tfidf_[d]] * len(segments),
                   [seg._doc_numbers(ignore) for seg in segments])


def merge_segments(segments: Sequence[ReuseDetector], *, drop: Iterable[Hashable] = (),
                   cohort_essays: int | None = None) -> ReuseDetector:
    """One fitted detector holding the documents of ``segments`` (same parameters, one IDF) in their order,
    less those whose id is in ``drop`` (a newer version replaced them). Fingerprints, paraphrase rows and
    texts are taken as they were fitted, never computed again; only the index is sorted anew, so
    boilerplate is judged again over all the documents (``cohort_essays``: as in ``fit``)."""
    first = segments[0]
    for seg in segments[1:]:
        if seg.get_params() != first.get_params() or not np.array_equal(seg.idf_, first.idf_):
            raise ValueError("segments to merge must share their parameters and IDF")
    gone = set(drop)
    out = ReuseDetector(**first.get_params())
    ids: list[Hashable] = []
    kinds, starts, ends, rows, search, fps, texts = [], [], [], [], [], [], []
    for seg in segments:
        keep = np.array([doc_id not in gone for doc_id in seg.ids_], dtype=bool)
        kept = np.flatnonzero(keep)
        e = seg.index_.entries
        if keep.all():         # most merges drop nothing: the arrays are taken whole
            fps.append(Fingerprints(e.hash, e.doc + np.int32(len(ids)), e.pos, e.start, e.end))
            ids.extend(seg.ids_)
            kinds.append(seg.kinds_)
            starts.append(seg.text_start_)
            ends.append(seg.text_end_)
            rows.append(seg.tfidf_)
            search.append(seg.search_)
        else:
            number = np.cumsum(keep) - 1 + len(ids)        # new document numbers
            take = keep[e.doc]
            fps.append(Fingerprints(e.hash[take], number[e.doc[take]].astype(np.int32), e.pos[take],
                                    e.start[take], e.end[take]))
            ids.extend(seg.ids_[i] for i in kept.tolist())
            kinds.append(seg.kinds_[kept])
            starts.append(seg.text_start_[kept])
            ends.append(seg.text_end_[kept])
            rows.append(seg.tfidf_[kept])
            search.append(seg.search_[kept])
        texts.append(None if seg.texts_ is None else storage.SelectedTexts(seg.texts_, kept))
    out.ids_, out._numbers = ids, None
    out.texts_ = None if any(t is None for t in texts) else storage.ChainedTexts([t for t in texts if t is not None])
    out.kinds_ = np.concatenate(kinds)
    out.n_essays_ = int(np.sum(out.kinds_ == ESSAY))
    out.cohort_essays_ = max(out.n_essays_, cohort_essays or 0)
    out.idf_ = np.array(first.idf_)
    out.text_start_, out.text_end_ = np.concatenate(starts), np.concatenate(ends)
    out.tfidf_ = sp.vstack(rows, format="csr")
    out.search_ = sp.vstack(search, format="csr")
    out.excluded_ = np.unique(np.concatenate([seg.excluded_ for seg in segments]))
    boilerplate = out._boilerplate()
    out.df_limit_ = min(out.max_postings, boilerplate)
    out.index_ = FingerprintIndex.build(Fingerprints.concat(fps), out.excluded_, boilerplate)
    out._tfidf_t = None
    return out


def kgram_set(texts: Sequence[str], k: int) -> np.ndarray:
    """Every k-gram hash of ``texts``, sorted and unique: what ``query_segments(stop=...)`` takes."""
    if not texts:
        return np.zeros(0, np.uint64)
    kg, _, _ = kgram_hashes(hash_syllables(texts), k)
    return np.unique(kg[kg != np.iinfo(np.uint64).max])


def _report(segments: Sequence[ReuseDetector], a_id: Hashable, a_text: str, fp: Fingerprints, length: int,
            vectors: Sequence[sp.csr_matrix], ignores: Sequence[np.ndarray]) -> QueryResult:
    """Report for essay A (its fingerprints ``fp``, paraphrase row per segment) against every segment."""
    first = segments[0]
    rank, mult = occurrences(fp.hash)
    found = _holders(segments, fp.hash, ignores)
    parts = [_segment_report(seg, a_text, fp, rank, mult, p, length) for seg, p in zip(segments, found)]
    cosines = []
    for seg, vector, ignore in zip(segments, vectors, ignores):
        cos = seg._cosines(vector)
        cos[ignore] = 0
        cosines.append(cos)
    # paraphrase neighbours: the best ``neighbours`` over all segments
    near_seg, near_doc, near_cos = [], [], []
    for s, cos in enumerate(cosines):
        top = np.flatnonzero(cos >= first.min_paraphrase)
        near_seg.append(np.full(top.size, s))
        near_doc.append(top)
        near_cos.append(cos[top])
    order = np.argsort(-np.concatenate(near_cos), kind="stable")[: first.neighbours]
    top_seg, top_doc = np.concatenate(near_seg)[order], np.concatenate(near_doc)[order]

    matches, a_starts, a_ends = [], [], []
    for s, (seg, (docs, scores, passages, runs), cos) in enumerate(zip(segments, parts, cosines)):
        candidates = sorted(set(docs[np.flatnonzero(scores > 0)].tolist()) | set(top_doc[top_seg == s].tolist()))
        where = {d: i for i, d in enumerate(docs.tolist())}
        for d in candidates:
            at = where.get(d)
            score = float(scores[at]) if at is not None else 0.0
            matches.append(Match(a_id, seg.ids_[d], _KIND_NAMES[seg.kinds_[d]], score,
                                 round(float(cos[d]), 6), passages.get(at, ()) if at is not None else ()))
        a_starts.append(runs.a_start)
        a_ends.append(runs.a_end)
    matches.sort(key=lambda m: (-m.score, -m.paraphrase))
    a_start, a_end = np.concatenate(a_starts), np.concatenate(a_ends)
    order = np.argsort(a_start, kind="stable")
    overall = covered(np.zeros(order.size, np.int64), a_start[order], a_end[order], 1)[0]
    sources = tuple(SourceShare(m.b, m.b_kind, m.score) for m in matches if m.score > 0)
    return QueryResult(float(overall) / max(length, 1), sources, tuple(matches))


def _holders(segments: Sequence[ReuseDetector], hashes: np.ndarray, ignores: Sequence[np.ndarray]) -> list[Postings]:
    """Each segment's postings of the query fingerprints that count: documents holding one more than
    ``max_repeats`` times and the ``ignore``d ones left out; boilerplate (held by more documents than the
    share of all segments' essays) left out; a fingerprint held by more than ``max_postings`` of the others
    kept only for its first and last holder over all segments (in their order)."""
    first = segments[0]
    n_q = hashes.size
    found = [seg.index_.postings(hashes) for seg in segments]
    held = sum((np.bincount(p.qi[p.rank == 0], minlength=n_q) for p in found), np.zeros(n_q, np.int64))
    cohort = max(sum(seg.n_essays_ for seg in segments), max(seg.cohort_essays_ for seg in segments))
    boilerplate = int(max(first.boilerplate_min_docs, first.boilerplate_share * cohort))
    common = held > boilerplate
    kept = []
    for p, ignore in zip(found, ignores):
        keep = (p.mult <= first.max_repeats) & ~common[p.qi]
        if ignore.size:
            keep &= ~np.isin(p.doc, ignore)
        kept.append(p.take(keep))
    hub = min(first.max_postings, boilerplate)
    n_docs = sum((np.bincount(p.qi[p.rank == 0], minlength=n_q) for p in kept), np.zeros(n_q, np.int64))
    many = n_docs > hub
    if not many.any():
        return kept
    # first holder: the earliest document of the first segment holding it; last: the latest of the last
    big = np.iinfo(np.int64).max
    first_seg, first_doc = np.full(n_q, big), np.full(n_q, big)
    last_seg, last_doc = np.full(n_q, -1), np.full(n_q, -1)
    for s, p in enumerate(kept):
        lo, hi = np.full(n_q, big), np.full(n_q, -1)
        np.minimum.at(lo, p.qi, p.doc)
        np.maximum.at(hi, p.qi, p.doc)
        there = hi >= 0
        take_first = there & (first_seg == big)
        first_seg[take_first], first_doc[take_first] = s, lo[take_first]
        last_seg[there], last_doc[there] = s, hi[there]
    out = []
    for s, p in enumerate(kept):
        q = p.qi
        keep = (~many[q] | ((first_seg[q] == s) & (p.doc == first_doc[q]))
                | ((last_seg[q] == s) & (p.doc == last_doc[q])))
        out.append(p.take(keep))
    return out


def _segment_report(seg: ReuseDetector, a_text: str, fp: Fingerprints, rank: np.ndarray, mult: np.ndarray,
                    p: Postings, length: int) -> tuple[np.ndarray, np.ndarray, dict[int, tuple[Passage, ...]],
                                                       SharedRuns]:
    """Documents of one segment sharing passages with A: their numbers, A's share found in each, passages."""
    if p.qi.size == 0:      # most segments of a large index share nothing with a given essay
        z = np.zeros(0, np.int64)
        return z, np.zeros(0), {}, SharedRuns(z, z, z, z, z)
    e = seg.index_.entries
    keep = mult[p.qi] <= seg.max_repeats
    qa, eb, rb = p.qi[keep], p.entry[keep], p.rank[keep]
    ra = rank[qa]
    repeated = (p.mult[keep] > 1) | (mult[qa] > 1)
    doc = p.doc[keep]
    docs, pair = np.unique(doc, return_inverse=True)
    # min_shared counts distinct fingerprints: their first occurrences
    counts = np.bincount(pair[(ra == 0) & (rb == 0)], minlength=docs.size)
    ok = counts[pair] >= seg.min_shared
    qa, eb, ra, rb, repeated, pair = qa[ok], eb[ok], ra[ok], rb[ok], repeated[ok], pair[ok]

    def gather(at: np.ndarray) -> Gathered:
        a, b = qa[at], eb[at]
        return fp.pos[a], e.pos[b], fp.start[a], fp.end[a], e.start[b], e.end[b]

    runs = align_layers(pair, ra, rb, repeated, seg.max_repeats, fp.pos[qa], gather,
                        seg.k, seg._max_gap(), seg._dense_gap(), seg.min_passage)
    runs = seg._extend(runs, lambda: [a_text] * runs.pair.size, lambda: seg._texts_of(docs[runs.pair]))
    chars = covered(runs.pair, runs.a_start, runs.a_end, docs.size)
    return docs, chars / max(length, 1), _group_passages(runs), runs


def _stack_rows(top: sp.csr_matrix, bottom: sp.csr_matrix) -> sp.csr_matrix:
    """``top`` then ``bottom`` (same columns): the arrays concatenated, without scipy's general stacking."""
    indptr = np.concatenate([top.indptr, bottom.indptr[1:].astype(top.indptr.dtype) + top.indptr[-1]])
    return sp.csr_matrix((np.concatenate([top.data, bottom.data]), np.concatenate([top.indices, bottom.indices]),
                          indptr), shape=(top.shape[0] + bottom.shape[0], top.shape[1]))


def _check_ids(ids: list[Hashable]) -> None:
    if not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in ids):
        raise TypeError("document ids must be str or int (they are saved as JSON)")


def _take(inst: Instances, mask: np.ndarray) -> Instances:
    def pick(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else values[mask]
    return Instances(inst.a[mask], inst.b[mask], pick(inst.rank_a), pick(inst.rank_b), pick(inst.repeated))


def _group_passages(runs: SharedRuns) -> dict[int, tuple[Passage, ...]]:
    out: dict[int, list[Passage]] = {}
    for p, a0, a1, b0, b1 in zip(runs.pair.tolist(), runs.a_start.tolist(), runs.a_end.tolist(),
                                 runs.b_start.tolist(), runs.b_end.tolist()):
        out.setdefault(p, []).append(Passage(a0, a1, b0, b1))
    return {p: tuple(v) for p, v in out.items()}
