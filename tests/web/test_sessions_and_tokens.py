"""Sessions and API tokens end: logout ends that browser's session, a password change or an organiser's
reset ends every session and token of the person, tokens expire and can be revoked by their owner and by
an organiser, and a token's ``last_used_at`` is written at most once in five minutes without ever failing a
request."""
from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from lms_plugin.services import accounts
from lms_plugin.store import models as m
from tests.web.conftest import PASSWORD
from tests.web.test_account import change, reset

API = "/api/v1"
NEW = "mật-khẩu-riêng-2026"


def sign_in(app, username: str, password: str = PASSWORD, remember: bool = True):
    """A new browser signed in as ``username``; with "remember me" it also keeps a remember cookie."""
    browser = app.test_client()
    data = {"username": username, "password": password, **({"remember": "y"} if remember else {})}
    assert browser.post("/login", data=data).status_code == 302
    return browser


def cookies(browser) -> dict[str, str]:
    return {name: browser.get_cookie(name).value for name in ("session", "remember_token")
            if browser.get_cookie(name) is not None}


def opens_cadre_page(app, **captured: str) -> bool:
    """Whether a fresh browser carrying only the ``captured`` cookies reaches /cadre/."""
    thief = app.test_client()
    for name, value in captured.items():
        thief.set_cookie(name, value)
    response = thief.get("/cadre/")
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
        return False
    assert response.status_code == 200, response.status_code
    return True


def new_token(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post(f"{API}/tokens", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json['token']}"}


def answers(client, auth) -> int:
    return client.get(f"{API}/assignments", headers=auth).status_code


def token_row(session, user: str) -> m.ApiToken:
    session.expire_all()
    return session.scalars(select(m.ApiToken).join(m.User).where(m.User.username == user)
                           .order_by(m.ApiToken.id.desc())).first()


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# ---- sessions ----------------------------------------------------------------------------------

def test_a_captured_session_cookie_and_remember_cookie_stop_working_after_logout(app, demo):
    browser = sign_in(app, "cadre1")
    captured = cookies(browser)
    assert set(captured) == {"session", "remember_token"}
    assert opens_cadre_page(app, session=captured["session"])
    assert opens_cadre_page(app, remember_token=captured["remember_token"])

    browser.post("/logout")
    assert not opens_cadre_page(app, session=captured["session"])
    assert not opens_cadre_page(app, remember_token=captured["remember_token"])
    assert not opens_cadre_page(app, **captured)


def test_logout_ends_only_that_browsers_session(app, demo):
    office, phone = sign_in(app, "cadre1"), sign_in(app, "cadre1")
    office.post("/logout")
    assert phone.get("/cadre/").status_code == 200


def test_a_password_change_ends_every_other_session_and_token_and_keeps_the_changer_signed_in(app, client, demo):
    office, phone = sign_in(app, "cadre1"), sign_in(app, "cadre1", remember=False)
    before = cookies(office)
    auth = new_token(client, "cadre1")
    assert answers(client, auth) == 200

    assert change(office, PASSWORD, NEW).status_code == 302
    assert office.get("/cadre/").status_code == 200            # the person who changed it goes on working
    assert phone.get("/cadre/").headers["Location"].startswith("/login")   # the second browser is signed out
    assert not opens_cadre_page(app, session=before["session"])
    assert not opens_cadre_page(app, remember_token=before["remember_token"])
    assert answers(client, auth) == 401
    assert opens_cadre_page(app, **cookies(office))            # the new session's cookies do work


def test_an_organisers_reset_ends_sessions_and_tokens_and_the_old_token_stays_dead(app, client, demo, session):
    cadre = sign_in(app, "cadre1")
    captured = cookies(cadre)
    auth = new_token(app.test_client(), "cadre1")

    given = reset(client, session, "cadre1")
    assert cadre.get("/cadre/").headers["Location"].startswith("/login")
    assert not opens_cadre_page(app, remember_token=captured["remember_token"])
    assert answers(client, auth) == 401

    owner = sign_in(app, "cadre1", given)
    assert change(owner, given, NEW).status_code == 302      # the owner's new password
    assert answers(client, auth) == 401                       # ... does not bring the old token back
    assert not opens_cadre_page(app, **captured)
    assert answers(client, new_token(client, "cadre1", NEW)) == 200


def test_a_session_from_before_this_change_is_not_honoured(app, demo, session):
    """Cookies issued before sessions were kept server-side carried the bare user id."""
    browser = app.test_client()
    with browser.session_transaction() as cookie:
        cookie["_user_id"] = str(accounts.get_user(session, "cadre1").id)
        cookie["_fresh"] = True
    assert browser.get("/cadre/").headers["Location"].startswith("/login")


def test_sessions_end_after_their_lifetime(app, demo, session):
    short, remembered = sign_in(app, "cadre1", remember=False), sign_in(app, "cadre2")
    rows = {row.user.username: row for row in session.scalars(select(m.UserSession))}
    for username, hours in (("cadre1", app.config["SESSION_HOURS"]), ("cadre2", app.config["REMEMBER_DAYS"] * 24)):
        life = aware(rows[username].expires_at) - aware(rows[username].created_at)
        assert abs(life - timedelta(hours=hours)) < timedelta(minutes=1), username
    assert app.config["SESSION_HOURS"] == 12 and app.config["REMEMBER_DAYS"] == 14
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=14)

    session.execute(update(m.UserSession).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    session.commit()
    assert short.get("/cadre/").headers["Location"].startswith("/login")
    assert not opens_cadre_page(app, **cookies(remembered))


# ---- tokens ------------------------------------------------------------------------------------

def test_a_token_expires_after_the_configured_days(app, client, demo, session):
    auth = new_token(client, "cadre1")
    row = token_row(session, "cadre1")
    lifetime = aware(row.expires_at) - aware(row.created_at)
    assert lifetime == timedelta(days=app.config["TOKEN_DAYS"]) == timedelta(days=30)
    assert answers(client, auth) == 200
    row.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    session.commit()
    expired = client.get(f"{API}/assignments", headers=auth)
    assert expired.status_code == 401 and "thu hồi" in expired.json["error"]


def test_the_owner_lists_and_revokes_their_tokens_through_the_api(client, demo, session):
    laptop, script = new_token(client, "cadre1"), new_token(client, "cadre1")
    other = new_token(client, "cadre2")
    listed = client.get(f"{API}/tokens", headers=laptop)
    assert listed.status_code == 200
    tokens = listed.json["tokens"]
    assert len(tokens) == 2 and [t["current"] for t in tokens].count(True) == 1
    assert {"id", "created_at", "expires_at", "last_used_at", "current"} <= set(tokens[0])
    script_id = next(t["id"] for t in tokens if not t["current"])

    assert client.delete(f"{API}/tokens/{script_id}", headers=other).status_code == 404   # not cadre2's
    assert answers(client, script) == 200
    revoked = client.delete(f"{API}/tokens/{script_id}", headers=laptop)
    assert revoked.status_code == 200 and [t["current"] for t in revoked.json["tokens"]] == [True]
    assert answers(client, script) == 401 and answers(client, laptop) == 200
    assert client.delete(f"{API}/tokens/{script_id}", headers=laptop).status_code == 404   # already gone


def test_the_owner_revokes_a_token_on_their_account_page(app, client, demo, session):
    auth = new_token(client, "cadre1")
    row = token_row(session, "cadre1")
    browser = sign_in(app, "cadre1")
    page = browser.get("/account/tokens")
    assert page.status_code == 200 and f'data-test="token-{row.id}"' in page.text
    assert 'href="/account/tokens"' in browser.get("/account/password").text
    done = browser.post(f"/account/tokens/{row.id}/revoke")
    assert done.status_code == 302 and done.headers["Location"].endswith("/account/tokens")
    assert answers(client, auth) == 401
    assert f'data-test="token-{row.id}"' not in browser.get("/account/tokens").text
    assert sign_in(app, "cadre2").post(f"/account/tokens/{row.id}/revoke").status_code == 404


def test_an_organiser_lists_and_revokes_anyones_tokens(app, client, demo, session):
    auth = new_token(client, "examiner1")
    row = token_row(session, "examiner1")
    organiser = sign_in(app, "admin1")
    assert f'/admin/accounts/{row.user_id}/tokens' in organiser.get("/admin/accounts").text
    page = organiser.get(f"/admin/accounts/{row.user_id}/tokens")
    assert page.status_code == 200 and f'data-test="token-{row.id}"' in page.text and "examiner1" in page.text
    done = organiser.post(f"/admin/accounts/{row.user_id}/tokens/{row.id}/revoke")
    assert done.status_code == 302
    assert answers(client, auth) == 401
    event = session.scalar(select(m.AuditEvent).where(m.AuditEvent.action == "token.revoke"))
    assert event.target_id == str(row.id) and event.actor_id == accounts.get_user(session, "admin1").id
    assert organiser.post(f"/admin/accounts/{row.user_id + 1}/tokens/{row.id}/revoke").status_code == 404
    assert sign_in(app, "lecturer1").get(f"/admin/accounts/{row.user_id}/tokens").status_code == 403


def test_last_used_at_is_written_at_most_once_in_five_minutes(client, demo, session):
    auth = new_token(client, "cadre1")
    assert token_row(session, "cadre1").last_used_at is None
    assert answers(client, auth) == 200
    first = token_row(session, "cadre1").last_used_at
    assert first is not None
    for _ in range(3):
        assert answers(client, auth) == 200
    assert token_row(session, "cadre1").last_used_at == first

    # four minutes on, a request still writes nothing; past five minutes, the next one notes the time
    row = token_row(session, "cadre1")
    four_minutes_ago = datetime.now(timezone.utc) - timedelta(minutes=4)
    row.last_used_at = four_minutes_ago
    session.commit()
    assert answers(client, auth) == 200
    assert aware(token_row(session, "cadre1").last_used_at) == four_minutes_ago

    row = token_row(session, "cadre1")
    row.last_used_at = datetime.now(timezone.utc) - timedelta(minutes=5, seconds=1)
    session.commit()
    assert answers(client, auth) == 200
    assert aware(token_row(session, "cadre1").last_used_at) > datetime.now(timezone.utc) - timedelta(seconds=5)


def test_a_token_request_answers_at_once_while_another_writer_holds_the_lock(client, demo, session_factory, session):
    """A long import holds the write lock: reading with a token must neither wait for it nor fail."""
    auth = new_token(client, "cadre1")
    row = token_row(session, "cadre1")
    token_id = row.id
    session.close()
    holding, release = threading.Event(), threading.Event()

    def import_in_progress():
        with session_factory() as writer:
            writer.execute(update(m.ApiToken).where(m.ApiToken.id == token_id)       # any write to the row
                           .values(created_at=m.ApiToken.created_at))
            holding.set()
            release.wait(4)
            writer.rollback()

    holder = threading.Thread(target=import_in_progress)
    holder.start()
    try:
        assert holding.wait(5)
        started = time.monotonic()
        status = answers(client, auth)
        elapsed = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    assert status == 200
    assert elapsed < 2, f"the request waited {elapsed:.1f} s for the writer"


def test_the_token_list_and_account_pages_show_dates_and_nothing_secret(app, client, demo, session):
    raw = new_token(client, "cadre1")["Authorization"].removeprefix("Bearer ")
    browser = sign_in(app, "cadre1")
    page = browser.get("/account/tokens").text
    assert raw not in page and token_row(session, "cadre1").token_hash not in page
    assert re.search(r'data-test="token-\d+"', page)
