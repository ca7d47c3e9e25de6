"""The shipped content: every file loads, every topic has real scenarios, topic 4 ships data to read."""
import csv
import io
import unicodedata

import pytest
from click.testing import CliRunner

from lms_plugin.cli import main
from lms_plugin.core.scenarios import walk
from tests.conftest import ROOT

SCENARIO_FILES = sorted((ROOT / "scenarios").glob("t*.yaml"))


def test_validate_exits_0_with_three_scenarios_or_more_per_topic(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["validate", "scenarios", "rubrics"])
    assert result.exit_code == 0, result.output
    for topic in ("1", "2", "3", "4"):
        line = next(line for line in result.output.splitlines() if line.strip().startswith(f"topic {topic}:"))
        assert int(line.split(":")[1].split()[0]) >= 3, line


def test_every_scenario_and_rubric_file_is_in_the_catalog(shipped_catalog):
    assert {s.path.name for s in shipped_catalog.scenarios} == {p.name for p in SCENARIO_FILES}
    assert {r.path.name for r in shipped_catalog.rubrics} == {p.name for p in (ROOT / "rubrics").glob("*.yaml")}
    assert {r.rubric.id for r in shipped_catalog.rubrics} >= {"thu-hoach-co-so", "bao-cao-nhom"}


@pytest.fixture(params=[p.name for p in SCENARIO_FILES])
def scenario(request, shipped_catalog):
    return next(s for s in shipped_catalog.scenarios if s.path.name == request.param)


def test_a_scenario_is_a_real_case(scenario):
    s = scenario.scenario
    assert scenario.path.stem == s.id
    decisions = [st for st in s.stages if not st.is_ending]
    endings = [st for st in s.stages if st.is_ending]
    assert len(decisions) >= 3 and len(endings) >= 2
    assert all(c.feedback.strip() and len(c.feedback) > 40 for st in decisions for c in st.choices)
    assert all(len(st.choices) >= 2 for st in decisions)
    assert s.discussion and s.discussion.prompt.strip()
    assert s.essay and s.essay.rubric == "thu-hoach-co-so" and s.essay.min_words >= 300
    assert len(s.context.split()) >= 150
    assert s.max_points() > 0


def test_choices_differ_in_worth_so_decisions_matter(scenario):
    s = scenario.scenario
    totals = set()

    def explore(stage, decisions):
        if stage.is_ending:
            totals.add(walk(s, decisions).points)
            return
        for choice in stage.choices:
            explore(s.stage(choice.next), decisions + [(stage.id, choice.id)])
    explore(s.start, [])
    assert len(totals) >= 3 and max(totals) == s.max_points()


def test_content_is_nfc_vietnamese_with_diacritics(scenario):
    assert unicodedata.is_normalized("NFC", scenario.source)
    assert any(ch in scenario.source for ch in "ăâđêôơưạảấầẩẫậắằẳẵặ")


def test_topic_4_scenarios_ship_csv_data_that_parses(shipped_catalog):
    topic4 = [s for s in shipped_catalog.scenarios if str(s.scenario.topic) == "4"]
    assert len(topic4) >= 3
    for loaded in topic4:
        tables = [a for a in loaded.attachments if a.file.endswith(".csv")]
        assert tables, f"{loaded.scenario.id} ships no CSV"
        for table in tables:
            rows = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig"))))
            assert len(rows) >= 6 and len({len(r) for r in rows}) == 1, table.file
        assert "bảng" in " ".join(st.prompt.lower() for st in loaded.scenario.stages) + loaded.scenario.context.lower()
