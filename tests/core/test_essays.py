import hashlib
import unicodedata

from lms_plugin.core.essays import check_length, count_words, find_section, sha256

ESSAY = """BÀI THU HOẠCH

I. Thực trạng
Xã Tân Hòa sau sáp nhập có 10.405 nhân khẩu, tăng trưởng 8,5% năm 2025.

II. Kiến nghị, đề xuất
1. Đề nghị Ban Thường vụ Tỉnh ủy phân cấp mạnh hơn cho xã.
2. Đầu tư nền tảng số dùng chung.

III. Kết luận
Xin trân trọng cảm ơn.
"""


def test_vietnamese_words_are_syllables_and_numbers_count_once():
    assert count_words("Xã Tân Hòa có 10.405 nhân khẩu, tăng 8,5%.") == 9


def test_decomposed_text_and_invisible_characters_count_the_same():
    nfc = "Quản trị cấp xã hiệu quả"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    assert count_words(nfd) == count_words(nfc) == 6
    assert count_words("Quản\u200b trị cấp\u00ad xã") == 4


def test_punctuation_alone_is_not_a_word():
    assert count_words("— … ; - Kết luận !") == 2


def test_recommendations_section_runs_to_the_next_heading():
    section = find_section(ESSAY, "Kiến nghị, đề xuất")
    body = section.text_of(ESSAY)
    assert body.startswith("1. Đề nghị Ban Thường vụ")
    assert "nền tảng số dùng chung" in body and "Kết luận" not in body


def test_section_heading_matches_regardless_of_case_and_numbering():
    text = "Mở đầu\n\n3. KIẾN NGHỊ, ĐỀ XUẤT:\nĐề nghị tỉnh hỗ trợ.\n"
    assert find_section(text, "Kiến nghị, đề xuất").text_of(text) == "Đề nghị tỉnh hỗ trợ.\n"
    assert find_section(text, "Giải pháp") is None


def test_receipt_hashes_the_exact_bytes():
    body = "Bài thu hoạch\r\n  với khoảng trắng  "
    assert sha256(body) == hashlib.sha256(body.encode("utf-8")).hexdigest()
    assert sha256(body) != sha256(body.strip())


def test_length_check_against_limits():
    assert check_length("một hai ba", 5).too_short
    assert check_length("một hai ba", 0, 2).too_long
    assert check_length("một hai ba", 3, 3).ok


def test_an_empty_essay_starts_from_the_scenarios_headings():
    from lms_plugin.core.essays import outline
    assert outline(("Thực trạng", "Kiến nghị, đề xuất")) == "## Thực trạng\n\n\n## Kiến nghị, đề xuất\n\n\n"
    assert outline((), "Kiến nghị, đề xuất") == "## Kiến nghị, đề xuất\n\n\n"
    assert outline((), None) == ""


def test_the_recommendations_section_is_missing_empty_or_written():
    from lms_plugin.core.essays import content_words, outline, recommendations_problem
    title = "Kiến nghị, đề xuất"
    assert recommendations_problem(ESSAY, title) is None
    assert recommendations_problem("Xã Tân Hòa kiến nghị, đề xuất với tỉnh.", title) == "missing"
    assert recommendations_problem(ESSAY.replace("1. Đề nghị Ban Thường vụ Tỉnh ủy phân cấp mạnh hơn cho xã.\n"
                                                 "2. Đầu tư nền tảng số dùng chung.\n", "…\n"), title) == "empty"
    assert recommendations_problem(outline((), title), title) == "empty"
    assert recommendations_problem("## kiến nghị đề xuất\nPhân cấp cho xã.", title) is None
    assert recommendations_problem("Không có mục nào", None) is None
    assert content_words(outline(("Thực trạng", title))) == 0 and content_words(ESSAY) > 20
