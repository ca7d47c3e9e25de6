"""An index kept in parts: essays added with partial_fit, segments queried as one, merged without refitting,
saved as memory-mapped folders. Each answers as one fit of every document would."""
import copy
import re

import numpy as np
import pytest
from vietnamese_samples import BOILERPLATE, OWN_VIEWS, SCENARIO, SOURCE, UNRELATED

from lms_plugin.core.similarity import ReuseDetector, kgram_set, merge_segments, query_segments, report_segments

SENTENCES = [s for text in [SOURCE, *UNRELATED, *OWN_VIEWS] for s in re.split(r"(?<=\.)\s+", text)]


def essays(n=24, offset=0):
    """Essays of three sentences each; every fourth also copies a run of SOURCE, every seventh the scenario."""
    out = []
    for i in range(offset, offset + n):
        parts = [SENTENCES[(i * 5 + j * 7) % len(SENTENCES)] for j in range(3)]
        if i % 4 == 1:
            parts.append(" ".join(re.split(r"(?<=\.)\s+", SOURCE)[2 + i % 3:5 + i % 3]))
        if i % 7 == 3:
            parts.insert(0, SCENARIO)
        out.append((f"e{i}", " ".join(parts)))
    return out


def queries():
    cut = re.split(r"(?<=\.)\s+", SOURCE)
    return [" ".join(cut[1:5]) + " " + OWN_VIEWS[0], UNRELATED[2] + " " + " ".join(cut[5:]),
            SCENARIO + " " + OWN_VIEWS[1], BOILERPLATE + " " + UNRELATED[0]]


def params(**extra):
    return {"n_jobs": 1, "idf_sample": 8, **extra}


def test_essays_added_with_partial_fit_are_found_as_if_fitted_at_once():
    docs = essays()
    whole = ReuseDetector(**params()).fit(docs)
    grown = ReuseDetector(**params()).fit(docs[:10])
    for lo in range(10, len(docs), 5):
        grown.partial_fit(docs[lo:lo + 5])
    assert grown.ids_ == whole.ids_ and grown.n_essays_ == whole.n_essays_
    for text in queries():
        assert grown.query(text) == whole.query(text)
    assert grown.report("e5") == whole.report("e5")


def test_a_copy_taken_before_partial_fit_answers_as_it_did():
    docs = essays()
    fitted = ReuseDetector(**params()).fit(docs[:12])
    before = fitted.query(queries()[0])
    kept = copy.copy(fitted)
    fitted.partial_fit(docs[12:])
    assert kept.query(queries()[0]) == before and len(kept.ids_) == 12
    with pytest.raises(ValueError, match="unique"):
        fitted.partial_fit(docs[:1])


def test_segments_queried_together_answer_as_one_index():
    docs = essays(40)
    refs = [("law", SOURCE)]
    whole = ReuseDetector(**params(max_postings=3)).fit(docs, references=refs)
    first = ReuseDetector(**params(max_postings=3)).fit(docs[:8], cohort_essays=len(docs))
    rest = [ReuseDetector(**params(max_postings=3)).fit(docs[lo:lo + 16], idf=first.idf_, cohort_essays=len(docs))
            for lo in (8, 24)]
    tail = ReuseDetector(**params(max_postings=3)).fit([], references=refs, idf=first.idf_,
                                                       cohort_essays=len(docs))
    # the IDF is the first segment's; the whole fit takes it from the same first documents
    assert np.array_equal(first.idf_, whole.idf_)
    for text in queries():
        assert query_segments([first, *rest, tail], text) == whole.query(text)
        assert query_segments([first, *rest, tail], text, ignore=["e1", "e5"]) == whole.query(text, ignore=["e1", "e5"])


def test_text_found_in_most_essays_is_boilerplate_over_all_segments():
    docs = [(f"b{i}", BOILERPLATE + " " + SENTENCES[i]) for i in range(12)]
    strict = params(boilerplate_share=0.5, boilerplate_min_docs=2)
    # each segment alone holds the sentence in only 3 essays: under its own limit, but not under the whole's
    parts = [ReuseDetector(**strict).fit(docs[:3], cohort_essays=12)]
    parts += [ReuseDetector(**strict).fit(docs[lo:lo + 3], idf=parts[0].idf_, cohort_essays=12) for lo in (3, 6, 9)]
    asked = BOILERPLATE + " " + SCENARIO
    assert ReuseDetector(**strict).fit(docs).query(asked).score == 0
    assert query_segments(parts, asked).score == 0
    assert parts[0].query(asked).score > 0        # one segment alone would count it


def test_texts_that_never_count_are_left_out_of_the_query():
    docs = essays()
    fitted = ReuseDetector(**params()).fit(docs)
    text = SCENARIO + " " + BOILERPLATE
    assert fitted.query(text).score > 0.5           # essays e3, e10... quote the scenario
    assert query_segments([fitted], text, stop=kgram_set([SCENARIO], fitted.k)).score == 0


def test_merged_segments_answer_as_one_fit_and_drop_the_replaced_essays():
    docs = essays(30)
    whole = ReuseDetector(**params()).fit(docs)
    first = ReuseDetector(**params()).fit(docs[:10], cohort_essays=30)
    second = ReuseDetector(**params()).fit(docs[10:], idf=first.idf_, cohort_essays=30)
    merged = merge_segments([first, second], cohort_essays=30)
    for text in queries():
        assert merged.query(text) == whole.query(text)
    assert merged.pairs(0.1) == whole.pairs(0.1)
    without = merge_segments([first, second], drop=["e1", "e13"])
    assert "e1" not in without.ids_ and len(without.ids_) == 28
    assert {m.b for m in without.query(queries()[0]).matches}.isdisjoint({"e1", "e13"})
    other = ReuseDetector(**params()).fit(docs[10:])
    with pytest.raises(ValueError, match="IDF"):
        merge_segments([first, other])


def mapped(values):
    while values is not None:
        if isinstance(values, np.memmap):
            return True
        values = values.base
    return False


def test_a_segment_saved_as_a_folder_is_read_memory_mapped_and_answers_alike(tmp_path):
    fitted = ReuseDetector(**params()).fit(essays(), references=[("law", SOURCE)],
                                           exclude=[("scenario", SCENARIO)])
    fitted.save(tmp_path / "segment")
    loaded = ReuseDetector.load(tmp_path / "segment")
    for text in queries():
        assert loaded.query(text) == fitted.query(text)
    assert loaded.pairs(0.1) == fitted.pairs(0.1)
    # the arrays are the file's pages, shared by every process that opens it, not copies
    for values in (loaded.index_.keys, loaded.index_.entries.hash, loaded.tfidf_.data, loaded._tfidf_t.indices):
        assert mapped(values) and not values.flags.writeable
    with pytest.raises(FileExistsError):
        fitted.save(tmp_path / "segment")
    # a loaded segment grows like a fitted one, leaving its files alone
    loaded.partial_fit(essays(4, offset=100))
    assert len(loaded.ids_) == len(fitted.ids_) + 4
    assert ReuseDetector.load(tmp_path / "segment").query(queries()[0]) == fitted.query(queries()[0])


def test_a_text_shorter_than_a_k_gram_is_found_in_nothing():
    fitted = ReuseDetector(**params()).fit(essays())
    assert fitted.query("khởi động").score == 0 and fitted.query("").matches == ()


def test_a_fitted_essay_is_reported_from_what_was_fitted_as_if_queried():
    docs = essays(30)
    first = ReuseDetector(**params()).fit(docs[:20], cohort_essays=30)
    tail = ReuseDetector(**params()).fit(docs[20:], idf=first.idf_, cohort_essays=30)
    stop = kgram_set([SCENARIO], first.k)
    for doc_id, text in docs[18:]:
        asked = query_segments([first, tail], text, ignore=[doc_id, "e2"], stop=stop)
        found = report_segments([first, tail], doc_id, ignore=["e2"], stop=stop)
        assert (found.score, found.sources) == (asked.score, asked.sources)
        assert [(m.b, m.score, m.passages) for m in found.matches] == \
            [(m.b, m.score, m.passages) for m in asked.matches]
        # a row weighed in a batch keeps its terms quantised against the batch's heaviest: the 6th decimal may move
        assert [m.paraphrase for m in found.matches] == pytest.approx([m.paraphrase for m in asked.matches], abs=1e-5)
    with pytest.raises(KeyError):
        report_segments([first, tail], "nobody")


def test_text_that_becomes_boilerplate_as_essays_are_added_stops_counting():
    docs = [(f"b{i}", BOILERPLATE + " " + SENTENCES[i]) for i in range(12)]
    strict = params(boilerplate_share=0.5, boilerplate_min_docs=2)
    grown = ReuseDetector(**strict).fit(docs[:2])
    asked = BOILERPLATE + " " + SCENARIO
    assert grown.query(asked).score > 0            # in 2 essays: not more than max(2, 0.5 * 2)
    for lo in range(2, 12, 3):
        grown.partial_fit(docs[lo:lo + 3])
    assert grown.query(asked) == ReuseDetector(**strict).fit(docs).query(asked)
    assert grown.query(asked).score == 0
