"""The plugin contract holds: every hook of lms_plugin/hookspecs.py has its section in docs/plugins.md and a test,
and a plugin answering a hook is used (registered on the running plugin manager as an installed package's
entry point would be, and taken away after the test)."""
from __future__ import annotations

import ast
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from marshmallow import Schema, fields
from sqlalchemy import select

from lms_plugin import hookspecs
from lms_plugin.services import accounts, cohorts, essays, similarity, units
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.channels import Channel, Delivery
from lms_plugin.services.content import import_catalog
from lms_plugin.services.notifications import notify
from lms_plugin.services.reports import ReportSection
from lms_plugin.services.similarity_sources import REFERENCE, Candidate, Source
from lms_plugin.store import models as m
from lms_plugin.units import registry
from lms_plugin.units.spec import Action, Table, UnitType
from tests.conftest import ROOT
from tests.plugged import plugged
from tests.services.test_similarity_service import BUDGET, LAND
from tests.web.conftest import login

PASSWORD = "mat-khau-123"
DOCS = ROOT / "docs" / "plugins.md"
TESTS = ROOT / "tests"


def hooks() -> list[str]:
    """The hook names of hookspecs.py: functions pluggy's marker tagged."""
    return sorted(name for name, value in vars(hookspecs).items()
                  if callable(value) and hasattr(value, f"{hookspecs.PROJECT}_spec"))


def bodies_of_tests(sources: dict[str, str]) -> dict[str, str]:
    """Each test function's source (``path::name`` -> text): a hook named in a comment or a helper is no test."""
    found: dict[str, str] = {}
    for path, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                found[f"{path}::{node.name}"] = ast.get_source_segment(text, node) or ""
    return found


def problems(names: list[str], docs: str, sources: dict[str, str]) -> list[str]:
    sections = set(re.findall(r"^## (\S+)[ \t]*$", docs, re.M))
    bodies = bodies_of_tests(sources)
    out = []
    for name in names:
        if name not in sections:
            out.append(f"{name}: no '## {name}' section in docs/plugins.md")
        if not any(re.search(rf"\b{re.escape(name)}\b", body) for body in bodies.values()):
            out.append(f"{name}: no test under tests/ mentions it")
    return out


def test_every_hook_has_a_section_in_the_plugin_guide_and_a_test():
    names = hooks()
    assert len(names) >= 4 and all(name.startswith("caselab_") for name in names)
    sources = {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8") for path in sorted(TESTS.rglob("*.py"))}
    found = problems(names, DOCS.read_text(encoding="utf-8"), sources)
    assert found == [], "\n".join(found)


def test_the_check_fails_a_hook_without_a_section_or_a_test():
    docs = "# Plugins\n\n## caselab_known\n\ntext about caselab_missing\n"
    sources = {"tests/test_x.py": '"""caselab_missing in a docstring"""\n# caselab_missing in a comment\n'
                                  "def helper():\n    return 'caselab_missing'\n\n"
                                  "def test_known():\n    assert 'caselab_known'\n"}
    assert problems(["caselab_known", "caselab_missing"], docs, sources) == [
        "caselab_missing: no '## caselab_missing' section in docs/plugins.md",
        "caselab_missing: no test under tests/ mentions it"]


# ---- a plugin answering each hook is used ------------------------------------------------------------------------

@pytest.fixture
def course(session, tree):
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    people = {name: accounts.create_user(session, name, role, PASSWORD) for name, role in
              [("gv", "lecturer"), ("a", "cadre"), ("b", "cadre")]}
    cohort = cohorts.create_cohort(session, "Lớp 1", "khoa-thu")
    group = cohorts.group_named(session, cohort, "Xã Tân Hòa")
    for name in "ab":
        cohorts.add_member(session, cohort, people[name], group)
    assignment = cohorts.assign_scenario(session, cohort, "t1-mau")
    session.commit()
    return people, assignment


class Rating(Schema):
    value = fields.Integer(required=True)


class Thermometer(UnitType):
    """How warm the group feels about the case, 1 to 5."""
    type_id = "thermometer"
    title = "Nhiệt kế"
    actions = {"rate": Action("rate", Rating)}

    def applies_to(self, scenario) -> bool:
        return True

    def learner_state(self, ctx):
        return {"mine": ctx.records.get("rating"), "tally": ctx.records.tally("rating")}

    def rate(self, ctx, value: int) -> None:
        ctx.records.put("rating", value)


def test_a_plugged_unit_type_is_listed_and_played_by_the_services(session, course):
    people, assignment = course
    with plugged(caselab_unit_types=[Thermometer]):
        registry.units.cache_clear()
        try:
            listed = [info.type_id for info in units.units_of(session, people["a"], assignment.id)]
            view = units.act(session, people["a"], assignment.id, "thermometer", "rate", {"value": 4})
        finally:
            registry.units.cache_clear()
    assert listed[-1] == "thermometer" and "case" in listed
    assert view.state == {"mine": 4, "tally": {"4": 1}}
    assert "thermometer" not in registry.units()


class Recorder(Channel):
    name = "recorder"
    title = "Kênh ghi lại"

    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []

    def deliver(self, session, config, now):
        self.seen += [tuple(row) for row in session.execute(select(m.Notification.user_id, m.Notification.kind))]
        return Delivery(delivered=len(self.seen), summary=f"{len(self.seen)} recorded")


def test_a_plugged_notification_channel_is_called_by_the_tick(session_factory, session, course):
    from lms_plugin.ticker import run_once
    people, _assignment = course
    notify(session, [people["a"].id], "released", title="Tình huống mẫu")
    session.commit()
    recorder = Recorder()
    with plugged(caselab_notification_channels=[recorder]):
        report = run_once(session_factory, {}, datetime.now(timezone.utc))
    assert recorder.seen == [(people["a"].id, "released")]
    assert report.deliveries["recorder"].summary == "1 recorded" and "mail" in report.deliveries


class Handbook(Source):
    name = "handbook"
    title = "sổ tay cán bộ"

    def candidates(self, session, scope):
        yield Candidate(3, LAND, REFERENCE, "Sổ tay cán bộ xã, chương 3")


def test_a_plugged_similarity_source_is_found_as_the_source_of_a_copied_essay(session, course):
    people, assignment = course
    with plugged(caselab_similarity_sources=[Handbook()]):
        receipt = essays.submit_essay(session, people["b"], assignment.id, LAND + "\n\n" + BUDGET)
        session.commit()
        view = similarity.report_for(session, people["gv"], receipt.id)
    [source] = view.sources
    assert (source["source"], source["id"], source["title"]) == ("handbook", 3, "Sổ tay cán bộ xã, chương 3")
    assert view.score > 0.4


class Attendance(ReportSection):
    key = "attendance"
    title = "Điểm danh buổi học trực tiếp"

    def table(self, session, assignment_id):
        return Table(("Buổi", "Có mặt"), iter([("Buổi 1", 41), ("Buổi 2", 38)]))


@pytest.fixture
def app(engine, tmp_path):
    from lms_plugin.web import create_app
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test-secret", "TESTING": True, "WTF_CSRF_ENABLED": False})
    app.instance_path = str(tmp_path)
    return app


def test_a_plugged_report_section_appears_on_the_report_page(app, session, course):
    _people, assignment = course
    client = app.test_client()
    login(client, "gv", PASSWORD)
    with plugged(caselab_report_sections=[Attendance()]):
        page = client.get(f"/lecturer/assignments/{assignment.id}/report")
    assert page.status_code == 200
    assert "Điểm danh buổi học trực tiếp" in page.text and "<td>Buổi 2</td><td>38</td>" in page.text
    assert page.text.index("report-participation") < page.text.index("report-attendance")


def test_the_plugin_guide_shows_an_example_for_every_hook():
    text = DOCS.read_text(encoding="utf-8")
    for name in hooks():
        section = text.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert "@hookimpl" in section and f"def {name}():" in section, name
    assert Path(ROOT / "docs" / "units.md").exists() and "(units.md)" in text
