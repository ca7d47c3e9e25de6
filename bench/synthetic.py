"""Synthetic essays drawn from the real syllable distribution of viwiki-sample,
with planted, lightly edited copies (used by bench/speed.py)."""
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


def make_cohort(words: list[str], p: np.ndarray, n: int, length: int = 1200, copy_rate: float = 0.1,
                leaked: int = 0, seed: int = 0) -> Cohort:
    """``n`` essays of ``length`` syllables; ``copy_rate`` of them receive a
    copy of 15-40 % of another essay, lightly edited.  Sources are never
    targets, so every planted copy survives intact.  ``leaked`` essays (not
    targets) each hold their own lightly edited copy of one 400-syllable
    model answer, placed first, so copies of them carry it on."""
    maker = EssayMaker(words, p, seed)
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
