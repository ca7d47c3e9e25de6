"""The bell: the unread count beside the name, the list, marking read, the mail switch, the safe redirect."""
from __future__ import annotations

import re

from sqlalchemy import select

from lms_plugin.services import accounts
from lms_plugin.services.notifications import notify
from lms_plugin.store import models as m
from tests.web.conftest import login

LIST = "/account/notifications/"


def bell(response) -> str | None:
    """The count shown on the bell, or None when nothing is unread."""
    assert 'data-test="bell"' in response.text
    found = re.search(r'data-test="bell-count">(\d+)<', response.text)
    return found.group(1) if found else None


def tell(session, username: str, kind: str = "released", link: str = "/cadre/", **params) -> int:
    user = accounts.get_user(session, username)
    notify(session, [user.id], kind, link=link, **({"title": "Tình huống mẫu"} | params))
    session.commit()
    return session.scalar(select(m.Notification.id).where(m.Notification.user_id == user.id)
                          .order_by(m.Notification.id.desc()).limit(1))


def test_the_bell_shows_the_unread_count_on_every_page_of_the_signed_in_person(client, demo, session):
    tell(session, "cadre1")
    tell(session, "cadre1", "deadline_soon")
    tell(session, "cadre2")
    login(client, "cadre1")
    assert bell(client.get("/cadre/")) == "2"
    page = client.get(LIST)
    assert bell(page) == "2"
    assert "Đã có điểm bài “Tình huống mẫu”" in page.text
    assert "Bài “Tình huống mẫu” hết hạn sau chưa đầy 24 giờ; bạn chưa nộp" in page.text
    assert page.text.count('data-test="unread"') == 2
    client.post("/logout")
    assert 'data-test="bell"' not in client.get("/").text


def test_opening_a_notification_marks_it_read_and_goes_to_its_page(client, demo, session):
    first = tell(session, "cadre1", link="/cadre/")
    tell(session, "cadre1")
    login(client, "cadre1")
    response = client.post(f"{LIST}{first}/open")
    assert response.status_code == 302 and response.headers["Location"] == "/cadre/"
    assert bell(client.get(LIST)) == "1"
    assert client.post(f"{LIST}read-all").headers["Location"].endswith(LIST)
    page = client.get(LIST)
    assert bell(page) is None and 'data-test="unread"' not in page.text and 'data-test="read-all"' not in page.text


def test_a_notification_never_sends_anyone_off_site(client, demo, session):
    login(client, "cadre1")
    for link in ("//evil.example/x", "https://evil.example/x", "/\\evil.example", "javascript:alert(1)", ""):
        notification_id = tell(session, "cadre1", link=link)
        response = client.post(f"{LIST}{notification_id}/open")
        assert response.status_code == 302 and response.headers["Location"] == LIST, link


def test_someone_elses_notification_cannot_be_opened_or_marked(client, demo, session):
    theirs = tell(session, "cadre2")
    login(client, "cadre1")
    assert client.post(f"{LIST}{theirs}/open").status_code == 404
    client.post(f"{LIST}read-all")
    session.expire_all()
    assert session.get(m.Notification, theirs).read_at is None


def test_the_mail_switch_and_address_are_saved_and_checked(client, demo, session):
    login(client, "examiner1")
    page = client.get(LIST)
    assert page.status_code == 200
    assert 'data-test="mail-off"' in page.text      # no MAIL_SERVER in the test app

    saved = client.post(f"{LIST}settings", data={"email": "  giamkhao1@example.vn ", "enabled": "y"})
    assert saved.status_code == 302
    user = accounts.get_user(session, "examiner1")
    session.refresh(user)
    assert (user.email, user.email_notifications) == ("giamkhao1@example.vn", True)
    assert 'checked' in re.search(r'<input[^>]*data-test="field-enabled"[^>]*>', client.get(LIST).text).group(0)

    client.post(f"{LIST}settings", data={"email": "giamkhao1@example.vn"})    # box unticked: mail off
    session.refresh(user)
    assert user.email_notifications is False

    refused = client.post(f"{LIST}settings", data={"email": "giamkhao1@example.vn\r\nBcc: x@example.com",
                                                   "enabled": "y"})
    assert refused.status_code == 400 and "Địa chỉ email không hợp lệ" in refused.text
    session.refresh(user)
    assert (user.email, user.email_notifications) == ("giamkhao1@example.vn", False)


def test_the_page_says_when_mail_is_set_up(app, client, demo, session):
    app.config["MAIL_SERVER"] = "smtp.example.vn"
    login(client, "lecturer1")
    assert 'data-test="mail-off"' not in client.get(LIST).text
