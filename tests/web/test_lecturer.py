"""Lecturer pages through the Flask test client: catalogue, upload, editor, preview, assigning, moderation, release."""
from __future__ import annotations

import html
import io
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

from sqlalchemy import func, select

from lms_plugin.services import attempts, cohorts, discussion, essays
from lms_plugin.services.content import scenario_data
from lms_plugin.store import models as m
from tests.web.conftest import first_assignment, login

NEW_SCENARIO = """\
id: t2-cho-phien-moi
version: 1
topic: 2
title: Chợ phiên mới của xã
summary: Xã cân nhắc mở chợ phiên cuối tuần.
context: |
  Xã **Bình An** có 12.000 dân và một bến xe khách.
attachments:
  - file: data/cho-phien.csv
    title: Lượng khách theo tháng
stages:
  - id: s1
    prompt: Đồng chí chọn địa điểm nào?
    choices:
      - {id: a, text: Gần bến xe, feedback: Thuận tiện cho khách, points: 2, next: end}
      - {id: b, text: Trong khu dân cư, feedback: Gây ùn tắc, points: 0, next: end}
  - id: end
    prompt: Chợ mở cửa sau ba tháng.
essay:
  prompt: Viết bài thu hoạch về chợ phiên
  rubric: thu-hoach-co-so
  min_words: 50
"""
ATTACHMENT = "tháng,lượt khách\n1,1200\n".encode()


def upload(client, text: str | bytes, name: str = "t2-cho-phien-moi.yaml",
           attachments=(("cho-phien.csv", ATTACHMENT),)):
    raw = text.encode("utf-8") if isinstance(text, str) else text
    data = {"file": (io.BytesIO(raw), name),
            "attachments": [(io.BytesIO(content), filename) for filename, content in attachments]}
    return client.post("/lecturer/scenarios/upload", data=data, content_type="multipart/form-data")


def errors_shown(page: str) -> list[str]:
    block = re.search(r'data-test="errors">(.*?)</ul>', page, re.S)
    assert block, "no error list on the page"
    return [html.unescape(item).strip() for item in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)]


def versions_of(session, slug: str) -> list[int]:
    session.expire_all()
    return list(session.scalars(select(m.ScenarioVersion.number).join(m.Scenario)
                                .where(m.Scenario.slug == slug).order_by(m.ScenarioVersion.number)))


class FormValues(HTMLParser):
    """The values a browser would send for the first <form method=post> with a csrf field."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type") not in ("file", "submit"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[a["name"]] = a.get("value", "y")
            else:
                self.values[a["name"]] = a.get("value") or ""
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self.values[self._textarea] = ""
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and ("selected" in a or self._select not in self.values):
            self.values[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data


def form_values(page: str) -> dict[str, str]:
    parser = FormValues()
    parser.feed(page)
    values = parser.values
    for key, value in values.items():
        if key.startswith("stages-") or key in ("context", "summary", "attachments", "discussion", "essay"):
            values[key] = value.removeprefix("\n")   # the HTML parser keeps the newline after <textarea>
    return values


def test_the_catalogue_groups_scenarios_by_topic_and_only_staff_open_it(client, demo, session):
    assert client.get("/lecturer/").status_code == 302          # to the login page
    login(client, "cadre1")
    assert client.get("/lecturer/").status_code == 403
    client.post("/logout")
    login(client, "lecturer1")
    page = client.get("/lecturer/").text
    assert 'data-test="topic-1"' in page and "Tổ chức bộ máy và phục vụ người dân" in page
    assert 'data-test="scenario-t1-bo-may-xa-hop-nhat"' in page
    assert "Lớp trình diễn" in page                            # the demo assignments are listed


def test_a_valid_upload_becomes_a_new_scenario_in_the_catalogue(client, demo, session):
    login(client, "lecturer1")
    response = upload(client, NEW_SCENARIO)
    assert response.status_code == 302 and response.location.endswith("/lecturer/scenarios/t2-cho-phien-moi/preview")
    page = client.get(response.location).text
    assert "Đã lưu tình huống &#39;t2-cho-phien-moi&#39;, phiên bản 1" in page
    catalogue = client.get("/lecturer/").text
    topic2 = catalogue.split('data-test="topic-2"')[1].split("</details>")[0]
    assert "Chợ phiên mới của xã" in topic2
    version = session.scalar(select(m.ScenarioVersion).join(m.Scenario).where(m.Scenario.slug == "t2-cho-phien-moi"))
    assert version.created_by_id is not None and version.attachments[0].content == ATTACHMENT


BROKEN = [
    (NEW_SCENARIO.replace("next: end}\n      - {id: b", "next: s9}\n      - {id: b"),
     "t2-cho-phien-moi.yaml:15: stages[0].choices[0].next: unknown stage 's9'"),
    (NEW_SCENARIO.replace("Chợ phiên mới", "Ch\xe1").encode("latin-1", "replace"),
     "t2-cho-phien-moi.yaml:4: not UTF-8 (byte 0xe1 at column 10)"),
    (NEW_SCENARIO.replace("topic: 2", "topic: 9"),
     "t2-cho-phien-moi.yaml:3: topic: topic 9 is not in course 'boi-duong-can-bo-co-so-2026' (topics: 1, 2, 3, 4)"),
    (NEW_SCENARIO.replace("rubric: thu-hoach-co-so", "rubric: khong-co"),
     "t2-cho-phien-moi.yaml:21: essay.rubric: unknown rubric 'khong-co'"),
]


def test_a_broken_upload_shows_located_errors_and_stores_nothing(client, demo, session):
    login(client, "lecturer1")
    before = session.scalar(select(func.count(m.ScenarioVersion.id)))
    for raw, expected in BROKEN:
        response = upload(client, raw)
        assert response.status_code == 422
        assert expected in errors_shown(response.text)
    assert session.scalar(select(func.count(m.ScenarioVersion.id))) == before
    assert session.scalar(select(m.Scenario.id).where(m.Scenario.slug == "t2-cho-phien-moi")) is None


def test_a_missing_attachment_is_named_like_the_command_line_does(client, demo, session):
    login(client, "lecturer1")
    response = upload(client, NEW_SCENARIO, attachments=())
    assert response.status_code == 422
    assert errors_shown(response.text) == [
        "t2-cho-phien-moi.yaml:9: attachments[0].file: file not found: data/cho-phien.csv"]


def test_a_changed_upload_is_version_2_while_the_assignment_keeps_version_1(client, demo, session):
    login(client, "lecturer1")
    assert upload(client, NEW_SCENARIO).status_code == 302
    cohort = session.scalar(select(m.Cohort).where(m.Cohort.name == demo.cohort))
    response = client.post("/lecturer/assignments/new?scenario=t2-cho-phien-moi", data={
        "cohort": cohort.id, "opens_at": "2026-03-02T08:00", "closes_at": "2026-03-09T17:00",
        "examiners": [u.id for u in session.scalars(select(m.User).where(m.User.role == "examiner"))]})
    assert response.status_code == 302
    assignment_id = int(response.location.rsplit("/", 1)[1])

    unchanged = upload(client, NEW_SCENARIO, attachments=())     # same bytes, attachment kept from v1
    assert unchanged.status_code == 302 and versions_of(session, "t2-cho-phien-moi") == [1]
    changed = upload(client, NEW_SCENARIO.replace("Gần bến xe", "Cạnh bến xe khách"), attachments=())
    assert changed.status_code == 302
    assert "phiên bản 2" in client.get(changed.location).text
    assert versions_of(session, "t2-cho-phien-moi") == [1, 2]
    assignment = session.get(m.Assignment, assignment_id)
    assert assignment.scenario_version.number == 1
    assert scenario_data(assignment.scenario_version).start.choices[0].text == "Gần bến xe"
    preview = client.get("/lecturer/scenarios/t2-cho-phien-moi/preview").text
    assert "Cạnh bến xe khách" in preview and "v1" in preview and "v2" in preview


def test_the_editor_round_trips_and_a_change_becomes_a_new_version(client, demo, session):
    login(client, "lecturer1")
    slug = "t1-bo-may-xa-hop-nhat"
    before = scenario_data(session.scalar(select(m.ScenarioVersion).join(m.Scenario).where(m.Scenario.slug == slug)))
    values = form_values(client.get(f"/lecturer/scenarios/{slug}/edit").text)
    assert values["title"] == before.title and values["topic"] == "1"
    assert values["stages-0"].startswith("id: s1\n")

    same = client.post(f"/lecturer/scenarios/{slug}/edit", data=values)
    assert same.status_code == 302 and versions_of(session, slug) == [1]
    assert "Không có thay đổi" in client.get(same.location).text

    values["title"] = "Bộ máy xã mới: phiên bản sửa"
    changed = client.post(f"/lecturer/scenarios/{slug}/edit", data=values)
    assert changed.status_code == 302 and versions_of(session, slug) == [1, 2]
    session.expire_all()
    latest = session.scalar(select(m.ScenarioVersion).join(m.Scenario).where(m.Scenario.slug == slug,
                                                                             m.ScenarioVersion.number == 2))
    after = scenario_data(latest)
    assert after.title == "Bộ máy xã mới: phiên bản sửa" and after.version == before.version + 1
    assert (after.stages, after.essay, after.discussion, after.context) == \
        (before.stages, before.essay, before.discussion, before.context)
    assert [a.content for a in latest.attachments] == [a.content for a in latest.scenario.versions[0].attachments]
    assert "Bộ máy xã mới: phiên bản sửa" in client.get(changed.location).text


def test_editor_errors_are_the_validators_field_path_messages_next_to_the_field(client, demo, session):
    login(client, "lecturer1")
    slug = "t1-bo-may-xa-hop-nhat"
    values = form_values(client.get(f"/lecturer/scenarios/{slug}/edit").text)
    first_next = re.search(r"next: (\S+)", values["stages-0"]).group(1)

    def shown(changes: dict) -> str:
        response = client.post(f"/lecturer/scenarios/{slug}/edit", data={**values, **changes})
        assert response.status_code == 422
        return html.unescape(response.text)

    assert re.search(r'data-test="error-title">title: must not be empty<', shown({"title": ""}))
    page = shown({"stages-0": values["stages-0"].replace(f"next: {first_next}", "next: s9", 1)})
    stage_box = page.split('data-test="field-stages-0"')[1].split('data-test="field-stages-1"')[0]
    assert re.search(r'data-test="error-stages-0">stages\[0\]\.choices\[\d\]\.next: unknown stage .s9.<', stage_box)
    page = shown({"essay": values["essay"].replace("rubric: thu-hoach-co-so", "rubric: khong-co")})
    assert 'data-test="error-essay">essay.rubric: unknown rubric \'khong-co\'<' in page.split('name="essay"')[1]
    assert versions_of(session, slug) == [1]


def test_a_broken_stage_box_is_named_and_blank_boxes_remove_stages(client, demo, session):
    login(client, "lecturer1")
    data = {"id": "t1-moi", "title": "Tình huống mới", "topic": "1", "context": "Bối cảnh",
            "stages-0": "id: s1\nprompt: Bắt đầu\nchoices:\n  - {id: a, text: Đi, feedback: Tốt, next: end}\n",
            "stages-1": "", "stages-2": "id: end\nprompt: [chưa đóng\n"}
    response = client.post("/lecturer/scenarios/new", data=data)
    assert response.status_code == 422
    assert re.search(r'data-test="error-stages-2">stages\[2\]: line \d+: broken YAML', html.unescape(response.text))
    data["stages-2"] = "id: end\nprompt: Kết thúc\n"
    created = client.post("/lecturer/scenarios/new", data=data)
    assert created.status_code == 302
    version = session.scalar(select(m.ScenarioVersion).join(m.Scenario).where(m.Scenario.slug == "t1-moi"))
    assert [s.id for s in scenario_data(version).stages] == ["s1", "end"]
    again = client.post("/lecturer/scenarios/new", data=data)
    assert again.status_code == 422 and "id: scenario &#39;t1-moi&#39; already exists" in again.text


def test_preview_shows_what_a_cadre_sees_and_the_lecturer_only_stage_map(client, demo, session):
    login(client, "lecturer1")
    assert upload(client, NEW_SCENARIO).status_code == 302
    page = client.get("/lecturer/scenarios/t2-cho-phien-moi/preview").text
    cadre_view = page.split('data-test="cadre-view"')[1].split("</section>")[0]
    assert "Xã <strong>Bình An</strong> có 12.000 dân" in cadre_view                # context as sanitised HTML
    assert "Lượng khách theo tháng" in cadre_view and "<td>1200</td>" in cadre_view      # a CSV shown inline
    assert 'data-test="choice-a"' in cadre_view and "Đồng chí chọn địa điểm nào?" in cadre_view
    assert "Thuận tiện cho khách" not in cadre_view                                # no feedback for cadres
    lecturer_view = page.split('data-test="all-stages"')[1]
    assert "Thuận tiện cho khách" in lecturer_view and 'data-test="points-s1-a">2<' in lecturer_view
    link = re.search(r'href="(/lecturer/scenarios/t2-cho-phien-moi/v1/attachments/0)" download', page).group(1)
    download = client.get(link)
    assert download.status_code == 200 and download.data == ATTACHMENT
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_assigning_with_close_before_open_shows_the_error_next_to_the_field(client, demo, session):
    course = session.scalar(select(m.Course.slug))
    cohort = cohorts.create_cohort(session, "Lớp K2", course)
    session.commit()
    login(client, "lecturer1")
    url = "/lecturer/assignments/new?scenario=t1-ung-pho-sat-lo-lu-quet"
    page = client.get(url).text
    assert 'type="datetime-local" name="opens_at"' in page and 'data-test="assign-submit"' in page
    response = client.post(url, data={"cohort": cohort.id, "opens_at": "2026-03-09T08:00",
                                      "closes_at": "2026-03-02T17:00"})
    assert response.status_code == 422
    assert re.search(r'data-test="field-closes_at">.*?</label>\s*<p class="field-error" data-test="error-closes_at">'
                     r"Thời điểm đóng phải sau thời điểm mở</p>", response.text, re.S)
    count = session.scalar(select(func.count(m.Assignment.id)))
    ok = client.post(url, data={"cohort": cohort.id, "opens_at": "2026-03-02T08:00", "closes_at": "2026-03-09T17:00",
                                "allow_retry": "y", "examiners": [session.scalar(
                                    select(m.User.id).where(m.User.username == "examiner2"))]})
    assert ok.status_code == 302
    session.expire_all()
    assert session.scalar(select(func.count(m.Assignment.id))) == count + 1
    assignment = session.get(m.Assignment, int(ok.location.rsplit("/", 1)[1]))
    opens = assignment.opens_at.replace(tzinfo=assignment.opens_at.tzinfo or timezone.utc)
    assert opens == datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)                # 08:00 in Hà Nội is 01:00 UTC
    assert assignment.allow_retry is True
    page = client.get(ok.location).text
    assert "08:00 02/03/2026" in page and "Giám khảo Lê Thị Hoa" in page and "Giám khảo Trần Văn Minh" not in page


def test_hiding_a_post_keeps_it_for_staff_hides_it_from_cadres_and_is_audited(client, demo, session):
    assignment = first_assignment(session)
    cadre = session.scalar(select(m.User).where(m.User.username == "cadre1"))
    post = discussion.post_message(session, cadre, assignment.id, "Nội dung <b>lạc đề</b> cần ẩn")
    session.commit()
    login(client, "lecturer1")
    page = client.get(f"/lecturer/assignments/{assignment.id}?group={post_group(session, post.id)}").text
    assert f'data-test="hide-{post.id}"' in page and "Nội dung <b>lạc đề</b> cần ẩn" in page
    response = client.post(f"/lecturer/posts/{post.id}/hide", data={
        "reason": "Lạc đề", "assignment": assignment.id, "group": post_group(session, post.id)})
    assert response.status_code == 302
    page = client.get(response.location).text
    assert 'data-test="hidden-note"' in page and "Lý do: Lạc đề" in page
    assert "Nội dung <b>lạc đề</b> cần ẩn" in page                                # nothing is deleted
    assert 'data-test="audit-post.hide"' in page
    session.expire_all()
    seen = {p.id: p for p in discussion.list_posts(session, cadre, assignment.id)}
    assert seen[post.id].hidden and seen[post.id].body == ""
    event = session.scalar(select(m.AuditEvent).where(m.AuditEvent.action == "post.hide"))
    assert event.target_id == str(post.id) and event.details == {"reason": "Lạc đề"}
    assert client.post(f"/lecturer/posts/{post.id}/hide", data={"reason": " "}).status_code == 422


def post_group(session, post_id: int) -> int:
    return session.get(m.Post, post_id).group_id


ESSAY_WORDS = (("Xã cần công khai quy trình, số hóa hồ sơ và lắng nghe ý kiến người dân ở các thôn xa " * 60).strip()
               + "\n\n## Kiến nghị, đề xuất\n\nĐề nghị tỉnh hướng dẫn số hóa hồ sơ.")


def test_progress_per_group_after_some_activity(client, demo, session):
    assignment = first_assignment(session)
    users = {u.username: u for u in session.scalars(select(m.User))}
    state = attempts.start_attempt(session, users["cadre1"], assignment.id)
    scenario = scenario_data(assignment.scenario_version)
    stage = scenario.start
    while not stage.is_ending:
        choice = stage.choices[0]
        attempts.choose(session, users["cadre1"], state.id, stage.id, choice.id)
        stage = scenario.stage(choice.next)
    attempts.start_attempt(session, users["cadre2"], assignment.id)
    attempts.start_attempt(session, users["cadre4"], assignment.id)
    discussion.post_message(session, users["cadre1"], assignment.id, "Ý kiến 1")
    discussion.post_message(session, users["cadre2"], assignment.id, "Ý kiến 2")
    hidden = discussion.post_message(session, users["cadre4"], assignment.id, "Ý kiến 3")
    discussion.hide_post(session, users["lecturer1"], hidden.id, "Trùng lặp")
    discussion.save_group_report(session, users["cadre1"], assignment.id, "<p>Báo cáo</p>", revision=0)
    discussion.submit_group_report(session, users["cadre2"], assignment.id)
    essays.submit_essay(session, users["cadre1"], assignment.id, ESSAY_WORDS)
    essays.submit_essay(session, users["cadre1"], assignment.id, ESSAY_WORDS + " Bổ sung.")
    essays.submit_essay(session, users["cadre5"], assignment.id, ESSAY_WORDS)
    session.commit()

    login(client, "lecturer1")
    top = client.get(f"/lecturer/assignments/{assignment.id}").text          # every province: the demo's one
    assert place_rows(top) == {"Tỉnh Đông Hải": {"members": "6", "started": "3", "finished": "1", "drafts": "0",
                                                  "submitted": "2", "marked": "0", "late": "0"}}
    communes = client.get(link(top, "Tỉnh Đông Hải")).text
    assert set(place_rows(communes)) == {"Tân Hòa", "Bình An"}
    page = client.get(link(communes, "Tân Hòa")).text
    assert progress_rows(page) == {"Xã Tân Hòa": {"members": "3", "started": "2", "finished": "1", "drafts": "0",
                                                  "submitted": "1", "marked": "0", "late": "0", "posts": "2",
                                                  "report": "Đã nộp"}}
    other = client.get(link(communes, "Bình An")).text
    assert progress_rows(other)["Xã Bình An"] == {"members": "3", "started": "1", "finished": "0", "drafts": "0",
                                                  "submitted": "1", "marked": "0", "late": "0",
                                                  "posts": "1 (1 bị ẩn)", "report": "Chưa nộp"}


def place_rows(page: str) -> dict[str, dict[str, str]]:
    """The provinces' or communes' rows of a progress page: name -> counts."""
    out = {}
    for name, row in re.findall(r'<tr data-test="place" data-name="([^"]*)">(.*?)</tr>', page, re.S):
        out[html.unescape(name)] = {key: " ".join(html.unescape(re.sub(r"<[^>]+>", " ", value)).split())
                                    for key, value in re.findall(r'<td class="num" data-test="(\w+)">(.*?)</td>', row)}
    return out


def link(page: str, name: str) -> str:
    """Where the row of a province or commune named ``name`` leads."""
    row = page.split(f'data-name="{name}"')[1]
    return html.unescape(re.search(r'href="([^"]+)" data-test="open-place"', row).group(1))


def progress_rows(page: str) -> dict[str, dict[str, str]]:
    table = page.split('data-test="progress"')[1].split("</table>")[0]
    out = {}
    for row in re.findall(r"<tr data-test=\"progress-\d+\">(.*?)</tr>", table, re.S):
        name = html.unescape(re.sub(r"<[^>]+>", "", re.search(r"<td>(.*?)</td>", row, re.S).group(1))).strip()
        cells = {key: " ".join(html.unescape(re.sub(r"<[^>]+>", " ", value)).split())
                 for key, value in re.findall(r'<td(?: class="num")? data-test="(\w+)">(.*?)</td>', row, re.S)}
        cells["report"] = cells["report"].split(" ")[0] + (" " + cells["report"].split(" ")[1]
                                                            if len(cells["report"].split(" ")) > 1 else "")
        out[name] = cells
    return out


def test_release_shows_what_it_covers_asks_to_confirm_and_is_logged(client, demo, session):
    assignment = first_assignment(session)
    login(client, "lecturer1")
    page = client.get(f"/lecturer/assignments/{assignment.id}").text
    assert 'data-test="release"' in page
    response = client.post(f"/lecturer/assignments/{assignment.id}/release")     # an old form: never unguarded
    assert response.status_code == 302 and response.location.endswith(f"/lecturer/marking/{assignment.id}/release")
    session.expire_all()
    assert session.get(m.Assignment, assignment.id).grades_released_at is None
    preview = client.get(response.location).text
    assert 'data-test="nothing-to-release"' in preview and 'data-test="not-submitted">6<' in preview
    assert 'data-test="first-release-warning"' in preview
    refused = client.post(response.location, data={"expected": "3"})     # more than the page showed
    assert refused.status_code == 302
    assert "vừa thay đổi" in client.get(refused.location).text
    done = client.post(response.location, data={"expected": "0"})
    assert done.status_code == 302
    page = client.get(done.location).text
    assert "Đã công bố 0 điểm và 0 kết quả phúc khảo" in page
    session.expire_all()
    assert session.get(m.Assignment, assignment.id).grades_released_at is not None
    assert 'data-test="audit-grades.release"' in client.get(f"/lecturer/assignments/{assignment.id}").text


def test_reference_texts_are_added_by_paste_or_upload_and_listed(client, demo, session):
    login(client, "lecturer1")
    assert client.post("/lecturer/references", data={"title": "", "kind": "reference", "body": ""}).status_code == 422
    pasted = client.post("/lecturer/references", data={"title": "Luật Tổ chức chính quyền địa phương 2025",
                                                       "kind": "reference", "body": "Điều 1. Phạm vi điều chỉnh"})
    assert pasted.status_code == 302
    uploaded = client.post("/lecturer/references", content_type="multipart/form-data", data={
        "title": "Đề bài", "kind": "exclude",
        "file": (io.BytesIO("Viết bài thu hoạch\r\nphân tích tình huống".encode("utf-8-sig")), "de-bai.txt")})
    assert uploaded.status_code == 302
    page = client.get("/lecturer/references").text
    assert "Luật Tổ chức chính quyền địa phương 2025" in page and "Đề bài" in page and "Loại trừ" in page
    texts = {t.title: t for t in session.scalars(select(m.ReferenceText))}
    assert texts["Đề bài"].body == "Viết bài thu hoạch\nphân tích tình huống" and texts["Đề bài"].kind == "exclude"
    bad = client.post("/lecturer/references", content_type="multipart/form-data", data={
        "title": "Sai mã", "kind": "reference", "file": (io.BytesIO("Điều".encode("cp1258", "replace")), "x.txt")})
    assert bad.status_code == 422 and "UTF-8" in bad.text


def test_examiners_and_cadres_cannot_use_lecturer_pages(client, demo, session):
    assignment = first_assignment(session)
    login(client, "examiner1")
    for url in ("/lecturer/", "/lecturer/scenarios/upload", f"/lecturer/assignments/{assignment.id}"):
        assert client.get(url).status_code == 403
    assert client.post(f"/lecturer/assignments/{assignment.id}/release").status_code == 403
    session.expire_all()
    assert session.get(m.Assignment, assignment.id).grades_released_at is None


def test_assignment_window_is_shown_in_vietnam_time(client, demo, session):
    assignment = first_assignment(session)
    assignment.closes_at = datetime(2026, 12, 31, 16, 59, tzinfo=timezone.utc)
    assignment.opens_at = datetime.now(timezone.utc) - timedelta(days=1)
    session.commit()
    login(client, "lecturer1")
    page = client.get(f"/lecturer/assignments/{assignment.id}").text
    assert "23:59 31/12/2026" in page and "đang mở" in page
