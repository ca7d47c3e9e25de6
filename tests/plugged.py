"""An extra plugin for the length of a test: registered on the running plugin manager, as a package's
entry point would be, and unregistered after, so the built-ins are all the next test sees."""
from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from lms_plugin import plugins
from lms_plugin.hookspecs import hookimpl


def _answering(answer: list[Any]) -> Callable[[], list[Any]]:
    def hook() -> list[Any]:
        return list(answer)
    return hook


@contextmanager
def plugged(**answers: list[Any]) -> Iterator[object]:
    """``with plugged(caselab_report_sections=[Mine()]):`` — a plugin answering each named hook with its list."""
    plugin = types.SimpleNamespace(**{hook: hookimpl(_answering(answer)) for hook, answer in answers.items()})
    manager = plugins.manager()
    manager.register(plugin)
    try:
        yield plugin
    finally:
        manager.unregister(plugin)
