"""Translations: every Vietnamese msgid has an English translation, the .mo is compiled from the .po,
pages follow the language switch and a signed-in user's choice is remembered."""
from __future__ import annotations

import gettext
import io
import re
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from lms_plugin.core.essays import sha256
from lms_plugin.store import models as m
from tests.web.conftest import first_assignment, login

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = ROOT / "lms_plugin" / "translations" / "en" / "LC_MESSAGES"
# The keywords of the command in babel.cfg: services raise Invalid/NotFound/Forbidden/Conflict with a msgid.
KEYWORDS = ("_l", "lazy_gettext", "N_", "Rejected:2", "Invalid", "NotFound", "Forbidden", "Conflict")
PLACEHOLDER = re.compile(r"%\((\w+)\)")
VIETNAMESE = re.compile(r"[à-ỹđ]", re.IGNORECASE)


# --- the catalogue ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The msgids in the code as it is now: `pybabel extract -F babel.cfg …`, run in this process."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    args = ["pybabel", "--quiet", "extract", "-F", str(ROOT / "babel.cfg"), "-o", str(pot)]
    for keyword in KEYWORDS:
        args += ["-k", keyword]
    CommandLineInterface().run(args + [str(ROOT)])
    with pot.open("rb") as f:
        catalog = read_po(f)
    assert len(catalog) > 400, "the extraction found too few messages; is babel.cfg still right?"
    return catalog


@pytest.fixture(scope="module")
def english():
    with (MESSAGES / "messages.po").open("rb") as f:
        return read_po(f, locale="en")


def _forms(value) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_every_msgid_in_the_code_has_an_english_translation(extracted, english):
    assert not english.fuzzy, "the catalogue header is marked fuzzy"
    problems = []
    for source in extracted:
        if not source.id:
            continue
        msgid = _forms(source.id)[0]
        entry = english.get(source.id)
        if entry is None:
            problems.append(f"missing: {msgid!r} ({source.locations[0][0]}:{source.locations[0][1]})")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        wanted = _placeholders(msgid)
        forms = _forms(entry.string)
        if source.pluralizable and len(forms) != english.num_plurals:
            problems.append(f"{len(forms)} plural forms instead of {english.num_plurals}: {msgid!r}")
        for form in forms:
            if not form or not form.strip():
                problems.append(f"empty: {msgid!r}")
            elif _placeholders(form) != wanted:
                problems.append(f"placeholders {sorted(_placeholders(form))} != {sorted(wanted)}: {msgid!r}")
            elif VIETNAMESE.search(msgid) and form == msgid:
                problems.append(f"not translated (msgstr == msgid): {msgid!r}")
    assert not problems, f"{len(problems)} problems in {MESSAGES / 'messages.po'} (re-extract, translate, "\
                         "compile: see docs/architecture.md, Translations):\n" + "\n".join(problems)


def test_the_compiled_mo_is_in_sync_with_the_po(english):
    compiled = io.BytesIO()
    write_mo(compiled, english, use_fuzzy=False)
    compiled.seek(0)
    expected = gettext.GNUTranslations(compiled)
    with (MESSAGES / "messages.mo").open("rb") as f:
        shipped = gettext.GNUTranslations(f)
    # the header ("") carries dates; the messages must be the same, no more and no fewer
    want = {k: v for k, v in expected._catalog.items() if k != ""}
    have = {k: v for k, v in shipped._catalog.items() if k != ""}
    stale = sorted(str(k) for k in want.keys() ^ have.keys()) + \
        sorted(str(k) for k in want.keys() & have.keys() if want[k] != have[k])
    assert not stale, "messages.mo is out of date; run `pybabel compile -d lms_plugin/translations -l en`:\n" \
                      + "\n".join(stale[:20])
    assert shipped.gettext("Nộp bài") == "Submit"
    assert shipped.ngettext("%(num)s đoạn", "%(num)s đoạn", 2) == "%(num)s passages"


# --- pages --------------------------------------------------------------------------------------


def switch(client, code: str, back_to: str):
    response = client.post(f"/lang/{code}", data={"next": back_to})
    assert response.status_code == 302 and response.headers["Location"].endswith(back_to)
    return client.get(back_to)


def user_row(session, username: str) -> m.User:
    session.expire_all()
    return session.scalar(select(m.User).where(m.User.username == username))


def test_vietnamese_is_the_default(app, client, demo):
    page = client.get("/login")
    assert page.status_code == 200 and 'lang="vi"' in page.text
    assert "<h1>Đăng nhập</h1>" in page.text and "Ghi nhớ đăng nhập" in page.text
    assert "Sign in" not in page.text
    # whatever the browser prefers
    assert "Đăng nhập" in app.test_client().get("/login", headers={"Accept-Language": "en-GB,en"}).text


def test_the_login_page_in_english_and_back(client, demo):
    page = switch(client, "en", "/login")
    assert 'lang="en"' in page.text and "<h1>Sign in</h1>" in page.text
    assert "Keep me signed in" in page.text and "Username" in page.text
    assert "Đăng nhập" not in page.text and "Mật khẩu" not in page.text
    page = switch(client, "vi", "/login")
    assert "<h1>Đăng nhập</h1>" in page.text and "Sign in" not in page.text


ESSAY = "/cadre/assignments/{aid}/essay"

# who, page, English that must show, Vietnamese UI text that must not
PAGES = [
    ("cadre1", "/cadre/", ["Assignments", "Sign out", "(cadre)", "Open", "Deadline:"],
     ["Bài được giao", "Đăng xuất", "(học viên)", "Hạn chót", "Đang mở"]),
    ("cadre1", ESSAY, ["Essay question", "Your essay", "Save draft", "Submit…", "No draft yet", "Group report"],
     ["Đề bài", "Bài viết của bạn", "Lưu nháp", "Nộp bài…", "Chưa có bản nháp", "Báo cáo nhóm"]),
    ("examiner1", "/examiner/", ["Essays to mark", "Blind marking", "(examiner)"],
     ["Bài cần chấm", "Chấm kín", "(giám khảo)"]),
    ("lecturer1", "/lecturer/", ["Upload a YAML file", "Write a new scenario", "Reference texts", "Preview",
                                 "Export data by cohort"],
     ["Tải lên tệp YAML", "Soạn tình huống mới", "Văn bản tham chiếu", "Xem trước", "Xuất dữ liệu"]),
    ("admin1", "/admin/", ["Create a new cohort", "Cohort name", "Start date", "Export data", "Accounts"],
     ["Tạo lớp mới", "Tên lớp", "Ngày bắt đầu", "Xuất dữ liệu", "Tài khoản"]),
]


@pytest.mark.parametrize("username, path, english_text, vietnamese_text", PAGES,
                         ids=[f"{p[0]}:{p[1]}" for p in PAGES])
def test_pages_follow_the_language_switch(client, demo, session, username, path, english_text, vietnamese_text):
    path = path.format(aid=first_assignment(session).id)
    login(client, username)
    before = client.get(path)
    assert before.status_code == 200, before.text
    assert all(text in before.text for text in vietnamese_text), [t for t in vietnamese_text if t not in before.text]

    after = switch(client, "en", path)
    assert after.status_code == 200 and 'lang="en"' in after.text
    assert [t for t in english_text if t not in after.text] == []
    assert [t for t in vietnamese_text if t in after.text] == []

    again = switch(client, "vi", path)
    assert all(text in again.text for text in vietnamese_text)
    assert "Sign out" not in again.text


def test_a_service_error_is_translated(client, demo, session):
    aid = first_assignment(session).id
    login(client, "cadre1")
    api = f"/api/v1/assignments/{aid}/essay"
    short = client.post(api, json={"body": "Quá ngắn"})
    assert short.status_code == 422 and short.json["error"].startswith("Bài có 2 chữ; yêu cầu tối thiểu ")

    switch(client, "en", "/cadre/")
    short = client.post(api, json={"body": "Quá ngắn"})
    assert short.status_code == 422
    assert re.fullmatch(r"The essay has 2 words; at least \d+ words are required", short.json["error"])
    assert short.json["fields"] == {"body": ["too short"]}

    # the same error on a page: confirming the submission of a draft that is too short
    client.post(f"/cadre/assignments/{aid}/essay/draft", data={"body": "Quá ngắn"})
    page = client.post(f"/cadre/assignments/{aid}/essay/submit",
                       data={"confirmed": "1", "sha256": sha256("Quá ngắn")})
    assert page.status_code == 422
    assert "Something went wrong" in page.text and "The essay has 2 words; at least" in page.text
    assert "Có lỗi xảy ra" not in page.text and "yêu cầu tối thiểu" not in page.text

    # a flash message
    client.post(f"/cadre/assignments/{aid}/essay/draft", data={"body": "Bản nháp"})
    assert "Draft saved." in client.get(f"/cadre/assignments/{aid}/essay").text


def test_a_signed_in_users_choice_is_remembered(app, client, demo, session):
    assert user_row(session, "cadre1").locale == "vi"
    login(client, "cadre1")
    switch(client, "en", "/cadre/")
    assert user_row(session, "cadre1").locale == "en"

    elsewhere = app.test_client()             # another browser: no language in its session
    assert "Đăng nhập" in elsewhere.get("/login").text
    login(elsewhere, "cadre1")
    page = elsewhere.get("/cadre/")
    assert 'lang="en"' in page.text and "Assignments" in page.text and "Bài được giao" not in page.text
    assert "Đăng nhập" in app.test_client().get("/login").text     # other people keep Vietnamese

    switch(elsewhere, "vi", "/cadre/")
    assert user_row(session, "cadre1").locale == "vi"
    fresh = app.test_client()
    login(fresh, "cadre1")
    assert "Bài được giao" in fresh.get("/cadre/").text


def test_an_unknown_language_changes_nothing(client, demo):
    response = client.post("/lang/fr", data={"next": "/login"})
    assert response.status_code == 302
    assert "Đăng nhập" in client.get("/login").text
