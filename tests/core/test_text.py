import threading
import unicodedata

import numpy as np
import pytest

from lms_plugin.core.text import hash_syllables, normalize, tokenize


def same_syllables(a: str, b: str) -> bool:
    ha, hb = hash_syllables([a, b]), hash_syllables([a, b])
    first = ha.hashes[ha.bounds[0]:ha.bounds[1]]
    second = hb.hashes[hb.bounds[1]:hb.bounds[2]]
    return normalize(a) == normalize(b) and np.array_equal(first, second)


@pytest.mark.parametrize("old, new", [
    ("hoà", "hòa"), ("thuý", "thúy"), ("khoẻ", "khỏe"), ("hoá", "hóa"), ("quý", "qúy"),
    ("Thuỷ lợi", "Thủy lợi"), ("loè loẹt", "lòe lọet"),
])
def test_old_and_new_tone_placement_fold_to_one_form(old, new):
    assert same_syllables(old, new)


def test_nfd_and_nfc_fold_alike_with_offsets_into_the_original():
    nfc = "Người dân xã Tân Hoà phản ánh"
    nfd = unicodedata.normalize("NFD", nfc)
    assert same_syllables(nfc, nfd)
    for token in tokenize(nfd):
        assert normalize(nfd[token.start:token.end]) == token.text


def test_zero_width_characters_are_invisible():
    text = "chuyển\u200b đổi s\u200bố\ufeff và c\u200dải cách"
    assert normalize(text) == "chuyển đổi số và cải cách"
    tokens = tokenize(text)
    assert text[tokens[2].start:tokens[2].end] == "s\u200bố"


def test_cyrillic_and_greek_look_alikes_become_latin():
    assert normalize("Сác рhòng bаn") == normalize("Các phòng ban")  # Cyrillic С р а
    assert normalize("Τοàn bộ") == normalize("Toàn bộ")  # Greek Τ ο


def test_case_and_punctuation_are_dropped():
    assert normalize("CHÍNH QUYỀN, địa-phương!!! (cấp xã)") == "chính quyền địa phương cấp xã"


def test_latin_words_and_digits_tokenise():
    assert normalize("Plagiarism is NOT new: 2011 study.") == "plagiarism is not new 2011 study"


def test_offsets_survive_characters_outside_the_bmp():
    text = "a 😀 bạn 𝐱 khoẻ"
    for token in tokenize(text):
        assert normalize(text[token.start:token.end]) == token.text
    syl = hash_syllables([text])
    assert [text[a:b] for a, b in zip(syl.starts, syl.ends)] == ["a", "bạn", "khoẻ"]


def test_vectorised_hashes_match_tokenize_spans():
    texts = ["Xin chào các bạn.", unicodedata.normalize("NFD", "Hoà bình, độc lập"), "", "một\u200b hai"]
    syl = hash_syllables(texts)
    for i, text in enumerate(texts):
        spans = list(zip(syl.starts[syl.bounds[i]:syl.bounds[i + 1]].tolist(),
                         syl.ends[syl.bounds[i]:syl.bounds[i + 1]].tolist()))
        assert spans == [(t.start, t.end) for t in tokenize(text)]


def test_equal_syllables_hash_equal_and_different_ones_differ():
    syl = hash_syllables(["ma má mà mả mã mạ hoà hòa"])
    h = syl.hashes.tolist()
    assert len(set(h[:6])) == 6
    assert h[6] == h[7]


from hypothesis import given, settings, strategies as st  # noqa: E402

_ALPHABET = st.sampled_from(list("aăâeêioôơuưyđbcghknqtx AĂÂĐOƠƯ.,;!?-\n\t0123456789")
                            + ["\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "\u031b",
                               "\u200b", "\ufeff", "о", "α", "😀", "ﬁ"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_any_text_tokens_slice_the_original(text):
    tokens = tokenize(text)
    syl = hash_syllables([text, text])
    assert [(t.start, t.end) for t in tokens] == list(zip(syl.starts[:len(tokens)].tolist(),
                                                          syl.ends[:len(tokens)].tolist()))
    assert np.array_equal(syl.hashes[:len(tokens)], syl.hashes[len(tokens):])
    for token in tokens:
        assert 0 <= token.start < token.end <= len(text)
        assert normalize(text[token.start:token.end]) == token.text


def test_threads_growing_the_syllable_tables_at_once_each_hash_correctly(monkeypatch):
    """Two worker threads hash at once while one of them grows the shared power tables: the other must
    never pair a grown table with a short one (it failed with IndexError, and every later check of that
    worker failed too). The growth is held half done until the other thread has hashed its essay."""
    from lms_plugin.core import text

    essay = "Cán bộ địa chính phải đối chiếu thủ công từng hồ sơ của xã. " * 40
    long_text = "Người dân đến hỏi ngày càng đông, hồ sơ chất đống. " * 3000       # grows the tables
    expected = {t: hash_syllables([t]).hashes for t in (essay, long_text)}
    monkeypatch.setattr(text, "_POWERS", text._Powers())          # as a fresh worker has them

    growing, essay_done = threading.Event(), threading.Event()
    original = text._Powers._powers

    def slow(base, size):
        out = original(base, size)
        if size >= len(long_text) and base != text._BASE:    # the inverse table of the growth
            growing.set()
            essay_done.wait(timeout=5)
        return out
    monkeypatch.setattr(text._Powers, "_powers", staticmethod(slow))

    results, errors = {}, []

    def hash_one(t, after=None, then=None):
        try:
            if after is not None:
                after.wait(timeout=5)
            results[t] = hash_syllables([t]).hashes
        except Exception as exc:        # noqa: BLE001 - the failure is what the test looks for
            errors.append(exc)
        finally:
            if then is not None:
                then.set()
    threads = [threading.Thread(target=hash_one, args=(long_text,)),
               threading.Thread(target=hash_one, args=(essay, growing, essay_done))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=10)
    assert errors == []
    for t, hashes in expected.items():
        assert np.array_equal(results[t], hashes)
    assert np.array_equal(hash_syllables([essay]).hashes, expected[essay])     # and every later hash too
