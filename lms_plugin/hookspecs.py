"""CaseLab's whole plugin contract: the hooks a plugin may implement.

A plugin is a module (or object) registered under the ``caselab`` entry-point
group; the built-in unit types, notification channels, report sections and
similarity sources load through exactly the same door as an outside package's.
Implement a hook by decorating a function of the same name with ``hookimpl``::

    from lms_plugin.hookspecs import hookimpl

    @hookimpl
    def caselab_unit_types():
        return [PollUnit]

Every hook answers a list (the bodies here only declare it); the plugin manager (``lms_plugin.plugins``) joins the
lists of all plugins. docs/plugins.md has a section per hook, and
tests/test_hookspecs.py fails a hook that has no section or no test.
"""
from __future__ import annotations

from typing import Any

import pluggy

PROJECT = "caselab"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def caselab_unit_types() -> list[type[Any]]:
    """Unit types this plugin provides: subclasses of ``lms_plugin.units.spec.UnitType``.

    A unit type owns its content fragment, its learner state and actions, how it
    scores and reports completion, its learner and staff views, its API
    representation and its contribution to progress and exports. Every host
    (web app, JSON API, Open edX blocks) plays it through that class alone.
    """
    raise NotImplementedError


@hookspec
def caselab_notification_channels() -> list[Any]:
    """Ways a notification reaches a person beyond the bell, each a ``lms_plugin.services.channels.Channel``
    (built in: e-mail; the in-app bell shows the notification rows themselves and is no channel). Delivered by
    ``caselab tick``, each channel in its own unit of work."""
    raise NotImplementedError


@hookspec
def caselab_report_sections() -> list[Any]:
    """Sections of an assignment's report to leadership, each a ``lms_plugin.services.reports.ReportSection``
    that turns an assignment into a titled table (built in: participation and marks)."""
    raise NotImplementedError


@hookspec
def caselab_similarity_sources() -> list[Any]:
    """Where an essay's possible sources come from, each a ``lms_plugin.services.similarity_sources.Source``
    (built in: the course's essays, the lecturer's reference and excluded texts, the scenario's own text)."""
    raise NotImplementedError
