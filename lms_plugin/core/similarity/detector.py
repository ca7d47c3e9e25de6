"""ReuseDetector: the estimator-style entry point of the similarity engine."""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from lms_plugin.core.text import hash_syllables

from . import paraphrase, storage
from .edges import extend_runs
from .fingerprints import Fingerprints, fingerprint, kgram_hashes
from .index import FingerprintIndex, Instances, occurrences
from .passages import Gathered, SharedRuns, align_layers, covered
from .results import Match, Passage, QueryResult, SourceShare
from .workers import Chunk, map_chunks

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
    _tfidf_t: sp.csr_matrix | None

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
            references: Iterable[Document] = (), *,
            on_progress: Callable[[int], object] | None = None) -> ReuseDetector:
        """Index essays ``documents`` and ``references``; fingerprints of the
        ``exclude`` texts (scenario, template, quoted law) never count.

        ``on_progress(n)`` is called as each batch of n documents is done.
        """
        self._check_params()
        essays = list(documents)
        refs = list(references)
        docs = essays + refs
        ids = [d[0] for d in docs]
        if not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in ids):
            raise TypeError("document ids must be str or int (they are saved as JSON)")
        if len(set(ids)) != len(ids):
            raise ValueError("document ids must be unique across essays and references")
        texts = [d[1] for d in docs]
        self.ids_ = ids
        self.texts_ = texts  # passage ends are read from the texts (see edges.py)
        self.kinds_ = np.array([ESSAY] * len(essays) + [REFERENCE] * len(refs), dtype=np.int8)
        self.n_essays_ = len(essays)
        self.idf_ = paraphrase.fit_idf(paraphrase.term_counts(
            hash_syllables(texts[: self.idf_sample]), self.n_features))

        parts, starts, ends, rows, search = [], [], [], [], []
        offset = 0
        for part in self._chunks(texts, on_progress):
            fp_part = part[0]
            parts.append(Fingerprints(fp_part.hash, fp_part.doc + np.int32(offset), fp_part.pos,
                                      fp_part.start, fp_part.end))
            offset += part[1].size
            starts.append(part[1])
            ends.append(part[2])
            rows.append(part[3])
            search.append(part[4])
        fp = Fingerprints.concat(parts)
        self.text_start_ = np.concatenate(starts) if starts else np.zeros(0, np.int32)
        self.text_end_ = np.concatenate(ends) if ends else np.zeros(0, np.int32)
        empty = sp.csr_matrix((0, self.n_features), dtype=np.float32)
        self.tfidf_ = sp.vstack(rows).tocsr() if rows else empty
        self.search_ = sp.vstack(search).tocsr() if search else empty
        del rows, search

        stop = self._all_kgram_hashes([d[1] for d in exclude])
        boilerplate = int(max(self.boilerplate_min_docs, self.boilerplate_share * self.n_essays_))
        self.df_limit_ = min(self.max_postings, boilerplate)
        self.index_ = FingerprintIndex.build(fp, stop, boilerplate)
        self._tfidf_t = None
        return self

    def _chunks(self, texts: list[str], on_progress: Callable[[int], object] | None) -> Iterator[Chunk]:
        """Per-chunk results for the essays, then for the references (which
        keep ``reference_terms`` paraphrase terms)."""
        for group, n_terms in ((texts[: self.n_essays_], self.n_terms),
                               (texts[self.n_essays_:], self.reference_terms)):
            args = (self.k, self.window, self.n_features, n_terms, self.search_terms, self.idf_)
            yield from map_chunks(group, args, self.chunk_size, self.n_jobs, on_progress)

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
        if not texts:
            return np.zeros(0, np.uint64)
        kg, _, _ = kgram_hashes(hash_syllables(texts), self.k)
        return np.unique(kg[kg != np.iinfo(np.uint64).max])

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
        syllables = hash_syllables([text])
        fp = fingerprint(syllables, self.k, self.window)
        length = int(syllables.ends[-1] - syllables.starts[0]) if syllables.hashes.size else 0
        vector = paraphrase.tfidf_rows(paraphrase.term_counts(syllables, self.n_features), self.idf_, self.n_terms)
        return self._report(None, text, fp, length, vector, self._doc_numbers(ignore))

    def report(self, doc_id: Hashable) -> QueryResult:
        """Report for a fitted essay against all other fitted documents."""
        found = self._doc_numbers([doc_id])
        if found.size == 0:
            raise KeyError(f"{doc_id!r} is not in the fitted index")
        d = int(found[0])
        e = self.index_.entries
        lo, hi = np.searchsorted(e.doc, [d, d + 1])
        own = e.take(slice(lo, hi))
        length = int(self.text_end_[d] - self.text_start_[d])
        stored = getattr(self, "texts_", None)
        text = stored[d] if stored is not None else ""
        return self._report(doc_id, text, own, length, self.tfidf_[d], np.array([d]))

    def _doc_numbers(self, ids: Iterable[Hashable]) -> np.ndarray:
        ids = list(ids)
        if not ids:
            return np.zeros(0, np.int64)
        where = {doc_id: i for i, doc_id in enumerate(self.ids_)}
        return np.array([where[i] for i in ids if i in where], dtype=np.int64)

    def _report(self, a_id: Hashable, a_text: str, fp: Fingerprints, length: int, vector: sp.csr_matrix,
                ignore: np.ndarray) -> QueryResult:
        e = self.index_.entries
        rank, mult = occurrences(fp.hash)
        inst = self.index_.lookup(fp.hash, self.max_repeats, self.df_limit_, ignore)
        keep = mult[inst.a] <= self.max_repeats
        assert inst.rank_b is not None and inst.repeated is not None  # lookup ranks the entries' side
        qa, eb, rb = inst.a[keep], inst.b[keep], inst.rank_b[keep]
        ra = rank[qa]
        repeated = inst.repeated[keep] | (mult[qa] > 1)
        doc = e.doc[eb].astype(np.int64)
        docs, pair = np.unique(doc, return_inverse=True)
        # min_shared counts distinct fingerprints: their first occurrences
        counts = np.bincount(pair[(ra == 0) & (rb == 0)], minlength=docs.size)
        ok = counts[pair] >= self.min_shared
        qa, eb, ra, rb, repeated, pair = qa[ok], eb[ok], ra[ok], rb[ok], repeated[ok], pair[ok]

        def gather(at: np.ndarray) -> Gathered:
            a, b = qa[at], eb[at]
            return fp.pos[a], e.pos[b], fp.start[a], fp.end[a], e.start[b], e.end[b]

        runs = align_layers(pair, ra, rb, repeated, self.max_repeats, fp.pos[qa], gather,
                            self.k, self._max_gap(), self._dense_gap(), self.min_passage)
        runs = self._extend(runs, lambda: [a_text] * runs.pair.size, lambda: self._texts_of(docs[runs.pair]))
        chars = covered(runs.pair, runs.a_start, runs.a_end, docs.size)
        scores = chars / max(length, 1)
        passages = _group_passages(runs)

        cos = paraphrase.cosines_to_all(vector, self._transposed_tfidf())
        cos[ignore] = 0
        top = np.flatnonzero(cos >= self.min_paraphrase)
        top = top[np.argsort(-cos[top], kind="stable")][: self.neighbours]
        candidates = sorted(set(docs[np.flatnonzero(scores > 0)].tolist()) | set(top.tolist()))
        where = {d: i for i, d in enumerate(docs.tolist())}
        matches = []
        for d in candidates:
            p = where.get(d)
            score = float(scores[p]) if p is not None else 0.0
            matches.append(Match(a_id, self.ids_[d], _KIND_NAMES[self.kinds_[d]], score,
                                 round(float(cos[d]), 6), passages.get(p, ()) if p is not None else ()))
        matches.sort(key=lambda m: (-m.score, -m.paraphrase))
        order = np.argsort(runs.a_start, kind="stable")
        overall = covered(np.zeros(order.size, np.int64), runs.a_start[order], runs.a_end[order], 1)[0]
        sources = tuple(SourceShare(m.b, m.b_kind, m.score) for m in matches if m.score > 0)
        return QueryResult(float(overall) / max(length, 1), sources, tuple(matches))

    def _transposed_tfidf(self) -> sp.csr_matrix:
        if getattr(self, "_tfidf_t", None) is None:
            self._tfidf_t = self.tfidf_.T.tocsr()
        return self._tfidf_t

    # ----------------------------------------------------------- save/load
    def save(self, path: storage.StrPath) -> None:
        """Write the fitted index to ``path`` (numpy .npz, no pickle)."""
        storage.save(self, path)

    @classmethod
    def load(cls, path: storage.StrPath) -> ReuseDetector:
        """A fitted detector read back from ``save``; any worker can query it."""
        return storage.load(cls, path)


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
