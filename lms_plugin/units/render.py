"""Rendering a unit's views the same way in every host.

A unit's templates are plain Jinja: every host renders them with the names of
``template_context`` and nothing else (no Flask ``url_for``, no Django tags), so
a unit written once shows alike in the web app and in an Open edX block.
``player.js`` (this folder) is the one script every host loads with them: it posts
``data-unit-action`` forms as JSON, swaps in the HTML that comes back, and keeps
a live unit fresh by asking for its state with the version it already has.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, Environment, FileSystemLoader, PrefixLoader, TemplateNotFound, select_autoescape

from . import registry
from .spec import UnitType

PREFIX = "units"                      # a unit's "case/learner.html" is "units/case/learner.html" in a host
PLAYER_JS = Path(__file__).with_name("player.js")


class UnitTemplates(BaseLoader):
    """"<type_id>/<file>" from the folder that unit type ships its templates in."""

    def get_source(self, environment: Environment, template: str):
        type_id, _, _rest = template.partition("/")
        unit = registry.units().get(type_id)
        if unit is None or not unit.template_folder:
            raise TemplateNotFound(template)
        return FileSystemLoader(unit.template_folder).get_source(environment, template)


def loader() -> PrefixLoader:
    return PrefixLoader({PREFIX: UnitTemplates()})


def environment(gettext: Callable[[str], str], ngettext: Callable[[str, str, int], str]) -> Environment:
    """For hosts without a Jinja environment of their own (the Open edX blocks)."""
    env = Environment(loader=loader(), autoescape=select_autoescape(default=True, default_for_string=True),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    return env


def template_name(unit: UnitType, which: str) -> str | None:
    name = unit.templates.get(which)
    return f"{PREFIX}/{name}" if name else None


def template_context(*, unit: UnitType, view: dict[str, Any], state: dict[str, Any], staff: bool, closed: bool,
                     action_url: Callable[[str], str], csrf_token: str, static_url: Callable[[str], str],
                     when: Callable[[datetime | None], str]) -> dict[str, Any]:
    """The names a unit template may use, in every host."""
    def when_iso(value: str | None) -> str:
        return when(datetime.fromisoformat(value)) if value else ""
    return {"unit": unit, "view": view, "state": state, "staff": staff, "closed": closed,
            "action_url": action_url, "csrf_token": csrf_token, "static_url": static_url, "when": when_iso,
            "live_seconds": unit.live_seconds}
