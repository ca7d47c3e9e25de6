"""Errors a use case can end in; each adapter maps them to its own answer (HTTP status, CLI exit).

A message is a gettext msgid with %(name)s parameters, so each host shows it
in the reader's language (pybabel extracts these classes' first argument).
"""
from __future__ import annotations

from typing import Any


def N_(msgid: str) -> str:
    """Marks a msgid for extraction where it is not the first argument of an error class."""
    return msgid


class ServiceError(Exception):
    status = 400

    def __init__(self, msgid: str, fields: dict[str, list[str]] | None = None, **params: Any):
        self.msgid = msgid
        self.params = params
        self.fields = fields or {}
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The text in the source language (Vietnamese): the CLI and logs show it."""
        return self.msgid % self.params if self.params else self.msgid

    def translated(self, gettext) -> str:
        return gettext(self.msgid, **self.params) if self.params else gettext(self.msgid)


class Invalid(ServiceError):
    status = 422


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409
