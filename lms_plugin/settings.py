"""CaseLab's settings: one frozen object, built once when a host starts, handed to services and jobs.

``Settings.load(overrides)`` starts from each field's default, reads ``CASELAB_<NAME>`` from the
environment (typed by the field: ``1``/``true`` for a flag, a whole number, a number, ``vi=Tiếng Việt,en=English``
for a mapping, ``a,b`` for a list), then takes ``overrides`` by ``<NAME>`` (the Flask app's config, the blocks'
``XBLOCK_SETTINGS["caselab"]``, the command's options). A value CaseLab cannot run with stops the start with a
``SettingsError`` that names the setting as it was given: ``CASELAB_TICK_SECONDS='abc': expected a whole number``.

The web app, the command and the blocks build it; services read the one the process was given through
``lms_plugin.services.runtime.settings()``. docs/deployment.md lists every setting (a test keeps it so).
This module imports nothing of CaseLab, so every layer may read it.
"""
from __future__ import annotations

import functools
import json
import math
import os
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo

from werkzeug.security import generate_password_hash

PREFIX = "CASELAB_"
TRANSLATIONS = str(Path(__file__).resolve().parent / "translations")
JOB_MODES = ("inline", "thread", "celery")
SAME_SITE = ("Lax", "Strict", "None")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class SettingsError(ValueError):
    """A setting CaseLab cannot start with; the message names it as given (``CASELAB_X`` or ``X``)."""


def _secret(default: str) -> Any:
    """A value never printed: not in ``repr`` (logs, tracebacks), not in an error message."""
    return field(default=default, repr=False, metadata={"secret": True})


@dataclass(frozen=True)
class Settings:
    """Every setting of CaseLab with its default; its name is the field's, upper-cased (``CASELAB_`` before it
    in the environment). Frozen: what a host built at start-up is what every service reads."""

    # --- the store ------------------------------------------------------------------------------------
    # a trial needs no database server; not in repr: a URL may hold a password
    database_url: str = field(default="sqlite:///instance/caselab.db", repr=False)
    sqlite_busy_ms: int = 10_000             # a writer waits this long for another before the request answers 503
    instance: str = "instance"               # the secret key kept between restarts lives here (working folder)
    secret_key: str = _secret("")            # empty: one generated into the instance folder, kept across restarts

    # --- the web app (Flask, Flask-Babel, Flask-WTF read these from app.config) ---------------------------
    debug: bool = False                      # never from FLASK_DEBUG or a .env: the debugger runs code for anyone
    https: bool = False                      # behind HTTPS: HSTS and Secure cookies (see web/headers.py)
    max_content_length: int = 2 * 1024 * 1024  # an essay of 200,000 characters fits with room for JSON
    session_cookie_httponly: bool = True     # page scripts never read the session cookie
    session_cookie_samesite: str = "Lax"     # another site's form cannot post with the session
    remember_cookie_httponly: bool = True    # the same for "remember me"
    remember_cookie_samesite: str = "Lax"    # the same for "remember me"
    wtf_csrf_time_limit: int | None = None   # None: a cadre may keep the essay editor open all day
    babel_default_locale: str = "vi"         # the learners' language; English is the second
    babel_default_timezone: str = "Asia/Ho_Chi_Minh"  # deadlines are shown in the learners' time
    babel_translation_directories: str = TRANSLATIONS  # the catalogue shipped inside the package
    languages: Mapping[str, str] = field(    # the languages offered, the first one for whoever chose none
        default_factory=lambda: {"vi": "Tiếng Việt", "en": "English"})
    grading_threshold: float = 1.5           # gap between two marks that calls a third examiner
    similarity_flag_score: float = 0.25      # share copied from one source shown as worth a look
    similarity_sources_shown: int = 10       # sources listed before "show all": a leaked text has hundreds
    similarity_rows_shown: int = 200         # essays, pairs, cluster members on the cohort page before "show all"
    autosave_seconds: int = 5                # pause in typing before a draft is saved: little is lost, few writes
    tick_seconds: int = 60                   # caselab serve: automatic submissions, reminders and mail every minute
    discussion_poll_seconds: int = 3         # how often an open discussion asks for new posts
    # notification mail (sent by `caselab tick`, services/mailer.py); no MAIL_SERVER: no mail, rows wait
    mail_server: str = ""                    # most trials have no mail server; notifications wait under the bell
    mail_port: int = 25                      # SMTP's own port
    mail_username: str = ""                  # only when the server asks for a login
    mail_password: str = _secret("")         # only when the server asks for a login
    mail_use_tls: bool = False               # STARTTLS after connecting, when the server offers it
    mail_sender: str = "CaseLab <no-reply@localhost>"  # the From of notification mail
    base_url: str = "http://localhost:5000"  # links in mails point here (`caselab serve` answers here)
    # sessions and tokens end (web/session.py, services/credentials.py)
    session_hours: int = 12                  # a sign-in without "remember me" lasts this long at most
    remember_days: int = 14                  # ... and with it
    token_days: int = 30                     # an API token's life
    # sign-in throttling (web/throttle.py): failures in a window, per account and per address
    login_failures_per_account: int = 10     # guessing one password stops long before it succeeds
    login_failures_per_address: int = 50     # a training room shares one address
    login_window_seconds: int = 15 * 60      # the window those failures are counted in
    ratelimit_storage_uri: str = "memory://"  # one process; redis://host:6379/0 to share it between workers
    trusted_proxies: int = 0                 # reverse proxies in front that append the client to X-Forwarded-For

    # --- services -----------------------------------------------------------------------------------
    password_hash: str = "scrypt"            # werkzeug's default; a test suite names a cheap one
    jobs: str = "inline"                     # inline | thread | celery: a trial needs no broker
    job_grace_seconds: int = 30              # a job not begun this long after its commit is handed again
    job_lease_seconds: int = 120             # a check running longer is presumed cut off and handed again
    # Celery's broker (CASELAB_JOBS=celery); not in repr: a URL may hold a password
    broker_url: str = field(default="redis://127.0.0.1:6379/0", repr=False)
    similarity_index_at: int = 200           # essays in a course from which a saved index beats refitting
    index_dir: str = "instance/similarity"   # saved course indexes (working folder); a shared volume for workers
    similarity_boilerplate_share: float = 0.1  # text in more than this share of a course's essays never counts

    # --- the Open edX blocks (XBLOCK_SETTINGS["caselab"]) --------------------------------------------
    course_id: str = "workbench"             # course run id when the runtime gives none (the workbench)
    examiners: tuple[str, ...] = ()          # usernames put in the marking pool of each assignment blocks create

    def __post_init__(self) -> None:
        # a frozen object holds no dict anyone could change under the services' feet
        object.__setattr__(self, "languages", types.MappingProxyType(dict(self.languages)))
        object.__setattr__(self, "examiners", tuple(self.examiners))
        _check({spec.name: getattr(self, spec.name) for spec in _specs()}, {}, {})

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] = os.environ) -> Settings:
        """Defaults, then ``CASELAB_<NAME>`` from ``environ``, then ``overrides[<NAME>]``. Keys of ``overrides``
        that are no setting (a Flask config has many) are left alone; ``None`` there keeps what was below,
        except for a setting that may be None."""
        values: dict[str, Any] = {}
        given: dict[str, tuple[str, Any]] = {}      # setting -> (the name it was given by, the value as given)
        for spec in _specs():
            name = PREFIX + spec.key
            if name in environ:
                values[spec.name] = spec.read(name, environ[name])
                given[spec.name] = (name, environ[name])
            if overrides is not None and spec.key in overrides:
                raw = overrides[spec.key]
                if raw is None and not spec.optional:
                    continue
                values[spec.name] = spec.read(spec.key, raw)
                given[spec.name] = (spec.key, raw)
        defaults = {spec.name: spec.default() for spec in _specs()}
        _check({**defaults, **values}, {k: v[0] for k, v in given.items()}, {k: v[1] for k, v in given.items()})
        return cls(**values)

    @staticmethod
    def keys() -> frozenset[str]:
        """Every setting's name as the config and the blocks' bucket spell it (``TICK_SECONDS``)."""
        return frozenset(spec.key for spec in _specs())

    def as_config(self) -> dict[str, Any]:
        """Every setting under its ``<NAME>``, as Flask's ``app.config`` holds it."""
        out = {spec.key: getattr(self, spec.name) for spec in _specs()}
        out["LANGUAGES"] = dict(self.languages)
        out["EXAMINERS"] = list(self.examiners)
        return out


def environment_of(environ: Mapping[str, str] = os.environ) -> tuple[tuple[str, str], ...]:
    """The ``CASELAB_*`` part of an environment: what ``Settings.load`` reads from it."""
    return tuple(sorted((key, value) for key, value in environ.items() if key.startswith(PREFIX)))


# --- reading one value ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Spec:
    name: str            # tick_seconds
    key: str             # TICK_SECONDS
    kind: Any            # bool, int, float, str, Mapping, tuple
    optional: bool       # None is a value
    secret: bool
    default: Callable[[], Any]

    def read(self, name: str, raw: Any) -> Any:
        """``raw`` (text from the environment, or what a config holds) as this setting's type."""
        shown = "(hidden)" if self.secret else repr(raw)
        if raw is None and self.optional:
            return None
        if isinstance(raw, str) and self.kind is not str:
            return _parse(self, name, shown, raw)
        ok, value = _accept(self.kind, raw)
        if not ok:
            raise SettingsError(f"{name}={shown}: expected {_EXPECTED[self.kind]}")
        return value


_EXPECTED: dict[Any, str] = {
    bool: "true or false (1/0, yes/no, on/off)", int: "a whole number", float: "a number", str: "text",
    Mapping: "language codes and names: vi=Tiếng Việt,en=English (or a JSON object)",
    tuple: "a list of names (in the environment: gk1,gk2)",
}


def _parse(spec: _Spec, name: str, shown: str, raw: str) -> Any:
    text = raw.strip()
    wrong = SettingsError(f"{name}={shown}: expected {_EXPECTED[spec.kind]}")
    if spec.optional and text.lower() in ("", "none"):
        return None
    if spec.kind is bool:
        if text.lower() not in _TRUE + _FALSE:
            raise wrong
        return text.lower() in _TRUE
    if spec.kind is int:
        try:
            return int(text)
        except ValueError:
            raise wrong from None
    if spec.kind is float:
        try:
            number = float(text)
        except ValueError:
            raise wrong from None
        if not math.isfinite(number):
            raise wrong
        return number
    if spec.kind is tuple:
        return tuple(part.strip() for part in text.split(",") if part.strip())
    # a mapping: JSON, or code=name pairs
    if text.startswith("{"):
        try:
            found = json.loads(text)
        except ValueError:
            raise wrong from None
    else:
        pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise wrong
        found = {code.strip(): label.strip() for code, label in pairs}
    ok, value = _accept(Mapping, found)
    if not ok:
        raise wrong
    return value


def _accept(kind: Any, raw: Any) -> tuple[bool, Any]:
    """A value a config holds (not text to parse) if it is of the setting's type."""
    if kind is bool:
        return isinstance(raw, bool), raw
    if kind is int:
        return isinstance(raw, int) and not isinstance(raw, bool), raw
    if kind is float:
        ok = isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw)
        return ok, float(raw) if ok else raw
    if kind is str:
        return isinstance(raw, (str, os.PathLike)), os.fspath(raw) if isinstance(raw, os.PathLike) else raw
    if kind is tuple:
        ok = isinstance(raw, (list, tuple)) and all(isinstance(item, str) for item in raw)
        return ok, tuple(raw) if ok else raw
    ok = isinstance(raw, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items())
    return ok, dict(raw) if ok else raw


def _same(value: Any) -> Any:
    return value


@cache
def _specs() -> tuple[_Spec, ...]:
    hints = get_type_hints(Settings)
    out = []
    for f in fields(Settings):
        kind, optional = hints[f.name], False
        if get_origin(kind) in (Union, types.UnionType):
            optional = type(None) in get_args(kind)
            kind = next(arg for arg in get_args(kind) if arg is not type(None))
        kind = get_origin(kind) or kind
        default: Callable[[], Any] = f.default_factory if callable(f.default_factory) else \
            functools.partial(_same, f.default)
        out.append(_Spec(f.name, f.name.upper(), kind, optional, bool(f.metadata.get("secret")), default))
    return tuple(out)


# --- what a value must be -----------------------------------------------------------------------------

def _at_least(low: int) -> Callable[[Any, dict[str, Any]], str | None]:
    return lambda value, _all: None if value >= low else ("expected a whole number above 0" if low == 1
                                                          else f"expected {low} or more")


def _positive(value: Any, _all: dict[str, Any]) -> str | None:
    return None if value > 0 else "expected a number above 0"


def _share(value: Any, _all: dict[str, Any]) -> str | None:
    return None if 0 < value <= 1 else "expected a share above 0 and at most 1 (0.25 is a quarter)"


def _one_of(*choices: str) -> Callable[[Any, dict[str, Any]], str | None]:
    return lambda value, _all: None if value in choices else f"expected one of {', '.join(choices)}"


def _url(example: str) -> Callable[[Any, dict[str, Any]], str | None]:
    return lambda value, _all: None if "://" in value else f"expected a URL such as {example}"


def _web_address(value: Any, _all: dict[str, Any]) -> str | None:
    return None if value.startswith(("http://", "https://")) else \
        "expected the address people open, starting with http:// or https://"


def _time_zone(value: Any, _all: dict[str, Any]) -> str | None:
    try:
        ZoneInfo(value)
    except Exception:        # not found, or not a zone name at all ("../x", "")
        return "expected a time zone such as Asia/Ho_Chi_Minh"
    return None


def _languages(value: Any, _all: dict[str, Any]) -> str | None:
    return None if value and all(code and label for code, label in value.items()) else \
        "expected at least one language: vi=Tiếng Việt,en=English"


def _default_locale(value: Any, everything: dict[str, Any]) -> str | None:
    offered = list(everything["languages"])
    return None if value in offered else f"expected one of the LANGUAGES: {', '.join(offered)}"


@lru_cache(maxsize=16)
def _hash_method(method: str) -> str | None:
    """Asks werkzeug itself, once per method and process (scrypt takes a tenth of a second)."""
    try:
        generate_password_hash("caselab", method)
    except (ValueError, TypeError, OverflowError, MemoryError):
        return "expected a password hash method werkzeug knows: scrypt, scrypt:32768:8:1, pbkdf2:sha256:600000"
    return None


def _csrf_limit(value: Any, _all: dict[str, Any]) -> str | None:
    return None if value is None or value > 0 else "expected a whole number of seconds above 0, or none"


_RULES: dict[str, Callable[[Any, dict[str, Any]], str | None]] = {
    "database_url": _url("sqlite:///instance/caselab.db or postgresql://caselab@db/caselab"),
    "sqlite_busy_ms": _at_least(0),
    "instance": lambda value, _all: None if value.strip() else "expected a folder",
    "max_content_length": _at_least(1),
    "session_cookie_samesite": _one_of(*SAME_SITE),
    "remember_cookie_samesite": _one_of(*SAME_SITE),
    "wtf_csrf_time_limit": _csrf_limit,
    "babel_default_locale": _default_locale,
    "babel_default_timezone": _time_zone,
    "languages": _languages,
    "grading_threshold": _positive,
    "similarity_flag_score": _share,
    "similarity_sources_shown": _at_least(1),
    "similarity_rows_shown": _at_least(1),
    "autosave_seconds": _at_least(1),
    "tick_seconds": _at_least(0),
    "discussion_poll_seconds": _at_least(1),
    "mail_port": lambda value, _all: None if 0 < value < 65536 else "expected a port, 1 to 65535",
    "base_url": _web_address,
    "session_hours": _at_least(1),
    "remember_days": _at_least(1),
    "token_days": _at_least(1),
    "login_failures_per_account": _at_least(1),
    "login_failures_per_address": _at_least(1),
    "login_window_seconds": _at_least(1),
    "ratelimit_storage_uri": _url("memory:// or redis://127.0.0.1:6379/0"),
    "trusted_proxies": _at_least(0),
    "password_hash": lambda value, _all: _hash_method(value),
    "jobs": _one_of(*JOB_MODES),
    "job_grace_seconds": _at_least(1),
    "job_lease_seconds": _at_least(1),
    "broker_url": _url("redis://127.0.0.1:6379/0"),
    "similarity_index_at": _at_least(1),
    "index_dir": lambda value, _all: None if value.strip() else "expected a folder",
    "similarity_boilerplate_share": _share,
}


def _check(values: dict[str, Any], names: dict[str, str], raws: dict[str, Any]) -> None:
    """Raise for the first value CaseLab cannot run with, naming it as it was given."""
    secret = {spec.name for spec in _specs() if spec.secret}
    for setting, rule in _RULES.items():
        problem = rule(values[setting], values)
        if problem:
            shown = "(hidden)" if setting in secret else repr(raws.get(setting, values[setting]))
            raise SettingsError(f"{names.get(setting, setting.upper())}={shown}: {problem}")
