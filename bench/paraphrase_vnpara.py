"""The engine's signals on real Vietnamese sentence pairs: vnPara (Bach et al. 2015).

3,083 pairs of news sentences, labelled paraphrase or not; the negatives
tell the same story in other words, so they are hard.  Prints ROC-AUC of
the engine's paraphrase cosine and containment score beside scikit-learn's
TF-IDF cosine and word overlap, first on the sentences as given, then with
the second sentence of every pair written the other usual ways (NFD,
old-style tone placement, a zero-width space inside words): the engine's
Vietnamese normalisation should leave its figures unchanged.

    .venv/bin/python bench/paraphrase_vnpara.py [../shared/datasets/vnpara]
"""
from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lms_plugin.core.similarity import (
    ReuseDetector,  # noqa: E402
    paraphrase,  # noqa: E402
)

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "vnpara"

# new-style -> old-style tone placement on the open syllables where the two differ
_OLD_STYLE = {"oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa", "uỳ": "ùy", "uý": "úy", "uỷ": "ủy",
              "uỹ": "ũy", "uỵ": "ụy", "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe"}


def load(root: Path):
    first = (root / "Sentences1.txt").read_text(encoding="utf-8").splitlines()
    second = (root / "Sentences2.txt").read_text(encoding="utf-8").splitlines()
    labels = [int(line.strip().rstrip(",")) for line in (root / "Labels.txt").read_text().splitlines() if line.strip()]
    n = min(len(first), len(second), len(labels))
    return first[:n], second[:n], np.array(labels[:n])


def written_otherwise(text: str) -> str:
    """The same sentence as other keyboards and editors write it."""
    flipped = re.sub("|".join(_OLD_STYLE), lambda m: _OLD_STYLE[m.group(0)], text)
    spaced = re.sub(r"(\w{3})(\w+)", "\\1\u200b\\2", flipped, count=3)
    return unicodedata.normalize("NFD", spaced)


def engine_signals(first: list[str], second: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Paraphrase cosine and containment (share of the first sentence in
    passages found in the second) with the engine's Vietnamese defaults,
    except passages as short as a sentence allows."""
    n = len(first)
    docs = [(f"a{i}", t) for i, t in enumerate(first)] + [(f"b{i}", t) for i, t in enumerate(second)]
    detector = ReuseDetector(n_jobs=1, min_passage=5, min_shared=1, boilerplate_min_docs=2 * n).fit(docs)
    cosine = paraphrase.pair_cosines(detector.tfidf_, np.arange(n), np.arange(n) + n)
    containment = np.zeros(n)
    for m in detector.pairs(0.0):
        if m.a.startswith("a") and m.b == "b" + m.a[1:]:
            containment[int(m.a[1:])] = m.score
    return cosine, containment


def sklearn_signals(first: list[str], second: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """TF-IDF cosine (word 1-2-grams, sublinear) and word Jaccard."""
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(first + second)
    x, y = vec.transform(first), vec.transform(second)
    cosine = np.asarray(x.multiply(y).sum(axis=1)).ravel()
    analyse = vec.build_analyzer()
    jaccard = []
    for a, b in zip(first, second):
        wa, wb = {w for w in analyse(a) if " " not in w}, {w for w in analyse(b) if " " not in w}
        jaccard.append(len(wa & wb) / max(len(wa | wb), 1))
    return cosine, np.array(jaccard)


def sklearn_after_nfc(first: list[str], second: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The same, with both sides NFC-normalised first (the usual fix)."""
    nfc = [unicodedata.normalize("NFC", t) for t in second]
    return sklearn_signals([unicodedata.normalize("NFC", t) for t in first], nfc)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", nargs="?", type=Path, default=DEFAULT)
    args = ap.parse_args(argv)
    print("command:", " ".join([sys.executable, *sys.argv]))
    first, second, labels = load(args.path)
    print(f"{labels.size} pairs: {int(labels.sum())} paraphrases, {int((labels == 0).sum())} not")
    other = [written_otherwise(t) for t in second]
    changed = sum(a != b for a, b in zip(second, other))
    print(f"second sentences written otherwise (NFD, old tone placement, zero-width space): {changed} changed")
    print(f"\n== ROC-AUC, paraphrase vs not {'as given':>12s} {'written otherwise':>19s}")
    rows = [("engine paraphrase cosine", 0, engine_signals), ("engine containment score", 1, engine_signals),
            ("scikit-learn TF-IDF cosine (1-2-grams)", 0, sklearn_signals), ("word Jaccard", 1, sklearn_signals),
            ("scikit-learn TF-IDF cosine after NFC", 0, sklearn_after_nfc),
            ("word Jaccard after NFC", 1, sklearn_after_nfc)]
    cache: dict = {}
    for name, which, fn in rows:
        given = cache.setdefault((fn, "given"), fn(first, second))[which]
        moved = cache.setdefault((fn, "other"), fn(first, other))[which]
        print(f"  {name:40s} {roc_auc_score(labels, given):12.3f} {roc_auc_score(labels, moved):19.3f}")
    print("\nThe engine folds tone placement, NFD and invisible characters into one syllable; NFC alone does not")
    print("undo old-style tone placement or a zero-width space inside a word.")


if __name__ == "__main__":
    main()
