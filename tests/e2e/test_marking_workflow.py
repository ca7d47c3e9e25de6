"""In chromium, the marking of one essay from disagreement to appeal, as the chief examiner, the examiners and
the cadre (on a phone) live it:

two examiners disagree by more than the threshold with a pool of only two; the essay shows under *needs an
examiner*; the chief examiner adds a third examiner to the pool, who marks it; until then the cadre's grade
page shows no marks at all; release shows the counts and asks to confirm; the cadre sees the final mark, the
feedback and the inline comment; the cadre appeals; a fourth examiner re-marks; the outcome is released.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from lms_plugin.core.essays import count_words
from lms_plugin.services import accounts
from lms_plugin.store import models as m
from tests.e2e.conftest import ARTIFACTS, PASSWORD, shot, sign_in

pytestmark = pytest.mark.e2e
WAIT = 10_000
SLUG = "t1-ton-dong-ho-so-dat-dai"
PASSAGE = "chỉnh lý hồ sơ địa chính"
INLINE = "Cần nêu rõ nguồn kinh phí cho việc chỉnh lý."
PARAGRAPH = ("Sau khi hợp nhất, xã tồn đọng nhiều hồ sơ đất đai vì dữ liệu của hai xã cũ chưa thống nhất, cán bộ "
             "địa chính thiếu và quy trình liên thông với cấp tỉnh chưa rõ ràng. Xã cần rà soát từng hồ sơ, phân "
             "loại theo mức độ phức tạp, công khai tiến độ giải quyết cho người dân và báo cáo tỉnh những vướng mắc "
             "vượt thẩm quyền. ")


def essay_text() -> str:
    body = "## Phân tích tình huống\n\n"
    while count_words(body) < 620:
        body += PARAGRAPH
    return (body + "\n\n## Kiến nghị, đề xuất\n\n1. Đề nghị tỉnh hướng dẫn thống nhất việc "
            f"{PASSAGE} sau hợp nhất và bố trí thêm hai công chức địa chính cho xã.\n")


@pytest.fixture(scope="module")
def people(live_server):
    """Two more examiners beside the demo's pool of two: one to join the pool, one for the appeal."""
    with live_server["sessions"]() as session:
        for username, name in (("examiner3", "Giám khảo Phan Văn Tú"), ("examiner4", "Giám khảo Đinh Thị Yến")):
            accounts.create_user(session, username, "examiner", PASSWORD, display_name=name)
        assignment_id = session.scalar(select(m.Assignment.id).join(m.ScenarioVersion).join(m.Scenario)
                                       .where(m.Scenario.slug == SLUG))
        ids = dict(session.execute(select(m.User.username, m.User.id)).all())
        session.commit()
    return assignment_id, ids


def mark(page, base: str, essay_id: int, level: str, name: str, *, inline: bool = False) -> None:
    """Pick the lowest or the best level of every criterion, comment, finalise (and maybe comment inline)."""
    page.goto(f"{base}/examiner/")
    page.click(f'[data-test="queue-item-{essay_id}"]')
    page.wait_for_selector('[data-test="grade-form"]')
    if inline:
        page.evaluate("""passage => {
            const essay = document.querySelector('[data-test="essay-text"]');
            const walker = document.createTreeWalker(essay, NodeFilter.SHOW_TEXT);
            let node;
            while ((node = walker.nextNode())) {
                const at = node.data.indexOf(passage);
                if (at >= 0) {
                    const range = document.createRange();
                    range.setStart(node, at); range.setEnd(node, at + passage.length);
                    const selection = window.getSelection();
                    selection.removeAllRanges(); selection.addRange(range);
                    essay.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
                    return;
                }
            }
            throw new Error('passage not found');
        }""", PASSAGE)
        page.click('[data-test="annotate-open"]')
        page.fill('[data-test="annotate-form"] textarea[name="comment"]', INLINE)
        page.click('[data-test="annotate-save"]')
        page.wait_for_selector(f'[data-test="annotation"]:has-text("{INLINE}")', timeout=WAIT)
    for criterion in page.locator("fieldset[data-criterion]").all():
        cid = criterion.get_attribute("data-criterion")
        radios = criterion.locator(f'input[name="score-{cid}"]')
        (radios.first if level == "lowest" else radios.last).check()
        page.fill(f'textarea[name="comment-{cid}"]', f"Nhận xét {level} cho tiêu chí này.")
    shot(page, name)
    page.click('[data-test="grade-final"]')
    page.click('[data-test="grade-confirm"]')
    page.wait_for_selector('[data-test="grade-locked"]', timeout=WAIT)


def test_a_disputed_essay_is_third_marked_released_and_appealed(live_server, people, new_page):
    base = live_server["url"]
    assignment_id, ids = people
    text = essay_text()

    # The cadre writes and submits on a phone.
    cadre = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    sign_in(cadre, base, "cadre1")
    cadre.goto(f"{base}/cadre/assignments/{assignment_id}/essay")
    cadre.fill('[data-test="essay-body"]', text)
    cadre.click('[data-test="essay-submit"]')
    cadre.click('[data-test="essay-confirm"]')
    cadre.wait_for_selector('[data-test="receipt"]', timeout=WAIT)
    with live_server["sessions"]() as session:
        essay_id = session.scalar(select(m.Essay.id).where(m.Essay.assignment_id == assignment_id,
                                                            m.Essay.user_id == ids["cadre1"]))

    # Two examiners, the whole pool, disagree by far more than 1.5 points; the first comments inline.
    examiner1, examiner2 = new_page(), new_page()
    sign_in(examiner1, base, "examiner1")
    sign_in(examiner2, base, "examiner2")
    mark(examiner1, base, essay_id, "best", "marking-01-examiner1", inline=True)
    mark(examiner2, base, essay_id, "lowest", "marking-02-examiner2")

    # The cadre sees nothing of the marking yet.
    cadre.goto(f"{base}/cadre/essays/{essay_id}/grade")
    assert cadre.locator('[data-test="grade-pending"]').is_visible()
    page_text = cadre.inner_text("main")
    assert "Nhận xét" not in page_text and INLINE not in page_text
    assert cadre.locator('[data-test="final-mark"]').count() == 0
    shot(cadre, "marking-03-cadre-pending")

    # The chief examiner finds it waiting for an examiner, adds a third one to the pool.
    chief = new_page(viewport={"width": 1280, "height": 900})
    sign_in(chief, base, "lecturer1")
    chief.goto(f"{base}/lecturer/marking/{assignment_id}")
    assert chief.locator(f'[data-test="waiting-{essay_id}"]').is_visible()
    assert chief.inner_text('[data-test="count-essay-needs_examiner"]') == "1"
    assert "Lần 3" in chief.inner_text(f'[data-test="waiting-{essay_id}"]')
    shot(chief, "marking-04-chief-needs-examiner")
    chief.select_option('[data-test="pool-examiner"]', str(ids["examiner3"]))
    chief.click('[data-test="pool-add"]')
    chief.wait_for_selector('[data-test="nothing-waiting"]', timeout=WAIT)
    assert chief.inner_text('[data-test="open-examiner3"]') == "1"
    shot(chief, "marking-05-chief-pool")

    examiner3 = new_page()
    sign_in(examiner3, base, "examiner3")
    mark(examiner3, base, essay_id, "best", "marking-06-examiner3")

    # Release shows what it covers and asks to confirm.
    chief.goto(f"{base}/lecturer/marking/{assignment_id}")
    chief.click('[data-test="release-link"]')
    chief.wait_for_selector('[data-test="release-preview"]')
    assert chief.inner_text('[data-test="to-release"]').split()[0] == "1"
    assert chief.inner_text('[data-test="not-submitted"]') == "5"
    assert chief.locator('[data-test="first-release-warning"]').is_visible()
    shot(chief, "marking-07-release-preview")
    chief.click('[data-test="release-confirm"]')
    chief.wait_for_selector('[data-test="release-summary"]', timeout=WAIT)

    # The cadre sees the final mark, the feedback without names, and the inline comment.
    cadre.goto(f"{base}/cadre/essays/{essay_id}/grade")
    assert cadre.inner_text('[data-test="final-mark"]') == "10"
    main = cadre.inner_text("main")
    assert "Nhận xét best cho tiêu chí này." in main
    for name in ("Trần Văn Minh", "Lê Thị Hoa", "Phan Văn Tú"):
        assert name not in cadre.content()
    highlight = cadre.locator(f'[data-test="essay-text"] mark:has-text("{PASSAGE}")')
    assert highlight.count() >= 1 and INLINE in cadre.inner_text('[data-test="annotations"]')
    assert cadre.evaluate("document.documentElement.scrollWidth") <= 390
    shot(cadre, "marking-08-cadre-grade")
    cadre.screenshot(path=str(ARTIFACTS / "marking-08a-cadre-grade-top.png"))
    highlight.first.scroll_into_view_if_needed()
    cadre.screenshot(path=str(ARTIFACTS / "marking-08b-cadre-inline-comment.png"))

    # The cadre appeals; the chief gives it to a fourth examiner, who re-marks blind.
    cadre.fill('[data-test="appeal-form"] textarea[name="reason"]',
               "Bài có đủ phần kiến nghị cụ thể; đề nghị chấm lại tiêu chí về căn cứ pháp lý.")
    cadre.click('[data-test="appeal-submit"]')
    cadre.wait_for_selector('[data-test="appeal-status"]', timeout=WAIT)
    shot(cadre, "marking-09-cadre-appealed")
    chief.goto(f"{base}/lecturer/marking/{assignment_id}")
    chief.reload()                    # the page was open on the same address: read it again
    chief.select_option(f'[data-test="appeal-examiner-{essay_id}"]', str(ids["examiner4"]))
    chief.click(f'[data-test="appeal-assign-{essay_id}"]')
    chief.wait_for_selector(f'[data-test="appeal-status-{essay_id}"]:has-text("Đang chấm phúc khảo")',
                            timeout=WAIT)
    examiner4 = new_page()
    sign_in(examiner4, base, "examiner4")
    mark(examiner4, base, essay_id, "lowest", "marking-10-examiner4-appeal")

    cadre.goto(f"{base}/cadre/essays/{essay_id}/grade")
    assert cadre.inner_text('[data-test="final-mark"]') == "10"          # not released yet
    chief.goto(f"{base}/lecturer/marking/{assignment_id}/release")
    assert chief.inner_text('[data-test="appeals-to-release"]') == "1"
    chief.click('[data-test="release-confirm"]')
    chief.wait_for_selector('[data-test="release-summary"]', timeout=WAIT)
    cadre.goto(f"{base}/cadre/essays/{essay_id}/grade")
    assert cadre.inner_text('[data-test="final-mark"]') == "0"
    assert "10" in cadre.inner_text('[data-test="appeal-outcome"]')
    shot(cadre, "marking-11-cadre-appeal-outcome")
