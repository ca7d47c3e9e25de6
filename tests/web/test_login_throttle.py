"""Guessing passwords is throttled per account and per address (10 failures in 15 minutes by default:
429 with Retry-After, in Vietnamese), lockouts are audited, and an unknown username costs the same
password check as a wrong password."""
from __future__ import annotations

import html
import time

from sqlalchemy import select

from lms_plugin.services import accounts
from lms_plugin.store import models as m
from lms_plugin.web import create_app
from tests.web.conftest import PASSWORD

LOCKED = "Quá nhiều lần đăng nhập sai"
ELSEWHERE = {"REMOTE_ADDR": "10.0.0.2"}


def attempt(client, username: str, password: str, **kwargs):
    return client.post("/login", data={"username": username, "password": password}, **kwargs)


def wrong(response) -> bool:
    return response.status_code == 200 and "Sai tên đăng nhập hoặc mật khẩu." in html.unescape(response.text)


def locked(response) -> bool:
    if response.status_code != 429:
        return False
    wait = int(response.headers["Retry-After"])
    assert 0 < wait <= 15 * 60
    return LOCKED in html.unescape(response.get_data(as_text=True))


def lockouts(session) -> list[m.AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(m.AuditEvent).where(m.AuditEvent.action == "login.locked")
                                .order_by(m.AuditEvent.id)))


def test_the_eleventh_wrong_password_is_refused_with_429_and_then_so_is_the_right_one(client, demo, session):
    for n in range(10):
        assert wrong(attempt(client, "cadre1", f"sai-{n}")), n
    assert locked(attempt(client, "cadre1", "sai-10"))
    assert locked(attempt(client, "cadre1", PASSWORD))                       # the right one waits too
    assert locked(attempt(client, "cadre1", PASSWORD, environ_base=ELSEWHERE))  # per account, whatever the address
    assert attempt(client, "cadre2", PASSWORD).status_code == 302             # others sign in as usual

    events = lockouts(session)
    assert len(events) == 1, "one entry per lockout, not one per refused attempt"
    assert (events[0].target_type, events[0].target_id) == ("account", "cadre1")
    assert events[0].details["address"] == "127.0.0.1"


def test_the_token_endpoint_shares_the_rule_and_answers_json(client, demo, session):
    for n in range(10):
        assert client.post("/api/v1/tokens", json={"username": "cadre1", "password": f"sai-{n}"}).status_code == 401
    refused = client.post("/api/v1/tokens", json={"username": "cadre1", "password": PASSWORD})
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 900
    assert LOCKED in refused.json["error"]
    assert locked(attempt(client, "cadre1", PASSWORD))                   # the web form counts the same failures


def test_many_accounts_from_one_address_meet_the_per_address_rule(app, client, demo, session):
    per_address = app.config["LOGIN_FAILURES_PER_ADDRESS"]
    assert app.config["LOGIN_FAILURES_PER_ACCOUNT"] == 10 and per_address > 10
    names = [f"khong-co-{n}" for n in range(per_address)]       # unknown names fail like wrong passwords
    for name in names:
        assert wrong(attempt(client, name, "doan-thu"))
    assert locked(attempt(client, "cadre6", PASSWORD))                       # never failed, same address
    assert attempt(client, "cadre6", PASSWORD, environ_base=ELSEWHERE).status_code == 302
    assert [(e.target_type, e.target_id) for e in lockouts(session)] == [("address", "127.0.0.1")]


def test_successes_do_not_count(client, demo):
    for _ in range(9):
        assert wrong(attempt(client, "cadre1", "sai"))
    for _ in range(3):
        assert attempt(client, "cadre1", PASSWORD).status_code == 302
        client.post("/logout")
    assert wrong(attempt(client, "cadre1", "sai"))           # the tenth failure
    assert locked(attempt(client, "cadre1", "sai"))


def test_the_lock_lifts_when_the_window_passes(engine, content, demo):
    client = _app(engine, LOGIN_FAILURES_PER_ACCOUNT=3, LOGIN_WINDOW_SECONDS=2).test_client()
    for _ in range(3):
        assert wrong(attempt(client, "cadre1", "sai"))
    refused = attempt(client, "cadre1", PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= 2
    time.sleep(int(refused.headers["Retry-After"]) + 0.2)
    assert attempt(client, "cadre1", PASSWORD).status_code == 302


def test_an_unknown_username_costs_the_same_password_check(session, content, demo, monkeypatch):
    checked: list[str] = []
    real = accounts.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting)
    assert accounts.authenticate(session, "khong-ai-co-ten-nay", "doan-thu") is None
    assert accounts.authenticate(session, "cadre1", "doan-thu") is None
    user = accounts.get_user(session, "cadre1")
    user.active = False
    assert accounts.authenticate(session, "cadre1", PASSWORD) is None
    assert len(checked) == 3, "each refusal runs the password hasher once"
    scheme = user.password_hash.split("$", 1)[0]               # e.g. pbkdf2:sha256:1000 under the test suite
    assert [h.split("$", 1)[0] for h in checked] == [scheme] * 3


def _app(engine, **settings):
    return create_app({"ENGINE": engine, "SECRET_KEY": "t", "TESTING": True, "WTF_CSRF_ENABLED": False, **settings})


def test_behind_a_trusted_proxy_the_forwarded_address_counts_and_a_forged_one_never_does(engine, content, demo):
    def via(address: str) -> dict:
        return {"headers": {"X-Forwarded-For": f"10.9.9.9, {address}"}}   # what the client sent, then the proxy

    behind = _app(engine, LOGIN_FAILURES_PER_ADDRESS=3, TRUSTED_PROXIES=1).test_client()
    for n in range(3):
        assert wrong(attempt(behind, f"khong-co-{n}", "sai", **via("203.0.113.5")))
    assert locked(attempt(behind, "cadre1", PASSWORD, **via("203.0.113.5")))
    assert attempt(behind, "cadre1", PASSWORD, **via("203.0.113.6")).status_code == 302

    direct = _app(engine, LOGIN_FAILURES_PER_ADDRESS=3).test_client()      # no proxy: the header is ignored
    for n in range(3):
        assert wrong(attempt(direct, f"khong-co-{n}", "sai", **via(f"203.0.113.{n}")))
    assert locked(attempt(direct, "cadre2", PASSWORD, **via("203.0.113.99")))
