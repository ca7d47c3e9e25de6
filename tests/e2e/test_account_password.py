"""In chromium, on a phone: an organiser resets a cadre's lost password; the cadre signs in with it, is
held on the password form until they choose their own, then reaches the dashboard."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e

OWN = "mật-khẩu-của-tôi-2026"


def test_a_reset_password_is_replaced_at_the_first_sign_in(live_server, new_page):
    base = live_server["url"]
    admin = new_page(viewport={"width": 1280, "height": 900})
    sign_in(admin, base, "admin1")
    admin.goto(f"{base}/admin/accounts?role=cadre")
    admin.click("[data-test=reset-cadre6]")
    given = admin.locator("[data-test=new-password]").inner_text().strip()
    assert len(given) == 12
    shot(admin, "account-01-reset")

    phone = new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    sign_in(phone, base, "cadre6", given)
    assert phone.url.endswith("/account/password")
    assert phone.locator("[data-test=password-forced]").is_visible()
    phone.goto(f"{base}/cadre/")                                   # anything else leads back here
    assert phone.url.endswith("/account/password")
    phone.fill("input[name=current]", given)
    phone.fill("input[name=new]", OWN)
    phone.fill("input[name=confirm]", OWN + "!")
    phone.click("main form button[type=submit]")
    assert "Hai lần nhập mật khẩu mới không khớp." in phone.locator("[data-test=password-error]").inner_text()
    shot(phone, "account-02-mismatch")
    phone.fill("input[name=current]", given)
    phone.fill("input[name=new]", OWN)
    phone.fill("input[name=confirm]", OWN)
    phone.click("main form button[type=submit]")
    phone.wait_for_url(f"{base}/cadre/")
    assert "Đã đổi mật khẩu." in phone.inner_text("main")
    shot(phone, "account-03-dashboard")
