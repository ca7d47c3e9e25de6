"""The XSS corpus, written where people write (posts, the group report, the essay), then read in chromium
wherever it is shown: nothing may run, whoever opens the page."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import PASSWORD, shot, sign_in
from tests.test_sanitize import XSS_VECTORS
from tests.web.test_api import ESSAY

pytestmark = pytest.mark.e2e
API = "/api/v1"
MARK = "Mẫu XSS"

# Attributes that would run or load the payload if it survived anywhere in the DOM.
SURVIVORS_JS = """() => {
  const urls = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'background', 'poster'];
  const safe = ['http:', 'https:', 'mailto:'];
  const out = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (!a.value.includes('__xss')) continue;
      let bad = a.name.startsWith('on') || a.name === 'style' || a.name === 'srcdoc';
      if (urls.includes(a.name)) {
        try { bad = !safe.includes(new URL(a.value, document.baseURI).protocol); } catch (e) { bad = false; }
      }
      if (bad) out.push(`<${el.tagName.toLowerCase()} ${a.name}="${a.value}">`);
    }
  }
  return out;
}"""
POKE_JS = """() => {
  const kinds = ['mouseover', 'mouseenter', 'pointerenter', 'focus', 'toggle', 'animationstart'];
  for (const el of document.querySelectorAll('main *')) {
    for (const kind of kinds) el.dispatchEvent(new Event(kind));
  }
}"""
VISIBLE_JS = """() => document.body.innerText
  + Array.from(document.querySelectorAll('textarea')).map(t => t.value).join()"""


@pytest.fixture(scope="module")
def planted(live_server):
    """cadre1 and cadre2 post every vector, the group report holds them all, cadre1's essay and draft too."""
    client = live_server["app"].test_client()

    def auth(username):
        response = client.post(f"{API}/tokens", json={"username": username, "password": PASSWORD})
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json['token']}"}

    cadre1, cadre2 = auth("cadre1"), auth("cadre2")
    listed = client.get(f"{API}/assignments", headers=cadre1).json["assignments"]
    assignment = next(a for a in listed if a["scenario"]["id"].startswith("t1-"))
    aid = assignment["id"]
    for i, vector in enumerate(XSS_VECTORS):
        response = client.post(f"{API}/assignments/{aid}/posts", headers=cadre1 if i % 2 else cadre2,
                               json={"body": f"{MARK} {i}: {vector}"})
        assert response.status_code == 201, response.text
    report = "".join(f"<p>{MARK} {i}</p>{vector}" for i, vector in enumerate(XSS_VECTORS))
    for author in (cadre1, auth("cadre4")):        # Tân Hòa submits its report, Bình An is still editing
        saved = client.put(f"{API}/assignments/{aid}/report", headers=author, json={"body": report, "revision": 0})
        assert saved.status_code == 200, saved.text
    assert client.post(f"{API}/assignments/{aid}/report/submit", headers=cadre1).status_code == 200
    essay = ESSAY + "\n" + "\n".join(XSS_VECTORS) + "\n"
    receipt = client.post(f"{API}/assignments/{aid}/essay", headers=cadre1, json={"body": essay})
    assert receipt.status_code == 201, receipt.text
    draft = client.put(f"{API}/assignments/{aid}/essay/draft", headers=cadre1, json={"body": essay})
    assert draft.status_code == 200
    return {"assignment_id": aid, "essay_id": receipt.json["id"], "group_id": assignment["group"]["id"]}


PAGES = [   # name, route (skipped until it exists), who opens it, url, what proves the content is there
    ("discussion", "/cadre/assignments/<int:assignment_id>/discussion", "cadre1",
     "/cadre/assignments/{assignment_id}/discussion", f"{MARK} 1:"),
    ("discussion-other-member", "/cadre/assignments/<int:assignment_id>/discussion", "cadre3",
     "/cadre/assignments/{assignment_id}/discussion", f"{MARK} 2:"),
    ("report-submitted", "/cadre/assignments/<int:assignment_id>/report", "cadre2",
     "/cadre/assignments/{assignment_id}/report", f"{MARK} 3"),
    ("report-editor", "/cadre/assignments/<int:assignment_id>/report", "cadre5",
     "/cadre/assignments/{assignment_id}/report", f"{MARK} 3"),
    ("essay-editor", "/cadre/assignments/<int:assignment_id>/essay", "cadre1",
     "/cadre/assignments/{assignment_id}/essay", "window.__xss=1"),
    ("essay-receipt", "/cadre/essays/<int:essay_id>/receipt", "cadre1", "/cadre/essays/{essay_id}/receipt", None),
    ("moderation", "/lecturer/assignments/<int:assignment_id>", "lecturer1",
     "/lecturer/assignments/{assignment_id}?group={group_id}", f"{MARK} 4:"),
    ("examiner-essay", "/examiner/essays/<int:essay_id>", "examiner1", "/examiner/essays/{essay_id}",
     "window.__xss=1"),
    ("examiner-queue", "/examiner/", "examiner1", "/examiner/", None),
]


@pytest.mark.parametrize("name,rule,username,url,proof", PAGES, ids=[p[0] for p in PAGES])
def test_nothing_in_the_corpus_runs_in_the_browser(live_server, planted, new_page, name, rule, username, url, proof):
    if rule not in {r.rule for r in live_server["app"].url_map.iter_rules()}:
        pytest.skip(f"{rule} does not exist yet")
    page = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, live_server["url"], username)
    response = page.goto(live_server["url"] + url.format(**planted))
    assert response.status == 200 and "/login" not in page.url, f"{url}: {response.status} {page.url}"
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => Array.from(document.images).every(img => img.complete)", timeout=5000)
    page.evaluate(POKE_JS)                     # fire the handlers that wait for a person, had any survived
    shot(page, f"xss-{name}")
    if proof:
        assert proof in page.evaluate(VISIBLE_JS), f"{name}: the planted content is not on the page"
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert dialogs == []
    assert page.evaluate(SURVIVORS_JS) == []


def test_the_browser_checks_would_catch_unsanitised_html(new_page):
    """Guards the test itself: the same corpus, not sanitised, is caught by each check."""
    page = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.set_content("<main>" + "".join(XSS_VECTORS[8:12]) + "</main>")      # onerror/onload handlers
    page.wait_for_function("() => window.__xss === 1", timeout=5000)
    assert dialogs
    page.set_content('<main><b onmouseover="window.__xss=2">x</b></main>')
    page.evaluate(POKE_JS)
    assert page.evaluate("() => window.__xss") == 2
    page.set_content('<main><a href="JaVaScRiPt:window.__xss=1">x</a><a href="/ok?window.__xss">y</a></main>')
    assert page.evaluate(SURVIVORS_JS) == ['<a href="JaVaScRiPt:window.__xss=1">']
