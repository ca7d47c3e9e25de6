"""One's own password: anyone signed in can change it; a password someone else chose
(roster import, an organiser's reset) must be replaced before anything else opens."""
from __future__ import annotations

import html
import re

from sqlalchemy import select

from lms_plugin.services import accounts
from lms_plugin.store import models as m
from tests.web.conftest import PASSWORD, login
from tests.web.test_admin import ROSTER_CSV, demo_cohort, post_roster

NEW = "mật-khẩu-riêng-2026"


def reset(client, session, username: str) -> str:
    """admin1 gives ``username`` a new password; returns it as the page shows it."""
    login(client, "admin1")
    user = accounts.get_user(session, username)
    response = client.post(f"/admin/accounts/{user.id}/password")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    client.post("/logout")
    return re.search(r'data-test="new-password">(\w+)</code>', response.text).group(1)


def refused(client, username: str, password: str) -> bool:
    response = client.post("/login", data={"username": username, "password": password})
    return response.status_code != 302 and "Sai tên đăng nhập hoặc mật khẩu." in response.text


def change(client, current: str, new: str, confirm: str | None = None):
    return client.post("/account/password", data={"current": current, "new": new,
                                                  "confirm": new if confirm is None else confirm})


def errors(response) -> list[str]:
    return [html.unescape(e) for e in re.findall(r'data-test="password-error">(.*?)</p>', response.text)]


def test_anyone_signed_in_changes_their_password_from_the_header(client, demo, session):
    login(client, "examiner1")
    page = client.get("/examiner/")
    assert 'href="/account/password"' in page.text
    form = client.get("/account/password")
    assert form.status_code == 200 and 'data-test="password-forced"' not in form.text
    response = change(client, PASSWORD, NEW)
    assert response.status_code == 302 and response.headers["Location"].endswith("/examiner/")
    client.post("/logout")
    assert refused(client, "examiner1", PASSWORD)
    login(client, "examiner1", NEW)


def test_wrong_current_password_mismatch_and_too_short_are_refused_with_a_message(client, demo, session):
    login(client, "cadre2")
    wrong = change(client, "khong-phai-mat-khau", NEW)
    assert wrong.status_code == 400 and errors(wrong) == ["Mật khẩu hiện tại không đúng"]
    mismatch = change(client, PASSWORD, NEW, confirm=NEW + "x")
    assert mismatch.status_code == 400 and errors(mismatch) == ["Hai lần nhập mật khẩu mới không khớp."]
    short = change(client, PASSWORD, "ngắn")
    assert short.status_code == 400 and errors(short) == ["Mật khẩu phải có ít nhất 8 ký tự"]
    same = change(client, PASSWORD, PASSWORD)
    assert same.status_code == 400 and errors(same) == ["Mật khẩu mới phải khác mật khẩu hiện tại"]
    client.post("/logout")
    login(client, "cadre2")                                   # nothing changed


def test_a_reset_password_opens_only_the_password_form_until_it_is_replaced(client, demo, session):
    given = reset(client, session, "cadre1")
    assert session.scalar(select(m.AuditEvent).where(m.AuditEvent.action == "account.password_reset"))
    assert refused(client, "cadre1", PASSWORD)
    signed_in = login(client, "cadre1", given)
    assert client.get(signed_in.headers["Location"]).headers["Location"].endswith("/account/password")
    for page in ("/cadre/", "/catalogue", "/similarity/essays/1"):
        assert client.get(page).headers["Location"].endswith("/account/password"), page
    form = client.get("/account/password")
    assert 'data-test="password-forced"' in form.text
    assert "Mật khẩu bạn đang dùng do ban tổ chức cấp." in html.unescape(form.text)
    api = client.get("/api/v1/assignments")
    assert api.status_code == 403 and "đổi mật khẩu" in api.json["error"]
    token = client.post("/api/v1/tokens", json={"username": "cadre1", "password": given})
    assert token.status_code == 403 and "đổi mật khẩu" in token.json["error"]

    assert change(client, given, NEW).status_code == 302
    assert client.get("/cadre/").status_code == 200
    assert client.get("/api/v1/assignments").status_code == 200
    assert client.post("/api/v1/tokens", json={"username": "cadre1", "password": NEW}).status_code == 201


def test_a_roster_import_gives_each_new_account_a_link_to_choose_its_password(client, demo, session):
    from tests.web.test_roster_web import confirm
    login(client, "admin1")
    cohort_id = demo_cohort(session, demo).id
    preview = post_roster(client, cohort_id, "danh-sach.csv", ROSTER_CSV.encode("utf-8")).text
    page = confirm(client, cohort_id, preview).text
    links = client.get(re.search(r'href="([^"]+)" data-test="links-download"', page).group(1)).data.decode("utf-8-sig")
    link = next(line.split(",")[4] for line in links.splitlines() if line.startswith("sontv,"))
    accounts_page = html.unescape(client.get("/admin/accounts?role=cadre").text)
    row = re.search(r'data-test="account-sontv">(.*?)</tr>', accounts_page, re.S).group(1)
    assert "chưa đổi mật khẩu được cấp" in row
    client.post("/logout")
    path = link.split("localhost:5000", 1)[1]
    assert client.post(path, data={"new": NEW, "confirm": NEW}).status_code == 302
    assert client.get("/cadre/").status_code == 200


def test_only_an_organiser_resets_passwords(client, demo, session):
    cadre2 = accounts.get_user(session, "cadre2")
    for username in ("lecturer1", "examiner1", "cadre1"):
        login(client, username)
        assert client.post(f"/admin/accounts/{cadre2.id}/password").status_code == 403
        client.post("/logout")
    login(client, "admin1")
    assert client.post("/admin/accounts/999999/password").status_code == 404
    client.post("/logout")
    login(client, "cadre2")                                   # still their own password


def test_the_password_page_in_english(client, demo):
    login(client, "cadre3")
    client.post("/lang/en", data={"next": "/account/password"})
    page = client.get("/account/password").text
    assert "Change password" in page and "Current password" in page
