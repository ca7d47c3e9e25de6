"""Raw request input within the store's bounds, for every route at once.

- ``<int:…>`` in any URL is a number the database can hold (INTEGER: 0..2**31-1): an id of
  99999999999999999999999 is "not found" (404), not an OverflowError from the driver (500).
- ``request.args.get(name, type=int)`` and ``request.form.get(…, type=int)`` give the default for a number
  past that range, as they do for "abc".
- JSON bodies, however they are read (``request.get_json()`` or ``api_core.parse_body``), nest at
  most MAX_JSON_DEPTH levels: 1,000 nested brackets are a 400 with a message, not a RecursionError.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Flask, Request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from ..services.limits import (
    MAX_ID,  # PostgreSQL INTEGER; SQLite holds more, the bound is the same on both
    MAX_JSON_DEPTH,
    json_depth as depth,
)


class DatabaseInt(IntegerConverter):
    """``<int:…>`` bounded to the database's integer range; outside it the rule does not match (404)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        lowest = 0 if min is None else min            # 0: attachment positions count from 0
        highest = MAX_ID if max is None or max > MAX_ID else max
        super().__init__(map, fixed_digits, lowest, highest, signed)


def bounded_int(value: str) -> int:
    number = int(value)
    if not -MAX_ID - 1 <= number <= MAX_ID:
        raise ValueError("outside the database's integer range")
    return number


class BoundedParameters(ImmutableMultiDict):
    """Query and form fields whose ``get(…, type=int)`` stays in the database's range."""

    # one signature for werkzeug's five overloads: the same calls, the same results, ints bounded
    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # type: ignore[override]
        return super().get(key, default, bounded_int if type is int else type)


class BoundedRequest(Request):
    parameter_storage_class = BoundedParameters


class TooDeep(BadRequest):
    pass


def _too_deep() -> TooDeep:
    # Built only when refusing: gettext reads the session, and the session cookie itself is read with loads.
    return TooDeep(_("Nội dung JSON lồng nhau quá %(n)s tầng.", n=MAX_JSON_DEPTH))


def loads_bounded(raw: bytes | str, **kwargs: Any) -> Any:
    """json.loads, refusing more than MAX_JSON_DEPTH levels with TooDeep (400, in the reader's language)."""
    if depth(raw) > MAX_JSON_DEPTH:
        raise _too_deep()
    try:
        return json.loads(raw, **kwargs)
    except RecursionError:
        raise _too_deep() from None


class BoundedJSONProvider(DefaultJSONProvider):
    ensure_ascii = False          # Vietnamese stays readable in API output

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_bounded(s, **kwargs)


def init_app(app: Flask) -> None:
    """Call before any blueprint is registered: rules are compiled with the converters of that moment."""
    app.url_map.converters["int"] = DatabaseInt
    app.request_class = BoundedRequest
    provider = BoundedJSONProvider(app)
    if isinstance(app.json, DefaultJSONProvider):   # keep the app's choices
        provider.ensure_ascii, provider.sort_keys = app.json.ensure_ascii, app.json.sort_keys
    app.json = provider
