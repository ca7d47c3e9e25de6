"""Text repeated inside one essay: a copied block pasted twice counts twice;
a phrase repeated many times in an original essay matches nothing."""
import re

import pytest
from vietnamese_samples import OWN_VIEWS, SOURCE, UNRELATED

from lms_plugin.core.similarity import ReuseDetector
from lms_plugin.core.text import normalize

SENTENCES = re.split(r"(?<=\.)\s+", SOURCE)
BLOCK = " ".join(SENTENCES[2:5])


def check_passages(essay, source_text, match):
    for p in match.passages:
        assert normalize(essay[p.a_start:p.a_end]) == normalize(source_text[p.b_start:p.b_end])


@pytest.mark.parametrize("between", [" " + OWN_VIEWS[1] + " ", " "])
def test_block_pasted_twice_is_covered_twice(between):
    essay = OWN_VIEWS[0] + " " + BLOCK + between + BLOCK + " " + UNRELATED[2]
    docs = [("source", SOURCE), ("other", UNRELATED[0])]
    detector = ReuseDetector(n_jobs=1).fit(docs)
    result = detector.query(essay)
    share = 2 * len(BLOCK) / len(essay)
    assert result.score == pytest.approx(share, abs=0.05)
    [match] = [m for m in result.matches if m.b == "source"]
    assert match.score == pytest.approx(share, abs=0.05)
    first, second = essay.index(BLOCK), essay.rindex(BLOCK)
    inside_first = [p for p in match.passages if first <= p.a_start and p.a_end <= first + len(BLOCK)]
    inside_second = [p for p in match.passages if second <= p.a_start and p.a_end <= second + len(BLOCK)]
    assert inside_first and inside_second
    assert len(inside_first) + len(inside_second) == len(match.passages)
    for found in (inside_first, inside_second):
        assert sum(p.a_end - p.a_start for p in found) >= 0.85 * len(BLOCK)
    check_passages(essay, SOURCE, match)
    # every passage of the source side lies inside the copied block of the source
    lo = SOURCE.index(BLOCK)
    assert all(lo <= p.b_start and p.b_end <= lo + len(BLOCK) for p in match.passages)


def test_pasted_twice_same_in_pairs_query_and_report_both_directions():
    essay = OWN_VIEWS[0] + " " + BLOCK + " " + OWN_VIEWS[1] + " " + BLOCK
    docs = [("twice", essay), ("source", SOURCE), ("other", UNRELATED[0])]
    detector = ReuseDetector(n_jobs=1).fit(docs)
    pairs = {(m.a, m.b): m for m in detector.pairs(0.05)}
    forward, backward = pairs[("twice", "source")], pairs[("source", "twice")]
    assert forward.score == pytest.approx(2 * len(BLOCK) / len(essay), abs=0.05)
    assert len(forward.passages) == 2
    # the source's block is found at both places of the essay
    assert backward.score == pytest.approx(len(BLOCK) / len(SOURCE), abs=0.05)
    assert len(backward.passages) == 2 and len({(p.a_start, p.a_end) for p in backward.passages}) == 1
    check_passages(essay, SOURCE, forward)
    check_passages(SOURCE, essay, backward)
    for doc_id, text in docs:
        expected = {(m.b, round(m.score, 9), m.passages) for m in pairs.values() if m.a == doc_id}
        for result in (detector.query(text, ignore=[doc_id]), detector.report(doc_id)):
            assert {(m.b, round(m.score, 9), m.passages) for m in result.matches if m.score >= 0.05} == expected


def test_phrase_repeated_many_times_matches_nothing():
    phrase = "chính quyền cấp xã cần chủ động ứng dụng công nghệ thông tin"
    repetitive = " ".join([OWN_VIEWS[0]] + [phrase + "." for _ in range(20)] + [OWN_VIEWS[1]])
    unrelated = UNRELATED[1] + " " + phrase + ". " + UNRELATED[2] + " " + phrase + "."
    detector = ReuseDetector(n_jobs=1).fit([("repetitive", repetitive), ("unrelated", unrelated)])
    assert [m for m in detector.pairs(0.0) if m.passages] == []
    assert all(not m.passages for m in detector.query(repetitive, ignore=["repetitive"]).matches)
    assert all(not m.passages for m in detector.report("repetitive").matches)
    assert detector.query(repetitive, ignore=["repetitive"]).score == 0.0


def test_max_repeats_one_is_the_old_solo_rule():
    essay = OWN_VIEWS[0] + " " + BLOCK + " " + OWN_VIEWS[1] + " " + BLOCK
    detector = ReuseDetector(n_jobs=1, max_repeats=1).fit([("source", SOURCE)])
    assert detector.query(essay).score == 0.0
    with pytest.raises(ValueError):
        ReuseDetector(max_repeats=0).fit([("source", SOURCE)])


def test_repeated_layer_runs_follow_one_diagonal():
    import numpy as np

    from lms_plugin.core.similarity.passages import align_layers

    def runs(b_pos):
        a_pos, b_pos = np.array([0, 4, 8]), np.array(b_pos)
        n = a_pos.size
        one = np.ones(n, dtype=bool)

        def gather(at):
            return a_pos[at], b_pos[at], a_pos[at] * 10, a_pos[at] * 10 + 20, b_pos[at] * 10, b_pos[at] * 10 + 20

        return align_layers(np.zeros(n, np.int64), np.ones(n, np.int64), np.zeros(n, np.int64), one, 4, a_pos,
                            gather, k=2, max_gap=6, dense_gap=6, min_syllables=6)

    copied = runs([20, 24, 29])  # one diagonal, one syllable inserted
    assert copied.pair.tolist() == [0] and (copied.a_start[0], copied.a_end[0]) == (0, 100)
    assert runs([24, 20, 28]).pair.size == 0  # order crossed: no passage
    assert runs([20, 28, 36]).pair.size == 0  # drifts off the diagonal: no passage
