"""Notification channels (caselab_notification_channels): the tick delivers through every registered one,
e-mail included, each in its own unit of work."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from lms_plugin.cli import main
from lms_plugin.services import channels
from lms_plugin.services.notifications import notify
from lms_plugin.store import models as m
from lms_plugin.ticker import run_once
from tests.plugged import plugged
from tests.services.test_notifications import NOW, cohort, smtp  # noqa: F401  (fixtures)


class Recorder(channels.Channel):
    """A channel that keeps its own cursor, as an outside channel would (the last notification it carried)."""
    name = "recorder"
    title = "Kênh ghi lại"

    def __init__(self) -> None:
        self.after = 0
        self.carried: list[tuple[int, str]] = []
        self.configs: list[dict] = []

    def deliver(self, session, config, now: datetime) -> channels.Delivery:
        self.configs.append(dict(config))
        rows = session.execute(select(m.Notification.id, m.Notification.user_id, m.Notification.kind)
                               .where(m.Notification.id > self.after).order_by(m.Notification.id)).all()
        self.carried += [(user_id, kind) for _id, user_id, kind in rows]
        self.after = rows[-1].id if rows else self.after
        return channels.Delivery(delivered=len({r.user_id for r in rows}), summary=f"{len(rows)} carried")


class Broken(channels.Channel):
    """Writes, then fails: what it wrote must not stay."""
    name = "broken"
    title = "Kênh hỏng"

    def deliver(self, session, config, now: datetime) -> channels.Delivery:
        session.execute(update(m.Notification).values(read_at=now))
        raise RuntimeError("gateway down")


def test_the_built_in_channel_is_mail_and_the_bell_is_not_a_channel():
    assert [c.name for c in channels.channels()] == ["mail"]
    assert channels.channels()[0].title == "Thư điện tử"


def test_the_tick_delivers_the_reminders_it_added_through_every_channel(session_factory, session, cohort, smtp):
    inbox, settings = smtp
    people, _assignment = cohort
    recorder = Recorder()
    config = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(settings.port), "SMS_KEY": "k"}
    with plugged(caselab_notification_channels=[recorder]):
        report = run_once(session_factory, config, NOW)
        again = run_once(session_factory, config, NOW)
    assert report.reminded == 4 and list(report.deliveries) == ["mail", "recorder"] and not report.errors
    assert report.deliveries["mail"].delivered == 4 and len(inbox.mails) == 4
    assert sorted(recorder.carried) == sorted((people[n].id, "deadline_soon") for n in ("hv1", "hv2", "hv3", "hv4"))
    assert recorder.configs[0]["SMS_KEY"] == "k"               # a channel reads its own settings
    assert again.deliveries["recorder"].delivered == 0 and len(recorder.carried) == 4 and len(inbox.mails) == 4


def test_a_failing_channel_is_rolled_back_and_reported_while_the_others_deliver(session_factory, session, cohort,
                                                                               smtp):
    inbox, settings = smtp
    people, _assignment = cohort
    notify(session, [people["hv1"].id], "released", title="Tình huống mẫu")
    session.commit()
    config = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(settings.port)}
    with plugged(caselab_notification_channels=[Broken()]):
        report = run_once(session_factory, config, NOW)
    assert report.errors == {"broken": "RuntimeError: gateway down"}
    assert report.deliveries["mail"].delivered == 4 and inbox.to("hv1@example.vn")
    session.expire_all()
    assert session.scalar(select(m.Notification.id).where(m.Notification.read_at.is_not(None))) is None


def test_caselab_tick_names_every_channel_and_exits_1_when_one_failed(engine, session, cohort):
    _people, assignment = cohort
    assignment.opens_at, assignment.closes_at = None, datetime.now(timezone.utc) + timedelta(hours=3)
    session.commit()
    url = engine.url.render_as_string(hide_password=False)
    with plugged(caselab_notification_channels=[Recorder(), Broken()]):
        result = CliRunner().invoke(main, ["--database", url, "tick"], env={"CASELAB_MAIL_SERVER": ""})
    assert result.exit_code == 1
    assert "mail: off (no CASELAB_MAIL_SERVER)" in result.output
    assert "deadline reminders: 4" in result.output and "recorder: 4 carried" in result.output
    assert "broken error: RuntimeError: gateway down" in result.output


def test_channels_are_refused_when_not_channels_or_when_two_share_a_name():
    with plugged(caselab_notification_channels=[object()]):
        with pytest.raises(channels.ChannelError, match="not a Channel"):
            channels.channels()
    with plugged(caselab_notification_channels=[channels.MailChannel()]):
        with pytest.raises(channels.ChannelError, match="two notification channels claim the name 'mail'"):
            channels.channels()


def test_a_setting_a_channel_can_never_use_stops_the_tick_before_any_work():
    with pytest.raises(ValueError, match="mail: MAIL_PORT='hai mươi lăm'"):
        channels.check_all({"MAIL_PORT": "hai mươi lăm"})


def test_caselab_tick_refuses_to_start_with_a_plugin_that_gives_no_channel(engine):
    url = engine.url.render_as_string(hide_password=False)
    with plugged(caselab_notification_channels=["sms"]):
        result = CliRunner().invoke(main, ["--database", url, "tick"])
    assert result.exit_code == 1 and "'sms' is not a Channel instance" in result.output
