"""The organisers' accounts: search, filters and keyset pages; edits, deactivation, bulk changes, provincial
organisers; merging two accounts of one person."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from lms_plugin.services import account_admin, account_merge, accounts, cohorts, credentials, essays
from lms_plugin.services.account_admin import AccountFilter
from lms_plugin.services.demo import seed_demo
from lms_plugin.services.errors import Conflict, Forbidden, Invalid, NotFound
from lms_plugin.store import models as m
from tests.web.test_api import ESSAY as ESSAY_TEXT

ESSAY = ESSAY_TEXT


@pytest.fixture
def organiser(session):
    return accounts.create_user(session, "tochuc", "admin", "mat-khau-dai", display_name="Người tổ chức")


def _people(session, count: int, **columns) -> None:
    session.execute(insert(m.User), [
        {"username": f"hv{i:04d}", "role": "cadre", "display_name": f"Học viên số {i}", "province": "Tỉnh A",
         "commune": "Xã Tân Hòa", "contact": "", "locale": "vi", "active": True, "must_change_password": False,
         "email": "", "email_notifications": True, "created_at": m.utcnow(), **columns} for i in range(count)])


def _names(page) -> list[str]:
    return [row.username for row in page.rows]


def test_search_ignores_marks_and_case_and_looks_in_name_username_and_contact(session, organiser):
    accounts.create_user(session, "hangdt", "cadre", display_name="Đặng Thị Hằng", contact="0912 345 678")
    accounts.create_user(session, "minhlv", "cadre", display_name="Lê Văn Minh", contact="minh@xa.vn")
    accounts.create_user(session, "hang_x", "cadre", display_name="Nguyễn Hằng")
    for typed, found in [("hang", ["hang_x", "hangdt"]), ("ĐẶNG thị", ["hangdt"]), ("dang thi hang", ["hangdt"]),
                         ("345 678", ["hangdt"]), ("MINH@XA", ["minhlv"]), ("ng_x", ["hang_x"]),
                         ("Hằng", ["hang_x", "hangdt"]), ("100%", [])]:
        page = account_admin.list_accounts(session, organiser, AccountFilter(q=typed))
        assert _names(page) == found, typed
    with pytest.raises(Invalid):
        account_admin.list_accounts(session, organiser, AccountFilter(q="h"))


def test_pages_follow_usernames_forwards_and_back_without_offset(session, organiser):
    _people(session, 120)
    wanted = AccountFilter(role="cadre")
    seen, page, pages = [], account_admin.list_accounts(session, organiser, wanted), []
    while True:
        pages.append(page)
        seen += _names(page)
        if page.after is None:
            break
        page = account_admin.list_accounts(session, organiser, wanted, after=page.after)
    assert seen == [f"hv{i:04d}" for i in range(120)]
    assert [len(p.rows) for p in pages] == [50, 50, 20]
    assert pages[0].before is None and pages[1].before == "hv0050"
    back = account_admin.list_accounts(session, organiser, wanted, before=pages[2].before)
    assert _names(back) == _names(pages[1]) and back.after == "hv0099" and back.before == "hv0050"
    first = account_admin.list_accounts(session, organiser, wanted, before=back.before)
    assert _names(first) == _names(pages[0]) and first.before is None
    assert account_admin.count_accounts(session, organiser, wanted) == 120


def test_filters_by_role_province_commune_status_and_cohort(session, organiser, content):
    _people(session, 3)
    accounts.create_user(session, "gk", "examiner", province="Tỉnh B", commune="Phường Đông Hòa")
    cohort = cohorts.create_cohort(session, "Lớp A", "boi-duong-can-bo-co-so-2026")
    cohorts.add_member(session, cohort, accounts.get_user(session, "hv0001"))
    accounts.get_user(session, "hv0002").active = False
    session.flush()

    def names(**given):
        return _names(account_admin.list_accounts(session, organiser, AccountFilter(**given)))
    assert names(role="examiner") == ["gk"]
    assert names(province="Tỉnh B") == ["gk"]
    assert names(commune="phuong dong") == ["gk"] and names(commune="Đông") == []      # a commune starts so
    assert names(commune="xã tân", status="inactive") == ["hv0002"]
    assert names(status="active", role="cadre") == ["hv0000", "hv0001"]
    assert names(cohort_id=cohort.id) == ["hv0001"]
    with pytest.raises(Invalid):
        AccountFilter.of({"role": "hacker"})
    assert AccountFilter.of({"q": "  Hằng  ", "cohort": "7", "x": "y"}).args() == {"q": "Hằng", "cohort": "7"}


def test_a_provincial_organiser_sees_and_manages_only_their_province(session, organiser):
    _people(session, 2)
    accounts.create_user(session, "xa-b", "cadre", province="Tỉnh B")
    provincial = accounts.create_user(session, "tochuc-a", "admin", province="Tỉnh A")
    session.commit()
    assert _names(account_admin.list_accounts(session, provincial, AccountFilter())) == ["hv0000", "hv0001",
                                                                                          "tochuc-a"]
    assert account_admin.provinces(session, provincial) == ["Tỉnh A"]
    assert _names(account_admin.list_accounts(session, provincial, AccountFilter(province="Tỉnh B"))) == []
    other = accounts.get_user(session, "xa-b")
    for attempt in (lambda: account_admin.detail(session, provincial, other.id),
                    lambda: account_admin.set_active(session, provincial, other.id, False),
                    lambda: account_admin.update_account(session, provincial, other.id, {"display_name": "X"}),
                    lambda: accounts.reset_password(session, provincial, other.id)):
        with pytest.raises(NotFound):
            attempt()
    mine = accounts.get_user(session, "hv0000")
    with pytest.raises(Invalid):                       # out of their province: no longer theirs to manage
        account_admin.update_account(session, provincial, mine.id, {"province": "Tỉnh B"})
    session.rollback()
    mine = accounts.get_user(session, "hv0000")
    with pytest.raises(Forbidden):
        account_admin.update_account(session, provincial, mine.id, {"role": "admin"})
    assert account_admin.update_account(session, organiser, mine.id, {"province": "Tỉnh B"}).province == "Tỉnh B"
    cadre = accounts.get_user(session, "hv0001")
    with pytest.raises(Forbidden):
        account_admin.list_accounts(session, cadre, AccountFilter())


def test_an_edit_is_audited_with_before_and_after_and_a_new_role_ends_sessions(session, organiser):
    person = accounts.create_user(session, "hv", "cadre", "mat-khau-dai", display_name="Lê Văn Tám")
    key = credentials.start_session(session, person, lifetime=timedelta(hours=1))
    row = account_admin.update_account(session, organiser, person.id, {
        "display_name": "  Lê  Văn Tám ", "commune": "Xã Tân Hòa", "email": "tam@xa.vn", "contact": ""})
    assert (row.display_name, row.commune, row.email) == ("Lê Văn Tám", "Xã Tân Hòa", "tam@xa.vn")
    event = session.scalar(select(m.AuditEvent).where(m.AuditEvent.action == "account.update"))
    assert event.details == {"before": {"commune": "", "email": ""},
                             "after": {"commune": "Xã Tân Hòa", "email": "tam@xa.vn"}}
    assert credentials.session_for(session, key) is not None
    account_admin.update_account(session, organiser, person.id, {"role": "examiner"})
    assert credentials.session_for(session, key) is None
    with pytest.raises(Invalid):
        account_admin.update_account(session, organiser, person.id, {"email": "khong-phai-thu"})
    with pytest.raises(Conflict):
        account_admin.update_account(session, organiser, organiser.id, {"role": "cadre"})


def test_a_deactivated_account_cannot_sign_in_and_keeps_its_work(session, organiser, content):
    seed_demo(session, "mat-khau-demo")
    cadre = accounts.get_user(session, "cadre1")
    assignment = session.scalar(select(m.Assignment).order_by(m.Assignment.id))
    essays.submit_essay(session, cadre, assignment.id, ESSAY)
    key = credentials.start_session(session, cadre, lifetime=timedelta(hours=1))
    token = credentials.issue_token(session, cadre, days=30)
    session.commit()
    account_admin.set_active(session, organiser, cadre.id, False)
    session.commit()
    assert accounts.authenticate(session, "cadre1", "mat-khau-demo") is None
    assert credentials.session_for(session, key) is None and credentials.token_for(session, token) is None
    assert session.scalar(select(m.Essay).where(m.Essay.user_id == cadre.id)) is not None
    account_admin.set_active(session, organiser, cadre.id, False)          # twice: nothing more happens
    assert session.scalars(select(m.AuditEvent.action).where(
        m.AuditEvent.target_type == "user", m.AuditEvent.target_id == str(cadre.id))).all() == ["account.deactivate"]
    account_admin.set_active(session, organiser, cadre.id, True)
    assert accounts.authenticate(session, "cadre1", "mat-khau-demo").id == cadre.id
    assert credentials.session_for(session, key) is None                  # what was ended stays ended
    with pytest.raises(Conflict):
        account_admin.set_active(session, organiser, organiser.id, False)


def test_bulk_changes_the_filtered_set_in_batches_after_confirming_its_count(session, organiser, monkeypatch):
    _people(session, 7)
    accounts.create_user(session, "ngoai", "cadre", province="Tỉnh B")
    session.commit()
    monkeypatch.setattr(account_admin, "BATCH", 3)
    wanted = AccountFilter(province="Tỉnh A")
    assert account_admin.bulk_count(session, organiser, wanted, False) == 7
    with pytest.raises(Conflict):
        account_admin.bulk_set_active(session, organiser, wanted, False, expected=6, commit=session.commit)
    commits = []
    result = account_admin.bulk_set_active(session, organiser, wanted, False, expected=7,
                                           commit=lambda: (commits.append(1), session.commit()))
    assert (result.changed, result.batches, len(commits)) == (7, 3, 3)
    assert account_admin.count_accounts(session, organiser, AccountFilter(status="inactive")) == 7
    assert accounts.get_user(session, "ngoai").active
    everyone = AccountFilter()
    assert account_admin.bulk_count(session, organiser, everyone, False) == 1      # never the organiser
    assert account_admin.bulk_set_active(session, organiser, wanted, True, expected=7,
                                         commit=session.commit).changed == 7
    audited = session.scalars(select(m.AuditEvent.action).where(m.AuditEvent.target_type == "user")).all()
    assert audited.count("account.deactivate") == 7 and audited.count("account.reactivate") == 7


def _submitted(session, user, assignment_id):
    return essays.submit_essay(session, user, assignment_id, ESSAY)


def test_merging_moves_the_work_and_marks_the_merged_account(session, organiser, content):
    seed_demo(session, "mat-khau-demo")
    kept, twin = accounts.get_user(session, "cadre1"), accounts.get_user(session, "cadre4")
    first, second = session.scalars(select(m.Assignment).order_by(m.Assignment.id).limit(2)).all()
    _submitted(session, kept, first.id)
    receipt = _submitted(session, twin, second.id)
    twin.external_id = "cccd-001"
    token = credentials.issue_token(session, twin, days=30)
    session.commit()
    plan = account_merge.plan_merge(session, organiser, twin.id, kept.id)
    assert plan.moves["essays"] == 1 and plan.kept_apart == {"memberships": 1}    # both in the demo cohort
    account_merge.merge_accounts(session, organiser, twin.id, kept.id)
    session.commit()
    kept, twin = session.get(m.User, kept.id), session.get(m.User, twin.id)
    assert session.get(m.Essay, receipt.id).user_id == kept.id
    assert session.get(m.Essay, receipt.id).body == ESSAY
    assert (twin.active, twin.merged_into_id, twin.external_id, kept.external_id) == (False, kept.id, None,
                                                                                       "cccd-001")
    assert credentials.token_for(session, token) is None
    assert session.scalar(select(m.AuditEvent).where(m.AuditEvent.action == "account.merge")).details["moved"]
    with pytest.raises(Conflict):
        account_admin.set_active(session, organiser, twin.id, True)
    with pytest.raises(Conflict):
        account_merge.plan_merge(session, organiser, twin.id, kept.id)


def test_two_accounts_with_work_on_the_same_assignment_are_not_merged(session, organiser, content):
    seed_demo(session, "mat-khau-demo")
    one, two = accounts.get_user(session, "cadre1"), accounts.get_user(session, "cadre2")
    assignment = session.scalar(select(m.Assignment).order_by(m.Assignment.id))
    _submitted(session, one, assignment.id)
    essays.save_draft(session, two, assignment.id, "Bản nháp")
    session.commit()
    with pytest.raises(Conflict) as refused:
        account_merge.merge_accounts(session, organiser, two.id, one.id)
    message = refused.value.translated(lambda s, **kw: s % kw)
    assert "cadre1" in message and "cadre2" in message and assignment.scenario_version.title in message
    session.rollback()
    assert session.get(m.User, two.id).active
    examiner = accounts.get_user(session, "examiner1")
    with pytest.raises(Conflict):                       # different roles
        account_merge.plan_merge(session, organiser, examiner.id, one.id)
