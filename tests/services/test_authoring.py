"""Scenarios from the browser go through the same checks as `caselab validate`, with the store as the folder."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from lms_plugin.services import accounts, authoring
from lms_plugin.services.catalog import load_catalog
from lms_plugin.services.content import import_catalog
from lms_plugin.services.errors import Forbidden
from lms_plugin.store import models as m
from tests.samples import SCENARIO


@pytest.fixture
def author(session, tree):
    import_catalog(session, load_catalog(["scenarios", "rubrics"]))
    user = accounts.create_user(session, "gv", "lecturer")
    session.commit()
    return user


def messages(raw: bytes, session, **kwargs) -> list[str]:
    with pytest.raises(authoring.ScenarioRejected) as caught:
        authoring.check_scenario(session, raw, "t1-mau.yaml", **kwargs)
    return [str(e) for e in caught.value.errors]


def test_the_same_file_gives_the_same_messages_as_the_command_line(session, author, tree):
    broken = SCENARIO.replace("next: s2", "next: s9").replace("rubric: thu-hoach", "rubric: khac")
    (tree / "scenarios" / "t1-mau.yaml").write_text(broken, encoding="utf-8")
    on_disk = [str(e).replace("scenarios/", "") for e in load_catalog(["scenarios", "rubrics"]).errors]
    assert messages(broken.encode(), session, attachments={"bang.csv": b"x"}) == on_disk
    assert "t1-mau.yaml:18: stages[0].choices[0].next: unknown stage 's9'" in on_disk
    fixed = SCENARIO.replace("rubric: thu-hoach", "rubric: khac").encode()
    assert messages(fixed, session, attachments={"bang.csv": b"x"}) == \
        ["t1-mau.yaml:33: essay.rubric: unknown rubric 'khac'"]


def test_cross_file_checks_use_the_store(session, author):
    raw = SCENARIO.replace("topic: 1", "topic: 7").replace("id: t1-mau", "id: t1-khac").encode()
    assert messages(raw, session) == [
        "t1-mau.yaml:3: topic: topic 7 is not in course 'khoa-thu' (topics: 1, 2)",
        "t1-mau.yaml:8: attachments[0].file: file not found: data/bang.csv"]
    evil = SCENARIO.replace("data/bang.csv", "../../etc/passwd").replace("id: t1-mau", "id: t1-khac").encode()
    assert messages(evil, session) == [
        "t1-mau.yaml:8: attachments[0].file: must stay inside the scenario's folder: ../../etc/passwd"]


def test_a_new_version_keeps_the_previous_attachments_and_unchanged_bytes_store_nothing(session, author):
    raw = SCENARIO.encode()
    first = authoring.save_scenario(session, author, raw, "t1-mau.yaml")     # imported from disk with the csv
    assert (first.status, first.version) == ("unchanged", 1)
    changed = raw.replace("Chờ tỉnh".encode(), "Chờ ý kiến tỉnh".encode())
    second = authoring.save_scenario(session, author, changed, "t1-mau.yaml")
    assert (second.status, second.version) == ("updated", 2)
    versions = session.scalar(select(m.Scenario).where(m.Scenario.slug == "t1-mau")).versions
    assert versions[1].attachments[0].content == versions[0].attachments[0].content
    assert versions[1].created_by_id == author.id
    replaced = authoring.save_scenario(session, author, raw, "t1-mau.yaml", {"bang.csv": "thôn\nB\n".encode()})
    assert replaced.version == 3
    assert session.scalar(select(m.AuditEvent.action).where(m.AuditEvent.target_id == "t1-mau")) == "scenario.save"


def test_form_fields_round_trip_to_an_equal_scenario(session, author):
    before = authoring.scenario_version(session, "t1-mau").data
    fields = authoring.fields_of(before)
    raw, _ = authoring.form_source(fields, before.version)
    assert authoring.check_scenario(session, raw, "form").scenario == before
    same = authoring.save_form(session, author, authoring.fields_of(before), existing_slug="t1-mau")
    assert same.status == "unchanged"
    fields.stages.insert(1, "   ")
    fields.stages[3] = fields.stages[3].replace("prompt: Kết thúc tốt", "prompt: Kết thúc rất tốt")
    saved = authoring.save_form(session, author, fields, existing_slug="t1-mau")
    after = authoring.scenario_version(session, "t1-mau").data
    assert saved.version == 2 and after.version == 2 and after.stage("end-good").prompt == "Kết thúc rất tốt"
    stored = session.scalar(select(m.ScenarioVersion.source).join(m.Scenario).where(m.Scenario.slug == "t1-mau")
                            .order_by(m.ScenarioVersion.number.desc()).limit(1))
    assert "context: |\n  Xã **Tân Hòa** vừa sáp nhập.\n" in stored


def test_form_errors_name_the_editor_box(session, author):
    fields = authoring.fields_of(authoring.scenario_version(session, "t1-mau").data)
    fields.stages.insert(0, "")
    fields.stages[2] = fields.stages[2].replace("next: end-good", "next: s9")
    with pytest.raises(authoring.ScenarioRejected) as caught:
        authoring.save_form(session, author, fields, existing_slug="t1-mau")
    found = [(e.field, e.message, authoring.editor_field(e)) for e in caught.value.errors]
    assert ("stages[2].choices[0].next", "unknown stage 's9'", "stages-2") in found
    assert ("stages[3].id", "stage 'end-good' cannot be reached from 's1'", "stages-3") in found
    fields.essay = "prompt: [x"
    with pytest.raises(authoring.ScenarioRejected) as caught:
        authoring.save_form(session, author, fields, existing_slug="t1-mau")
    assert caught.value.errors[0].field == "essay" and "broken YAML" in caught.value.errors[0].message


def test_only_lecturers_and_admins_author(session, author):
    cadre = accounts.create_user(session, "hv", "cadre")
    with pytest.raises(Forbidden):
        authoring.save_scenario(session, cadre, SCENARIO.encode(), "t1-mau.yaml")
