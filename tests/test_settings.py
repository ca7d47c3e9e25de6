"""One settings object (lms_plugin/settings.py): defaults, then CASELAB_* from the environment, then the app's config
or the blocks' bucket; a bad value stops the start naming the setting; services read what the host configured."""
from __future__ import annotations

import ast
from dataclasses import fields, replace

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from lms_plugin import settings as settings_module
from lms_plugin.cli import main
from lms_plugin.services import accounts, jobs, runtime, similarity
from lms_plugin.settings import Settings, SettingsError
from lms_plugin.web import create_app
from tests.conftest import ROOT
from tests.test_jobs import _sent

CHEAP_HASH = "pbkdf2:sha256:1000"     # what tests/conftest.py puts in the environment


def test_defaults_are_the_documented_ones():
    s = Settings.load(environ={})
    assert s == Settings()
    assert (s.jobs, s.password_hash, s.tick_seconds, s.grading_threshold, s.database_url) == \
        ("inline", "scrypt", 60, 1.5, "sqlite:///instance/caselab.db")
    assert dict(s.languages) == {"vi": "Tiếng Việt", "en": "English"} and list(s.languages)[0] == "vi"
    assert s.wtf_csrf_time_limit is None and s.examiners == ()


def test_the_environment_is_read_as_each_setting_s_type():
    s = Settings.load(environ={
        "CASELAB_TICK_SECONDS": "5", "CASELAB_HTTPS": "yes", "CASELAB_SESSION_COOKIE_HTTPONLY": "0",
        "CASELAB_GRADING_THRESHOLD": "2", "CASELAB_SIMILARITY_FLAG_SCORE": " 0.3 ",
        "CASELAB_LANGUAGES": "en=English, vi=Tiếng Việt", "CASELAB_BABEL_DEFAULT_LOCALE": "en",
        "CASELAB_EXAMINERS": "gk1, gk2,", "CASELAB_WTF_CSRF_TIME_LIMIT": "3600", "CASELAB_JOBS": "celery",
        "CASELAB_MAIL_SERVER": "smtp.example.vn", "NOT_CASELAB_JOBS": "thread"})
    assert (s.tick_seconds, s.https, s.session_cookie_httponly) == (5, True, False)
    assert (s.grading_threshold, s.similarity_flag_score) == (2.0, 0.3) and isinstance(s.grading_threshold, float)
    assert list(s.languages.items()) == [("en", "English"), ("vi", "Tiếng Việt")]     # English offered first
    assert (s.examiners, s.wtf_csrf_time_limit, s.jobs, s.mail_server) == \
        (("gk1", "gk2"), 3600, "celery", "smtp.example.vn")
    assert Settings.load(environ={"CASELAB_LANGUAGES": '{"vi": "Tiếng Việt"}'}).languages == {"vi": "Tiếng Việt"}


def test_overrides_win_over_the_environment_and_other_keys_are_left_alone():
    environ = {"CASELAB_TICK_SECONDS": "5", "CASELAB_JOBS": "celery", "CASELAB_TOKEN_DAYS": "7"}
    s = Settings.load({"TICK_SECONDS": 7, "JOBS": "thread", "TOKEN_DAYS": None, "AUTOSAVE_SECONDS": "9",
                       "EXAMINERS": ["gk1"], "ENGINE": object(), "TESTING": True}, environ=environ)
    assert (s.tick_seconds, s.jobs, s.token_days, s.autosave_seconds, s.examiners) == (7, "thread", 7, 9, ("gk1",))


@pytest.mark.parametrize("environ, message", [
    ({"CASELAB_TICK_SECONDS": "abc"}, "CASELAB_TICK_SECONDS='abc': expected a whole number"),
    ({"CASELAB_GRADING_THRESHOLD": "một"}, "CASELAB_GRADING_THRESHOLD='một': expected a number"),
    ({"CASELAB_HTTPS": "maybe"}, "CASELAB_HTTPS='maybe': expected true or false"),
    ({"CASELAB_JOBS": "rabbit"}, "CASELAB_JOBS='rabbit': expected one of inline, thread, celery"),
    ({"CASELAB_PASSWORD_HASH": "md5"}, "CASELAB_PASSWORD_HASH='md5': expected a password hash method werkzeug"),
    ({"CASELAB_SIMILARITY_FLAG_SCORE": "1.5"}, "CASELAB_SIMILARITY_FLAG_SCORE='1.5': expected a share above 0"),
    ({"CASELAB_SESSION_HOURS": "0"}, "CASELAB_SESSION_HOURS='0': expected a whole number above 0"),
    ({"CASELAB_TICK_SECONDS": "-1"}, "CASELAB_TICK_SECONDS='-1': expected 0 or more"),
    ({"CASELAB_MAIL_PORT": "70000"}, "CASELAB_MAIL_PORT='70000': expected a port"),
    ({"CASELAB_BABEL_DEFAULT_TIMEZONE": "Mars/Base"}, "CASELAB_BABEL_DEFAULT_TIMEZONE='Mars/Base': expected a time"),
    ({"CASELAB_BASE_URL": "caselab.example.vn"}, "CASELAB_BASE_URL='caselab.example.vn': expected the address"),
    ({"CASELAB_LANGUAGES": "en=English"}, "BABEL_DEFAULT_LOCALE='vi': expected one of the LANGUAGES: en"),
])
def test_a_bad_value_in_the_environment_is_refused_by_its_name(environ, message):
    with pytest.raises(SettingsError) as refused:
        Settings.load(environ=environ)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize("overrides, message", [
    ({"TOKEN_DAYS": 0}, "TOKEN_DAYS=0: expected a whole number above 0"),
    ({"TOKEN_DAYS": True}, "TOKEN_DAYS=True: expected a whole number"),
    ({"GRADING_THRESHOLD": "x"}, "GRADING_THRESHOLD='x': expected a number"),
    ({"EXAMINERS": ["gk1", 2]}, r"EXAMINERS=\['gk1', 2\]: expected a list of names"),
])
def test_a_bad_value_in_the_config_is_refused_by_its_config_name(overrides, message):
    with pytest.raises(SettingsError, match="^" + message):
        Settings.load(overrides, environ={"CASELAB_TOKEN_DAYS": "3"})


def test_secrets_are_never_printed():
    s = Settings.load({"SECRET_KEY": "s3cret-key", "MAIL_PASSWORD": "s3cret-pw",
                       "DATABASE_URL": "postgresql://caselab:s3cret-db@db/caselab"}, environ={})
    assert "s3cret" not in repr(s)
    with pytest.raises(SettingsError) as refused:
        Settings.load({"MAIL_PASSWORD": 12345678}, environ={})
    assert str(refused.value) == "MAIL_PASSWORD=(hidden): expected text"


def test_the_object_is_frozen_and_a_changed_copy_is_checked_too():
    s = Settings.load(environ={})
    with pytest.raises(AttributeError):
        s.jobs = "celery"                                 # type: ignore[misc]
    with pytest.raises(TypeError):
        s.languages["fr"] = "Français"                   # type: ignore[index]
    with pytest.raises(SettingsError, match="^JOBS='rabbit'"):
        replace(s, jobs="rabbit")


# --- the hosts build it once and hand it on ---------------------------------------------------------------

def test_create_app_builds_the_settings_once_and_hands_them_to_flask_and_the_services(engine, monkeypatch):
    monkeypatch.setenv("CASELAB_GRADING_THRESHOLD", "3")
    monkeypatch.setenv("CASELAB_JOBS", "thread")
    app = create_app({"ENGINE": engine, "SECRET_KEY": "s", "TESTING": True, "JOBS": "inline",
                      "LANGUAGES": {"vi": "Tiếng Việt"}})
    settings = app.extensions["caselab.settings"]
    assert isinstance(settings, Settings) and runtime.settings() is settings
    assert (settings.grading_threshold, settings.jobs) == (3.0, "inline")           # the config wins
    assert app.config["GRADING_THRESHOLD"] == 3.0 and app.config["LANGUAGES"] == {"vi": "Tiếng Việt"}
    assert app.config["BABEL_DEFAULT_LOCALE"] == "vi" and app.config["TESTING"] is True
    assert app.config["SECRET_KEY"] == settings.secret_key == "s"


def test_without_a_secret_key_one_is_kept_in_the_instance_folder(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("CASELAB_INSTANCE", str(tmp_path / "inst"))
    first = create_app({"ENGINE": engine})
    again = create_app({"ENGINE": engine})
    assert first.instance_path == str(tmp_path / "inst")
    assert first.config["SECRET_KEY"] == again.config["SECRET_KEY"] == (tmp_path / "inst" / "secret_key").read_text()
    assert runtime.settings().secret_key == first.config["SECRET_KEY"]


@pytest.mark.parametrize("where", ["environment", "config"])
def test_a_bad_value_stops_create_app_naming_the_setting(engine, monkeypatch, where):
    config = {"ENGINE": engine, "SECRET_KEY": "s"}
    if where == "environment":
        monkeypatch.setenv("CASELAB_TICK_SECONDS", "abc")
        name = "CASELAB_TICK_SECONDS"
    else:
        config["TICK_SECONDS"] = "abc"
        name = "TICK_SECONDS"
    with pytest.raises(SettingsError, match=f"^{name}='abc': expected a whole number$"):
        create_app(config)


def test_the_command_exits_with_the_message(tmp_path):
    result = CliRunner().invoke(main, ["--database", f"sqlite:///{tmp_path / 'c.db'}", "db", "upgrade"],
                                env={"CASELAB_TOKEN_DAYS": "soon"})
    assert result.exit_code == 1
    assert "Error: CASELAB_TOKEN_DAYS='soon': expected a whole number" in result.output
    assert not (tmp_path / "c.db").exists()                 # stopped before anything was done


def test_the_command_hashes_passwords_with_the_configured_method(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["--database", url, "db", "upgrade"]).exit_code == 0
    added = runner.invoke(main, ["--database", url, "users", "add", "gv1", "--role", "lecturer",
                                 "--password", "mat-khau-123"], env={"CASELAB_PASSWORD_HASH": "pbkdf2:sha256:2000"})
    assert added.exit_code == 0, added.output
    engine = create_engine(url)
    with Session(engine) as session:
        user = accounts.get_user(session, "gv1")
        assert user.password_hash.startswith("pbkdf2:sha256:2000$")
    engine.dispose()


def test_services_hash_passwords_with_the_app_s_method(engine, session):
    create_app({"ENGINE": engine, "SECRET_KEY": "s", "PASSWORD_HASH": "pbkdf2:sha256:1500"})
    user = accounts.create_user(session, "gv2", "lecturer", "mat-khau-123")
    assert user.password_hash.startswith("pbkdf2:sha256:1500$")
    assert accounts.authenticate(session, "gv2", "mat-khau-123") is user


def test_the_app_s_jobs_mode_sends_a_deferred_check_to_the_broker(engine):
    """JOBS is the real mode: with celery the check travels to the broker instead of running in the request."""
    create_app({"ENGINE": engine, "SECRET_KEY": "s", "JOBS": "celery", "BROKER_URL": "memory://"})
    broker = jobs.celery_app()
    assert broker.conf.broker_url == "memory://"
    with Session(engine) as session:
        jobs.defer(session, similarity.CHECK, essay_id=7)
        session.commit()                        # inline would have run the check here
    [message] = _sent("checks")
    assert message.headers["task"] == "caselab." + similarity.CHECK


def test_a_process_nobody_configured_reads_its_environment(monkeypatch):
    """A Celery worker or an LMS serving the blocks: the settings come from CASELAB_* when first asked."""
    monkeypatch.setenv("CASELAB_JOBS", "thread")
    monkeypatch.setenv("CASELAB_SIMILARITY_BOILERPLATE_SHARE", "0.5")
    assert runtime.settings().jobs == "thread" and runtime.settings() is runtime.settings()
    assert similarity.detector().boilerplate_share == 0.5
    assert accounts.hash_method() == CHEAP_HASH
    monkeypatch.setenv("CASELAB_JOBS", "nonsense")
    with pytest.raises(SettingsError, match="^CASELAB_JOBS='nonsense'"):
        runtime.settings()


# --- kept true ---------------------------------------------------------------------------------------

def test_every_setting_has_its_row_in_the_deployment_guide():
    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| `CASELAB_")}
    names = {f"`CASELAB_{f.name.upper()}`" for f in fields(Settings)}
    assert sorted(names - rows) == [], "give each a row (setting | default | meaning) in docs/deployment.md"
    assert sorted(rows - names) == [], "docs/deployment.md lists settings CaseLab no longer has"


def test_the_settings_module_imports_nothing_of_caselab():
    """Every layer (the store too) may read it, so it must lean on nothing of CaseLab: no cycle can form."""
    tree = ast.parse(open(settings_module.__file__, encoding="utf-8").read())
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert [name for name in imported if name.startswith("lms_plugin") or name.startswith(".")] == []
    assert all(node.level == 0 for node in ast.walk(tree) if isinstance(node, ast.ImportFrom))
