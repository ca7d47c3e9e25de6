"""Reuse detection between essays and reference texts (see docs/similarity.md).

Winnowed syllable k-gram fingerprints give passages and a containment score;
TF-IDF cosine over hashed syllable n-grams flags heavy rewording.
"""
from .detector import ReuseDetector
from .results import Match, Passage, QueryResult, SourceShare

__all__ = ["ReuseDetector", "Match", "Passage", "QueryResult", "SourceShare"]
