"""The organisers' accounts pages and API: search, filters, pages that keep them; one account edited,
deactivated, reactivated, merged; bulk changes confirmed by their count; a provincial organiser's scope."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import insert, select

from lms_plugin.services import accounts, essays
from lms_plugin.services.demo import PROVINCE
from lms_plugin.store import models as m
from tests.web.conftest import PASSWORD, first_assignment, login
from tests.web.test_api import ESSAY

API = "/api/v1"


@pytest.fixture
def organiser(app, demo):
    """admin1, the demo's organiser (of the demo's province)."""
    client = app.test_client()
    login(client, "admin1")
    return client


@pytest.fixture
def many(session, demo):
    """120 more cadres of the demo's province, and one of another province."""
    session.execute(insert(m.User), [
        {"username": f"hv{i:03d}", "role": "cadre", "display_name": f"Trần Thị Hằng {i}", "province": PROVINCE,
         "commune": "Xã Tân Hòa", "contact": f"0912{i:06d}", "locale": "vi", "active": True,
         "must_change_password": False, "email": "", "email_notifications": True, "created_at": m.utcnow()}
        for i in range(120)])
    accounts.create_user(session, "xa-khac", "cadre", display_name="Trần Thị Hằng", province="Tỉnh Khác")
    session.commit()


def _usernames(page: str) -> list[str]:
    return re.findall(r'<tr data-test="account-([^"]+)">', page)


def _link(page: str, name: str) -> str:
    return html.unescape(re.search(rf'href="([^"]+)" rel="{name}"', page).group(1))


def test_the_list_is_searched_filtered_and_paged_with_the_filters_kept(organiser, many):
    first = organiser.get("/admin/accounts?q=tran+thi+HANG&status=active")
    assert first.status_code == 200 and len(first.data) < 200_000
    assert _usernames(first.text) == [f"hv{i:03d}" for i in range(50)]
    assert 'rel="prev"' not in first.text and "xa-khac" not in first.text          # another province
    second = organiser.get(_link(first.text, "next"))
    assert "q=tran+thi+HANG" in _link(first.text, "next") and "status=active" in _link(first.text, "next")
    assert _usernames(second.text) == [f"hv{i:03d}" for i in range(50, 100)]
    third = organiser.get(_link(second.text, "next"))
    assert _usernames(third.text) == [f"hv{i:03d}" for i in range(100, 120)] and 'rel="next"' not in third.text
    assert _usernames(organiser.get(_link(third.text, "prev")).text) == _usernames(second.text)
    assert _usernames(organiser.get("/admin/accounts?q=0912000007").text) == ["hv007"]
    assert _usernames(organiser.get("/admin/accounts?role=examiner").text) == ["examiner1", "examiner2"]
    assert "Bạn quản lý tài khoản của" in first.text
    bad = organiser.get("/admin/accounts?role=vua")
    assert bad.status_code == 422 and 'data-test="filter-error"' in bad.text


def test_an_account_is_edited_with_its_change_audited(organiser, session):
    cadre = accounts.get_user(session, "cadre3")
    page = organiser.get(f"/admin/accounts/{cadre.id}")
    assert page.status_code == 200 and 'data-test="account-form"' in page.text
    done = organiser.post(f"/admin/accounts/{cadre.id}", data={
        "display_name": "Vũ Đức Cường", "province": PROVINCE, "commune": "Xã Bình An", "contact": "0987 654 321",
        "email": "cuong@xa.vn", "role": "cadre"})
    assert done.status_code == 302
    session.expire_all()
    assert (cadre.commune, cadre.contact, cadre.email) == ("Xã Bình An", "0987 654 321", "cuong@xa.vn")
    shown = organiser.get(f"/admin/accounts/{cadre.id}").text
    assert "account.update" in shown and "cuong@xa.vn" in shown
    empty = organiser.post(f"/admin/accounts/{cadre.id}", data={"display_name": "", "role": "cadre"})
    assert empty.status_code == 422
    wrong = organiser.post(f"/admin/accounts/{cadre.id}", data={"display_name": "A", "email": "x", "role": "cadre"})
    assert wrong.status_code == 422 and "Địa chỉ thư điện tử không hợp lệ" in wrong.text


def test_a_deactivated_cadre_is_signed_out_everywhere_and_can_be_reactivated(app, organiser, session):
    cadre = accounts.get_user(session, "cadre2")
    browser = app.test_client()
    login(browser, "cadre2")
    token = app.test_client().post(f"{API}/tokens", json={"username": "cadre2", "password": PASSWORD}).json["token"]
    assert browser.get("/cadre/").status_code == 200
    assert organiser.post(f"/admin/accounts/{cadre.id}/deactivate").status_code == 302
    assert "Đã khóa tài khoản cadre2" in organiser.get(f"/admin/accounts/{cadre.id}").text
    assert browser.get("/cadre/").status_code == 302                             # to the sign-in page
    assert app.test_client().get(f"{API}/assignments", headers={"Authorization": f"Bearer {token}"}).status_code \
        == 401
    refused = app.test_client().post("/login", data={"username": "cadre2", "password": PASSWORD})
    assert refused.status_code != 302
    assert app.test_client().post(f"{API}/tokens", json={"username": "cadre2", "password": PASSWORD}) \
        .status_code == 401
    assert organiser.post(f"/admin/accounts/{cadre.id}/reactivate").status_code == 302
    login(app.test_client(), "cadre2")
    me = accounts.get_user(session, "admin1")
    assert organiser.post(f"/admin/accounts/{me.id}/deactivate").status_code == 302
    session.expire_all()
    assert me.active                                                              # not oneself


def test_bulk_deactivation_shows_the_count_first_and_needs_a_filter(organiser, many, session):
    assert organiser.post("/admin/accounts/bulk", data={"action": "deactivate"}).status_code == 302
    asked = organiser.post("/admin/accounts/bulk", data={"action": "deactivate", "q": "hằng 1"})
    assert asked.status_code == 200
    count = int(re.search(r'name="expected" value="(\d+)"', asked.text).group(1))
    assert count == 31 and "31" in re.search(r'data-test="bulk-count">(.*?)</p>', asked.text, re.S).group(1)
    session.expire_all()
    assert accounts.get_user(session, "hv100").active                             # nothing done yet
    done = organiser.post("/admin/accounts/bulk", data={"action": "deactivate", "q": "hằng 1", "expected": count})
    assert done.status_code == 302 and "q=" in done.headers["Location"]
    session.expire_all()
    assert not accounts.get_user(session, "hv100").active and accounts.get_user(session, "hv099").active
    inactive = organiser.get("/admin/accounts?status=inactive").text
    assert len(_usernames(inactive)) == 31


def test_merging_previews_then_moves_the_work_or_says_why_not(organiser, session):
    kept, twin, other = (accounts.get_user(session, n) for n in ("cadre1", "cadre5", "cadre6"))
    assignment = first_assignment(session)
    essays.submit_essay(session, twin, assignment.id, ESSAY)
    essays.submit_essay(session, other, assignment.id, ESSAY)
    session.commit()
    preview = organiser.post(f"/admin/accounts/{twin.id}/merge", data={"into": "cadre1"})
    assert preview.status_code == 200 and 'data-test="merge-confirm"' in preview.text
    assert "bài nộp: 1" in preview.text
    done = organiser.post(f"/admin/accounts/{twin.id}/merge", data={"into": "cadre1", "confirm": "1"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/admin/accounts/{kept.id}")
    session.expire_all()
    assert session.scalar(select(m.Essay.user_id).where(m.Essay.assignment_id == assignment.id,
                                                        m.Essay.body == ESSAY).order_by(m.Essay.id)) == kept.id
    assert "Đã gộp vào cadre1" in organiser.get(f"/admin/accounts/{twin.id}").text
    refused = organiser.post(f"/admin/accounts/{other.id}/merge", data={"into": "cadre1"})
    assert refused.status_code == 409 and "Không gộp được" in html.unescape(refused.text)
    assert organiser.post(f"/admin/accounts/{other.id}/merge", data={"into": "khong-co"}).status_code == 422


def test_a_provincial_organiser_manages_only_their_province(app, organiser, many, session):
    outside = accounts.get_user(session, "xa-khac")
    for url in (f"/admin/accounts/{outside.id}", f"/admin/accounts/{outside.id}/tokens"):
        assert organiser.get(url).status_code == 404
    for action in ("deactivate", "reactivate", "password"):
        assert organiser.post(f"/admin/accounts/{outside.id}/{action}").status_code == 404
    assert organiser.post(f"/admin/accounts/{outside.id}", data={"display_name": "X"}).status_code == 404
    assert _usernames(organiser.get("/admin/accounts?province=Tỉnh+Khác").text) == []
    national = accounts.create_user(session, "toanquoc", "admin", PASSWORD)
    session.commit()
    client = app.test_client()
    login(client, national.username)
    assert _usernames(client.get("/admin/accounts?q=hang&province=Tỉnh+Khác").text) == ["xa-khac"]
    assert client.get(f"/admin/accounts/{outside.id}").status_code == 200


def test_the_api_pages_by_cursor_up_to_a_maximum(app, many):
    headers = {"Authorization": "Bearer " + app.test_client().post(
        f"{API}/tokens", json={"username": "admin1", "password": PASSWORD}).json["token"]}
    client = app.test_client()
    seen, cursor = [], ""
    while True:
        page = client.get(f"{API}/accounts?q=hang&limit=40&cursor={cursor}", headers=headers)
        assert page.status_code == 200
        seen += [a["username"] for a in page.json["accounts"]]
        cursor = page.json["next_cursor"]
        if not cursor:
            break
    assert seen == [f"hv{i:03d}" for i in range(120)]                              # not xa-khac: another province
    assert client.get(f"{API}/accounts?limit=201", headers=headers).status_code == 422
    assert client.get(f"{API}/accounts?cursor=%%%", headers=headers).status_code == 422
    cadre = {"Authorization": "Bearer " + client.post(
        f"{API}/tokens", json={"username": "cadre1", "password": PASSWORD}).json["token"]}
    assert client.get(f"{API}/accounts", headers=cadre).status_code == 403
