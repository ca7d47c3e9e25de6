"""CaseLab's own notification channel, similarity sources and report sections, registered through the
``caselab`` entry-point group (setup.py: ``builtins``) exactly as another package's plugin is.

The built-in unit types register from their own modules (lms_plugin/units/*.py)."""
from __future__ import annotations

from ..hookspecs import hookimpl
from . import channels, reports, similarity


@hookimpl
def caselab_notification_channels() -> list[channels.Channel]:
    # The bell is no channel: it shows the notification rows themselves, with nothing to deliver.
    return [channels.MailChannel()]


@hookimpl
def caselab_similarity_sources() -> list[similarity.Source]:
    return [similarity.CourseEssays(), similarity.ReferenceTexts(), similarity.ScenarioText()]


@hookimpl
def caselab_report_sections() -> list[reports.ReportSection]:
    return [reports.Participation(), reports.Marks()]
