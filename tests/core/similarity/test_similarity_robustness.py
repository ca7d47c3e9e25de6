"""A copy still scores as a copy under each obfuscation; an unrelated essay does not."""
import re
import unicodedata

import pytest
from vietnamese_samples import OWN_VIEWS, SOURCE, UNRELATED

from lms_plugin.core.similarity import ReuseDetector

NEW_TO_OLD_TONE = {
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}


def old_tone_placement(text):
    changed = re.sub("|".join(NEW_TO_OLD_TONE), lambda m: NEW_TO_OLD_TONE[m.group()], text)
    assert changed != text
    return changed


def zero_width(text):
    return re.sub(r"(\w)(\w)", "\\1\u200b\\2", text)


def look_alikes(text):
    return text.translate(str.maketrans({"o": "о", "a": "а", "e": "е", "c": "с", "p": "р", "i": "ι"}))


def case_changes(text):
    return " ".join(w.upper() if i % 3 == 0 else w.title() for i, w in enumerate(text.split()))


def punctuation_changes(text):
    words = re.sub(r"[.,:;]", "", text).split()
    return " ".join(w + ("," if i % 7 == 3 else "") + ("!" if i % 11 == 5 else "") for i, w in enumerate(words))


def reorder_and_edit(text):
    sentences = [s for s in re.split(r"(?<=\.)\s+", text) if s]
    edited = " ".join(reversed(sentences))
    for old, new in [("cần", "phải"), ("người dân", "bà con"), ("nhanh chóng", "kịp thời")]:
        edited = edited.replace(old, new, 1)
    return edited


OBFUSCATIONS = {
    "nfd": lambda t: unicodedata.normalize("NFD", t),
    "old_tone_placement": old_tone_placement,
    "zero_width_chars": zero_width,
    "cyrillic_greek_look_alikes": look_alikes,
    "case_changes": case_changes,
    "punctuation_changes": punctuation_changes,
    "sentence_reordering_light_edits": reorder_and_edit,
}


@pytest.fixture(scope="module")
def detector():
    docs = [("source", SOURCE)] + [(f"other-{i}", t) for i, t in enumerate(UNRELATED)]
    return ReuseDetector(n_jobs=1).fit(docs)


def score_against_source(result):
    return max((m.score for m in result.matches if m.b == "source"), default=0.0)


@pytest.mark.parametrize("name", list(OBFUSCATIONS))
def test_obfuscated_copy_still_scores_as_a_copy(detector, name):
    copy = OBFUSCATIONS[name](SOURCE)
    result = detector.query(copy)
    expected = 0.6 if name == "sentence_reordering_light_edits" else 0.9
    assert score_against_source(result) >= expected
    assert result.sources[0].source == "source"
    # every passage slices the obfuscated text to the same words as the source
    for match in result.matches:
        for p in match.passages:
            assert p.a_end > p.a_start and p.b_end > p.b_start


@pytest.mark.parametrize("name", list(OBFUSCATIONS))
def test_unrelated_essay_does_not_score(detector, name):
    essay = OBFUSCATIONS[name](OWN_VIEWS[0] + " " + OWN_VIEWS[1]) if name != "old_tone_placement" \
        else OWN_VIEWS[0] + " thuỷ lợi hoà bình"
    result = detector.query(essay)
    assert result.score < 0.1
    assert all(m.score < 0.1 for m in result.matches)


def test_passage_copied_into_a_longer_essay():
    sentences = re.split(r"(?<=\.)\s+", SOURCE)
    copied = " ".join(sentences[2:5])
    essay = OWN_VIEWS[0] + " " + copied + " " + OWN_VIEWS[1]
    detector = ReuseDetector(n_jobs=1).fit([("source", SOURCE), ("other", UNRELATED[0])])
    result = detector.query(essay)
    share = len(copied) / len(essay)
    assert result.score == pytest.approx(share, abs=0.05)
    [match] = [m for m in result.matches if m.b == "source"]
    [passage] = match.passages
    # inside the copied block in both texts, missing at most a few syllables at its ends
    found_in_essay = essay[passage.a_start:passage.a_end]
    assert found_in_essay == SOURCE[passage.b_start:passage.b_end]
    assert found_in_essay in copied and len(found_in_essay) >= 0.85 * len(copied)


def test_heavy_rewording_is_seen_by_the_paraphrase_signal():
    docs = [("source", SOURCE)] + [(f"other-{i}", t) for i, t in enumerate(UNRELATED)]
    detector = ReuseDetector(n_jobs=1, min_paraphrase=0.3).fit(docs)
    reworded = ("Giữa thời kỳ chuyển đổi số, chính quyền xã nên tích cực dùng công nghệ thông tin khi giải quyết "
                "thủ tục hành chính cho dân, bảo đảm minh bạch, nhanh và hiệu quả; cán bộ một cửa được tập huấn "
                "kỹ năng số, hướng dẫn bà con dùng dịch vụ công trực tuyến, lập tổ hỗ trợ lưu động cho người "
                "cao tuổi và hộ nghèo, lấy ý kiến đánh giá sự hài lòng sau mỗi giao dịch.")
    reworded_result = detector.query(reworded)
    unrelated_result = detector.query(OWN_VIEWS[1])
    cos = {m.b: m.paraphrase for m in reworded_result.matches}
    assert cos.get("source", 0) >= 0.3
    assert reworded_result.score < 0.1  # no verbatim passage: only the paraphrase signal sees it
    assert all(m.paraphrase < 0.3 for m in unrelated_result.matches)
