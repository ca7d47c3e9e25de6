"""The lecturer's progress page drilled down: provinces › communes › groups › cadres, on the administrative map,
a page at a time, searchable, at the same cost in statements for any size of cohort."""
from __future__ import annotations

import html
import re
from urllib.parse import quote

import pytest
from sqlalchemy import event, select

from lms_plugin.services import accounts, attempts, cohorts, essays, progress
from lms_plugin.store import models as m
from tests.web.conftest import first_assignment, login
from tests.web.test_lecturer import ESSAY_WORDS, place_rows

DRAFT = "Bản nháp: xã cần công khai quy trình và số hóa hồ sơ đất đai của người dân."


def add_cadre(session, cohort, username, name, province, commune, group=None) -> m.User:
    user = accounts.create_user(session, username, "cadre", None, display_name=name, province=province,
                                commune=commune)
    cohorts.add_member(session, cohort, user, group)
    return user


def national(session, assignment) -> dict[str, m.User]:
    """Beside the demo's six cadres (Tỉnh Đông Hải, not on the map): Hà Nội written four ways, a ward of Phú Thọ
    whose name other provinces also have, and a cadre whose account names no province and who has no group."""
    cohort = session.get(m.Cohort, assignment.cohort_id)
    hoan_kiem = cohorts.group_named(session, cohort, "Phường Hoàn Kiếm", "Hoàn Kiếm")
    ba_dinh = cohorts.group_named(session, cohort, "Phường Ba Đình", "Ba Đình")
    people = {
        "hn1": add_cadre(session, cohort, "hn1", "Nguyễn Văn An", "ha noi", "phuong hoan kiem", hoan_kiem),
        "hn2": add_cadre(session, cohort, "hn2", "Trần Thị Bình", "Thành phố Hà Nội", "Hoàn Kiếm", hoan_kiem),
        "hn3": add_cadre(session, cohort, "hn3", "Lê Thị Hằng", "TP. Hà Nội", "", hoan_kiem),   # the group's commune
        "hn4": add_cadre(session, cohort, "hn4", "Phạm Văn Dũng", "Hà Nội", "Ba Đình", ba_dinh),
        "pt1": add_cadre(session, cohort, "pt1", "Đặng Thị Hoa", "phu tho", "tan hoa"),
        "np1": add_cadre(session, cohort, "np1", "Vũ Văn Khánh", "", ""),
    }
    attempts.start_attempt(session, people["hn1"], assignment.id)
    essays.submit_essay(session, people["hn2"], assignment.id, ESSAY_WORDS)
    essays.save_draft(session, people["hn3"], assignment.id, DRAFT)
    session.commit()
    return people


def essay_assignment(session) -> m.Assignment:
    return first_assignment(session, "t1-ton-dong")


def get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.text


def link(page: str, test: str, name: str | None = None) -> str:
    """The href of the first element ``data-test=test`` (in the row ``data-name=name`` when given)."""
    if name is not None:
        page = page.split(f'data-name="{name}"')[1]
    return html.unescape(re.search(rf'href="([^"]+)"[^>]*? data-test="{test}"', page).group(1))


def cadres(page: str) -> list[str]:
    table = page.split('data-test="progress-cadres"')[1].split("</table>")[0]
    return re.findall(r'<tr data-test="cadre-([^"]+)">', table)


def crumbs(page: str) -> str:
    block = page.split('data-test="crumbs"')[1].split("</p>")[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", block.split(">", 1)[1])).split())


def test_the_drill_down_puts_every_spelling_under_the_official_names(client, demo, session):
    assignment = essay_assignment(session)
    national(session, assignment)
    login(client, "lecturer1")
    top = get(client, f"/lecturer/assignments/{assignment.id}")
    provinces = place_rows(top)
    assert list(provinces) == ["Thành phố Hà Nội", "Tỉnh Đông Hải", "Tỉnh Phú Thọ", ""]      # by name, none last
    assert provinces["Thành phố Hà Nội"] == {"members": "4", "started": "1", "finished": "0", "drafts": "1",
                                             "submitted": "1", "marked": "0", "late": "0"}
    assert provinces["Tỉnh Đông Hải"]["members"] == "6" and provinces[""]["members"] == "1"
    assert "Chưa ghi tỉnh, thành phố" in top and 'data-test="level-totals"' in top
    assert "Danh mục đơn vị hành chính ngày 18/10/2025" in top

    communes = get(client, link(top, "open-place", "Thành phố Hà Nội"))
    assert crumbs(communes) == "Toàn quốc › Thành phố Hà Nội"
    assert {name: row["members"] for name, row in place_rows(communes).items()} == {
        "Phường Ba Đình": "1", "Phường Hoàn Kiếm": "3"}
    assert 'data-test="drafts-count">1<' in communes and 'data-test="draft-hn3"' in communes

    groups = get(client, link(communes, "open-place", "Phường Hoàn Kiếm"))
    assert crumbs(groups) == "Toàn quốc › Thành phố Hà Nội › Phường Hoàn Kiếm"
    assert re.findall(r'data-test="open-group">([^<]+)<', groups) == ["Phường Hoàn Kiếm"]

    group = get(client, link(groups, "open-group"))
    assert crumbs(group) == "Toàn quốc › Thành phố Hà Nội › Phường Hoàn Kiếm › Phường Hoàn Kiếm"
    assert cadres(group) == ["hn3", "hn1", "hn2"]                    # by full name: Lê, Nguyễn, Trần
    row = {u: group.split(f'data-test="cadre-{u}"')[1].split("</tr>")[0] for u in ("hn1", "hn2", "hn3")}
    assert "đang làm" in row["hn1"] and "đã nộp" in row["hn2"] and 'data-test="cadre-draft"' in row["hn3"]
    assert 'id="discussion"' in group and "Phường Hoàn Kiếm" in group.split('id="discussion"')[1]

    elsewhere = get(client, link(top, "open-place", "Tỉnh Phú Thọ"))
    assert list(place_rows(elsewhere)) == ["Phường Tân Hòa"]          # "tan hoa", found in its province
    nowhere = get(client, link(top, "open-place", ""))
    assert list(place_rows(nowhere)) == [""] and "Chưa ghi xã, phường" in nowhere
    unplaced = get(client, link(get(client, link(nowhere, "open-place", "")), "open-group"))
    assert cadres(unplaced) == ["np1"] and "Chưa xếp nhóm" in unplaced and 'id="discussion"' not in unplaced


def test_long_levels_are_paged_by_keyset_with_every_row_once(client, demo, session, monkeypatch):
    assignment = essay_assignment(session)
    national(session, assignment)
    monkeypatch.setattr(progress, "PAGE", 2)
    login(client, "lecturer1")

    def walk(url: str, rows) -> list[str]:
        seen = []
        while True:
            page = get(client, url)
            seen += rows(page)
            assert len(rows(page)) <= 2
            if 'data-test="progress-next"' not in page:
                return seen
            url = link(page, "progress-next")
            assert "after=" in url and "progress-first" in get(client, url)

    base = f"/lecturer/assignments/{assignment.id}"
    assert walk(base, lambda page: list(place_rows(page))) == [
        "Thành phố Hà Nội", "Tỉnh Đông Hải", "Tỉnh Phú Thọ", ""]
    assert walk(f"{base}?province={quote('Tỉnh Đông Hải')}", lambda page: list(place_rows(page))) == [
        "Bình An", "Tân Hòa"]
    tan_hoa = session.scalar(select(m.Group).where(m.Group.cohort_id == assignment.cohort_id,
                                                   m.Group.name == "Xã Tân Hòa"))
    names = walk(f"{base}?group={tan_hoa.id}", cadres)
    assert sorted(names) == ["cadre1", "cadre2", "cadre3"] and len(set(names)) == 3


def test_search_finds_communes_and_cadres_without_marks(client, demo, session):
    assignment = essay_assignment(session)
    national(session, assignment)
    login(client, "lecturer1")
    base = f"/lecturer/assignments/{assignment.id}"
    found = get(client, f"{base}?q=phuong+hoan+kiem")
    assert re.findall(r'data-test="found-commune">([^<]+)<', found) == ["Phường Hoàn Kiếm"]
    assert crumbs(found) == "Toàn quốc › Kết quả tìm “phuong hoan kiem”"
    groups = get(client, link(found, "found-commune"))
    assert re.findall(r'data-test="open-group">([^<]+)<', groups) == ["Phường Hoàn Kiếm"]
    people = get(client, f"{base}?q=LE+THI+HANG")
    assert cadres(people) == ["hn3"] and "Phường Hoàn Kiếm" in people.split('data-test="cadre-hn3"')[1]
    assert "hn3" in cadres(get(client, link(people, "cadre-group")))
    short = client.get(f"{base}?q=a")
    assert short.status_code == 422 and "Hãy gõ ít nhất 2 ký tự để tìm" in short.text
    assert 'data-test="progress-provinces"' in short.text


def test_an_organiser_of_a_province_sees_that_province_alone(client, demo, session):
    assignment = essay_assignment(session)
    national(session, assignment)
    admin = session.scalar(select(m.User).where(m.User.username == "admin1"))
    admin.province = "Hà Nội"
    session.commit()
    login(client, "admin1")
    base = f"/lecturer/assignments/{assignment.id}"
    top = get(client, base)                                          # their province's communes
    assert list(place_rows(top)) == ["Phường Ba Đình", "Phường Hoàn Kiếm"] and crumbs(top) == "Thành phố Hà Nội"
    assert place_rows(top)["Phường Hoàn Kiếm"]["members"] == "3"
    assert client.get(f"{base}?province={quote('Tỉnh Đông Hải')}").status_code == 404
    assert list(place_rows(get(client, f"{base}?province={quote('ha noi')}"))) == list(place_rows(top))
    assert cadres(get(client, f"{base}?q=van")) == ["hn1", "hn4"]       # the Văn of Đông Hải are not theirs
    groups = get(client, link(top, "open-place", "Phường Hoàn Kiếm"))
    assert crumbs(groups) == "Thành phố Hà Nội › Phường Hoàn Kiếm"


@pytest.mark.parametrize("level", ["provinces", "communes", "groups", "cadres", "search"])
def test_each_level_costs_the_same_statements_for_a_larger_cohort(app, demo, session, engine, level):
    assignment = essay_assignment(session)
    people = national(session, assignment)
    client = app.test_client()
    login(client, "lecturer1")
    hoan_kiem = session.scalar(select(m.Group).where(m.Group.name == "Phường Hoàn Kiếm"))
    base = f"/lecturer/assignments/{assignment.id}"
    url = {"provinces": base, "communes": f"{base}?province={quote('Thành phố Hà Nội')}",
           "groups": f"{base}?province={quote('Thành phố Hà Nội')}&commune={quote('Phường Hoàn Kiếm')}",
           "cadres": f"{base}?group={hoan_kiem.id}", "search": f"{base}?q=hoan+kiem"}[level]

    def statements() -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)
        event.listen(engine, "before_cursor_execute", count)
        try:
            get(client, url)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    get(client, url)                          # the administrative map is read once, on first use
    small = statements()
    cohort = session.get(m.Cohort, assignment.cohort_id)
    for i in range(40):                       # 40 more cadres, in new groups, communes and provinces, working
        group = cohorts.group_named(session, cohort, f"Xã Số {i % 8}", f"Số {i % 8}")
        province = ("Hà Nội", "Gia Lai", "Tỉnh Cà Mau", "Tỉnh Mới")[i % 4]
        user = add_cadre(session, cohort, f"x{i}", f"Hoàng Văn {i}", province, f"Hoàn Kiếm {i % 8}", group)
        attempts.start_attempt(session, user, assignment.id)
        if i % 2:
            essays.submit_essay(session, user, assignment.id, ESSAY_WORDS)
        else:
            essays.save_draft(session, user, assignment.id, DRAFT)
    for i in range(5):                        # and more of the chosen group
        add_cadre(session, cohort, f"hk{i}", f"Đỗ Thị {i}", "Hà Nội", "Hoàn Kiếm", hoan_kiem)
    attempts.start_attempt(session, people["hn2"], assignment.id)
    session.commit()
    assert statements() == small
