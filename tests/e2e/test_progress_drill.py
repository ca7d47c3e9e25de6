"""In chromium: a lecturer follows an assignment from the whole country down to one cadre (province › commune ›
group › cadres), under the official names of the administrative map, and finds a commune by typing it without
its marks."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from lms_plugin.services import accounts, cohorts, essays
from lms_plugin.store import models as m
from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e

ESSAY = (("Phường cần công khai quy trình, số hóa hồ sơ và lắng nghe ý kiến người dân ở các tổ dân phố " * 60).strip()
         + "\n\n## Kiến nghị, đề xuất\n\nĐề nghị thành phố hướng dẫn số hóa hồ sơ.")


def seed_hanoi(sessions) -> int:
    """Three cadres of Phường Hoàn Kiếm whose accounts write Hà Nội three ways; one submitted, one drafted."""
    with sessions() as session:
        assignment = session.scalar(select(m.Assignment).join(m.ScenarioVersion).join(m.Scenario)
                                    .where(m.Scenario.slug == "t1-ton-dong-ho-so-dat-dai"))
        cohort = session.get(m.Cohort, assignment.cohort_id)
        group = cohorts.group_named(session, cohort, "Phường Hoàn Kiếm", "Hoàn Kiếm")
        people = []
        for username, name, province, commune in (
                ("hk-hang", "Lê Thị Hằng", "ha noi", "phuong hoan kiem"),
                ("hk-duc", "Nguyễn Minh Đức", "Thành phố Hà Nội", "Hoàn Kiếm"),
                ("hk-yen", "Trần Hải Yến", "TP. Hà Nội", "")):
            user = accounts.create_user(session, username, "cadre", None, display_name=name, province=province,
                                        commune=commune)
            cohorts.add_member(session, cohort, user, group)
            people.append(user)
        essays.submit_essay(session, people[0], assignment.id, ESSAY)
        essays.save_draft(session, people[2], assignment.id, "Bản nháp về hồ sơ đất đai tồn đọng của phường.")
        session.commit()
        return assignment.id


def test_a_lecturer_drills_down_from_the_country_to_one_cadre(live_server, new_page):
    base = live_server["url"]
    assignment_id = seed_hanoi(live_server["sessions"])
    page = new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, base, "lecturer1")
    page.goto(f"{base}/lecturer/assignments/{assignment_id}")
    provinces = page.locator("[data-test=progress-provinces] [data-test=place]")
    assert provinces.evaluate_all("rows => rows.map(r => r.dataset.name)") == ["Thành phố Hà Nội", "Tỉnh Đông Hải"]
    hanoi = page.locator('[data-test=place][data-name="Thành phố Hà Nội"]')
    assert hanoi.locator("[data-test=members]").inner_text() == "3"
    assert hanoi.locator("[data-test=submitted]").inner_text() == "1"
    assert hanoi.locator("[data-test=drafts]").inner_text() == "1"
    assert "Danh mục đơn vị hành chính ngày 18/10/2025" in page.locator("[data-test=places-source]").inner_text()
    page.locator("#progress").scroll_into_view_if_needed()
    shot(page, "progress-01-provinces")

    hanoi.locator("[data-test=open-place]").click()
    page.wait_for_selector("[data-test=progress-communes]")
    assert page.locator("[data-test=crumbs]").inner_text() == "Toàn quốc › Thành phố Hà Nội"
    ward = page.locator('[data-test=place][data-name="Phường Hoàn Kiếm"]')
    assert ward.locator("[data-test=members]").inner_text() == "3"
    ward.locator("[data-test=open-place]").click()
    page.wait_for_selector("[data-test=open-group]")
    assert page.locator("[data-test=crumbs]").inner_text() == "Toàn quốc › Thành phố Hà Nội › Phường Hoàn Kiếm"
    page.click("[data-test=open-group]")
    page.wait_for_selector("[data-test=progress-cadres]")
    assert page.locator("[data-test=crumbs]").inner_text() == (
        "Toàn quốc › Thành phố Hà Nội › Phường Hoàn Kiếm › Phường Hoàn Kiếm")
    rows = page.locator("[data-test=progress-cadres] tbody tr")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.test)") == [
        "cadre-hk-hang", "cadre-hk-duc", "cadre-hk-yen"]
    assert page.locator("[data-test=cadre-hk-hang] [data-test=essay]").inner_text().startswith("đã nộp")
    assert "bản nháp, lưu lúc" in page.locator("[data-test=cadre-hk-yen] [data-test=essay]").inner_text()
    assert "Điều hành thảo luận: Phường Hoàn Kiếm" in page.locator("#discussion h2").inner_text()
    page.locator("#progress").scroll_into_view_if_needed()
    shot(page, "progress-02-cadres-of-a-group")

    page.click("[data-test=cadre-draft]")
    assert "Bản nháp về hồ sơ đất đai tồn đọng của phường." in page.content()
    page.go_back()
    page.click("[data-test=crumb-province]")
    page.wait_for_selector("[data-test=progress-communes]")

    page.fill("[data-test=progress-q]", "hoan kiem")
    page.click("[data-test=progress-search-submit]")
    page.wait_for_selector("[data-test=found-communes]")
    assert page.locator("[data-test=found-commune]").all_inner_texts() == ["Phường Hoàn Kiếm"]
    shot(page, "progress-03-search")

    phone = new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    sign_in(phone, base, "lecturer1")
    phone.goto(f"{base}/lecturer/assignments/{assignment_id}?province=ha+noi")
    assert phone.locator("[data-test=crumbs]").inner_text() == "Toàn quốc › Thành phố Hà Nội"
    phone.locator("#progress").scroll_into_view_if_needed()
    shot(phone, "progress-04-phone-communes")
