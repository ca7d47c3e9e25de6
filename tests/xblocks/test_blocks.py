"""The three CaseLab blocks in the xblock-sdk workbench runtime, on the shipped content, on every backend."""
from __future__ import annotations

import gettext
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import webob
from django.utils.html import escape
from sqlalchemy import select
from workbench.runtime import WorkbenchRuntime
from xblock.core import XBlockMixin
from xblock.fields import Date, Scope, Timedelta
from xblock.runtime import Mixologist

from lms_plugin.core.essays import count_words
from lms_plugin.core.scenarios import walk
from lms_plugin.sanitize import render_markdown
from lms_plugin.services import accounts, grading, release
from lms_plugin.store import models as m
from lms_plugin.units import registry

TRANSLATIONS = Path(__file__).resolve().parents[2] / "lms_plugin" / "xblocks" / "translations"


@pytest.fixture
def shipped(content):
    """The first shipped scenario with a discussion and an essay (by file order)."""
    return next(s.scenario for s in sorted(content.scenarios, key=lambda s: s.path.name)
                if s.scenario.discussion and s.scenario.essay)


@pytest.fixture
def examiners(session, content):
    people = [accounts.create_user(session, name, "examiner", "mat-khau-123") for name in ("gk1", "gk2")]
    session.commit()
    return people


def call(learner, usage_id, handler, payload=None):
    """POST a JSON body to a block's handler, as the browser does; -> (status, answer)."""
    request = webob.Request.blank("/", method="POST", body=json.dumps(payload or {}).encode())
    response = learner.runtime.handle(learner.block(usage_id), handler, request)
    return response.status_code, json.loads(response.body)


def view(learner, usage_id, name="student_view") -> str:
    return learner.block(usage_id).render(name, {}).body_html()


SUBJECTS = ["Ủy ban nhân dân phường", "Trung tâm phục vụ hành chính công", "Đảng ủy xã", "Công chức địa chính",
            "Mặt trận Tổ quốc", "Chi nhánh đăng ký đất đai", "Tổ công tác liên ngành", "Người đứng đầu"]
ACTIONS = ["rà soát", "công khai", "phân loại", "số hóa", "kiểm tra", "đối chiếu", "báo cáo", "giải trình"]
OBJECTS = ["hồ sơ quá hạn theo từng thôn", "tiến độ xử lý trên cổng thông tin", "quy trình một cửa liên thông",
           "danh sách người làm dịch vụ trái phép", "dữ liệu bàn giao từ huyện cũ", "ý kiến phản ánh của người dân"]


def essay_text(min_words: int, recommendations: bool = True) -> str:
    """An essay of distinct sentences, long enough for the scenario, ending with its recommendations section."""
    body, i = "", 0
    while count_words(body) < min_words + 10:
        body += (f"{SUBJECTS[i % 8]} cần {ACTIONS[(i // 8) % 8]} {OBJECTS[(i // 3) % 6]} "
                 f"trong tuần {i // 6 + 1} của quý. ")
        i += 1
    if recommendations:
        body += "\n\n## Kiến nghị, đề xuất\n\nĐề nghị tỉnh hướng dẫn bàn giao hồ sơ từ huyện cũ.\n"
    return body


# --- every block ---------------------------------------------------------------------------------

@pytest.mark.parametrize("tag", ["caselab_case", "caselab_discussion", "caselab_essay"])
def test_each_block_shows_the_scenario_to_learners_authors_and_mobile(tag, shipped, store_url, parse, learner):
    usage = parse(f'<{tag} scenario="{shipped.id}"/>')
    html = view(learner("hv1"), usage)
    assert shipped.title in html and 'lang="vi"' in html
    preview = view(learner("hv1"), usage, "author_view")
    assert shipped.title in preview and shipped.id in preview
    editor = view(learner("hv1"), usage, "studio_view")
    assert f'<option value="{shipped.id}" selected>' in editor and 'name="deadline"' in editor
    data = learner("hv1").block(usage).student_view_data()
    unit = registry.unit(tag.removeprefix("caselab_"))
    assert data["title"] == shipped.title and data["unit"] == unit.type_id
    assert {k: data[k] for k in unit.public_view(shipped)} == json.loads(json.dumps(unit.public_view(shipped)))


@pytest.mark.parametrize("tag, extra", [
    ("caselab_case", 'weight="2.5"'),
    ("caselab_discussion", 'teamset="to-cong-tac"'),
    ("caselab_essay", 'weight="4"'),
])
def test_olx_round_trips(tag, extra, shipped, parse, learner):
    olx = (f'<{tag} scenario="{shipped.id}" version="1" display_name="Phần {tag}" '
           f'deadline="2030-06-30T17:00:00+00:00" {extra}/>')
    first = learner("tac-gia").block(parse(olx))
    exported = io.BytesIO()
    first.runtime.export_to_xml(first, exported)
    again = learner("tac-gia").block(parse(exported.getvalue()))
    names = ["scenario", "version", "display_name", "deadline"] + [extra.split("=")[0]]
    assert [getattr(again, n) for n in names] == [getattr(first, n) for n in names]
    assert (first.scenario, first.version, first.deadline.year) == (shipped.id, 1, 2030)


def test_studio_editor_keeps_valid_settings_and_names_what_is_wrong(shipped, store_url, parse, learner):
    author = learner("tac-gia")
    usage = parse('<caselab_essay scenario=""/>')
    assert "Chưa chọn tình huống" in view(author, usage, "author_view")
    status, answer = call(author, usage, "submit_studio", {"display_name": "Bài thu hoạch cuối khóa",
                                                           "scenario": "khong-co", "version": ""})
    assert status == 404 and "khong-co" in answer["error"]
    status, answer = call(author, usage, "submit_studio", {"display_name": "Bài thu hoạch cuối khóa",
                                                           "scenario": shipped.id, "version": "9"})
    assert status == 404 and "phiên bản 9" in answer["error"]
    status, answer = call(author, usage, "submit_studio", {"display_name": "", "scenario": shipped.id})
    assert status == 400 and "display_name" in answer["fields"]
    status, _ = call(author, usage, "submit_studio", {"display_name": "Bài thu hoạch cuối khóa", "scenario": shipped.id,
                                                      "version": "", "weight": "3", "deadline": "2030-01-31T17:00"})
    block = author.block(usage)
    assert status == 200 and (block.display_name, block.scenario, block.version, block.weight) == \
        ("Bài thu hoạch cuối khóa", shipped.id, None, 3.0)
    assert block.deadline == datetime(2030, 1, 31, 17, 0, tzinfo=timezone.utc)


# --- the case ------------------------------------------------------------------------------------

def test_a_cadre_plays_the_case_to_an_ending_resumes_and_the_grade_is_published(shipped, store_url, parse, learner):
    usage = parse(f'<caselab_case scenario="{shipped.id}" weight="2"/>')
    cadre = learner("hv1")
    first = view(cadre, usage)
    assert render_markdown(shipped.start.prompt) in first and escape(shipped.start.choices[0].text) in first

    stage, decisions = shipped.start, []
    choice = stage.choices[0]
    status, answer = call(cadre, usage, "choose", {"stage": stage.id, "choice": choice.id})
    assert status == 200 and answer["feedback"] == choice.feedback
    decisions.append((stage.id, choice.id))
    assert cadre.grades("caselab_case") == []

    resumed = WorkbenchRuntime("hv1").get_block(usage).render("student_view", {}).body_html()   # a new visit
    assert escape(choice.text) in resumed and render_markdown(choice.feedback) in resumed

    stage = shipped.stage(choice.next)
    while not stage.is_ending:
        choice = stage.choices[0]
        status, answer = call(cadre, usage, "choose", {"stage": stage.id, "choice": choice.id})
        assert status == 200 and answer["feedback"] == choice.feedback
        decisions.append((stage.id, choice.id))
        stage = shipped.stage(choice.next)

    expected = walk(shipped, decisions).ratio
    assert answer["finished"] and answer["score"] == pytest.approx(expected)
    assert f"{round(expected * 100)}%" in answer["html"]
    assert cadre.grades("caselab_case") == [{"value": pytest.approx(expected), "max_value": 1.0}]
    assert ("caselab_case", "completion", {"completion": 1.0}) in cadre.events
    assert cadre.block(usage).max_score() == 1.0 and cadre.block(usage).weight == 2.0
    view(cadre, usage)
    assert len(cadre.grades("caselab_case")) == 1        # seen again: not published twice

    status, answer = call(cadre, usage, "choose", {"stage": stage.id, "choice": "a"})
    assert status == 422


def test_a_stale_or_forged_decision_and_a_passed_deadline_are_refused(shipped, store_url, parse, learner):
    usage = parse(f'<caselab_case scenario="{shipped.id}"/>')
    cadre = learner("hv2")
    status, answer = call(cadre, usage, "choose", {"stage": "khong-co", "choice": "a"})
    assert status == 422 and "thuộc một bước đã qua" in answer["error"]
    status, answer = call(cadre, usage, "choose", {"stage": shipped.start.id})
    assert status == 400 and "choice" in answer["fields"]
    closed = parse(f'<caselab_case scenario="{shipped.id}" deadline="2020-01-01T00:00:00+00:00"/>')
    status, answer = call(cadre, closed, "choose", {"stage": shipped.start.id, "choice": shipped.start.choices[0].id})
    assert status == 403 and answer["error"] == "Bài này đã hết hạn"
    assert "Bài này đã hết hạn" in view(cadre, closed)


def test_an_attachment_opens_from_the_scenario_version(shipped, store_url, parse, learner):
    usage = parse(f'<caselab_case scenario="{shipped.id}"/>')
    cadre = learner("hv1")
    html = view(cadre, usage)
    assert shipped.attachments[0].title in html and "<table>" in html
    response = cadre.runtime.handle(cadre.block(usage), "attachment", webob.Request.blank("/"), "0")
    assert response.status_code == 200 and response.content_type == "text/csv"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    missing = cadre.runtime.handle(cadre.block(usage), "attachment", webob.Request.blank("/"), "99")
    assert missing.status_code == 404


# --- the discussion ------------------------------------------------------------------------------

class Team:
    def __init__(self, team_id, name):
        self.team_id, self.name = team_id, name


class Teams:
    """The Open edX teams service as the LMS offers it: get_team(user, course_key, teamset_id)."""

    def __init__(self, teams):
        self.teams = teams

    def get_team(self, user, course_key, teamset_id):
        return self.teams.get((user, teamset_id))


def test_group_members_discuss_and_another_team_does_not_see_it(shipped, store_url, parse, learner, session):
    usage = parse(f'<caselab_discussion scenario="{shipped.id}"/>')
    an, binh = learner("hv-an"), learner("hv-binh")
    status, first = call(an, usage, "post",
                         {"body": "Đề xuất họp dân ngay <script>alert(1)</script>\n\nrồi báo cáo tỉnh"})
    assert status == 200 and "&lt;script&gt;" in first["html"] and "<script>" not in first["html"]
    assert ("caselab_discussion", "completion", {"completion": 1.0}) in an.events
    status, _ = call(binh, usage, "post", {"body": "Đồng ý, thêm rà soát hồ sơ", "parent_id": first["id"]})
    page = view(an, usage)
    assert "Đồng ý, thêm rà soát hồ sơ" in page and "caselab-replies" in page and "Nhóm chung" in page
    status, answer = call(an, usage, "post", {"body": "   "})
    assert status == 422 and answer["error"] == "Nội dung đang trống"

    teamed = parse(f'<caselab_discussion scenario="{shipped.id}" teamset="to-cong-tac"/>')
    chi = learner("hv-chi")
    chi.runtime._services["user"].get_user_by_anonymous_id = lambda anonymous_id: anonymous_id
    chi.runtime._services["teams"] = Teams({("workbench:hv-chi", "to-cong-tac"): Team("xa-tan-hoa-1", "Xã Tân Hòa")})
    page = view(chi, teamed)
    assert "Xã Tân Hòa (xa-tan-hoa-1)" in page and "Đồng ý, thêm rà soát hồ sơ" not in page

    status, saved = call(an, usage, "save_report", {"body": "Chẩn đoán: tồn ở khâu thẩm định.", "revision": 0})
    assert status == 200 and saved["revision"] == 1
    status, stale = call(binh, usage, "save_report", {"body": "Bản khác", "revision": 0})
    assert status == 409 and "bản 1" in stale["error"]
    status, done = call(binh, usage, "submit_report")
    assert status == 200 and len(done["sha256"]) == 64
    assert "Chẩn đoán: tồn ở khâu thẩm định." in view(an, usage)


# --- the essay -----------------------------------------------------------------------------------

def test_essay_is_autosaved_submitted_double_marked_and_the_final_mark_reaches_the_lms(
        shipped, examiners, store_url, parse, learner, session):
    usage = parse(f'<caselab_essay scenario="{shipped.id}" weight="4"/>')
    cadre = learner("hv1")
    status, saved = call(cadre, usage, "save_draft", {"body": "Mở bài: phường Bình Minh"})
    assert status == 200 and saved["words"] == count_words("Mở bài: phường Bình Minh")
    assert "Mở bài: phường Bình Minh</textarea>" in view(cadre, usage)

    status, answer = call(cadre, usage, "submit", {"body": "Quá ngắn"})
    assert status == 422 and f"tối thiểu {shipped.essay.min_words} chữ" in answer["error"]
    status, answer = call(cadre, usage, "submit", {"body": essay_text(shipped.essay.min_words, recommendations=False)})
    assert status == 422 and "Bài chưa có mục “Kiến nghị, đề xuất”" in answer["error"]
    body = essay_text(shipped.essay.min_words)
    status, receipt = call(cadre, usage, "submit", {"body": body})
    assert status == 200 and receipt["version"] == 1 and len(receipt["sha256"]) == 64
    assert receipt["sha256"] in receipt["html"] and "Đang chờ chấm" in receipt["html"]
    assert ("caselab_essay", "completion", {"completion": 1.0}) in cadre.events

    rubric = grading.essay_rubric(session.get(m.Essay, receipt["id"]).assignment)
    best = {c.id: max(lv.points for lv in c.levels) for c in rubric.criteria}
    lower = {**best, rubric.criteria[0].id: sorted(lv.points for lv in rubric.criteria[0].levels)[-2]}
    comments = {c.id: "Nhận xét cụ thể" for c in rubric.criteria}
    gk1, gk2 = examiners
    assert [q.essay_id for q in grading.grading_queue(session, gk1)] == [receipt["id"]]
    grading.grade_essay(session, gk1, receipt["id"], best, comments, final=True)
    session.commit()
    status, waiting = call(cadre, usage, "status")
    assert status == 200 and waiting["mark"] is None and cadre.grades("caselab_essay") == []
    outcome = grading.grade_essay(session, gk2, receipt["id"], lower, comments, final=True)
    session.commit()
    assert outcome.result_status == "final"

    page = view(cadre, usage)
    mark = outcome.result * 10 / rubric.scale
    # neither the block nor the LMS gradebook shows anything before the release (blind both ways)
    assert cadre.grades("caselab_essay") == []
    assert f"{outcome.result:g}/10" not in page and "Đã có điểm" not in page and "Nhận xét cụ thể" not in page
    assert "Đang chờ chấm" in page
    grading.release_grades(session, accounts.create_user(session, "gv-essay", "lecturer", "mat-khau-123"),
                           session.get(m.Essay, receipt["id"]).assignment_id)
    session.commit()
    page = view(cadre, usage)                       # the learner's next visit publishes the released mark
    assert cadre.grades("caselab_essay") == [{"value": pytest.approx(mark), "max_value": 10.0}]
    assert f"{outcome.result:g}/10" in page and "Đã có điểm" in page and "Nhận xét cụ thể" in page
    assert gk1.display_name not in page and gk2.display_name not in page
    session.expire_all()
    result = session.scalar(select(m.EssayResult).where(m.EssayResult.essay_id == receipt["id"]))
    assert result.published_at is not None and cadre.block(usage).published_essay == receipt["id"]
    call(cadre, usage, "status")
    assert len(cadre.grades("caselab_essay")) == 1
    assert cadre.block(usage).max_score() == 10.0


def test_staff_see_each_submission_with_its_similarity_report(shipped, examiners, store_url, parse, learner, session):
    usage = parse(f'<caselab_essay scenario="{shipped.id}"/>')
    an, binh, lecturer = learner("hv-an"), learner("hv-binh"), learner("gv1", staff=True)
    body = essay_text(shipped.essay.min_words)
    _, first = call(an, usage, "submit", {"body": body})
    _, copied = call(binh, usage, "submit", {"body": "Tôi đồng ý. " + body})
    assert "caselab-staff" not in view(an, usage)
    status, _ = call(an, usage, "staff_report")
    assert status == 403

    session.expire_all()
    report = session.scalar(select(m.SimilarityReport).where(m.SimilarityReport.essay_id == copied["id"]))
    page = view(lecturer, usage)
    assert "XBlock User (hv-an)" in page and "XBlock User (hv-binh)" in page
    if report is not None and report.status == "done":
        assert report.score > 0.5 and f"{report.score * 100:.0f}%" in page
        assert f"{report.sources[0]['title']} ({report.sources[0]['share'] * 100:.0f}%)" in page
    else:                                  # no similarity job ran: the column says so
        assert "chưa kiểm tra" in page
    status, answer = call(lecturer, usage, "staff_report")
    assert status == 200 and [row["essay_id"] for row in answer["submissions"]] == [first["id"], copied["id"]]


def test_the_mark_reaches_the_gradebook_only_after_release_and_again_after_a_correction(
        shipped, examiners, store_url, parse, learner, session):
    usage = parse(f'<caselab_essay scenario="{shipped.id}"/>')
    cadre = learner("hv3")
    _, receipt = call(cadre, usage, "submit", {"body": essay_text(shipped.essay.min_words)})
    essay = session.get(m.Essay, receipt["id"])
    rubric = grading.essay_rubric(essay.assignment)
    best = {c.id: max(lv.points for lv in c.levels) for c in rubric.criteria}
    comments = {c.id: "Tốt" for c in rubric.criteria}
    for examiner in examiners:
        grading.grade_essay(session, examiner, essay.id, best, comments, final=True)
    session.commit()
    call(cadre, usage, "status")
    assert cadre.grades("caselab_essay") == []                # final, not released: the gradebook shows nothing
    lecturer = accounts.create_user(session, "gv", "lecturer", "mat-khau-123")
    grading.release_grades(session, lecturer, essay.assignment_id)
    session.commit()
    call(cadre, usage, "status")
    assert cadre.grades("caselab_essay") == [{"value": 10.0, "max_value": 10.0}]
    release.correct(session, lecturer, essay.id, 8.5, "Cộng nhầm điểm")
    session.commit()
    call(cadre, usage, "status")
    assert cadre.grades("caselab_essay")[-1] == {"value": 8.5, "max_value": 10.0}


# --- i18n and the workbench ----------------------------------------------------------------------

class English:
    """What Open edX's i18n service does for an English learner: the block's own catalogue."""

    def __init__(self):
        self.catalogue = gettext.translation("text", str(TRANSLATIONS), ["en"])

    def gettext(self, msgid):
        return self.catalogue.gettext(msgid)


def test_the_english_catalogue_translates_the_blocks(shipped, store_url, parse, learner):
    assert (TRANSLATIONS / "en" / "LC_MESSAGES" / "text.mo").exists()
    usage = parse(f'<caselab_case scenario="{shipped.id}" deadline="2020-01-01T00:00:00+00:00"/>')
    reader = learner("reader")
    reader.runtime._services["i18n"] = English()
    html = view(reader, usage)
    assert "Context" in html and "Bối cảnh" not in html
    status, answer = call(reader, usage, "choose", {"stage": shipped.start.id, "choice": "a"})
    assert answer["error"] == "This assignment is closed"


def test_workbench_scenarios_come_from_the_store_not_the_repository(shipped, parse, learner, content, store_url,
                                                                     tmp_path, monkeypatch):
    """An installed wheel has no scenarios/ folder: the workbench lists what the store it opens holds."""
    from lms_plugin.xblocks.case import CaseBlock
    from lms_plugin.xblocks.discussion import DiscussionBlock
    from lms_plugin.xblocks.essay import EssayBlock
    monkeypatch.chdir(tmp_path)                               # no scenarios/ anywhere near
    monkeypatch.setenv("CASELAB_DATABASE_URL", store_url)     # the workbench's store (make workbench sets it)
    ids = {s.scenario.id for s in content.scenarios}
    topics = {str(s.scenario.topic) for s in content.scenarios}
    cases = CaseBlock.workbench_scenarios()
    assert len(cases) == len(topics)
    assert len(DiscussionBlock.workbench_scenarios()) == len(EssayBlock.workbench_scenarios()) == 1
    for cls in (CaseBlock, DiscussionBlock, EssayBlock):
        for title, olx in cls.workbench_scenarios():
            block = learner("wb").block(parse(olx))
            assert block.scenario in ids and title.startswith("CaseLab")


def test_a_store_without_content_lists_no_workbench_scenario(store_url, monkeypatch):
    from lms_plugin.xblocks.case import CaseBlock
    monkeypatch.setenv("CASELAB_DATABASE_URL", store_url)
    assert CaseBlock.workbench_scenarios() == []


def test_every_string_the_blocks_show_has_an_english_translation():
    from babel.messages.extract import extract_from_file
    from babel.messages.pofile import read_po

    from lms_plugin.units import registry
    from lms_plugin.xblocks import base, case, discussion, essay, unit
    with open(TRANSLATIONS / "en" / "LC_MESSAGES" / "text.po", "rb") as f:
        english = {msg.id: msg.string for msg in read_po(f) if msg.id}
    shown = {*base.COMMON_STRINGS.values(), *essay.STATUS.values(), unit.UnitBlock.display_name.default}
    for cls in (case.CaseBlock, discussion.DiscussionBlock, essay.EssayBlock):
        shown |= set(cls.STRINGS.values()) | {cls.display_name.default}
    # caselab_unit renders the built-in units' own templates with the block's catalogue
    for kind in registry.units().values():
        if type(kind).__module__.startswith("lms_plugin.") and kind.template_folder:
            shown.add(kind.title)
            for name in kind.templates.values():
                found = extract_from_file("jinja2", str(Path(kind.template_folder) / name))
                shown |= {m[1] if isinstance(m[1], str) else m[1][0] for m in found}
    assert sorted(msgid for msgid in shown if not english.get(msgid)) == []


class LmsInheritance(XBlockMixin):
    """What the LMS mixes into every block: the subsection's due date and grace period, inherited."""
    due = Date(scope=Scope.settings)
    graceperiod = Timedelta(scope=Scope.settings)


def test_the_lms_due_date_with_its_grace_period_closes_the_block(shipped, store_url, parse, learner):
    usage = parse(f'<caselab_case scenario="{shipped.id}"/>')
    cadre = learner("hv5")
    cadre.runtime.mixologist = Mixologist([LmsInheritance])

    def student_view() -> str:
        # The block's own view: the workbench's render() pins any ``due`` to "now" for legacy blocks.
        return cadre.block(usage).student_view({}).body_html()
    block = cadre.block(usage)
    block.due = datetime.now(timezone.utc) - timedelta(hours=1)
    block.graceperiod = timedelta(hours=2)
    block.save()
    assert "Bài này đã hết hạn" not in student_view()
    block = cadre.block(usage)
    block.graceperiod = timedelta(0)
    block.save()
    assert "Bài này đã hết hạn" in student_view()


def test_a_handler_refuses_json_nested_deeper_than_any_document_needs(shipped, store_url, parse, learner):
    usage = parse(f'<caselab_essay scenario="{shipped.id}"/>')
    cadre = learner("hv-sau")
    deep = ("[" * 1000 + "]" * 1000).encode()
    request = webob.Request.blank("/", method="POST", body=b'{"body": ' + deep + b"}")
    response = cadre.runtime.handle(cadre.block(usage), "save_draft", request)
    assert response.status_code == 400 and json.loads(response.body)["error"] == "Dữ liệu gửi lên không hợp lệ"
    status, _ = call(cadre, usage, "save_draft", {"body": "Bản nháp đầu tiên"})
    assert status == 200
