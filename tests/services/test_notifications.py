"""Notifications by mail, against a real SMTP server on 127.0.0.1, and deadline reminders, on every backend."""
from __future__ import annotations

import email
import email.policy
import hashlib
import socket
from datetime import datetime, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from lms_plugin.services import accounts, cohorts
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.services.errors import Invalid, NotFound
from lms_plugin.services.mailer import MailSettings, send_pending
from lms_plugin.services.notifications import (
    list_notifications,
    mark_all_read,
    mark_read,
    notify,
    remind_deadlines,
    set_email_preferences,
    unread_count,
)
from lms_plugin.store import models as m

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)
BASE = "https://caselab.example.vn"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """What the server accepted: (envelope recipients, parsed message)."""

    def __init__(self):
        self.mails: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((list(envelope.rcpt_tos),
                           email.message_from_bytes(envelope.original_content, policy=email.policy.default)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [mail for rcpt, mail in self.mails if address in rcpt]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, MailSettings(server="127.0.0.1", port=controller.port, sender="CaseLab <caselab@example.vn>",
                              base_url=BASE, timeout=5)
    controller.stop()


def person(session, username: str, role: str = "examiner", *, email: str = "", locale: str = "vi",
           display_name: str = "") -> m.User:
    user = accounts.create_user(session, username, role, "mat-khau-123", display_name=display_name or username)
    user.email, user.locale = email, locale
    return user


def unmailed(session, user: m.User) -> int:
    return len(session.scalars(select(m.Notification).where(m.Notification.user_id == user.id,
                                                             m.Notification.emailed_at.is_(None))).all())


def body(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def test_two_notifications_make_one_mail_in_vietnamese_with_both_and_absolute_links(session, smtp):
    inbox, settings = smtp
    gk = person(session, "gk1", email="gk1@example.vn", display_name="Trần Thị Giám Khảo")
    notify(session, [gk.id], "to_mark", link="/examiner/essays/5")
    notify(session, [gk.id], "third_needed", link="/examiner/essays/9")
    session.commit()

    run = send_pending(session, settings, NOW)
    session.commit()

    assert (run.sent, run.error, run.waiting) == (1, None, 0)
    [mail] = inbox.to("gk1@example.vn")
    assert len(inbox.mails) == 1
    assert mail["Subject"] == "CaseLab: thông báo mới (2)"
    text = body(mail)
    assert "Chào Trần Thị Giám Khảo," in text
    assert "Có bài mới cần bạn chấm" in text
    assert "Một bài cần bạn chấm lần ba vì hai giám khảo chấm lệch nhau" in text
    assert f"{BASE}/examiner/essays/5" in text and f"{BASE}/examiner/essays/9" in text
    assert f"{BASE}/account/notifications" in text
    assert unmailed(session, gk) == 0


def test_a_person_reading_english_gets_the_mail_in_english(session, smtp):
    inbox, settings = smtp
    en = person(session, "hv1", "cadre", email="hv1@example.vn", locale="en")
    notify(session, [en.id], "released", title="Tình huống mẫu", link="/cadre/essays/3/grade")
    notify(session, [en.id], "appeal_outcome", title="Tình huống mẫu", link="/cadre/essays/3/grade")
    session.commit()

    send_pending(session, settings, NOW)

    [mail] = inbox.to("hv1@example.vn")
    assert mail["Subject"] == "CaseLab: new notifications (2)"
    text = body(mail)
    assert "Your mark for “Tình huống mẫu” is out" in text, text
    assert "The outcome of the review of “Tình huống mẫu” is out" in text
    assert "thông báo" not in text


def test_mail_switched_off_or_no_address_sends_nothing_and_never_later(session, smtp):
    inbox, settings = smtp
    off = person(session, "gk1", email="gk1@example.vn")
    off.email_notifications = False
    blank = person(session, "gk2", email="")
    on = person(session, "gk3", email="gk3@example.vn")
    notify(session, [off.id, blank.id, on.id], "to_mark", link="/examiner/essays/1")
    session.commit()

    run = send_pending(session, settings, NOW)
    session.commit()

    assert (run.sent, run.skipped) == (1, 2)
    assert [rcpt for rcpt, _mail in inbox.mails] == [["gk3@example.vn"]]
    assert unmailed(session, off) == unmailed(session, blank) == 0
    off.email_notifications, blank.email = True, "gk2@example.vn"      # switching back on: only what is new
    session.commit()
    assert send_pending(session, settings, NOW).sent == 0
    assert len(inbox.mails) == 1


def test_a_second_run_sends_nothing_and_a_new_notification_only_itself(session, smtp):
    inbox, settings = smtp
    gk = person(session, "gk1", email="gk1@example.vn")
    notify(session, [gk.id], "to_mark", link="/examiner/essays/1")
    session.commit()
    assert send_pending(session, settings, NOW).sent == 1
    session.commit()

    again = send_pending(session, settings, NOW + timedelta(minutes=1))
    assert (again.sent, again.skipped, again.waiting) == (0, 0, 0) and len(inbox.mails) == 1

    notify(session, [gk.id], "needs_examiner")
    session.commit()
    assert send_pending(session, settings, NOW + timedelta(minutes=2)).sent == 1
    latest = body(inbox.mails[-1][1])
    assert "Có bài đang chờ phân công giám khảo" in latest and "Có bài mới cần bạn chấm" not in latest


def test_an_unreachable_server_leaves_everything_for_the_next_run(session, smtp):
    inbox, settings = smtp
    gk = person(session, "gk1", email="gk1@example.vn")
    notify(session, [gk.id], "to_mark", link="/examiner/essays/1")
    session.commit()
    down = MailSettings(server="127.0.0.1", port=free_port(), base_url=BASE, timeout=2)

    run = send_pending(session, down, NOW)
    session.commit()

    assert run.sent == 0 and run.waiting == 1 and "Connection" in run.error
    assert unmailed(session, gk) == 1
    assert send_pending(session, settings, NOW).sent == 1
    assert len(inbox.to("gk1@example.vn")) == 1


def test_without_a_mail_server_nothing_is_sent_and_rows_wait(session):
    gk = person(session, "gk1", email="gk1@example.vn")
    notify(session, [gk.id], "to_mark")
    session.commit()
    run = send_pending(session, MailSettings.from_mapping({}), NOW)
    assert (run.sent, run.waiting, run.error) == (0, 1, None)
    assert unmailed(session, gk) == 1


def test_nothing_a_person_typed_reaches_a_header(session, smtp):
    inbox, settings = smtp
    gk = person(session, "gk1", email="gk1@example.vn", display_name="Kẻ xấu\r\nBcc: nannhan@example.com")
    notify(session, [gk.id], "released", title="Tiêu đề\r\nBcc: nannhan@example.com", link="//evil.example/x")
    session.commit()
    send_pending(session, settings, NOW)
    [(rcpt, mail)] = inbox.mails
    assert rcpt == ["gk1@example.vn"] and mail["Bcc"] is None
    assert "evil.example" not in body(mail)
    with pytest.raises(Invalid):
        set_email_preferences(session, gk, "gk1@example.vn\r\nBcc: nannhan@example.com", True)


def test_settings_come_from_the_environment_or_the_flask_config_alike():
    from_env = MailSettings.from_mapping({"MAIL_SERVER": "smtp.example.vn", "MAIL_PORT": "587",
                                          "MAIL_USE_TLS": "true", "MAIL_USERNAME": "caselab",
                                          "MAIL_PASSWORD": "bí mật", "BASE_URL": "https://caselab.example.vn/"})
    from_config = MailSettings.from_mapping({"MAIL_SERVER": "smtp.example.vn", "MAIL_PORT": 587,
                                             "MAIL_USE_TLS": True, "MAIL_USERNAME": "caselab",
                                             "MAIL_PASSWORD": "bí mật", "BASE_URL": "https://caselab.example.vn"})
    assert from_env == from_config and from_env.configured and from_env.base_url == "https://caselab.example.vn"
    with pytest.raises(ValueError, match="MAIL_PORT"):
        MailSettings.from_mapping({"MAIL_PORT": "hai mươi lăm"})


def test_the_bell_lists_newest_first_by_pages_and_marks_read(session):
    gk, other = person(session, "gk1"), person(session, "gk2")
    for number in range(55):
        notify(session, [gk.id], "to_mark", link=f"/examiner/essays/{number}")
    notify(session, [other.id], "to_mark")
    session.commit()
    assert unread_count(session, gk.id) == 55

    first = list_notifications(session, gk)
    second = list_notifications(session, gk, before=first.next_before)
    assert len(first.items) == 50 and len(second.items) == 5 and second.next_before is None
    assert first.items[0].link == "/examiner/essays/54" and second.items[-1].link == "/examiner/essays/0"
    with pytest.raises(NotFound):
        mark_read(session, gk, session.scalar(select(m.Notification.id).where(m.Notification.user_id == other.id)))
    assert mark_read(session, gk, first.items[0].id, NOW).read and unread_count(session, gk.id) == 54
    assert mark_all_read(session, gk, NOW) == 54
    assert unread_count(session, gk.id) == 0 and unread_count(session, other.id) == 1


# ---- deadline reminders --------------------------------------------------------------------------------------

@pytest.fixture
def cohort(session, tree):
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    people = {name: person(session, name, "cadre", email=f"{name}@example.vn")
              for name in ("hv1", "hv2", "hv3", "hv4")}
    people["gv"] = person(session, "gv", "lecturer")
    cohort = cohorts.create_cohort(session, "Lớp 1", "khoa-thu")
    group = cohorts.group_named(session, cohort, "Xã Tân Hòa")
    for name in ("hv1", "hv2", "hv3", "hv4"):
        cohorts.add_member(session, cohort, people[name], group)
    assignment = cohorts.assign_scenario(session, cohort, "t1-mau", opens_at=NOW - timedelta(days=7),
                                         closes_at=NOW + timedelta(hours=10))
    session.commit()
    return people, assignment


def submitted(session, assignment: m.Assignment, user: m.User, kind: str = "essay") -> None:
    text = "Bài thu hoạch đã nộp."
    session.add(m.Essay(assignment_id=assignment.id, user_id=user.id, kind=kind, body=text, words=4,
                        sha256=hashlib.sha256(text.encode()).hexdigest()))


def reminded(session) -> dict[str, list[str]]:
    rows = session.execute(select(m.User.username, m.Notification.dedupe_key).join(
        m.Notification, m.Notification.user_id == m.User.id).where(m.Notification.kind == "deadline_soon")
        .order_by(m.User.username)).all()
    out: dict[str, list[str]] = {}
    for username, key in rows:
        out.setdefault(username, []).append(key)
    return out


def test_the_deadline_reminder_reaches_only_those_without_an_essay_and_only_once(session, cohort):
    people, assignment = cohort
    submitted(session, assignment, people["hv1"])
    submitted(session, assignment, people["hv2"], kind="report")      # the group's report is not their essay
    session.add(m.AssignmentExtension(assignment_id=assignment.id, user_id=people["hv4"].id,
                                      closes_at=NOW + timedelta(days=3)))
    session.commit()

    assert remind_deadlines(session, NOW - timedelta(hours=15)) == 0     # 25 hours before: not yet
    assert remind_deadlines(session, NOW) == 2
    session.commit()
    key = f"deadline:{assignment.id}:{(NOW + timedelta(hours=10)).isoformat()}"
    assert reminded(session) == {"hv2": [key], "hv3": [key]}
    assert remind_deadlines(session, NOW + timedelta(minutes=1)) == 0
    assert remind_deadlines(session, NOW + timedelta(hours=11)) == 0      # the deadline has passed

    row = session.scalar(select(m.Notification).where(m.Notification.user_id == people["hv3"].id))
    assert row.params["title"] == "Tình huống mẫu" and row.link == f"/cadre/assignments/{assignment.id}"

    # hv4's own deadline comes three days later: reminded the day before it, once
    assert remind_deadlines(session, NOW + timedelta(days=2, hours=1)) == 1
    assert remind_deadlines(session, NOW + timedelta(days=2, hours=2)) == 0
    session.commit()
    assert list(reminded(session)) == ["hv2", "hv3", "hv4"]


def test_reminders_are_mailed_in_the_same_tick(session, cohort, smtp):
    inbox, settings = smtp
    people, assignment = cohort
    assert remind_deadlines(session, NOW) == 4
    run = send_pending(session, settings, NOW)
    assert run.sent == 4
    mail = inbox.to("hv1@example.vn")[0]
    assert "Bài “Tình huống mẫu” hết hạn sau chưa đầy 24 giờ; bạn chưa nộp" in body(mail)
    assert f"{BASE}/cadre/assignments/{assignment.id}" in body(mail)


def test_caselab_tick_reminds_then_mails_with_settings_from_the_environment(engine, session, cohort, smtp):
    from click.testing import CliRunner

    from lms_plugin.cli import main
    inbox, settings = smtp
    people, assignment = cohort
    assignment.opens_at, assignment.closes_at = None, datetime.now(timezone.utc) + timedelta(hours=3)
    people["hv1"].email_notifications = False
    session.commit()
    env = {"CASELAB_MAIL_SERVER": "127.0.0.1", "CASELAB_MAIL_PORT": str(settings.port), "CASELAB_BASE_URL": BASE}
    url = engine.url.render_as_string(hide_password=False)

    first = CliRunner().invoke(main, ["--database", url, "tick"], env=env)
    assert first.exit_code == 0, first.output
    assert "deadline reminders: 4" in first.output and "mail: 3 sent, 1 with mail off" in first.output
    assert sorted(rcpt[0] for rcpt, _mail in inbox.mails) == ["hv2@example.vn", "hv3@example.vn", "hv4@example.vn"]
    again = CliRunner().invoke(main, ["--database", url, "tick"], env=env)
    assert "deadline reminders: 0" in again.output and "mail: 0 sent" in again.output and len(inbox.mails) == 3

    notify(session, [people["hv2"].id], "released", title="Tình huống mẫu")
    session.commit()
    down = CliRunner().invoke(main, ["--database", url, "tick"], env=env | {"CASELAB_MAIL_PORT": str(free_port())})
    assert down.exit_code == 1 and "1 person(s) waiting" in down.output
