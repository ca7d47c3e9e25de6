"""Synthetic essays drawn from the real syllable distribution of viwiki-sample,
with planted, lightly edited copies (used by bench/speed.py).

Two kinds of text: syllables drawn independently (``unigram``), or a chain
of syllables each drawn after the one before, as they follow each other in
viwiki-sample (``bigram``): real set phrases then recur across unrelated
essays, as they do in essays on one topic, and give the index more shared
fingerprints to sort out."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def syllable_distribution(viwiki: Path) -> tuple[list[str], np.ndarray]:
    """Syllables (as written, case kept) and their frequencies in the sample."""
    counts: Counter[str] = Counter()
    for path in sorted((Path(viwiki) / "docs").glob("*.txt")):
        counts.update(re.findall(r"\w+", path.read_text(encoding="utf-8")))
    if not counts:
        raise SystemExit(f"no viwiki-sample texts under {viwiki}/docs")
    words = list(counts)
    freq = np.array([counts[w] for w in words], dtype=np.float64)
    return words, freq / freq.sum()


@dataclass
class Cohort:
    texts: list[str]
    planted: list[tuple[int, int]]  # (essay with the copy, essay copied from)
    leaked: list[int]  # essays holding a copy of the one leaked model answer


class EssayMaker:
    """Random essays of real syllables with ~5 % sentence ends and ~4 % commas."""

    def __init__(self, words: list[str], p: np.ndarray, seed: int):
        self.rng = np.random.default_rng(seed)
        self.v = len(words)
        self.vocab = np.array(words + [w + "." for w in words] + [w + "," for w in words], dtype=object)
        self.cdf = np.cumsum(p)

    def syllables(self, shape) -> np.ndarray:
        ids = np.searchsorted(self.cdf, self.rng.random(shape) * self.cdf[-1])
        np.minimum(ids, self.v - 1, out=ids)
        punct = self.rng.random(shape)
        ids[punct < 0.05] += self.v
        ids[(punct >= 0.05) & (punct < 0.09)] += 2 * self.v
        return ids

    def essays(self, n: int, length: int) -> list[str]:
        out = []
        for lo in range(0, n, 1000):
            ids = self.syllables((min(1000, n - lo), length))
            out.extend(" ".join(row) for row in self.vocab[ids].tolist())
        return out

    def edit(self, tokens: list[str]) -> list[str]:
        """Light edits: 3 % substitutions, 1 % deletions, 1 % insertions."""
        r = self.rng.random(len(tokens))
        fresh = self.vocab[self.syllables(len(tokens))].tolist()
        out = []
        for i, token in enumerate(tokens):
            if r[i] < 0.03:
                out.append(fresh[i])
            elif r[i] < 0.04:
                continue
            else:
                out.append(token)
            if r[i] > 0.99:
                out.append(fresh[-1 - i])
        return out


class BigramEssayMaker(EssayMaker):
    """Essays as chains of real syllable successions (with their commas and
    full stops) from viwiki-sample."""

    def __init__(self, words: list[str], p: np.ndarray, seed: int, chains: Bigrams):
        super().__init__(words, p, seed)
        self.chains = chains

    def essays(self, n: int, length: int) -> list[str]:
        c, out = self.chains, []
        for lo in range(0, n, 10_000):
            rows = min(10_000, n - lo)
            ids = np.empty((rows, length), dtype=np.int64)
            ids[:, 0] = c.start(self.rng, rows)
            for j in range(1, length):
                ids[:, j] = c.step(self.rng, ids[:, j - 1])
            out.extend(" ".join(row) for row in c.tokens[ids].tolist())
        return out


@dataclass
class Bigrams:
    """Successions of tokens (syllable, optionally followed by ',' or '.'):
    ``after[s]`` are the successors of token s, ``cum`` their cumulative
    probabilities shifted by s, so one ``searchsorted`` draws for many
    states at once."""

    tokens: np.ndarray  # object array of str
    first: np.ndarray  # token index -> start of its successors in ``after``
    after: np.ndarray
    cum: np.ndarray
    p: np.ndarray  # token frequencies, for starts and dead ends

    def start(self, rng, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(np.cumsum(self.p), rng.random(n)), self.p.size - 1)

    def step(self, rng, state: np.ndarray) -> np.ndarray:
        lo, hi = self.first[state], self.first[state + 1]
        at = np.searchsorted(self.cum, state + rng.random(state.size) * (1 - 1e-9))
        ok = (at >= lo) & (at < hi)
        nxt = np.where(ok, self.after[np.minimum(at, self.after.size - 1)], 0)
        dead = ~ok
        if dead.any():
            nxt[dead] = self.start(rng, int(dead.sum()))
        return nxt


def bigram_model(viwiki: Path) -> Bigrams:
    """Token successions counted over every viwiki-sample text."""
    index: dict[str, int] = {}
    pairs = []
    for path in sorted((Path(viwiki) / "docs").glob("*.txt")):
        ids = [index.setdefault(t, len(index))
               for t in re.findall(r"\w+[.,]?", path.read_text(encoding="utf-8"))]
        pairs.append(np.array(ids, dtype=np.int64))
    n = len(index)
    keys = np.concatenate([a[:-1] * n + a[1:] for a in pairs if a.size > 1])
    uniq, counts = np.unique(keys, return_counts=True)
    src, dst = uniq // n, uniq % n
    first = np.searchsorted(src, np.arange(n + 1))
    totals = np.bincount(src, weights=counts, minlength=n)
    before = np.cumsum(totals) - totals  # successions of the tokens before each token
    cum = src + (np.cumsum(counts) - before[src]) / totals[src]
    freq = np.bincount(np.concatenate(pairs), minlength=n).astype(np.float64)
    tokens = np.empty(n, dtype=object)
    tokens[:] = list(index)
    return Bigrams(tokens, first, dst, cum, freq / freq.sum())


def essay_maker(words: list[str], p: np.ndarray, seed: int, chains: Bigrams | None = None) -> EssayMaker:
    return EssayMaker(words, p, seed) if chains is None else BigramEssayMaker(words, p, seed, chains)


def make_cohort(words: list[str], p: np.ndarray, n: int, length: int = 1200, copy_rate: float = 0.1,
                leaked: int = 0, seed: int = 0, chains: Bigrams | None = None) -> Cohort:
    """``n`` essays of ``length`` syllables (chains of real successions when
    ``chains`` is given); ``copy_rate`` of them receive a
    copy of 15-40 % of another essay, lightly edited.  Sources are never
    targets, so every planted copy survives intact.  ``leaked`` essays (not
    targets) each hold their own lightly edited copy of one 400-syllable
    model answer, placed first, so copies of them carry it on."""
    maker = essay_maker(words, p, seed, chains)
    texts = maker.essays(n, length)
    rng = maker.rng
    order = rng.permutation(n)
    n_targets = int(n * copy_rate)
    sources = order[n_targets:]
    model = maker.essays(1, 400)[0].split(" ")
    holders = sorted(rng.choice(sources, size=leaked, replace=False).tolist()) if leaked else []
    for h in holders:
        piece = maker.edit(model)
        dst = texts[h].split(" ")
        put = int(rng.integers(len(dst) - len(model)))
        texts[h] = " ".join(dst[:put] + piece + dst[put + len(model):])
    planted = []
    for t in order[:n_targets].tolist():
        s = int(rng.choice(sources))
        src = texts[s].split(" ")
        span = int(len(src) * rng.uniform(0.15, 0.40))
        at = int(rng.integers(len(src) - span))
        piece = maker.edit(src[at:at + span])
        dst = texts[t].split(" ")
        put = int(rng.integers(len(dst) - span))
        texts[t] = " ".join(dst[:put] + piece + dst[put + span:])
        planted.append((t, s))
    return Cohort(texts, planted, holders)
