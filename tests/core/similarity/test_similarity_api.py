"""Exclusion, boilerplate, offsets, save/load, and query == pairs."""
import re

import pytest
from vietnamese_samples import BOILERPLATE, OWN_VIEWS, SCENARIO, SOURCE, UNRELATED

from lms_plugin.core.similarity import Match, Passage, QueryResult, ReuseDetector
from lms_plugin.core.text import normalize


def cohort():
    sentences = re.split(r"(?<=\.)\s+", SOURCE)
    return [
        ("source", SOURCE),
        ("partial", OWN_VIEWS[0] + " " + " ".join(sentences[1:4]) + " " + UNRELATED[2]),
        ("mixed", UNRELATED[1] + " " + " ".join(sentences[5:]) + " " + OWN_VIEWS[1]),
        ("clean", UNRELATED[0]),
    ]


def test_scenario_text_is_excluded():
    essays = [("a", SCENARIO + " " + OWN_VIEWS[0]), ("b", SCENARIO + " " + OWN_VIEWS[1])]
    plain = ReuseDetector(n_jobs=1).fit(essays)
    assert any(m.score > 0.3 for m in plain.pairs(0.1))
    excluding = ReuseDetector(n_jobs=1).fit(essays, exclude=[("scenario", SCENARIO)])
    assert excluding.pairs(0.01) == [] or all(m.passages == () for m in excluding.pairs(0.01))


def test_boilerplate_shared_by_most_essays_is_dropped():
    essays = [(i, BOILERPLATE + " " + text) for i, text in enumerate([SOURCE, *UNRELATED, *OWN_VIEWS])]
    kept = ReuseDetector(n_jobs=1, boilerplate_min_docs=100, max_postings=100).fit(essays).pairs(0.05)
    assert kept and all(len(m.passages) == 1 for m in kept)
    dropped = ReuseDetector(n_jobs=1, boilerplate_share=0.5, boilerplate_min_docs=2).fit(essays).pairs(0.01)
    assert all(m.passages == () for m in dropped)


def test_references_are_sources_only():
    detector = ReuseDetector(n_jobs=1).fit([("essay", OWN_VIEWS[0] + " " + SOURCE)], references=[("law", SOURCE)])
    [match] = detector.pairs(0.1)
    assert (match.a, match.b, match.b_kind) == ("essay", "law", "reference")


def test_a_long_reference_keeps_its_whole_vocabulary_for_the_paraphrase_signal():
    law = " ".join([SOURCE, *OWN_VIEWS])
    essays = [(f"u{i}", text) for i, text in enumerate(UNRELATED)]
    detector = ReuseDetector(n_jobs=1, n_terms=64).fit(essays, references=[("law", law)])
    law_terms = detector.tfidf_[len(essays)].nnz
    assert law_terms > 64 and all(detector.tfidf_[i].nnz <= 64 for i in range(len(essays)))
    pruned = ReuseDetector(n_jobs=1, n_terms=64, reference_terms=64).fit(essays, references=[("law", law)])
    assert pruned.tfidf_[len(essays)].nnz == 64


def test_passages_slice_the_original_texts_to_matching_content():
    docs = dict(cohort())
    detector = ReuseDetector(n_jobs=1).fit(list(docs.items()))
    matches = detector.pairs(0.05)
    assert {(m.a, m.b) for m in matches} >= {("partial", "source"), ("source", "partial"),
                                             ("mixed", "source"), ("source", "mixed")}
    for m in matches:
        for p in m.passages:
            a_words = normalize(docs[m.a][p.a_start:p.a_end])
            b_words = normalize(docs[m.b][p.b_start:p.b_end])
            assert a_words == b_words
            assert len(a_words.split()) >= 8


def test_directed_scores_are_shares_of_a():
    docs = dict(cohort())
    matches = {(m.a, m.b): m for m in ReuseDetector(n_jobs=1).fit(list(docs.items())).pairs(0.0)}
    forward, backward = matches[("partial", "source")], matches[("source", "partial")]
    covered = sum(p.a_end - p.a_start for p in forward.passages)
    assert forward.score == pytest.approx(covered / len(docs["partial"]), abs=0.01)
    assert backward.score == pytest.approx(covered / len(docs["source"]), abs=0.02)


def test_query_equals_pairs_for_every_fitted_essay():
    docs = cohort()
    detector = ReuseDetector(n_jobs=1).fit(docs)
    pairs = detector.pairs(0.05)
    for doc_id, text in docs:
        expected = {(m.b, round(m.score, 9), m.passages) for m in pairs if m.a == doc_id and m.score > 0}
        queried = detector.query(text, ignore=[doc_id])
        got = {(m.b, round(m.score, 9), m.passages) for m in queried.matches if m.score >= 0.05}
        assert got == expected
        reported = detector.report(doc_id)
        assert {(m.b, round(m.score, 9), m.passages) for m in reported.matches if m.score >= 0.05} == expected


def test_pairs_aligned_a_slice_at_a_time_are_the_same():
    docs = cohort() + [(f"copy-{i}", OWN_VIEWS[i % 2] + " " + SOURCE) for i in range(4)]
    whole = ReuseDetector(n_jobs=1).fit(docs)
    sliced = ReuseDetector(n_jobs=1).fit(docs)
    sliced._ALIGN_CHUNK = 7  # a few shared fingerprints per slice: many slices
    assert len(whole.pairs(0.0)) > 10
    assert sliced.pairs(0.0) == whole.pairs(0.0)


def test_save_load_round_trip(tmp_path):
    docs = cohort()
    detector = ReuseDetector(n_jobs=1, k=4, window=5).fit(docs[:3], references=docs[3:],
                                                         exclude=[("scenario", SCENARIO)])
    path = tmp_path / "index.npz"
    detector.save(path)
    loaded = ReuseDetector.load(path)
    assert loaded.get_params() == detector.get_params()
    assert loaded.pairs(0.05) == detector.pairs(0.05)
    essay = OWN_VIEWS[1] + " " + SOURCE[:400]
    assert loaded.query(essay) == detector.query(essay)
    loaded.save(tmp_path / "again.npz")                       # a loaded index saves as it was
    assert ReuseDetector.load(tmp_path / "again.npz").report("partial") == detector.report("partial")


def test_result_types_are_frozen():
    result = ReuseDetector(n_jobs=1).fit(cohort()).query(SOURCE)
    assert isinstance(result, QueryResult) and isinstance(result.matches[0], Match)
    assert isinstance(result.matches[0].passages[0], Passage)
    with pytest.raises(AttributeError):
        result.matches[0].score = 1.0


def test_fit_uses_processes_like_inline():
    docs = cohort() * 1
    inline = ReuseDetector(n_jobs=1, chunk_size=1).fit(docs).pairs(0.05)
    parallel = ReuseDetector(n_jobs=2, chunk_size=1).fit(docs).pairs(0.05)
    assert inline == parallel


def test_empty_cohort_and_empty_texts():
    assert ReuseDetector(n_jobs=1).fit([]).pairs() == []
    assert ReuseDetector(n_jobs=1).fit([]).query(SOURCE).score == 0.0
    detector = ReuseDetector(n_jobs=1).fit([("blank", ""), ("dots", "..."), ("src", SOURCE)])
    assert detector.query("").matches == ()
    assert detector.report("blank").score == 0.0


def test_ids_must_be_unique_str_or_int():
    with pytest.raises(ValueError):
        ReuseDetector(n_jobs=1).fit([("a", SOURCE)], references=[("a", SOURCE)])
    with pytest.raises(TypeError):
        ReuseDetector(n_jobs=1).fit([(("tuple", 1), SOURCE)])


def test_report_of_an_unknown_essay_is_a_key_error():
    with pytest.raises(KeyError):
        ReuseDetector(n_jobs=1).fit(cohort()).report("nobody")
