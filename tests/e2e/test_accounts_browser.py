"""In chromium: an organiser searches the accounts (marks and case aside), opens one, edits it, deactivates it;
the cadre can no longer sign in."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e


def test_an_organiser_finds_edits_and_deactivates_an_account(live_server, new_page):
    base = live_server["url"]
    admin = new_page(viewport={"width": 1280, "height": 900})
    sign_in(admin, base, "admin1")
    admin.goto(f"{base}/admin/accounts")
    admin.fill("[data-test=account-search]", "BUI THI")                   # "Bùi Thị Dung", typed without marks
    admin.select_option("[data-test=filter-role]", "cadre")
    admin.click("[data-test=account-search-submit]")
    rows = admin.locator("table[data-test=accounts] tbody tr")
    assert rows.count() == 1 and "Bùi Thị Dung" in rows.first.inner_text()
    assert "q=BUI+THI" in admin.url and "role=cadre" in admin.url
    shot(admin, "accounts-01-search")

    admin.click("[data-test=open-cadre4]")
    assert "Bùi Thị Dung" in admin.locator("[data-test=account-title]").inner_text()
    admin.fill("[data-test=edit-contact]", "0912 345 678")
    admin.fill("[data-test=edit-email]", "dungbt@xa.vn")
    admin.click("[data-test=account-save]")
    assert "Đã lưu thông tin tài khoản." in admin.content()
    assert admin.locator("[data-test=edit-email]").input_value() == "dungbt@xa.vn"
    shot(admin, "accounts-02-edited")

    admin.click("[data-test=account-deactivate]")
    assert "Đã khóa" in admin.locator("[data-test=account-status]").inner_text()
    assert admin.locator("[data-test=account-reactivate]").is_visible()
    shot(admin, "accounts-03-deactivated")

    admin.goto(f"{base}/admin/accounts?q=0912+345&status=inactive")
    assert admin.locator("[data-test=account-cadre4]").is_visible()

    cadre = new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    cadre.goto(f"{base}/login")
    cadre.fill("input[name=username]", "cadre4")
    cadre.fill("input[name=password]", "mat-khau-demo")
    cadre.click("main form button[type=submit]")
    assert cadre.url.endswith("/login")
