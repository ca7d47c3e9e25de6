"""The cadre's pages through the Flask test client: what a learner notices."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

import pytest
from markupsafe import escape
from sqlalchemy import select

from lms_plugin.core.essays import count_words, sha256
from lms_plugin.services import accounts, discussion
from lms_plugin.services.content import scenario_data
from lms_plugin.store import models as m
from lms_plugin.web.formatting import local_time
from tests.web.conftest import PASSWORD, login

SLUG = "t1-ton-dong-ho-so-dat-dai"      # has a CSV attachment, a discussion with a group report, an essay
SENTENCE = "Xã Tân Hòa cần rà soát 10.405 hồ sơ đất đai tồn đọng trước quý IV năm 2026. "


def assignment_for(session, slug: str = SLUG) -> m.Assignment:
    session.expire_all()
    return session.scalar(select(m.Assignment).join(m.ScenarioVersion).join(m.Scenario)
                          .where(m.Scenario.slug == slug).order_by(m.Assignment.id))


def user(session, username: str) -> m.User:
    return session.scalar(select(m.User).where(m.User.username == username))


RECOMMENDATIONS = "\n\n## Kiến nghị, đề xuất\n\nĐề nghị tỉnh hướng dẫn bàn giao hồ sơ đất đai trước quý III.\n"


def essay_text(words: int) -> str:
    """At least ``words`` words, ending with the recommendations section the shipped scenarios require."""
    per = count_words(SENTENCE)
    return SENTENCE * (words // per + 1) + RECOMMENDATIONS


def client_for(app, username: str):
    client = app.test_client()
    login(client, username)
    return client


def play_to_end(client, session, assignment: m.Assignment) -> list[tuple[str, str]]:
    """Take the first choice at every stage; returns the path taken."""
    scenario = scenario_data(assignment.scenario_version)
    stage, path = scenario.start, []
    while not stage.is_ending:
        choice = stage.choices[0]
        response = client.post(f"/cadre/assignments/{assignment.id}/case/choose",
                               data={"stage": stage.id, "choice": choice.id})
        assert response.status_code == 302
        path.append((stage.id, choice.id))
        stage = scenario.stage(choice.next)
    return path


@pytest.fixture
def cadre1(app, demo):
    return client_for(app, "cadre1")


# Dashboard

def test_dashboard_lists_assignments_with_deadline_and_progress(app, demo, session, cadre1):
    assignment = assignment_for(session)
    page = cadre1.get("/cadre/").text
    assert f'data-test="assignment-{assignment.id}"' in page
    assert "Đang mở" in page and "Hạn chót" in page
    assert "Chưa làm tình huống" in page and "Chưa nộp bài thu hoạch" in page

    play_to_end(cadre1, session, assignment)
    cadre1.post(f"/cadre/assignments/{assignment.id}/discussion", data={"body": "Ý kiến đầu tiên"})
    overview = cadre1.get(f"/cadre/assignments/{assignment.id}").text
    assert "Đã hoàn thành tình huống" in overview
    assert "1 bài đăng của bạn / 1 của nhóm" in overview


def test_dashboard_shows_closed_and_not_yet_open(app, demo, session, cadre1):
    now = datetime.now(timezone.utc)
    closed, later = assignment_for(session), assignment_for(session, "t1-bo-may-xa-hop-nhat")
    closed.opens_at, closed.closes_at = now - timedelta(days=3), now - timedelta(days=1)
    later.opens_at, later.closes_at = now + timedelta(days=1), now + timedelta(days=3)
    session.commit()
    page = cadre1.get("/cadre/").text
    assert "Đã đóng" in page and "Chưa mở" in page
    case = cadre1.get(f"/cadre/assignments/{closed.id}/case").text
    assert "Bài này đã hết hạn" in case and "disabled" in case
    first = scenario_data(closed.scenario_version).start
    refused = cadre1.post(f"/cadre/assignments/{closed.id}/case/choose",
                          data={"stage": first.id, "choice": first.choices[0].id})
    assert refused.status_code == 403


TOPIC_HEADINGS = [
    "Chuyên đề 1: Quản trị toàn diện và xây dựng, phát triển cấp xã trong mô hình chính quyền địa phương hai cấp",
    "Chuyên đề 2: Lãnh đạo, chỉ đạo phát triển xã đạt mục tiêu tăng trưởng hai con số",
    "Chuyên đề 3: Điểm nghẽn thể chế và rào cản nội tại trong quản trị cấp xã, giải pháp đột phá",
    "Chuyên đề 4: Ra quyết định dựa trên dữ liệu: sử dụng dữ liệu, AI và nền tảng số trong quản trị cấp xã",
]


def next_step(page: str, assignment_id: int) -> tuple[str | None, str]:
    """(the page the assignment's next step opens, or None for a line without a link; its words)."""
    found = re.search(rf'<(a|strong)[^>]*data-test="next-step-{assignment_id}">(.*?)</\1>', page, re.S)
    assert found, f"no next step for assignment {assignment_id}"
    href = re.search(r'href="([^"]+)"', found.group(0))
    return (href.group(1) if href else None), html.unescape(found.group(2)).strip()


def test_dashboard_groups_assignments_by_topic_with_a_next_step_each(app, demo, session, cadre1):
    assignment = assignment_for(session)
    page = cadre1.get("/cadre/").text
    headings = [html.unescape(h) for h in re.findall(r"<h2>(.*?)</h2>", page)]
    assert headings == TOPIC_HEADINGS           # every topic has open work: the course's order
    first_topic = page[page.index(TOPIC_HEADINGS[0]):page.index(escape(TOPIC_HEADINGS[1]))]
    assert f'data-test="assignment-{assignment.id}"' in first_topic
    assert page.count('data-test="next-step-') == 15
    assert "Đang mở: 15 bài" in page
    base = f"/cadre/assignments/{assignment.id}"
    assert next_step(page, assignment.id) == (f"{base}/case", "Bắt đầu tình huống")

    play_to_end(cadre1, session, assignment)
    assert next_step(cadre1.get("/cadre/").text, assignment.id) == (f"{base}/discussion", "Thảo luận nhóm")
    cadre1.post(f"{base}/discussion", data={"body": "Ý kiến đầu tiên"})
    assert next_step(cadre1.get("/cadre/").text, assignment.id) == (f"{base}/report", "Nộp báo cáo nhóm")
    peer = user(session, "cadre2")              # a member of cadre1's group submits the report
    discussion.save_group_report(session, peer, assignment.id, "<p>Nhóm đề xuất ba giải pháp.</p>", 0)
    discussion.submit_group_report(session, peer, assignment.id)
    session.commit()
    assert next_step(cadre1.get("/cadre/").text, assignment.id) == (f"{base}/essay", "Viết bài thu hoạch")


def test_dashboard_puts_the_topic_with_open_work_first_and_counts_what_is_due(app, demo, session, cadre1):
    now = datetime.now(timezone.utc)
    soon = assignment_for(session, "t3-cho-trung-tam-tham-quyen-chua-ro")
    for a in session.scalars(select(m.Assignment)):
        if a.id == soon.id:
            a.closes_at = now + timedelta(hours=20)
        else:
            a.opens_at, a.closes_at = now + timedelta(days=2), now + timedelta(days=9)
    session.commit()
    page = cadre1.get("/cadre/").text
    headings = [html.unescape(h) for h in re.findall(r"<h2>(.*?)</h2>", page)]
    assert headings == [TOPIC_HEADINGS[2], TOPIC_HEADINGS[0], TOPIC_HEADINGS[1], TOPIC_HEADINGS[3]]
    assert "Đang mở: 1 bài" in page and "Còn việc phải làm, hạn chót trong 48 giờ tới: 1 bài" in page
    other = assignment_for(session)
    assert next_step(page, other.id) == (None, f"Mở lúc {local_time(now + timedelta(days=2))}")


def test_pages_need_the_cadre_role_and_membership(app, demo, session, client):
    assignment = assignment_for(session)
    assert client.get("/cadre/").status_code == 302            # to the login page
    login(client, "examiner1")
    assert client.get("/cadre/").status_code == 403
    outsider = accounts.create_user(session, "cadre-ngoai", "cadre", PASSWORD, display_name="Người ngoài")
    session.commit()
    other = client_for(app, outsider.username)
    assert other.get(f"/cadre/assignments/{assignment.id}/case").status_code == 404


# The case player

def test_case_shows_context_csv_table_escaped_and_download(app, demo, session, cadre1):
    assignment = assignment_for(session)
    page = cadre1.get(f"/cadre/assignments/{assignment.id}/case").text
    assert 'data-test="context"' in page and "Phường Bình Minh" in page
    assert 'data-test="attachment-table-0"' in page and "<th scope=\"col\">" in page
    download = cadre1.get(f"/cadre/assignments/{assignment.id}/attachments/0")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.data == assignment.scenario_version.attachments[0].content
    assert cadre1.get(f"/cadre/assignments/{assignment.id}/attachments/9").status_code == 404


def test_csv_cells_are_escaped(app, demo, session, cadre1):
    assignment = assignment_for(session)
    assignment.scenario_version.attachments[0].content = "cột,ghi chú\n1,<script>alert(1)</script>\n".encode()
    session.commit()
    page = cadre1.get(f"/cadre/assignments/{assignment.id}/case").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_attachment_only_for_members_and_lecturers(app, demo, session):
    assignment = assignment_for(session)
    assert client_for(app, "lecturer1").get(f"/cadre/assignments/{assignment.id}/attachments/0").status_code == 200
    assert client_for(app, "examiner1").get(f"/cadre/assignments/{assignment.id}/attachments/0").status_code == 403
    accounts.create_user(session, "cadre-ngoai", "cadre", PASSWORD)
    session.commit()
    assert client_for(app, "cadre-ngoai").get(
        f"/cadre/assignments/{assignment.id}/attachments/0").status_code == 404


def test_choice_shows_feedback_and_path_and_resumes_after_reload(app, demo, session, cadre1):
    assignment = assignment_for(session)
    scenario = scenario_data(assignment.scenario_version)
    first = scenario.start
    page = cadre1.get(f"/cadre/assignments/{assignment.id}/case").text
    for choice in first.choices:
        assert f'data-test="choice-{choice.id}"' in page
    response = cadre1.post(f"/cadre/assignments/{assignment.id}/case/choose",
                           data={"stage": first.id, "choice": first.choices[0].id})
    assert response.status_code == 302 and response.headers["Location"].endswith("/case#feedback")

    # A new browser session (closed and reopened) lands on the same place.
    again = client_for(app, "cadre1").get(f"/cadre/assignments/{assignment.id}/case").text
    assert 'data-test="feedback"' in again and 'data-test="path"' in again
    assert str(escape(first.choices[0].text[:40])) in again
    next_stage = scenario.stage(first.choices[0].next)
    for choice in next_stage.choices:
        assert f'data-test="choice-{choice.id}"' in again
    # A page left open on the first stage (another tab): the decision is refused, the cadre is
    # told why and sees the case where it stands; the path is unchanged.
    stale = cadre1.post(f"/cadre/assignments/{assignment.id}/case/choose",
                        data={"stage": first.id, "choice": first.choices[1].id})
    assert stale.status_code == 302 and stale.headers["Location"].endswith("/case")
    shown = html.unescape(cadre1.get(stale.headers["Location"]).text)
    assert "Lựa chọn này thuộc một bước đã qua (có thể bạn đã chọn ở một cửa sổ khác)." in shown
    assert shown.count('data-test="path-step"') == 1
    forged = cadre1.post(f"/cadre/assignments/{assignment.id}/case/choose",
                         data={"stage": next_stage.id, "choice": "khong-co"})
    assert forged.status_code == 302
    assert "Bước hiện tại không có phương án này." in html.unescape(cadre1.get(forged.headers["Location"]).text)


def test_ending_without_retry_has_no_button_and_retry_is_refused(app, demo, session, cadre1):
    assignment = assignment_for(session)
    play_to_end(cadre1, session, assignment)
    page = cadre1.get(f"/cadre/assignments/{assignment.id}/case").text
    assert 'data-test="ending"' in page and "Điểm tình huống" in page
    assert 'data-test="retry"' not in page
    assert cadre1.post(f"/cadre/assignments/{assignment.id}/case/retry").status_code == 409


def test_retry_when_the_lecturer_allows_it(app, demo, session, cadre1):
    assignment = assignment_for(session)
    assignment.allow_retry = True
    session.commit()
    play_to_end(cadre1, session, assignment)
    page = cadre1.get(f"/cadre/assignments/{assignment.id}/case").text
    assert 'data-test="retry"' in page and "Làm lại" in page
    assert cadre1.post(f"/cadre/assignments/{assignment.id}/case/retry").status_code == 302
    fresh = cadre1.get(f"/cadre/assignments/{assignment.id}/case").text
    assert 'data-test="ending"' not in fresh and 'data-test="path"' not in fresh
    start = scenario_data(assignment.scenario_version).start
    assert all(f'data-test="choice-{c.id}"' in fresh for c in start.choices)


# Discussion

def test_group_sees_posts_other_group_does_not(app, demo, session, cadre1):
    assignment = assignment_for(session)
    cadre1.post(f"/cadre/assignments/{assignment.id}/discussion", data={"body": "Đề xuất họp dân ở thôn 3"})
    mate = client_for(app, "cadre2").get(f"/cadre/assignments/{assignment.id}/discussion").text
    assert "Đề xuất họp dân ở thôn 3" in mate and 'data-test="post"' in mate
    other = client_for(app, "cadre4")
    assert "Đề xuất họp dân ở thôn 3" not in other.get(f"/cadre/assignments/{assignment.id}/discussion").text
    assert other.get(f"/cadre/assignments/{assignment.id}/discussion/posts.json").json["posts"] == []


def test_poll_endpoint_returns_only_newer_posts_rendered(app, demo, session, cadre1):
    assignment = assignment_for(session)
    url = f"/cadre/assignments/{assignment.id}/discussion"
    cadre1.post(url, data={"body": "Bài một"})
    first = cadre1.get(f"{url}/posts.json").json
    assert [p["parent_id"] for p in first["posts"]] == [None]
    last = first["last_id"]
    client_for(app, "cadre2").post(url, data={"body": "Trả lời bài một", "parent_id": last})
    newer = cadre1.get(f"{url}/posts.json?after={last}").json
    assert len(newer["posts"]) == 1 and newer["posts"][0]["parent_id"] == last
    assert "Trả lời bài một" in newer["posts"][0]["html"] and 'data-test="post"' in newer["posts"][0]["html"]
    assert cadre1.get(f"{url}/posts.json?after={newer['last_id']}").json["posts"] == []


def test_reply_is_threaded_and_rich_text_sanitised(app, demo, session, cadre1):
    assignment = assignment_for(session)
    url = f"/cadre/assignments/{assignment.id}/discussion"
    cadre1.post(url, data={"body": "<b>Đậm</b> và <script>alert(1)</script> <img src=x onerror=alert(2)>"})
    post_id = cadre1.get(f"{url}/posts.json").json["last_id"]
    client_for(app, "cadre2").post(url, data={"body": "Đồng ý", "parent_id": post_id})
    page = cadre1.get(url).text
    assert "<b>Đậm</b>" in page and "<script>alert" not in page and "onerror" not in page
    replies = page.split(f'data-replies-for="{post_id}"', 1)[1]
    assert "Đồng ý" in replies.split("</article>", 1)[0]


def test_edit_own_post_keeps_history_and_others_cannot(app, demo, session, cadre1):
    assignment = assignment_for(session)
    url = f"/cadre/assignments/{assignment.id}/discussion"
    cadre1.post(url, data={"body": "Bản đầu"})
    post_id = cadre1.get(f"{url}/posts.json").json["last_id"]
    assert cadre1.post(f"{url}/posts/{post_id}/edit", data={"body": "Bản đã sửa"}).status_code == 302
    page = cadre1.get(url).text
    assert "Bản đã sửa" in page and "đã sửa 1 lần" in page and "Bản đầu" not in page
    session.expire_all()
    assert [e.body for e in session.get(m.Post, post_id).edits] == ["Bản đầu"]
    mate = client_for(app, "cadre2")
    assert f'data-test="edit-{post_id}"' not in mate.get(url).text
    assert mate.post(f"{url}/posts/{post_id}/edit", data={"body": "Sửa trộm"}).status_code == 404


def test_hidden_post_shows_the_reason_only(app, demo, session, cadre1):
    assignment = assignment_for(session)
    url = f"/cadre/assignments/{assignment.id}/discussion"
    cadre1.post(url, data={"body": "Nội dung không phù hợp"})
    post_id = cadre1.get(f"{url}/posts.json").json["last_id"]
    discussion.hide_post(session, user(session, "lecturer1"), post_id, "Lạc đề")
    session.commit()
    page = client_for(app, "cadre2").get(url).text
    assert "đã bị ẩn: Lạc đề" in page and "Nội dung không phù hợp" not in page


# The group report

def test_report_co_editing_conflict_shows_current_text_then_merges(app, demo, session, cadre1):
    assignment = assignment_for(session)
    url = f"/cadre/assignments/{assignment.id}/report"
    mate = client_for(app, "cadre2")
    assert 'name="revision" value="0"' in mate.get(url).text
    assert cadre1.post(url, data={"body": "Phần của An", "revision": 0, "action": "save"}).status_code == 302
    clash = mate.post(url, data={"body": "Phần của Bích", "revision": 0, "action": "save"})
    assert clash.status_code == 409
    assert 'data-test="report-current"' in clash.text and "Phần của An" in clash.text
    assert "Phần của Bích" in clash.text and 'name="revision" value="1"' in clash.text
    merged = mate.post(url, data={"body": "Phần của An\nPhần của Bích", "revision": 1, "action": "save"})
    assert merged.status_code == 302
    assert "Bản 2" in cadre1.get(url).text


def test_report_submit_needs_confirmation_then_is_read_only(app, demo, session, cadre1):
    assignment = assignment_for(session)
    url = f"/cadre/assignments/{assignment.id}/report"
    asked = cadre1.post(url, data={"body": "Báo cáo của nhóm Tân Hòa", "revision": 0, "action": "submit"})
    assert asked.status_code == 200 and 'data-test="report-confirm"' in asked.text
    session.expire_all()
    assert session.scalar(select(m.GroupReport)).submitted_at is None
    done = cadre1.post(url, data={"revision": 1, "action": "confirm"})
    assert done.status_code == 302
    page = client_for(app, "cadre3").get(url).text
    assert 'data-test="report-submitted"' in page and "Báo cáo của nhóm Tân Hòa" in page
    assert 'name="body"' not in page and "Đặng Văn An nộp thay cả nhóm" in page
    late = client_for(app, "cadre3").post(url, data={"body": "Sửa muộn", "revision": 1, "action": "save"})
    assert late.status_code == 302
    session.expire_all()
    assert session.scalar(select(m.GroupReport)).body == "Báo cáo của nhóm Tân Hòa"


# The essay

def test_autosave_returns_saved_at_and_words_and_survives_reload(app, demo, session, cadre1):
    assignment = assignment_for(session)
    body = "Tiêu đề\n\nDân số 68.500 người, tăng 3,5% so với năm 2025."
    response = cadre1.post(f"/cadre/assignments/{assignment.id}/essay/draft", json={"body": body},
                           headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert set(response.json) == {"saved_at", "words"}
    assert response.json["words"] == count_words(body) == 12
    datetime.fromisoformat(response.json["saved_at"])
    page = client_for(app, "cadre1").get(f"/cadre/assignments/{assignment.id}/essay").text
    assert body in page and 'data-test="word-count">12<' in page
    assert 'data-autosave-seconds="5"' in page


def test_autosave_beacon_as_form_fields(app, demo, session, cadre1):
    assignment = assignment_for(session)
    response = cadre1.post(f"/cadre/assignments/{assignment.id}/essay/draft",
                           data={"body": "Lưu khi rời trang", "quiet": "1"})
    assert response.status_code == 204
    assert "Lưu khi rời trang" in cadre1.get(f"/cadre/assignments/{assignment.id}/essay").text


def test_oversize_body_gets_413_with_message_and_the_draft_survives(app, demo, session, cadre1):
    assignment = assignment_for(session)
    url = f"/cadre/assignments/{assignment.id}/essay/draft"
    cadre1.post(url, json={"body": "Bản nháp an toàn"}, headers={"Accept": "application/json"})
    huge = "chữ " * (app.config["MAX_CONTENT_LENGTH"] // 4 + 10)
    response = cadre1.post(url, json={"body": huge}, headers={"Accept": "application/json"})
    assert response.status_code == 413
    assert "Bản nháp của bạn vẫn được giữ" in response.json["error"]
    page = cadre1.post(f"/cadre/assignments/{assignment.id}/essay/submit", data={"body": huge})
    assert page.status_code == 413 and "Bản nháp của bạn vẫn được giữ" in page.text
    assert "Bản nháp an toàn" in cadre1.get(f"/cadre/assignments/{assignment.id}/essay").text


def test_submit_with_confirmation_gives_receipt_with_time_and_sha256(app, demo, session, cadre1):
    assignment = assignment_for(session)
    url = f"/cadre/assignments/{assignment.id}/essay/submit"
    short = cadre1.post(url, data={"body": "Quá ngắn"})
    assert 'data-test="essay-too-short"' in short.text and 'data-test="essay-confirm"' not in short.text

    body = essay_text(620)
    asked = cadre1.post(url, data={"body": body.replace("\n", "\r\n")})
    assert asked.status_code == 200 and 'data-test="essay-confirm"' in asked.text
    session.expire_all()
    assert session.scalar(select(m.Essay)) is None          # nothing is submitted before confirming
    digest = re.search(r'name="sha256" value="([0-9a-f]{64})"', asked.text).group(1)
    done = cadre1.post(url, data={"confirmed": "1", "sha256": digest})
    assert done.status_code == 302 and "/receipt" in done.headers["Location"]
    receipt = cadre1.get(done.headers["Location"]).text
    assert 'data-test="receipt"' in receipt and sha256(body) in receipt
    session.expire_all()
    essay = session.scalar(select(m.Essay))
    assert essay.sha256 == sha256(body)
    assert local_time(essay.submitted_at, "%H:%M:%S %d/%m/%Y") in receipt
    assert "Bạn đã nộp bản 1" in cadre1.get(f"/cadre/assignments/{assignment.id}/essay").text


def test_submit_without_the_text_keeps_the_draft(app, demo, session, cadre1):
    assignment = assignment_for(session)
    cadre1.post(f"/cadre/assignments/{assignment.id}/essay/draft", data={"body": "Bản nháp quý"})
    assert cadre1.post(f"/cadre/assignments/{assignment.id}/essay/submit", data={}).status_code == 422
    assert "Bản nháp quý" in cadre1.get(f"/cadre/assignments/{assignment.id}/essay").text


def test_confirmation_of_a_changed_draft_asks_again(app, demo, session, cadre1):
    assignment = assignment_for(session)
    url = f"/cadre/assignments/{assignment.id}/essay/submit"
    asked = cadre1.post(url, data={"body": essay_text(620)})
    digest = re.search(r'name="sha256" value="([0-9a-f]{64})"', asked.text).group(1)
    cadre1.post(f"/cadre/assignments/{assignment.id}/essay/draft", json={"body": essay_text(700)},
                headers={"Accept": "application/json"})
    again = cadre1.post(url, data={"confirmed": "1", "sha256": digest})
    assert again.status_code == 200 and "Bản nháp vừa thay đổi" in again.text
    session.expire_all()
    assert session.scalar(select(m.Essay)) is None


def test_grade_page_only_after_release_with_feedback(app, demo, session, cadre1):
    from lms_plugin.services import grading
    assignment = assignment_for(session)
    url = f"/cadre/assignments/{assignment.id}/essay/submit"
    asked = cadre1.post(url, data={"body": essay_text(620)})
    digest = re.search(r'name="sha256" value="([0-9a-f]{64})"', asked.text).group(1)
    cadre1.post(url, data={"confirmed": "1", "sha256": digest})
    session.expire_all()
    essay = session.scalar(select(m.Essay))
    waiting = cadre1.get(f"/cadre/essays/{essay.id}/grade")          # blind both ways until release
    assert waiting.status_code == 200 and "Bài đang được chấm; điểm sẽ được công bố sau." in waiting.text
    rubric = grading.essay_rubric(essay.assignment)
    for name, lower in (("examiner1", ()), ("examiner2", ("trinh-bay",))):   # 10 and 9.74: close enough
        scores = {c.id: c.max_points - (1 if c.id in lower else 0) for c in rubric.criteria}
        notes = {c.id: f"Nhận xét {c.title} của {name}" for c in rubric.criteria}
        grading.grade_essay(session, user(session, name), essay.id, scores, notes, "Bài khá", final=True)
    grading.release_grades(session, user(session, "lecturer1"), assignment.id)
    session.commit()
    page = cadre1.get(f"/cadre/essays/{essay.id}/grade").text
    assert 'data-test="final-mark"' in page and "9.75" in page
    assert "Nhận xét Nắm bắt tình hình của examiner1" in page and "Bài khá" in page
    assert client_for(app, "cadre2").get(f"/cadre/essays/{essay.id}/grade").status_code == 404
    dashboard = cadre1.get("/cadre/").text          # the assignment's next step is now its mark
    assert (f'href="/cadre/essays/{essay.id}/grade" data-test="next-step-{assignment.id}">Xem điểm</a>'
            in dashboard)
