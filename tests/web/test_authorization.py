"""Every route × every role, read from ``app.url_map`` so new routes are covered the day they appear.

Policy: anonymous people are sent to /login (pages) or get a 401 (API);
/cadre/* is for cadres, /lecturer/* for lecturers and admins, /examiner/* for
examiners, /admin/* for admins (exceptions below, each with its reason), and
the API follows an explicit table. A route with no policy fails the suite.

Then ownership, whatever the route: cadre1's essay never reaches cadre2, cadre1's
group discussion and report never reach cadre4 (other commune), an examiner
who is not marking an essay never sees it, and an examiner who is never sees
who wrote it.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from lms_plugin.services import accounts, attempts, credentials, discussion, essays, grading
from lms_plugin.store import models as m
from tests.web.conftest import PASSWORD, first_assignment, login
from tests.web.test_api import ESSAY

API = "/api/v1"
ANYONE = None                                   # no sign-in needed
CADRE, EXAMINER = frozenset({"cadre"}), frozenset({"examiner"})
STAFF = frozenset({"lecturer", "admin"})
ROLES = ("anonymous", "cadre", "lecturer", "examiner", "admin")
USERS = {"cadre": "cadre1", "lecturer": "lecturer1", "examiner": "examiner1", "admin": "admin1"}

SIGNED_IN = CADRE | EXAMINER | STAFF
# /examiner/: a chief examiner (lecturer) marks the rounds he takes himself; nobody sees a round not given to them
AREAS = {"/cadre/": CADRE, "/lecturer/": STAFF, "/examiner/": EXAMINER | STAFF, "/admin/": frozenset({"admin"}),
         "/account/": SIGNED_IN}
PUBLIC = {"/", "/catalogue", "/health", "/healthz", "/login", "/logout", "/lang/<code>", "/static/<path:filename>",
          "/units/player.js", "/units/<type_id>/static/<path:file>",
          "/welcome/<key>"}      # a roster's one-time sign-in link (an unknown one: 404)
EXCEPTIONS = {   # rule -> (roles, why it differs from its area)
    "/admin/cohorts/<int:cohort_id>/grades.csv": (STAFF, "lecturers download their cohorts' grades"),
    "/admin/cohorts/<int:cohort_id>/grades.xlsx": (STAFF, "lecturers download their cohorts' grades"),
    "/admin/cohorts/<int:cohort_id>/essays.zip": (STAFF, "lecturers download their cohorts' essays"),
    "/cadre/assignments/<int:assignment_id>/attachments/<int:position>":
        (CADRE | STAFF, "staff open a scenario's data files from the assignment pages too"),
    "/similarity/essays/<int:essay_id>": (EXAMINER | STAFF, "an essay's examiners and staff read its reuse report"),
    "/similarity/assignments/<int:assignment_id>": (STAFF, "reuse across a whole assignment is for lecturers"),
}
API_POLICY = {   # (method, rule under /api/v1) -> roles
    ("POST", "/tokens"): ANYONE,
    ("GET", "/tokens"): SIGNED_IN,                             # one's own tokens
    ("DELETE", "/tokens/<int:token_id>"): SIGNED_IN,           # one's own: another's is 404
    ("GET", "/openapi.json"): ANYONE,
    ("GET", "/accounts"): frozenset({"admin"}),               # organisers: the accounts they manage
    ("GET", "/assignments"): CADRE,
    ("POST", "/assignments/<int:assignment_id>/attempts"): CADRE,
    ("POST", "/attempts/<int:attempt_id>/choices"): CADRE,
    ("GET", "/assignments/<int:assignment_id>/posts"): CADRE | STAFF,
    ("POST", "/assignments/<int:assignment_id>/posts"): CADRE,
    ("GET", "/assignments/<int:assignment_id>/report"): CADRE | STAFF,
    ("PUT", "/assignments/<int:assignment_id>/report"): CADRE,
    ("POST", "/assignments/<int:assignment_id>/report/submit"): CADRE,
    ("GET", "/assignments/<int:assignment_id>/essay/draft"): CADRE,
    ("PUT", "/assignments/<int:assignment_id>/essay/draft"): CADRE,
    ("GET", "/assignments/<int:assignment_id>/essay"): CADRE,
    ("POST", "/assignments/<int:assignment_id>/essay"): CADRE,
    ("GET", "/essays/<int:essay_id>"): CADRE | EXAMINER | STAFF,
    ("GET", "/grading/queue"): EXAMINER,
    ("POST", "/essays/<int:essay_id>/grades"): EXAMINER,
    ("POST", "/assignments/<int:assignment_id>/release"): STAFF,
    ("GET", "/essays/<int:essay_id>/grade"): CADRE,
    ("GET", "/essays/<int:essay_id>/similarity"): EXAMINER | STAFF,
    ("PATCH", "/assignments/<int:assignment_id>"): STAFF,
    ("PUT", "/assignments/<int:assignment_id>/extensions/<int:user_id>"): STAFF,
    ("DELETE", "/assignments/<int:assignment_id>/extensions/<int:user_id>"): STAFF,
    ("GET", "/assignments/<int:assignment_id>/allocation"): STAFF,
    ("POST", "/assignments/<int:assignment_id>/pool"): STAFF,
    ("PATCH", "/assignments/<int:assignment_id>/pool/<int:examiner_id>"): STAFF,
    ("DELETE", "/assignments/<int:assignment_id>/pool/<int:examiner_id>"): STAFF,
    ("PUT", "/essays/<int:essay_id>/rounds/<int:round_>"): STAFF,
    ("GET", "/assignments/<int:assignment_id>/release"): STAFF,
    ("POST", "/essays/<int:essay_id>/correction"): STAFF,
    ("GET", "/assignments/<int:assignment_id>/appeals"): STAFF,
    ("GET", "/essays/<int:essay_id>/annotations"): EXAMINER,
    ("POST", "/essays/<int:essay_id>/annotations"): EXAMINER,
    ("DELETE", "/essays/<int:essay_id>/annotations/<int:annotation_id>"): EXAMINER,
    ("POST", "/essays/<int:essay_id>/appeal"): CADRE,
    ("GET", "/assignments/<int:assignment_id>/units"): CADRE | STAFF,
    ("GET", "/assignments/<int:assignment_id>/units/<string(maxlength=60):type_id>"): CADRE | STAFF,
    ("POST", "/assignments/<int:assignment_id>/units/<string(maxlength=60):type_id>/actions/"
             "<string(maxlength=60):action>"): CADRE | STAFF,
    ("GET", "/assignments/<int:assignment_id>/units/<string(maxlength=60):type_id>/staff"): STAFF,
    ("POST", "/assignments/<int:assignment_id>/units/<string(maxlength=60):type_id>/staff/actions/"
             "<string(maxlength=60):action>"): STAFF,
}
# Bodies their schema accepts, so that a refusal below is about who asks (403/404), not about the body (422).
API_BODIES = {
    ("POST", "/essays/<int:essay_id>/annotations"): {"start": 0, "end": 1, "comment": "bị sửa trộm"},
    ("POST", "/essays/<int:essay_id>/appeal"): {"reason": "bị sửa trộm"},
}

ESSAY_MARK, POST_MARK, REPORT_MARK = "essaymark7f3a", "postmark9c2e", "reportmark5d1b"
_ARG = re.compile(r"<(?:[^:>]+:)?(\w+)>")


class NoPolicy(LookupError):
    pass


def policy(method: str, rule: str):
    """The roles allowed on ``method rule``; ANYONE for public routes. Raises NoPolicy for unknown routes."""
    if rule in EXCEPTIONS:
        return EXCEPTIONS[rule][0]
    if rule in PUBLIC:
        return ANYONE
    if rule.startswith(API + "/"):
        key = (method, rule.removeprefix(API))
        if key not in API_POLICY:
            raise NoPolicy(f"{method} {rule}: add it to API_POLICY in tests/web/test_authorization.py")
        return API_POLICY[key]
    for prefix, roles in AREAS.items():
        if rule.startswith(prefix):
            return roles
    raise NoPolicy(f"{method} {rule}: no area and no entry in PUBLIC/EXCEPTIONS")


def routes(app):
    """(method, rule) for every route, HEAD/OPTIONS aside."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.rule


def fill(rule: str, values: dict) -> str:
    def value(match):
        name = match.group(1)
        if name not in values:
            raise NoPolicy(f"{rule}: no demo value for <{name}>; add one to the world fixture")
        return str(values[name])
    return _ARG.sub(value, rule)


@pytest.fixture
def world(session, demo):
    """cadre1's attempt, post, group report and essay (marked by examiner1 and examiner2, released);
    examiner3, who marks nothing."""
    cadre1, cadre2 = (accounts.get_user(session, name) for name in ("cadre1", "cadre2"))
    assignment = first_assignment(session)
    state = attempts.start_attempt(session, cadre1, assignment.id)
    attempts.choose(session, cadre1, state.id, state.stage["id"], state.stage["choices"][0]["id"])
    post = discussion.post_message(session, cadre1, assignment.id, f"Ý kiến {POST_MARK} của nhóm")
    discussion.post_message(session, cadre2, assignment.id, "Đồng ý", parent_id=post.id)
    discussion.save_group_report(session, cadre1, assignment.id, f"<p>Báo cáo {REPORT_MARK}</p>", revision=0)
    receipt = essays.submit_essay(session, cadre1, assignment.id, f"{ESSAY}\n{ESSAY_MARK}\n")
    rubric = grading.rubric_for(session.get(m.Essay, receipt.id))
    best = {c.id: c.max_points for c in rubric.criteria}
    notes = {c.id: "Nhận xét" for c in rubric.criteria}
    for name in ("examiner1", "examiner2"):
        grading.grade_essay(session, accounts.get_user(session, name), receipt.id, best, notes, final=True)
    grading.release_grades(session, accounts.get_user(session, "lecturer1"), assignment.id)
    accounts.create_user(session, "examiner3", "examiner", PASSWORD, display_name="Giám khảo dự phòng")
    credentials.issue_token(session, cadre1, days=30)      # cadre1's script: revoked by cadre1 or an organiser
    session.commit()
    version = assignment.scenario_version
    member = session.scalar(select(m.Membership).where(m.Membership.user_id == cadre1.id))
    attachment = session.scalar(select(m.ScenarioAttachment.position).where(
        m.ScenarioAttachment.version_id == version.id).order_by(m.ScenarioAttachment.position).limit(1))
    return {
        "assignment_id": assignment.id, "essay_id": receipt.id, "post_id": post.id, "attempt_id": state.id,
        "cohort_id": assignment.cohort_id, "group_id": member.group_id, "slug": version.scenario.slug,
        "number": version.number, "position": attachment or 0, "code": "vi", "filename": "caselab.css",
        "user_id": cadre1.id, "username": cadre1.username, "author": (cadre1.username, cadre1.display_name),
        "examiner_id": accounts.get_user(session, "examiner1").id, "round_": 3,
        "token_id": session.scalar(select(m.ApiToken.id).where(m.ApiToken.user_id == cadre1.id)),
        "type_id": "discussion", "action": "post", "file": "none.css",   # any unit, through its contract
        "key": "participation",      # a report section (/lecturer/assignments/<id>/report/<key>.csv)
        "annotation_id": 1,          # examiner1 may try it (404: there is none), others never reach it
        "job_id": 1,                 # an organiser's retry of a job that is not there: said on the jobs page
        "import_id": 1,              # a roster import nobody started: 404 to every organiser
        # cadre1's notification of the release above: others opening it get 404
        "notification_id": session.scalar(select(m.Notification.id).where(m.Notification.user_id == cadre1.id)
                                          .order_by(m.Notification.id).limit(1)),
    }


def token_for(app, username: str) -> dict[str, str]:
    response = app.test_client().post(f"{API}/tokens", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json['token']}"}


class Visitor:
    """One person: a signed-in browser for pages and a token for the API."""

    def __init__(self, app, username: str | None):
        self.pages, self.api = app.test_client(), app.test_client()
        self.headers = {}
        if username:
            login(self.pages, username)
            self.headers = token_for(app, username)

    def request(self, method: str, url: str, **kwargs):
        if url.startswith(API + "/"):
            response = self.api.open(url, method=method, headers=self.headers, **kwargs)
        else:
            response = self.pages.open(url, method=method, **kwargs)
        if response.is_streamed:       # a download made piece by piece (CSV): read to its end, as a browser
            response.get_data()        # does, so its request ends here and not inside the next request
        return response


def _to_login(response) -> bool:
    return response.status_code in (301, 302, 303) and urlsplit(response.headers["Location"]).path == "/login"


def judge(role: str, method: str, rule: str, response) -> str | None:
    """What is wrong with ``response`` under the policy, or None."""
    allowed = policy(method, rule)
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if allowed is ANYONE:
        return None
    api = rule.startswith(API + "/")
    if role == "anonymous":
        if api:
            ok = status == 401 and response.is_json and response.json.get("error")
            return None if ok else f"anonymous API call: expected 401 JSON, got {status}"
        return None if _to_login(response) else f"anonymous: expected a redirect to /login, got {status}"
    if role in allowed:
        if status in (401, 403) or _to_login(response):
            return f"{role} is allowed but got {status} {response.headers.get('Location', '')}"
        return None
    return None if status == 403 else f"{role} is not allowed: expected 403, got {status}"


def test_every_route_has_a_policy_and_no_policy_is_stale(app):
    unknown, seen = [], set()
    for method, rule in routes(app):
        try:
            policy(method, rule)
        except NoPolicy as exc:
            unknown.append(str(exc))
        seen.add(rule)
        seen.add((method, rule.removeprefix(API)))
    assert not unknown, "routes without an authorization policy:\n" + "\n".join(unknown)
    stale = [key for key in [*EXCEPTIONS, *PUBLIC, *API_POLICY] if key not in seen]
    assert not stale, f"policy entries for routes that no longer exist: {stale}"


def test_every_route_answers_every_role_by_its_policy(app, world):
    problems, checked = [], 0
    for role in ROLES:
        visitor = Visitor(app, USERS.get(role))
        for method, rule in routes(app):
            if policy(method, rule) is ANYONE and method != "GET" and role != "anonymous":
                continue     # public forms (sign in/out, language) change the visitor's own session
            checked += 1
            try:
                response = visitor.request(method, fill(rule, world), data={} if method != "GET" else None)
            except Exception as exc:      # TESTING propagates view errors: report them with the rest
                problems.append(f"{role}: {method} {rule}: raised {type(exc).__name__}: {exc}")
                continue
            problem = judge(role, method, rule, response)
            if problem:
                problems.append(f"{role}: {method} {rule}: {problem}")
    assert checked >= 5 * 40
    assert not problems, "\n".join(problems)


def _get_routes(app, roles: set[str]):
    """GET rules some of ``roles`` may open (public pages aside)."""
    for method, rule in routes(app):
        allowed = policy(method, rule)
        if method == "GET" and allowed is not ANYONE and allowed & roles:
            yield rule


def _scan(app, world, username: str, role: str, secrets: list[str]) -> list[str]:
    visitor = Visitor(app, username)
    leaks = []
    for rule in _get_routes(app, {role}):
        url = fill(rule, world)
        response = visitor.request("GET", url)
        text = response.get_data(as_text=True) if not response.direct_passthrough else ""
        found = [secret for secret in secrets if secret in text]
        if found:
            leaks.append(f"GET {url} ({response.status_code}) shows {username} {found}")
        if "<int:essay_id>" in rule and response.status_code == 200 and ESSAY_MARK in secrets:
            leaks.append(f"GET {url} answers 200 to {username}")
    return leaks


def test_cadres_see_their_own_essay_and_their_own_groups_work_only(app, world):
    """cadre2 shares cadre1's group but not the essay; cadre4 (another commune) shares nothing."""
    leaks = _scan(app, world, "cadre2", "cadre", [ESSAY_MARK])
    leaks += _scan(app, world, "cadre4", "cadre", [ESSAY_MARK, POST_MARK, REPORT_MARK])
    assert not leaks, "\n".join(leaks)
    cadre2, cadre4 = Visitor(app, "cadre2"), Visitor(app, "cadre4")
    for url in (f"{API}/essays/{world['essay_id']}", f"{API}/essays/{world['essay_id']}/grade"):
        assert cadre2.request("GET", url).status_code == 404
    assert POST_MARK in cadre2.request("GET", f"{API}/assignments/{world['assignment_id']}/posts").text
    for path in ("posts", "report"):
        named = cadre4.request("GET", f"{API}/assignments/{world['assignment_id']}/{path}?group={world['group_id']}")
        assert named.status_code == 404
    assert cadre4.request("GET", f"{API}/assignments/{world['assignment_id']}/posts").json["posts"] == []


def test_cadre1s_post_and_essay_cannot_be_changed_by_others(app, world, session):
    """Every unsafe route that names a post or an essay, tried by those who don't own it."""
    before_post = session.get(m.Post, world["post_id"]).body
    tried = 0
    for username, role in (("cadre2", "cadre"), ("cadre4", "cadre"), ("examiner3", "examiner")):
        visitor = Visitor(app, username)
        for method, rule in routes(app):
            allowed = policy(method, rule)
            if method == "GET" or allowed is ANYONE or role not in allowed:
                continue
            if "<int:post_id>" in rule or "<int:essay_id>" in rule:
                form = {"body": "bị sửa trộm", "comment": "x", "final": "y"}
                response = visitor.request(method, fill(rule, world), data=form) if not rule.startswith(API) \
                    else visitor.request(method, fill(rule, world),
                                         json=API_BODIES.get((method, rule.removeprefix(API)),
                                                             {"scores": {}, "final": True}))
                tried += 1
                assert response.status_code in (403, 404), f"{username} {method} {rule}: {response.status_code}"
    assert tried >= 1
    session.expire_all()
    assert session.get(m.Post, world["post_id"]).body == before_post
    grades = session.scalars(select(m.Grade).where(m.Grade.essay_id == world["essay_id"])).all()
    assert sorted(g.examiner.username for g in grades) == ["examiner1", "examiner2"]
    assert {g.total for g in grades} == {10.0}      # as the fixture finalised them


def test_an_examiner_sees_only_essays_given_to_them_and_never_the_author(app, world):
    leaks = _scan(app, world, "examiner3", "examiner", [ESSAY_MARK])
    assert not leaks, "\n".join(leaks)
    assert Visitor(app, "examiner3").request("GET", f"{API}/grading/queue").json["items"] == []
    username, display_name = world["author"]
    blind = _scan(app, world, "examiner1", "examiner", [display_name, f">{username}<", f'"{username}"'])
    assert not blind, "\n".join(blind)
    seen = Visitor(app, "examiner1").request("GET", f"{API}/essays/{world['essay_id']}")
    assert ESSAY_MARK in seen.json["body"] and "author" not in seen.json
