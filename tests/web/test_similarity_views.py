"""Similarity in the product: the examiner's summary and side-by-side page, the lecturer's cohort view.

Two cadres write their own essays; the second copies one paragraph of the
first. Everything goes through the services and the inline similarity check.
"""
from __future__ import annotations

import html
import re

import pytest

from lms_plugin.services import accounts, essays, references
from lms_plugin.store import models as m
from lms_plugin.web.similarity_views import highlight
from tests.web.conftest import first_assignment, login

# The first cadre's essay: land records piling up after communes merged.
ORIGINAL = [
    "Sau khi sắp xếp đơn vị hành chính, xã mới tiếp nhận toàn bộ hồ sơ đất đai của ba xã cũ nhưng phần mềm "
    "quản lý của mỗi nơi lại khác nhau. Nhiều thửa đất có số hiệu trùng nhau, bản đồ địa chính chưa được chỉnh "
    "lý từ năm hai nghìn mười lăm, còn sổ mục kê viết tay đã ố vàng. Người dân đến hỏi tiến độ thì cán bộ phải "
    "lục tìm trong các tủ hồ sơ chất cao đến trần nhà, mất cả buổi mới trả lời được một trường hợp.",
    "Theo tôi, việc đầu tiên là lập tổ công tác liên ngành gồm địa chính, tư pháp và văn phòng, có phó chủ tịch "
    "phụ trách trực tiếp. Tổ này rà soát từng hồ sơ tồn đọng, phân loại theo mức độ phức tạp: hồ sơ đủ điều kiện "
    "thì giải quyết ngay trong tháng, hồ sơ vướng tranh chấp thì chuyển sang hòa giải ở thôn, còn hồ sơ thiếu "
    "giấy tờ thì gửi thông báo bằng văn bản cho người dân kèm danh mục cần bổ sung.",
    "Bên cạnh đó, xã nên đề nghị huyện hỗ trợ kinh phí số hóa, thuê thêm hai nhân viên hợp đồng nhập liệu trong "
    "sáu tháng và tập huấn cho công chức cách dùng phần mềm thống nhất. Mỗi tuần, bộ phận một cửa niêm yết danh "
    "sách hồ sơ đã giải quyết và hồ sơ còn chậm, ghi rõ lý do, để người dân giám sát và đỡ phải đi lại nhiều lần.",
    "Bài học rút ra là khi hợp nhất đơn vị hành chính phải tính trước khối lượng công việc chuyển giao, không "
    "thể chỉ cộng dồn biên chế. Cán bộ lãnh đạo cần trực tiếp nắm số liệu, họp giao ban định kỳ và chịu trách "
    "nhiệm về thời hạn trả kết quả, có như vậy mới lấy lại được lòng tin của nhân dân đối với chính quyền cơ sở.",
]
# The second cadre's own paragraphs: queues at the one-stop desk.
OWN = [
    "Xã chúng tôi cũng gặp tình trạng tương tự khi bộ phận tiếp nhận quá tải vào những ngày đầu tuần. Hàng chục "
    "người xếp hàng từ sáng sớm chỉ để nộp đơn xin cấp giấy chứng nhận quyền sử dụng đất, trong khi máy tính "
    "thường xuyên treo và đường truyền mạng chập chờn. Có hôm cán bộ phải ghi phiếu hẹn bằng tay rồi tối về "
    "mới nhập lại vào hệ thống.",
    "Nguyên nhân sâu xa nằm ở chỗ quy trình còn nhiều bước trung gian, một bộ hồ sơ phải qua bốn người ký trước "
    "khi chuyển lên văn phòng đăng ký đất đai. Thông tin về thời hạn giải quyết không được công khai nên người "
    "dân chỉ biết gọi điện hỏi thăm, làm cán bộ mất thêm thời gian trả lời điện thoại thay vì xử lý chuyên môn.",
    "Tôi đề xuất rút gọn quy trình xuống còn hai cấp ký, áp dụng phiếu theo dõi điện tử có mã QR để người dân "
    "tự tra cứu tình trạng hồ sơ trên điện thoại. Đồng thời cần phân công một cán bộ trực hướng dẫn tại sảnh, "
    "chuẩn bị sẵn mẫu đơn đã điền ví dụ và tổ chức tiếp nhận theo lịch hẹn để giảm cảnh chen lấn giờ cao điểm.",
    "Qua tình huống này, tôi nhận thấy cải cách hành chính không chỉ là mua sắm thiết bị mà trước hết là thay "
    "đổi cách làm việc của con người. Mỗi cán bộ cần coi người dân là đối tượng phục vụ, chủ động báo trước khi "
    "hồ sơ có vướng mắc và thẳng thắn nhận lỗi khi để chậm trễ.",
]
PLACES = ["Ở thôn Đông Hòa,", "Tại khu dân cư số hai,", "Với thôn Bến Đình,", "Riêng ở thôn Trại Mới,"]
# The paragraph the second cadre copies: the first cadre's proposals, about 200 words.
COPIED = " ".join(ORIGINAL[1:3]) + (
    " Cuối mỗi tháng, tổ công tác báo cáo Đảng ủy số hồ sơ đã xử lý, số hồ sơ quá hạn và kiến nghị tháo gỡ, "
    "để cấp ủy kịp thời chỉ đạo những trường hợp phức tạp và biểu dương cán bộ làm tốt.")
PAYLOAD = "<script>alert(1)</script>"


def _told(place: str, text: str) -> str:
    return f"{place} {text[0].lower()}{text[1:]}"


def original_essay(copied: str = COPIED) -> str:
    """About 900 words: the situation and lessons told for three villages, the proposals once."""
    parts = [_told(place, text) for place in PLACES[:3] for text in (ORIGINAL[0], ORIGINAL[3])]
    return ("# Thực trạng và giải pháp\n\n" + "\n\n".join(parts[:2] + [copied] + parts[2:])
            + "\n\n# Kiến nghị, đề xuất\n\nĐề nghị tỉnh sớm ban hành quy trình liên thông.\n")


def copying_essay(copied: str = COPIED) -> str:
    """About 650 words, a third of them the first cadre's proposals."""
    own = OWN + [_told(PLACES[3], text) for text in OWN[:2]]
    return ("# Bài thu hoạch\n\n" + "\n\n".join(own[:2] + [copied] + own[2:])
            + "\n\n# Kiến nghị, đề xuất\n\nKiến nghị bổ sung biên chế công chức địa chính cho xã.\n")


def submit(session, username: str, body: str) -> int:
    cadre = accounts.get_user(session, username)
    receipt = essays.submit_essay(session, cadre, first_assignment(session).id, body)
    session.commit()            # the similarity check runs after the commit (inline)
    return receipt.id


@pytest.fixture
def pair(demo, session):
    """(original essay id, copying essay id)."""
    first = submit(session, "cadre1", original_essay())
    return first, submit(session, "cadre4", copying_essay())


def signed_in(app, username: str):
    client = app.test_client()
    login(client, username)
    return client


def marked(page: str, side: str) -> list[str]:
    """The unescaped text of each <mark> in one column of the side-by-side view."""
    column = page.split(f'data-test="{side}"', 1)[1].split("</div>", 1)[0]
    return [html.unescape(text) for text in re.findall(r"<mark [^>]*>(.*?)</mark>", column, re.S)]


def authors(session) -> list[str]:
    return [secret for name in ("cadre1", "cadre4") for secret in
            (accounts.get_user(session, name).display_name, accounts.get_user(session, name).username)]


def test_highlight_cuts_text_at_the_offsets_and_clips_overlaps():
    assert highlight("abcdefgh", [(2, 4), (3, 6)]) == [("ab", None), ("cd", 1), ("ef", 2), ("gh", None)]
    assert highlight("abc", []) == [("abc", None)]
    assert highlight("abc", [(0, 3)]) == [("abc", 1)]
    assert highlight("abc", [(1, 99), (5, 7)]) == [("a", None), ("bc", 1)]


def test_examiner_sees_score_source_and_the_copied_passage_marked_in_both_columns(app, session, pair):
    first, copier = pair
    examiner = signed_in(app, "examiner1")
    page = examiner.get(f"/examiner/essays/{copier}").text
    slot = page.split('data-test="similarity"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'data-test="similarity-score">\s*<strong[^>]*>\d+%</strong>', slot)
    assert "Chỉ số trùng lặp là gợi ý để giám khảo đọc kỹ, không phải kết luận" in slot
    assert f"Bài thu hoạch #{first}" in slot and "bài của học viên khác" in slot
    assert 'data-test="flagged"' in slot                      # its share is above SIMILARITY_FLAG_SCORE
    assert f'href="/similarity/essays/{copier}' in slot

    side = examiner.get(f"/similarity/essays/{copier}")
    assert side.status_code == 200
    text = side.text
    assert f"Bài thu hoạch #{first}" in text
    ours, theirs = marked(text, "essay-side"), marked(text, "source-side")
    assert any(COPIED[20:600] in piece for piece in ours), ours
    assert any(COPIED[20:600] in piece for piece in theirs), theirs
    assert len(ours) == len(theirs)                            # numbered alike on both sides
    for secret in authors(session):
        assert secret not in page and secret not in text


def test_the_original_writer_s_examiner_sees_the_pair_too(app, pair):
    first, copier = pair
    page = signed_in(app, "examiner2").get(f"/similarity/essays/{first}").text
    assert f"Bài thu hoạch #{copier}" in page
    assert any(COPIED[20:200] in piece for piece in marked(page, "essay-side"))


def test_essay_text_is_escaped_in_the_side_by_side_view(app, demo, session):
    copied = COPIED.replace("trực tiếp.", f"trực tiếp {PAYLOAD} <b onmouseover=alert(2)>đậm</b>.")
    submit(session, "cadre1", original_essay(copied) + PAYLOAD)
    copier = submit(session, "cadre4", copying_essay(copied) + "<img src=x onerror=alert(3)>")
    for username in ("examiner1", "lecturer1"):
        page = signed_in(app, username).get(f"/similarity/essays/{copier}").text
        assert "<script>alert(1)" not in page and "<b onmouseover" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(3)&gt;" in page
        assert any(PAYLOAD in piece for piece in marked(page, "source-side"))


def test_lecturer_cohort_page_ranks_the_copier_first_and_shows_the_cluster(app, session, pair):
    first, copier = pair
    lecturer = signed_in(app, "lecturer1")
    assignment_id = first_assignment(session).id
    assert f'href="/similarity/assignments/{assignment_id}"' in lecturer.get(
        f"/lecturer/assignments/{assignment_id}").text
    page = lecturer.get(f"/similarity/assignments/{assignment_id}").text
    ranked = re.findall(r'data-test="ranked-(\d+)"', page)
    assert ranked[0] == str(copier) and str(first) in ranked
    assert f'data-test="pair-{copier}-{first}"' in page
    cluster = page.split('data-test="cluster"', 1)[1].split("</li>", 1)[0]
    assert f"Bài số {first}" in cluster and f"Bài số {copier}" in cluster
    assert 'name="min"' in page and 'value="0.25"' in page
    assert "Cách đọc các con số" in page and "không phải kết luận" in page
    assert f'href="/similarity/essays/{copier}"' in page
    assert signed_in(app, "admin1").get(f"/similarity/assignments/{assignment_id}").status_code == 200
    assert lecturer.get(f"/similarity/essays/{copier}").status_code == 200
    assert 'data-test="unchecked"' not in page
    report = session.query(m.SimilarityReport).filter_by(essay_id=first).one()
    report.status = "failed"
    session.commit()
    page = html.unescape(lecturer.get(f"/similarity/assignments/{assignment_id}").text)
    assert "1 bài chưa có kết quả kiểm tra (đang kiểm tra hoặc bị lỗi)" in page


def test_threshold_is_a_form_field(app, session, pair):
    lecturer = signed_in(app, "lecturer1")
    url = f"/similarity/assignments/{first_assignment(session).id}"
    strict = lecturer.get(f"{url}?min=0.99")
    assert strict.status_code == 200 and 'data-test="no-pairs"' in strict.text and 'value="0.99"' in strict.text
    wrong = lecturer.get(f"{url}?min=abc")
    assert wrong.status_code == 422 and 'data-test="threshold-error"' in wrong.text
    assert lecturer.get(f"{url}?min=2").status_code == 422


def test_pending_and_failed_reports_are_shown_honestly(app, session, pair):
    _first, copier = pair
    report = session.query(m.SimilarityReport).filter_by(essay_id=copier).one()
    examiner = signed_in(app, "examiner1")
    report.status = "pending"
    session.commit()
    assert "Đang kiểm tra" in examiner.get(f"/examiner/essays/{copier}").text
    report.status, report.error = "failed", "RuntimeError: boom"
    session.commit()
    page = examiner.get(f"/examiner/essays/{copier}").text
    assert "Không kiểm tra được" in page and "boom" not in page
    session.delete(report)
    session.commit()
    assert "Chưa có báo cáo trùng lặp" in examiner.get(f"/examiner/essays/{copier}").text
    assert examiner.get(f"/similarity/essays/{copier}").status_code == 404


def test_cadres_and_other_examiners_never_see_reports(app, session, pair):
    first, copier = pair
    assignment_id = first_assignment(session).id
    for username in ("cadre1", "cadre4"):
        cadre = signed_in(app, username)
        assert cadre.get(f"/similarity/essays/{copier}").status_code == 403
        assert cadre.get(f"/similarity/essays/{first}").status_code == 403
        assert cadre.get(f"/similarity/assignments/{assignment_id}").status_code == 403
    accounts.create_user(session, "examiner9", "examiner", "mat-khau-demo")
    session.commit()
    outsider = signed_in(app, "examiner9")
    assert outsider.get(f"/similarity/essays/{copier}").status_code == 404
    assert signed_in(app, "examiner1").get(f"/similarity/assignments/{assignment_id}").status_code == 403
    assert app.test_client().get(f"/similarity/essays/{copier}").status_code == 302


REFERENCE = ("Nghị định quy định bộ phận một cửa phải công khai thủ tục hành chính, thời hạn giải quyết và "
             "phí, lệ phí; cán bộ tiếp nhận hướng dẫn tổ chức, cá nhân hoàn thiện hồ sơ một lần, không "
             "được yêu cầu bổ sung giấy tờ ngoài danh mục đã công bố và phải xin lỗi khi trả kết quả trễ hẹn. ")


def copy_of_three(session) -> int:
    """cadre2 copies the first cadre's proposals and a paragraph of a reference text the lecturer added:
    an essay with three sources (the pair's two essays and the reference)."""
    lecturer = accounts.get_user(session, "lecturer1")
    course_id = first_assignment(session).cohort.course_id
    references.add_reference(session, lecturer, course_id, "Nghị định về cơ chế một cửa", "reference",
                             "Điều 5. Nguyên tắc thực hiện.\n" + REFERENCE + "Điều 6. Trách nhiệm của cán bộ.")
    session.commit()
    return submit(session, "cadre2", copying_essay().replace(OWN[3], REFERENCE))


def test_a_reference_text_is_named_by_its_title_and_several_sources_have_tabs(app, session, pair):
    first, _copier = pair
    reference = REFERENCE
    third = copy_of_three(session)
    page = signed_in(app, "lecturer1").get(f"/similarity/essays/{third}").text
    assert "Nghị định về cơ chế một cửa" in page and "văn bản tham chiếu" in page
    assert 'data-test="source-tab-1"' in page
    tab = re.search(r'source=(\d)#compare"[^>]*data-test="source-tab-\d">Nghị định', page)
    other = signed_in(app, "lecturer1").get(f"/similarity/essays/{third}?source={tab.group(1)}").text
    assert any(reference[40:160] in piece for piece in marked(other, "source-side"))
    assert any(reference[40:160] in piece for piece in marked(other, "essay-side"))
    fallback = signed_in(app, "lecturer1").get(f"/similarity/essays/{third}?source=99")
    assert fallback.status_code == 200 and 'data-test="compare"' in fallback.text
    assert f"Bài thu hoạch #{first}" in page


def test_a_long_list_of_sources_shows_the_first_ones_and_offers_all(app, session, pair):
    """A text passed round a large cohort has hundreds of sources; the page lists the strongest."""
    third = copy_of_three(session)
    app.config["SIMILARITY_SOURCES_SHOWN"] = 1
    lecturer = signed_in(app, "lecturer1")
    page = html.unescape(lecturer.get(f"/similarity/essays/{third}").text)
    assert page.count('data-test="similarity-source"') == 1
    assert "và 2 nguồn khác có ít đoạn trùng hơn." in page
    assert 'data-test="source-tab-0"' in page and 'data-test="source-tab-2"' not in page
    everything = html.unescape(lecturer.get(f"/similarity/essays/{third}?sources=all").text)
    assert everything.count('data-test="similarity-source"') == 3 and 'data-test="similarity-more"' not in everything
    assert 'data-test="source-tab-2"' in everything
    chosen = lecturer.get(f"/similarity/essays/{third}?source=2").text
    assert 'data-test="source-tab-2"' in chosen                 # the source being compared keeps its tab
    examiner_page = signed_in(app, "examiner1").get(f"/examiner/essays/{third}").text
    assert f'/examiner/essays/{third}?sources=all' in examiner_page   # the link stays on the marking page


def test_the_cohort_page_shows_the_first_rows_and_offers_all(app, session, pair):
    """A leaked text makes clusters and pair lists of hundreds; the page starts with the strongest."""
    first, copier = pair
    app.config["SIMILARITY_ROWS_SHOWN"] = 1
    lecturer = signed_in(app, "lecturer1")
    assignment_id = first_assignment(session).id
    page = html.unescape(lecturer.get(f"/similarity/assignments/{assignment_id}?min=0.05").text)
    assert len(re.findall(r'data-test="ranked-\d+"', page)) == 1 and len(re.findall(r'data-test="pair-', page)) == 1
    assert page.count("Đang hiện 1 trên 2.") == 2 and "và 1 bài khác" in page
    assert f"/similarity/assignments/{assignment_id}?min=0.05&amp;rows=all" in lecturer.get(
        f"/similarity/assignments/{assignment_id}?min=0.05").text
    everything = lecturer.get(f"/similarity/assignments/{assignment_id}?min=0.05&rows=all").text
    assert len(re.findall(r'data-test="ranked-\d+"', everything)) == 2
    assert len(re.findall(r'data-test="pair-', everything)) == 2 and 'data-test="rows-more"' not in everything
