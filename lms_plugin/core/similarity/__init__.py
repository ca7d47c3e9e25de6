"""Reuse detection between essays and reference texts (see docs/similarity.md).

Winnowed syllable k-gram fingerprints give passages and a containment score;
TF-IDF cosine over hashed syllable n-grams flags heavy rewording.
"""
from .detector import ReuseDetector, kgram_set, merge_segments, query_segments, report_segments
from .results import Match, Passage, QueryResult, SourceShare

__all__ = ["ReuseDetector", "kgram_set", "merge_segments", "query_segments", "report_segments", "Match", "Passage",
           "QueryResult", "SourceShare"]
