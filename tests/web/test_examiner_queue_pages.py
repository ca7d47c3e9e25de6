"""The examiner's queue on the web and in the API at size: a page at a time with a cursor, filters, the
rubric once per response, blind; and the organisers' exports streamed as they are produced."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from lms_plugin.services import demo, marking_queue
from lms_plugin.store import models as m
from tests.web.conftest import PASSWORD, login
from tests.web.test_api import API, token

ESSAYS = 70


@pytest.fixture
def crowd(session, content):
    summary = demo.seed_demo(session, PASSWORD, cadres=90, communes=4, essays=ESSAYS)
    session.commit()
    return summary


def signed_in(app, username):
    client = app.test_client()
    login(client, username)
    return client


def test_the_queue_page_goes_page_by_page_and_filters(app, session, crowd, monkeypatch):
    monkeypatch.setattr("lms_plugin.web.examiner.QUEUE_PAGE", 30)
    examiner = signed_in(app, "examiner1")
    mine = sorted(session.scalars(select(m.Grade.essay_id).join(m.User, m.User.id == m.Grade.examiner_id)
                                  .where(m.User.username == "examiner1")))
    seen, url, pages = [], "/examiner/", 0
    while url:
        page = examiner.get(url)
        assert page.status_code == 200
        seen += [int(n) for n in re.findall(r'data-test="queue-item-(\d+)"', page.text)]
        found = re.search(r'href="([^"]+)" data-test="queue-next"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
        pages += 1
    assert pages == 3 and seen == mine                                   # every essay once, in order
    assert 'data-test="queue-first"' in page.text
    authors = session.execute(select(m.User.display_name, m.User.username).join(
        m.Essay, m.Essay.user_id == m.User.id).where(m.Essay.id.in_(mine[:5]))).all()
    first = examiner.get("/examiner/").text
    assert not any(name in first or f">{username}<" in first for name, username in authors)   # blind

    session.execute(update(m.Grade).where(m.Grade.essay_id == mine[0], m.Grade.examiner_id.in_(
        select(m.User.id).where(m.User.username == "examiner1"))).values(finalised_at=datetime.now(timezone.utc),
                                                                           total=5.0))
    session.execute(update(m.EssayResult).where(m.EssayResult.essay_id == mine[0]).values(status="needs_third"))
    session.commit()
    todo = examiner.get("/examiner/?status=todo").text
    assert f'queue-item-{mine[0]}"' not in todo and f'queue-item-{mine[1]}"' in todo
    assert f'data-test="count-todo">{len(mine) - 1}<' in todo
    third = examiner.get("/examiner/?status=third").text
    assert re.findall(r'data-test="queue-item-(\d+)"', third) == [str(mine[0])]
    assert 'data-test="needs-third"' in third
    marked = examiner.get("/examiner/?status=marked").text
    assert re.findall(r'data-test="queue-item-(\d+)"', marked) == [str(mine[0])] and "Đã chốt" in marked
    assert examiner.get("/examiner/?cursor=nonsense").status_code == 302      # back to the first page


def test_the_api_pages_with_a_cursor_and_gives_each_rubric_once(app, session, crowd):
    client = app.test_client()
    auth = token(client, "examiner2")
    first = client.get(f"{API}/grading/queue?limit=25", headers=auth)
    assert first.status_code == 200
    body = first.json
    assert len(body["items"]) == 25 and len(body["rubrics"]) == 1 and body["next_cursor"]
    assert body["counts"] == {"all": ESSAYS, "todo": ESSAYS, "marked": 0, "third": 0} and body["filter"] == "all"
    assert first.get_data(as_text=True).count('"criteria"') == 1            # the rubric once, not per item
    assert {i["rubric_key"] for i in body["items"]} == {body["rubrics"][0]["key"]}
    assert not {"author", "user_id", "username"} & set(body["items"][0])
    seen = [i["essay_id"] for i in body["items"]]
    cursor = body["next_cursor"]
    while cursor:
        more = client.get(f"{API}/grading/queue", query_string={"limit": 25, "cursor": cursor}, headers=auth).json
        seen += [i["essay_id"] for i in more["items"]]
        cursor = more["next_cursor"]
    assert len(seen) == len(set(seen)) == ESSAYS
    capped = client.get(f"{API}/grading/queue?limit=5000", headers=auth).json["items"]
    assert len(capped) == min(ESSAYS, marking_queue.MAX_PAGE)
    refused = client.get(f"{API}/grading/queue?cursor=abc", headers=auth)
    assert refused.status_code == 422 and "cursor" in refused.json["fields"]
    assert client.get(f"{API}/grading/queue?status=nope", headers=auth).status_code == 422


def test_the_exports_are_streamed_and_hold_every_row(app, session, crowd, monkeypatch):
    monkeypatch.setattr("lms_plugin.services.exports.CHUNK", 16)          # several batches, several groups each
    organiser = signed_in(app, "admin1")
    cohort = session.scalar(select(m.Cohort).where(m.Cohort.name == crowd.cohort))
    base = f"/admin/cohorts/{cohort.id}"

    grades = organiser.get(f"{base}/grades.csv", buffered=False)
    assert grades.status_code == 200 and grades.is_streamed and grades.headers["Cache-Control"] == "no-store"
    chunks = list(grades.response)
    grades.close()
    assert len(chunks) > 1 and chunks[0].startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert rows[0][:5] == ["Lớp", "Nhóm", "Xã", "Tên đăng nhập", "Họ tên"]
    slug = session.get(m.Assignment, crowd.essay_assignment_id).scenario_version.scenario.slug
    cadres = [r for r in rows[1:] if r[5] == slug]
    assert len(cadres) == 90 and len({r[3] for r in cadres}) == 90
    groups = [r[1] for r in cadres]
    assert sum(1 for i, g in enumerate(groups) if i and g != groups[i - 1]) == len(set(groups)) - 1   # grouped
    assert sum(1 for r in cadres if r[12] != "Chưa nộp") == ESSAYS

    sheet = organiser.get(f"{base}/grades.xlsx")
    assert sheet.status_code == 200 and sheet.is_streamed
    values = list(load_workbook(io.BytesIO(sheet.data), read_only=True).active.iter_rows(values_only=True))
    assert [list(v) for v in values] == [[None if c == "" else _number(c) for c in r] for r in rows]

    archive = organiser.get(f"{base}/essays.zip", buffered=False)
    assert archive.status_code == 200 and archive.is_streamed
    parts = list(archive.response)
    archive.close()
    assert len(parts) > 1                                                   # sent while it is written
    opened = zipfile.ZipFile(io.BytesIO(b"".join(parts)))
    assert len(opened.namelist()) == ESSAYS + 1 and opened.namelist()[-1] == "manifest.csv"
    assert opened.testzip() is None


def _number(text: str):
    """A CSV cell as the XLSX holds it (numbers stay numbers there)."""
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text else value
