"""The whole course in a browser (issue #3's must-show), and the cadre pages on a phone.

A lecturer uploads and assigns a new scenario; two cadres of one group play it, discuss,
co-write the group report and submit essays; two examiners grade blind; the lecturer
releases; the cadre sees the grade. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import re
import time
import uuid

import pytest
from sqlalchemy import select

from lms_plugin.core.essays import count_words, sha256
from lms_plugin.store import models as m
from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e

WAIT = 15_000         # ms: the longest any one step may take (polling and autosave run every second here)
CADRE_NAMES = ("Đặng Văn An", "Hoàng Thị Bích", "cadre1", "cadre2", "Tân Hòa")


def scenario_yaml(slug: str) -> str:
    return f"""\
id: {slug}
version: 1
topic: 1
title: Trình diễn - Mở rộng đường liên thôn sau sáp nhập
summary: Xã mới hợp nhất phải chọn cách làm đường liên thôn khi người dân hai thôn cũ chưa đồng thuận.
context: |
  Xã **Tân Hòa** mới được hợp nhất từ ba xã cũ. Tuyến đường liên thôn dài 4,2 km cần mở rộng,
  12 hộ phải hiến đất, ngân sách xã còn 1.250 triệu đồng.
stages:
  - id: s1
    prompt: Đồng chí chỉ đạo bước đầu tiên thế nào?
    choices:
      - id: a
        text: Tổ chức họp dân ở cả hai thôn, công khai phương án và dự toán
        feedback: Đúng hướng - dân được biết, được bàn trước khi quyết.
        points: 2
        next: s2
      - id: b
        text: Giao trưởng thôn tự vận động các hộ hiến đất
        feedback: Dễ đùn đẩy trách nhiệm, thiếu minh bạch.
        points: 0
        next: end-weak
  - id: s2
    prompt: Ba hộ vẫn chưa đồng ý hiến đất. Đồng chí làm gì tiếp?
    choices:
      - id: a
        text: Đối thoại riêng từng hộ, điều chỉnh tim đường ở đoạn khó
        feedback: Linh hoạt và tôn trọng người dân.
        points: 1
        next: end-good
  - id: end-good
    prompt: Tuyến đường khởi công đúng hạn, người dân đồng thuận.
  - id: end-weak
    prompt: Việc vận động kéo dài, công trình chậm tiến độ.
discussion:
  prompt: Nhóm thống nhất ba việc xã cần làm ngay để người dân đồng thuận.
  group_report: true
essay:
  prompt: Viết bài thu hoạch ngắn về cách vận động người dân hiến đất làm đường.
  rubric: thu-hoach-co-so
  min_words: 30
  max_words: 400
  recommendations_section: Kiến nghị, đề xuất
"""


ESSAY_1 = ("Bài học về vận động nhân dân hiến đất làm đường liên thôn.\n\n"
           "Xã mới hợp nhất cần công khai phương án, dự toán 1.250 triệu đồng và lắng nghe ý kiến của từng hộ.\n\n"
           "Kiến nghị, đề xuất\nTỉnh hỗ trợ kinh phí bồi thường cây cối, hoa màu cho 12 hộ hiến đất.")
ESSAY_2 = ("Kinh nghiệm từ tình huống mở rộng tuyến đường 4,2 km cho thấy đối thoại trực tiếp quan trọng hơn "
           "mệnh lệnh hành chính.\n\nKiến nghị, đề xuất\nXã lập tổ công tác gồm Mặt trận, đoàn thể và trưởng thôn; "
           "tỉnh hướng dẫn cơ chế hỗ trợ.")


def essay_ids(live_server, assignment_id: int) -> list[int]:
    with live_server["sessions"]() as session:
        return list(session.scalars(select(m.Essay.id).where(m.Essay.assignment_id == assignment_id)
                                    .order_by(m.Essay.id)))


def play_case(page, base: str, assignment_id: int, name: str) -> None:
    page.goto(f"{base}/cadre/")
    page.click(f'[data-test="assignment-{assignment_id}"]')
    page.click('[data-test="tab-case"]')
    page.click('[data-test="choice-a"]')
    page.wait_for_selector('[data-test="feedback"]:has-text("Đúng hướng")', timeout=WAIT)
    assert page.locator('[data-test="path"]').is_visible()
    page.click('[data-test="choice-a"]')
    page.wait_for_selector('[data-test="ending"]', timeout=WAIT)
    assert "Tuyến đường khởi công đúng hạn" in page.inner_text('[data-test="ending"]')
    assert page.locator('[data-test="retry"]').count() == 0          # the lecturer did not allow retries
    shot(page, name)


def write_essay(page, base: str, assignment_id: int, text: str, name: str) -> str:
    page.goto(f"{base}/cadre/assignments/{assignment_id}/essay")
    page.fill('[data-test="essay-body"]', text)
    assert page.inner_text('[data-test="word-count"]') == str(count_words(text))
    page.wait_for_selector('[data-test="autosave-status"][data-state="saved"]', timeout=WAIT)
    page.reload()
    assert page.input_value('[data-test="essay-body"]') == text          # the autosave survived the reload
    shot(page, f"{name}-editor")
    page.click('[data-test="essay-submit"]')
    page.click('[data-test="essay-confirm"]')
    receipt = page.inner_text('[data-test="receipt"]')
    assert sha256(text) in receipt
    shot(page, f"{name}-receipt")
    return receipt


def grade_blind(page, base: str, essay_id: int, lower: tuple[str, ...], name: str) -> None:
    page.goto(f"{base}/examiner/")
    queue = page.content()
    assert not [n for n in CADRE_NAMES if n in queue]
    page.click(f'[data-test="queue-item-{essay_id}"]')
    page.wait_for_selector('[data-test="similarity"]')
    assert "không phải kết luận" in page.inner_text('[data-test="similarity"]')
    assert not [n for n in CADRE_NAMES if n in page.content()]
    for criterion in page.locator("fieldset[data-criterion]").all():
        cid = criterion.get_attribute("data-criterion")
        best = criterion.get_attribute("data-max")
        points = "2" if cid in lower else f"{float(best):g}"
        page.check(f'input[name="score-{cid}"][value="{points}"]')
        page.fill(f'textarea[name="comment-{cid}"]', "Đạt yêu cầu, lập luận rõ.")
    live_total = page.inner_text('[data-test="total"]')                   # computed in the page as levels are picked
    page.fill('[data-test="grade-form"] textarea[name="comment"]', "Bài ngắn gọn, có kiến nghị cụ thể.")
    shot(page, f"{name}-marking")
    page.click('[data-test="grade-final"]')
    page.click('[data-test="grade-confirm"]')
    page.wait_for_selector('[data-test="grade-locked"]', timeout=WAIT)
    assert page.locator('[data-test="grade-save"]').count() == 0
    assert page.inner_text('[data-test="total"]') == live_total            # the service agrees


def test_course_walkthrough(live_server, new_page, tmp_path):
    base, app = live_server["url"], live_server["app"]
    app.config.update(AUTOSAVE_SECONDS=1, DISCUSSION_POLL_SECONDS=1)
    slug = f"trinh-dien-duong-lien-thon-{uuid.uuid4().hex[:6]}"
    source = tmp_path / f"{slug}.yaml"
    source.write_text(scenario_yaml(slug), encoding="utf-8")

    # The lecturer uploads the scenario and assigns it to the demo cohort with both examiners.
    lecturer = new_page()
    sign_in(lecturer, base, "lecturer1")
    lecturer.goto(f"{base}/lecturer/scenarios/upload")
    lecturer.set_input_files('input[name="file"]', str(source))
    lecturer.click('[data-test="upload-submit"]')
    lecturer.wait_for_url(re.compile(rf".*/lecturer/scenarios/{slug}/preview.*"), timeout=WAIT)
    shot(lecturer, "walkthrough-01-lecturer-preview")
    lecturer.goto(f"{base}/lecturer/assignments/new?scenario={slug}")
    lecturer.select_option('select[name="cohort"]', label="Lớp trình diễn")
    lecturer.check('label:has-text("Giám khảo Trần Văn Minh") input')
    lecturer.check('label:has-text("Giám khảo Lê Thị Hoa") input')
    lecturer.click('[data-test="assign-submit"]')
    lecturer.wait_for_url(re.compile(r".*/lecturer/assignments/\d+.*"), timeout=WAIT)
    assignment_id = int(re.search(r"/lecturer/assignments/(\d+)", lecturer.url).group(1))
    shot(lecturer, "walkthrough-02-lecturer-assigned")

    # Two cadres of one group, each in their own browser.
    cadre1, cadre2 = new_page(), new_page()
    sign_in(cadre1, base, "cadre1")
    sign_in(cadre2, base, "cadre2")
    play_case(cadre1, base, assignment_id, "walkthrough-03-cadre1-case")
    cadre2.goto(f"{base}/cadre/assignments/{assignment_id}/case")
    cadre2.click('[data-test="choice-a"]')
    cadre2.wait_for_selector('[data-test="feedback"]', timeout=WAIT)
    cadre2.reload()                                                        # closing and reopening resumes
    assert cadre2.locator('[data-test="path"] [data-test="path-step"]').count() == 1
    cadre2.click('[data-test="choice-a"]')
    cadre2.wait_for_selector('[data-test="ending"]', timeout=WAIT)

    # Discussion: cadre2 sees cadre1's post arrive without reloading.
    cadre2.goto(f"{base}/cadre/assignments/{assignment_id}/discussion")
    cadre2.evaluate("window.__sameDocument = true")
    cadre1.goto(f"{base}/cadre/assignments/{assignment_id}/discussion")
    cadre1.fill('textarea[name="body"]#new-post', "Đề xuất: họp dân cả hai thôn trước, công khai dự toán.")
    cadre1.click('[data-test="post-submit"]')
    cadre2.wait_for_selector('[data-test="post"]:has-text("họp dân cả hai thôn")', timeout=WAIT)
    assert cadre2.evaluate("window.__sameDocument === true")
    shot(cadre2, "walkthrough-04-cadre2-discussion")

    # The group report, co-written then submitted by one member for the group.
    cadre1.goto(f"{base}/cadre/assignments/{assignment_id}/report")
    cadre1.fill('textarea[name="body"]', "1. Họp dân công khai phương án.")
    cadre1.click('[data-test="report-save"]')
    cadre2.goto(f"{base}/cadre/assignments/{assignment_id}/report")
    current = cadre2.input_value('textarea[name="body"]')
    assert "Họp dân công khai" in current
    cadre2.fill('textarea[name="body"]', current + "\n2. Đối thoại riêng với ba hộ chưa đồng thuận.")
    cadre2.click('[data-test="report-save"]')
    cadre2.click('[data-test="report-submit"]')
    cadre2.click('[data-test="report-confirm"]')
    cadre2.wait_for_selector('[data-test="report-submitted"]', timeout=WAIT)
    cadre1.reload()
    assert cadre1.locator('[data-test="report-submitted"]').is_visible()
    assert cadre1.locator('textarea[name="body"]').count() == 0
    shot(cadre1, "walkthrough-05-report-submitted")

    # Essays: autosave survives a reload, then submit with a confirmation and get a receipt.
    write_essay(cadre1, base, assignment_id, ESSAY_1, "walkthrough-06-cadre1-essay")
    write_essay(cadre2, base, assignment_id, ESSAY_2, "walkthrough-07-cadre2-essay")
    first, second = essay_ids(live_server, assignment_id)

    # Two examiners mark both essays blind, close enough to need no third examiner.
    examiner1, examiner2 = new_page(), new_page()
    sign_in(examiner1, base, "examiner1")
    sign_in(examiner2, base, "examiner2")
    for essay_id in (first, second):
        grade_blind(examiner1, base, essay_id, (), f"walkthrough-08-examiner1-{essay_id}")
        grade_blind(examiner2, base, essay_id, ("trinh-bay",), f"walkthrough-09-examiner2-{essay_id}")
    examiner1.goto(f"{base}/examiner/")
    assert "Đã có điểm cuối" in examiner1.inner_text(f'[data-test="queue-row-{first}"]')

    # The lecturer releases; the cadre sees the grade with the examiners' feedback.
    lecturer.goto(f"{base}/lecturer/assignments/{assignment_id}")
    lecturer.click('[data-test="release"]')
    lecturer.wait_for_selector('[data-test="release-preview"]', timeout=WAIT)
    assert lecturer.inner_text('[data-test="to-release"]').split()[0] == "2"     # the two essays; the report waits
    lecturer.click('[data-test="release-confirm"]')
    lecturer.wait_for_selector('[data-test="release-summary"]', timeout=WAIT)
    shot(lecturer, "walkthrough-10-lecturer-released")
    cadre1.goto(f"{base}/cadre/")
    cadre1.click(f'[data-test="next-step-{assignment_id}"]')        # "Xem điểm"
    assert cadre1.inner_text('[data-test="final-mark"]') == "9.75"
    assert "Bài ngắn gọn, có kiến nghị cụ thể." in cadre1.content()
    shot(cadre1, "walkthrough-11-cadre1-grade")


def wait_for_draft(live_server, username: str, text: str, seconds: float = 10) -> None:
    """The beacon is not the page's request, so watch the store for it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with live_server["sessions"]() as session:
            body = session.scalar(select(m.EssayDraft.body).join(m.User, m.User.id == m.EssayDraft.user_id)
                                  .where(m.User.username == username))
        if body == text:
            return
        time.sleep(0.1)
    raise AssertionError(f"no draft saved on leaving the page (last: {body!r})")


def shipped_assignment(live_server, slug: str = "t1-ton-dong-ho-so-dat-dai") -> int:
    with live_server["sessions"]() as session:
        return session.scalar(select(m.Assignment.id).join(m.ScenarioVersion).join(m.Scenario)
                              .where(m.Scenario.slug == slug))


def test_case_player_and_essay_editor_on_a_phone(live_server, new_page):
    base = live_server["url"]
    live_server["app"].config["AUTOSAVE_SECONDS"] = 600       # only leaving the page saves in this test
    assignment_id = shipped_assignment(live_server)
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    sign_in(page, base, "cadre3")
    page.goto(f"{base}/cadre/")                          # the dashboard: topics, and one next step per card
    step = page.locator(f'[data-test="next-step-{assignment_id}"]')
    assert step.inner_text() == "Bắt đầu tình huống" and step.bounding_box()["width"] <= 390
    assert page.locator("section.topic-group h2").first.inner_text().startswith("Chuyên đề 1: ")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-00-dashboard")
    page.goto(f"{base}/cadre/assignments/{assignment_id}/case")
    page.wait_for_selector('[data-test="attachment-table-0"]')
    assert page.evaluate("document.documentElement.scrollWidth") <= 390     # wide tables scroll inside
    shot(page, "phone-01-case-start")
    page.click('[data-test="choice-a"]')
    page.wait_for_selector('[data-test="feedback"]', timeout=WAIT)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-02-case-feedback")

    page.goto(f"{base}/cadre/assignments/{assignment_id}/essay")
    text = "Xã Tân Hòa có 10.405 hồ sơ; tăng 3,5% so với quý I/2026."
    page.fill('[data-test="essay-body"]', text)
    assert page.inner_text('[data-test="word-count"]') == str(count_words(text))
    box = page.locator('[data-test="essay-body"]').bounding_box()
    assert box["width"] <= 390 and page.locator('[data-test="essay-submit"]').is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "phone-03-essay-editor")

    # Leaving the page sends the draft (a beacon with the CSRF token); it is there on return.
    page.goto(f"{base}/cadre/")
    wait_for_draft(live_server, "cadre3", text)
    page.goto(f"{base}/cadre/assignments/{assignment_id}/essay")
    assert page.input_value('[data-test="essay-body"]') == text
