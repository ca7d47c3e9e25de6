"""Speed, memory and recall of the reuse detector on synthetic essays.

Essays of ~1,200 syllables are drawn from the syllable distribution of
viwiki-sample; 10 % of them receive a lightly edited copy of 15-40 % of
another essay, and 1 % hold an edited copy of one leaked 400-syllable model
answer (more holders than ``max_postings``).  Timed: fit + pairs (generation excluded).  Then the median
time to check one new essay against the fitted index, and, at smaller sizes,
the ratio of our time to datasketch MinHashLSH and to scikit-learn TF-IDF
brute force.

    .venv/bin/python bench/speed.py                # full run: 100,000 essays
    .venv/bin/python bench/speed.py --quick        # smoke run
    .venv/bin/python bench/speed.py --text bigram  # real syllable successions (set phrases recur)
"""
from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.synthetic import bigram_model, essay_maker, make_cohort, syllable_distribution  # noqa: E402
from lms_plugin.core.similarity import ReuseDetector  # noqa: E402

DEFAULT_VIWIKI = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "viwiki-sample"


def rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1e6
    return float("nan")


def peak_gb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1e6


def recall(found: set, planted: list) -> float:
    return sum(p in found for p in planted) / max(len(planted), 1)


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def leaked_recall(matches, holders: list[int], min_score: float = 0.1) -> float:
    """Share of the model answer's holders matched to another holder."""
    held = set(holders)
    found = {m.a for m in matches if m.score >= min_score and m.a in held and m.b in held}
    return len(found) / max(len(held), 1)


def run_ours(texts, planted, jobs: int, min_score: float = 0.1):
    cpu = cpu_seconds()
    started = time.perf_counter()
    detector = ReuseDetector(n_jobs=jobs).fit(list(enumerate(texts)))
    fitted = time.perf_counter()
    matches = detector.pairs(min_score)
    done = time.perf_counter()
    found = {(m.a, m.b) for m in matches if m.score >= min_score}
    run_ours.cpu = cpu_seconds() - cpu
    return detector, matches, fitted - started, done - started, recall(found, planted)


def run_minhash(texts, planted, threshold: float = 0.1, num_perm: int = 128):
    from datasketch import MinHash, MinHashLSH

    started = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    hashes = []
    for i, text in enumerate(texts):
        words = text.lower().split()
        shingles = {" ".join(words[j:j + 3]).encode("utf-8") for j in range(len(words) - 2)}
        m = MinHash(num_perm=num_perm)
        m.update_batch(list(shingles))
        lsh.insert(i, m)
        hashes.append(m)
    found = set()
    for i, m in enumerate(hashes):
        for j in lsh.query(m):
            if j != i:
                found.add((i, j))
    return time.perf_counter() - started, recall(found, planted)


def run_tfidf(texts, planted, threshold: float = 0.1, batch: int = 1000):
    from sklearn.feature_extraction.text import TfidfVectorizer

    started = time.perf_counter()
    x = TfidfVectorizer(ngram_range=(1, 3), sublinear_tf=True).fit_transform(texts)
    xt = x.T.tocsr()
    found = set()
    for lo in range(0, x.shape[0], batch):
        prod = (x[lo:lo + batch] @ xt).tocoo()
        keep = (prod.data >= threshold) & (prod.row + lo != prod.col)
        found.update(zip((prod.row[keep] + lo).tolist(), prod.col[keep].tolist()))
    return time.perf_counter() - started, recall(found, planted)


def query_latency(detector, words, p, cohort_texts, n_queries: int, seed: int = 99, chains=None):
    maker = essay_maker(words, p, seed, chains)
    essays = maker.essays(n_queries, 1200)
    rng = np.random.default_rng(seed)
    for q in range(0, n_queries, 2):  # half of them carry a copy from the cohort
        src = cohort_texts[int(rng.integers(len(cohort_texts)))].split(" ")
        span = int(len(src) * 0.2)
        essays[q] = " ".join(essays[q].split(" ")[:600] + src[100:100 + span] + essays[q].split(" ")[600 + span:])
    detector.query(essays[0])  # first call builds the transposed TF-IDF
    times, hits = [], 0
    for text in essays:
        t = time.perf_counter()
        result = detector.query(text)
        times.append(time.perf_counter() - t)
        hits += result.score >= 0.1
    return statistics.median(times) * 1e3, float(np.percentile(times, 95)) * 1e3, hits


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--viwiki", type=Path, default=DEFAULT_VIWIKI)
    ap.add_argument("--n", type=int, default=100_000, help="essays in the main run")
    ap.add_argument("--peer-sizes", default="2000,5000,10000", help="sizes for the peer comparison ('' = none)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="smoke run: 3,000 essays, peers at 1,000")
    ap.add_argument("--text", choices=["unigram", "bigram"], default="unigram",
                    help="syllables drawn independently, or each after the one before as in viwiki-sample")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.peer_sizes, args.queries = 3000, "1000", 50
    print("command:", " ".join([sys.executable, *sys.argv]))
    words, p = syllable_distribution(args.viwiki)
    print(f"syllable distribution: {len(words):,} distinct syllables from {args.viwiki}")
    chains = None
    if args.text == "bigram":
        chains = bigram_model(args.viwiki)
        print(f"text: chains of {chains.after.size:,} distinct successions of {chains.tokens.size:,} tokens")

    started = time.perf_counter()
    cohort = make_cohort(words, p, args.n, leaked=args.n // 100, chains=chains)
    syllables = sum(t.count(" ") + 1 for t in cohort.texts)
    print(f"generated {args.n:,} essays, {syllables / 1e6:.1f} M syllables, {len(cohort.planted):,} planted copies, "
          f"{len(cohort.leaked):,} holders of a leaked model answer "
          f"in {time.perf_counter() - started:.1f} s (not timed)")
    gc.collect()
    before = rss_gb()
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    detector, matches, fit_s, total_s, rec = run_ours(cohort.texts, cohort.planted, args.jobs)
    print(f"\n== main run: {args.n:,} essays, n_jobs={args.jobs}")
    print(f"fit {fit_s:.1f} s, fit + pairs {total_s:.1f} s wall (target <= 60 s); "
          f"CPU time {run_ours.cpu:.1f} s over both cores; load average before the run {load_before}")
    print(f"pairs reported (score >= 0.1 or paraphrase): {len(matches):,}; recall of planted copies {rec:.4f} "
          f"(target >= 0.99)")
    print(f"leaked model answer: {leaked_recall(matches, cohort.leaked):.4f} of its {len(cohort.leaked):,} holders "
          f"matched to another holder ({'more' if len(cohort.leaked) > detector.max_postings else 'no more'} "
          f"holders than max_postings={detector.max_postings})")
    print(f"memory: RSS before fit {before:.2f} GB (input texts), peak RSS {peak_gb():.2f} GB, "
          f"peak RSS of a worker process {peak_gb(resource.RUSAGE_CHILDREN):.2f} GB (target <= 4 GB)")
    boilerplate = max(detector.boilerplate_min_docs, detector.boilerplate_share * args.n)
    print(f"index: {detector.index_.entries.hash.size:,} fingerprints; boilerplate above {boilerplate:,.0f} docs, "
          f"first/last-holder links above {detector.df_limit_}")

    median, p95, hits = query_latency(detector, words, p, cohort.texts, args.queries, chains=chains)
    print(f"\n== one new essay against the fitted {args.n:,}-essay index ({args.queries} queries, half with a copy)")
    print(f"median {median:.2f} ms, p95 {p95:.2f} ms (target median <= 10 ms); {hits} flagged at score >= 0.1")
    del detector, matches, cohort
    gc.collect()

    sizes = [int(s) for s in args.peer_sizes.split(",") if s]
    if sizes:
        print("\n== peers (same synthetic essays; time = index + all pairs; recall of planted copies)")
        print(f"{'essays':>7} {'ours s':>8} {'rec':>6} {'MinHashLSH s':>13} {'rec':>6} {'ratio':>7} "
              f"{'TF-IDF s':>9} {'rec':>6} {'ratio':>7}")
    for n in sizes:
        small = make_cohort(words, p, n, seed=n, chains=chains)
        _, _, _, ours, rec = run_ours(small.texts, small.planted, args.jobs)
        mh, mh_rec = run_minhash(small.texts, small.planted)
        tf, tf_rec = run_tfidf(small.texts, small.planted)
        print(f"{n:>7,} {ours:>8.2f} {rec:>6.3f} {mh:>13.2f} {mh_rec:>6.3f} {mh / ours:>6.1f}x "
              f"{tf:>9.2f} {tf_rec:>6.3f} {tf / ours:>6.1f}x", flush=True)
    if sizes:
        print("MinHashLSH: datasketch, word 3-gram shingles, 128 permutations, Jaccard threshold 0.1; "
              "TF-IDF: TfidfVectorizer 1-3-grams + sparse product, cosine >= 0.1.")


if __name__ == "__main__":
    main()
