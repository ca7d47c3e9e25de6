"""The examiner opens a copied essay's similarity report in chromium: the summary beside the essay, then the
two texts side by side with the shared passage marked in both, on a desktop and on a phone."""
from __future__ import annotations

import pytest

from lms_plugin.services import accounts, essays
from lms_plugin.store import db
from tests.e2e.conftest import shot, sign_in
from tests.web.conftest import first_assignment
from tests.web.test_similarity_views import COPIED, copying_essay, original_essay

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def copier(live_server):
    """cadre1 writes an essay; cadre4 copies its proposals paragraph. Returns (original id, copier id)."""
    ids = []
    for username, body in (("cadre1", original_essay()), ("cadre4", copying_essay())):
        with db.unit_of_work(live_server["sessions"]) as session:
            user = accounts.get_user(session, username)
            ids.append(essays.submit_essay(session, user, first_assignment(session).id, body).id)
    return tuple(ids)


def test_examiner_reads_the_report_side_by_side(live_server, new_page, copier):
    first, copied = copier
    base = live_server["url"]
    page = new_page(viewport={"width": 1280, "height": 900})
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    sign_in(page, base, "examiner1")
    page.goto(f"{base}/examiner/essays/{copied}")
    slot = page.locator("[data-test=similarity]")
    assert "%" in slot.locator("[data-test=similarity-score]").inner_text()
    assert "không phải kết luận" in slot.inner_text()
    assert f"Bài thu hoạch #{first}" in slot.locator("[data-test=similarity-source]").first.inner_text()

    shot(page, "similarity-examiner-slot")
    slot.locator("[data-test=similarity-open]").click()
    page.wait_for_selector("[data-test=source-side] mark")
    ours, theirs = page.locator("[data-test=essay-side] mark"), page.locator("[data-test=source-side] mark")
    assert ours.count() == theirs.count() >= 1
    assert COPIED[20:120] in ours.first.inner_text() and COPIED[20:120] in theirs.first.inner_text()
    assert page.locator("[data-test=essay-side] script, [data-test=source-side] script").count() == 0

    page.locator("[data-test=source-side]").evaluate("column => { column.scrollTop = column.scrollHeight; }")
    ours.first.click()                     # brings the same passage back into view in the source column
    page.wait_for_selector("[data-test=source-side] mark.sim-current")
    column = page.locator("[data-test=source-side]").bounding_box()
    target = theirs.first.bounding_box()
    assert column["y"] <= target["y"] < column["y"] + column["height"]
    shot(page, "similarity-side-by-side")

    phone = new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    sign_in(phone, base, "examiner1")
    phone.goto(f"{base}/similarity/essays/{copied}")
    phone.wait_for_selector("[data-test=source-side] mark")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    essay_box = phone.locator("[data-test=essay-side]").bounding_box()
    source_box = phone.locator("[data-test=source-side]").bounding_box()
    assert source_box["y"] >= essay_box["y"] + essay_box["height"]       # stacked, each full width
    assert essay_box["width"] > 300
    shot(phone, "similarity-side-by-side-phone")


def test_lecturer_finds_the_copier_at_the_top_of_the_cohort_view(live_server, new_page, copier):
    first, copied = copier
    base = live_server["url"]
    with db.unit_of_work(live_server["sessions"]) as session:
        assignment_id = first_assignment(session).id
    page = new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, base, "lecturer1")
    page.goto(f"{base}/lecturer/assignments/{assignment_id}")
    page.click("[data-test=similarity-cohort]")
    page.wait_for_selector("[data-test=ranked-essays]")
    assert page.locator("[data-test=ranked-essays] tbody tr").first.get_attribute("data-test") == f"ranked-{copied}"
    assert page.locator("[data-test=cluster]").count() == 1
    shot(page, "similarity-cohort")
    page.fill("[data-test=threshold]", "0.99")
    page.click("[data-test=threshold-form] button")
    page.wait_for_selector("[data-test=no-pairs]")
    assert "min=0.99" in page.url
