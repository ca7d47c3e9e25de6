"""The OpenAPI document: complete (every /api/v1 route), valid, and true to the schemas."""
from __future__ import annotations

import re

import pytest

from lms_plugin.web.openapi import openapi_path

PREFIX = "/api/v1"


@pytest.fixture
def document(client):
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.json


def api_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield openapi_path(rule.rule.removeprefix(PREFIX)), method.lower(), rule.endpoint


def test_every_api_route_is_documented(app, document):
    routes = list(api_routes(app))
    assert len(routes) >= 18
    missing = [(path, method, endpoint) for path, method, endpoint in routes
               if method not in document["paths"].get(path, {})]
    assert not missing, f"routes missing from openapi.json: {missing}"
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == {(path, method) for path, method, _ in routes}, "the document names routes that don't exist"


def test_the_document_validates_as_openapi_3_1(document):
    validator = pytest.importorskip("openapi_spec_validator")
    assert document["openapi"].startswith("3.1")
    validator.validate(document)


def test_bearer_scheme_bodies_and_errors_are_described(document):
    schemes = document["components"]["securitySchemes"]
    assert (schemes["bearerAuth"]["type"], schemes["bearerAuth"]["scheme"]) == ("http", "bearer")
    token = document["paths"]["/tokens"]["post"]
    assert token["security"] == [] and token["responses"]["201"]
    body = token["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body == "#/components/schemas/TokenRequest"
    grades = document["paths"]["/essays/{essay_id}/grades"]["post"]
    assert {"400", "401", "403", "404", "409", "413", "422"} <= set(grades["responses"])
    assert grades["responses"]["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert grades["parameters"][0] == {"name": "essay_id", "in": "path", "required": True,
                                       "schema": {"type": "integer"}}
    components = document["components"]["schemas"]
    assert components["GradeRequest"]["additionalProperties"] is False
    assert components["GradeRequest"]["required"] == ["scores"]
    assert components["Error"]["required"] == ["error", "fields"]
    assert components["Assignment"]["properties"]["group"]["anyOf"][1] == {"type": "null"}
    assert components["Receipt"]["properties"]["submitted_at"] == {"type": "string", "format": "date-time"}
    queue_item = components["QueueItem"]["properties"]
    assert not {"author", "author_id", "user_id", "username"} & set(queue_item), "the queue is blind"


def test_responses_match_their_documented_schemas(client, demo, document):
    """A response's keys are the ones its schema documents (the document can't drift from the code)."""
    from tests.web.test_api import API, token
    cadre1 = token(client, "cadre1")
    listed = client.get(f"{API}/assignments", headers=cadre1).json
    assignment = document["components"]["schemas"]["Assignment"]
    assert set(listed["assignments"][0]) == set(assignment["properties"])
    started = client.post(f"{API}/assignments/{listed['assignments'][0]['id']}/attempts", headers=cadre1).json
    assert set(started) == set(document["components"]["schemas"]["Attempt"]["properties"])
    assert set(started["stage"]) == set(document["components"]["schemas"]["Stage"]["properties"])


class Conforming:
    """A test client whose every /api/v1 answer must match the schema the document gives for it."""

    def __init__(self, client, document):
        jsonschema = pytest.importorskip("jsonschema")     # comes with openapi-spec-validator ([dev])
        self.client, self.document, self.validator = client, document, jsonschema.Draft202012Validator
        self.checked: set[tuple[str, str, int]] = set()

    def _operation(self, method: str, url: str):
        path = url.split("?", 1)[0].removeprefix(PREFIX)
        for template, item in self.document["paths"].items():
            pattern = "".join(r"[^/]+" if part.startswith("{") else re.escape(part)
                              for part in re.split(r"(\{[^}]+\})", template))
            if method in item and re.fullmatch(pattern, path):
                return template, item[method]
        raise AssertionError(f"{method.upper()} {path} is not in the document")

    def __call__(self, method: str, url: str, **kwargs):
        response = self.client.open(url, method=method.upper(), **kwargs)
        template, operation = self._operation(method, url)
        documented = operation["responses"].get(str(response.status_code))
        assert documented, f"{method.upper()} {template} answered {response.status_code}, which is not documented"
        schema = documented.get("content", {}).get("application/json", {}).get("schema")
        if schema:
            self.validator({**schema, "components": self.document["components"]}).validate(response.json)
        self.checked.add((method, template, response.status_code))
        return response


def test_answers_match_the_documented_schemas_along_the_course(client, demo, document):
    from tests.web.test_api import ESSAY, scores_for
    api = Conforming(client, document)
    login = {"password": "mat-khau-demo"}
    auth = {name: {"Authorization": "Bearer " + api("post", f"{PREFIX}/tokens", json={**login, "username": name})
                   .json["token"]} for name in ("cadre1", "cadre2", "examiner1", "examiner2", "lecturer1")}
    api("post", f"{PREFIX}/tokens", json={"username": "cadre1", "password": "sai"})
    api("get", f"{PREFIX}/assignments")
    listed = api("get", f"{PREFIX}/assignments", headers=auth["cadre1"]).json["assignments"]
    aid = next(a["id"] for a in listed if a["scenario"]["id"].startswith("t1-"))
    at = f"{PREFIX}/assignments/{aid}"
    started = api("post", f"{at}/attempts", headers=auth["cadre1"]).json
    api("post", f"{at}/attempts", headers=auth["cadre1"], json={"retry": False})
    stage = started["stage"]
    api("post", f"{PREFIX}/attempts/{started['id']}/choices", headers=auth["cadre1"],
        json={"stage": stage["id"], "choice": stage["choices"][0]["id"]})
    api("post", f"{PREFIX}/attempts/{started['id']}/choices", headers=auth["cadre1"], json={"stage": 1})
    post = api("post", f"{at}/posts", headers=auth["cadre1"], json={"body": "<b>Họp dân</b>"}).json
    api("post", f"{at}/posts", headers=auth["cadre2"], json={"body": "Đồng ý", "parent_id": post["id"]})
    api("get", f"{at}/posts", headers=auth["cadre2"])
    api("put", f"{at}/report", headers=auth["cadre1"], json={"body": "<p>Báo cáo</p>", "revision": 0})
    api("put", f"{at}/report", headers=auth["cadre2"], json={"body": "<p>Khác</p>", "revision": 0})
    api("post", f"{at}/report/submit", headers=auth["cadre2"])
    api("get", f"{at}/report", headers=auth["cadre1"])
    api("put", f"{at}/essay/draft", headers=auth["cadre1"], json={"body": "Bản nháp"})
    api("get", f"{at}/essay/draft", headers=auth["cadre1"])
    api("get", f"{at}/essay", headers=auth["cadre1"])
    api("post", f"{at}/essay", headers=auth["cadre1"], json={"body": "ngắn"})
    essay = api("post", f"{at}/essay", headers=auth["cadre1"], json={"body": ESSAY}).json
    api("get", f"{at}/essay", headers=auth["cadre1"])
    api("get", f"{PREFIX}/essays/{essay['id']}", headers=auth["cadre1"])
    api("get", f"{PREFIX}/essays/{essay['id']}", headers=auth["cadre2"])
    for drop, examiner in enumerate(("examiner1", "examiner2")):
        page = api("get", f"{PREFIX}/grading/queue", headers=auth[examiner]).json
        rubric = next(r for r in page["rubrics"] if r["key"] == page["items"][0]["rubric_key"])
        api("get", f"{PREFIX}/essays/{essay['id']}", headers=auth[examiner])
        api("get", f"{PREFIX}/essays/{essay['id']}/similarity", headers=auth[examiner])
        notes = f"{PREFIX}/essays/{essay['id']}/annotations"
        note = api("post", notes, headers=auth[examiner], json={"start": 0, "end": 9, "comment": "Tiêu đề rõ"}).json
        api("post", notes, headers=auth[examiner], json={"start": 0, "end": 9, "quote": "khác", "comment": "x"})
        api("get", notes, headers=auth[examiner])
        if drop:
            api("delete", f"{notes}/{note['id']}", headers=auth[examiner])
        scores, comments = scores_for(rubric, drop)
        api("post", f"{PREFIX}/essays/{essay['id']}/grades", headers=auth[examiner],
            json={"scores": scores, "comments": comments, "final": True})
    api("get", f"{PREFIX}/essays/{essay['id']}/grade", headers=auth["cadre1"])
    api("post", f"{at}/release", headers=auth["cadre1"])
    chief = auth["lecturer1"]
    api("get", f"{at}/allocation", headers=chief)
    api("get", f"{at}/release", headers=chief)
    api("post", f"{at}/release", headers=chief, json={"expected": 999})
    api("post", f"{at}/release", headers=chief)
    api("get", f"{PREFIX}/essays/{essay['id']}/grade", headers=auth["cadre1"])
    spare = api("get", f"{at}/allocation", headers=chief).json["pool"][0]["examiner_id"]
    api("post", f"{at}/pool", headers=chief, json={"examiner_id": spare, "scope": "cohort"})
    api("post", f"{at}/pool", headers=chief, json={"examiner_id": spare, "scope": "kingdom"})
    api("patch", f"{at}/pool/{spare}", headers=chief, json={"absent": True})
    api("delete", f"{at}/pool/{spare}", headers=chief)
    api("put", f"{PREFIX}/essays/{essay['id']}/rounds/3", headers=chief, json={"examiner_id": spare})
    api("post", f"{PREFIX}/essays/{essay['id']}/correction", headers=chief, json={"final": 7.5, "reason": "Cộng sai"})
    api("get", f"{at}/appeals", headers=chief)
    api("post", f"{PREFIX}/essays/{essay['id']}/appeal", headers=auth["cadre1"], json={"reason": "Chấm lại"})
    api("post", f"{PREFIX}/essays/{essay['id']}/appeal", headers=auth["cadre1"], json={"reason": "Lần hai"})
    api("get", f"{PREFIX}/essays/{essay['id']}/grade", headers=auth["cadre1"])
    api("patch", at, headers=chief, json={"late_policy": "accept_late", "appeal_days": 10})
    api("patch", at, headers=chief, json={"closes_at": "2020-01-01T00:00:00+07:00"})      # before it opens: 422
    cadre_id = api("get", f"{PREFIX}/essays/{essay['id']}", headers=chief).json["author"]["id"]
    api("put", f"{at}/extensions/{cadre_id}", headers=chief,
        json={"closes_at": "2099-01-01T17:00:00+07:00", "reason": "Ốm"})
    api("delete", f"{at}/extensions/{cadre_id}", headers=chief)
    mine = api("get", f"{PREFIX}/tokens", headers=auth["cadre2"]).json["tokens"]
    api("delete", f"{PREFIX}/tokens/{mine[0]['id']}", headers=auth["cadre1"])           # not cadre1's: 404
    api("delete", f"{PREFIX}/tokens/{mine[0]['id']}", headers=auth["cadre2"])
    # any unit type, through its contract
    api("get", f"{at}/units", headers=auth["cadre1"])
    api("get", f"{at}/units/case", headers=auth["cadre1"])
    thread = api("get", f"{at}/units/discussion", headers=auth["cadre1"])
    assert api("get", f"{at}/units/discussion", headers={**auth["cadre1"], "If-None-Match": thread.headers["ETag"]}
               ).status_code == 304
    api("post", f"{at}/units/discussion/actions/post", headers=auth["cadre1"], json={"body": "Ý kiến thêm"})
    api("post", f"{at}/units/discussion/actions/post", headers=auth["cadre1"], json={"body": ""})
    api("get", f"{at}/units/discussion/staff", headers=chief)
    api("get", f"{at}/units/discussion/staff", headers=auth["cadre1"])
    api("post", f"{at}/units/discussion/staff/actions/nothing", headers=chief, json={})
    # an organiser's accounts, a page at a time
    organiser = {"Authorization": "Bearer " + api("post", f"{PREFIX}/tokens",
                                                  json={**login, "username": "admin1"}).json["token"]}
    first = api("get", f"{PREFIX}/accounts?role=cadre&limit=2", headers=organiser).json
    assert [a["username"] for a in first["accounts"]] == ["cadre1", "cadre2"] and first["next_cursor"]
    api("get", f"{PREFIX}/accounts?role=cadre&cursor={first['next_cursor']}&q=cadre", headers=organiser)
    api("get", f"{PREFIX}/accounts?limit=1000", headers=organiser)                            # over the maximum
    api("get", f"{PREFIX}/openapi.json")
    statuses = {status for _, _, status in api.checked}
    assert {200, 201, 401, 403, 404, 409, 422} <= statuses
    assert len({(method, template) for method, template, _ in api.checked}) == \
        sum(len(item) for item in document["paths"].values())
