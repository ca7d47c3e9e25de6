"""A copied block is reported whole: its passage runs from its first to its
last syllable in both texts, whatever the winnowing window left out."""
import re

import numpy as np
import pytest
from vietnamese_samples import OWN_VIEWS, SOURCE, UNRELATED

from lms_plugin.core.similarity import ReuseDetector

SENTENCES = re.split(r"(?<=\.)\s+", SOURCE)


def block(first, last):
    """Sentences first..last of SOURCE without the closing full stop, so the
    block ends on a word."""
    return " ".join(SENTENCES[first:last + 1]).rstrip(".")


@pytest.mark.parametrize("first,last", [(1, 2), (2, 4), (3, 3), (5, 7)])
@pytest.mark.parametrize("window", [4, 8, 12])
def test_the_passage_is_the_whole_copied_block(first, last, window):
    copied = block(first, last)
    essay = OWN_VIEWS[0] + " Theo tôi, " + copied + " là điều cần làm ngay. " + OWN_VIEWS[1]
    detector = ReuseDetector(n_jobs=1, window=window).fit([("source", SOURCE), ("other", UNRELATED[0])])
    [match] = [m for m in detector.query(essay).matches if m.b == "source"]
    [passage] = match.passages
    assert essay[passage.a_start:passage.a_end] == copied
    assert SOURCE[passage.b_start:passage.b_end] == copied
    words = essay.strip().rstrip(".")  # the score divides by first word to last
    assert match.score == pytest.approx(len(copied) / len(words), abs=1e-9)


def test_pairs_report_the_same_whole_passages_as_query():
    copied = block(2, 4)
    essay = UNRELATED[1] + " " + copied + ", nhưng xã tôi còn thiếu người. " + OWN_VIEWS[0]
    detector = ReuseDetector(n_jobs=1).fit([("source", SOURCE), ("essay", essay)])
    found = {(m.a, m.b): m for m in detector.pairs(0.05)}
    [passage] = found[("essay", "source")].passages
    assert essay[passage.a_start:passage.a_end] == copied
    assert found[("essay", "source")] == next(m for m in detector.report("essay").matches if m.b == "source")


def test_an_edit_next_to_the_block_stops_the_passage_there():
    copied = block(2, 4)
    assert copied.startswith("Cán bộ một cửa cần")
    edited = "Nhân viên tiếp dân" + copied[len("Cán bộ một cửa"):]  # the block's first words reworded
    essay = OWN_VIEWS[0] + " " + edited + ". " + OWN_VIEWS[1]
    detector = ReuseDetector(n_jobs=1).fit([("source", SOURCE)])
    [match] = [m for m in detector.query(essay).matches if m.b == "source"]
    [passage] = match.passages
    assert essay[passage.a_start:passage.a_end] == edited[edited.index("cần"):]


def test_an_index_saved_without_texts_still_answers(tmp_path):
    copied = block(2, 4)
    essay = OWN_VIEWS[0] + " " + copied + ". " + OWN_VIEWS[1]
    detector = ReuseDetector(n_jobs=1).fit([("source", SOURCE), ("other", UNRELATED[0])])
    path = tmp_path / "old.npz"
    detector.save(path)
    with np.load(path) as z:  # the first file format had no texts
        old = {name: z[name] for name in z.files if name not in ("text_bytes", "text_ends")}
    old["format"] = np.array("caselab-reuse-index-1")
    np.savez(path, **old)
    loaded = ReuseDetector.load(path)
    [match] = [m for m in loaded.query(essay).matches if m.b == "source"]
    assert 0.8 * len(copied) <= sum(p.a_end - p.a_start for p in match.passages) <= len(copied)


def test_passages_are_the_same_when_their_ends_are_read_in_small_batches(monkeypatch):
    from lms_plugin.core.similarity import edges
    docs = [("source", SOURCE)] + [(f"e{i}", OWN_VIEWS[i % 2] + " " + block(i, i + 2) + ". " + UNRELATED[i % 3])
                                   for i in range(5)]
    whole = ReuseDetector(n_jobs=1).fit(docs).pairs(0.05)
    monkeypatch.setattr(edges, "_BATCH", 1)
    assert ReuseDetector(n_jobs=1).fit(docs).pairs(0.05) == whole
    assert len(whole) >= 10
