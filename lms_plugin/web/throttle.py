"""Sign-in throttling: failed sign-ins are counted per account and per address, for the login form and
POST /api/v1/tokens alike. Past the limit (10 per account, 50 per address in 15 minutes by default) every
sign-in of that account or from that address, right password or not, answers 429 with Retry-After until
the oldest failure leaves the window; the failure that starts a lockout is audited ("login.locked").

The counters live in the storage RATELIMIT_STORAGE_URI names (``limits``, the engine of Flask-Limiter):
``memory://`` for one process, ``redis://host:6379/0`` so that every gunicorn worker shares them.
Successes are not counted. A locked attempt costs no password hash, so guessing cannot load the server.
"""
from __future__ import annotations

import math
import time

from flask import Flask, current_app, request
from flask_babel import gettext as _
from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..services import accounts, audit
from .session import commit, db_session

NAMESPACE = "caselab-login"


class LoginLocked(Exception):
    def __init__(self, seconds: int):
        super().__init__(seconds)
        self.seconds = seconds

    @property
    def message(self) -> str:
        return _("Quá nhiều lần đăng nhập sai. Hãy thử lại sau %(minutes)s phút.",
                 minutes=math.ceil(self.seconds / 60))

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.seconds)}


class LoginThrottle:
    def __init__(self, storage_uri: str, per_account: int, per_address: int, window_seconds: int):
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._rules = {"account": RateLimitItemPerSecond(per_account, window_seconds),
                       "address": RateLimitItemPerSecond(per_address, window_seconds)}

    @staticmethod
    def _keys(username: str, address: str) -> dict[str, str]:
        return {"account": (username or "").strip().casefold(), "address": address}

    # An unreachable store (Redis down) must not lock everyone out: the throttle lets people through and logs.

    def wait(self, username: str, address: str) -> int:
        """Seconds before this account may try again from this address; 0 when it may now."""
        wait = 0
        try:
            for scope, key in self._keys(username, address).items():
                rule = self._rules[scope]
                if not self._limiter.test(rule, NAMESPACE, scope, key):
                    reset = self._limiter.get_window_stats(rule, NAMESPACE, scope, key).reset_time
                    wait = max(wait, math.ceil(reset - time.time()), 1)
        except Exception:      # noqa: BLE001 (any storage error)
            current_app.logger.exception("login throttle: storage unavailable, not checked")
        return wait

    def failed(self, username: str, address: str) -> list[tuple[str, str]]:
        """Count a failure; returns the (scope, key) pairs it has just locked."""
        locked = []
        try:
            for scope, key in self._keys(username, address).items():
                rule = self._rules[scope]
                self._limiter.hit(rule, NAMESPACE, scope, key)
                if not self._limiter.test(rule, NAMESPACE, scope, key):
                    locked.append((scope, key))
        except Exception:      # noqa: BLE001
            current_app.logger.exception("login throttle: storage unavailable, failure not counted")
        return locked


def client_address() -> str:
    """Who is knocking. Behind TRUSTED_PROXIES reverse proxies (each appending to X-Forwarded-For) it is the
    address the outermost trusted one saw; without that setting every visitor would share the proxy's."""
    hops = current_app.config["TRUSTED_PROXIES"]
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    if hops and len(forwarded) >= hops:
        return forwarded[-hops][:45]
    return request.remote_addr or "-"


def authenticate(username: str, password: str):
    """``accounts.authenticate`` behind the throttle: raises LoginLocked instead of checking a password
    while the account or the address is locked."""
    throttle: LoginThrottle = current_app.extensions["caselab.login_throttle"]
    address = client_address()
    wait = throttle.wait(username, address)
    if wait:
        raise LoginLocked(wait)
    user = accounts.authenticate(db_session(), username, password)
    if user is None:
        locked = throttle.failed(username, address)
        for scope, key in locked:
            audit.record(db_session(), None, "login.locked", scope, key[:80], username=(username or "")[:80],
                         address=address)
        if locked:
            commit()
    return user


def init_app(app: Flask) -> None:
    config = app.config
    app.extensions["caselab.login_throttle"] = LoginThrottle(
        config["RATELIMIT_STORAGE_URI"], config["LOGIN_FAILURES_PER_ACCOUNT"],
        config["LOGIN_FAILURES_PER_ADDRESS"], config["LOGIN_WINDOW_SECONDS"])
