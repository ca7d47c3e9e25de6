"""Every broken file is refused with file:line: field: message, never a traceback."""
import re

import pytest
from click.testing import CliRunner

from lms_plugin.cli import main
from lms_plugin.schemas import dump_document, load_document
from lms_plugin.services.catalog import load_catalog
from tests.samples import COURSE, RUBRIC, SCENARIO


def validate(*paths):
    return CliRunner().invoke(main, ["validate", *paths])


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_a_sound_tree_validates_with_counts_per_topic(tree):
    result = validate("scenarios", "rubrics")
    assert result.exit_code == 0, result.output
    assert "topic 1: 1 scenario(s)" in result.output
    assert "topic 2: 0 scenario(s)" in result.output


BREAKAGES = [
    # (what, old, new, expected message pattern using {line} of the changed text)
    ("unknown next", "next: s2\n", "next: s9\n",
     r"scenarios/t1-mau.yaml:{line}: stages\[0\].choices\[0\].next: unknown stage 's9'", "next: s9"),
    ("duplicate stage id", "  - id: end-bad\n", "  - id: s2  # trùng\n",
     r"scenarios/t1-mau.yaml:{line}: stages\[3\].id: duplicate stage id 's2'", "# trùng"),
    ("unreachable stage", "next: end-bad", "next: end-good",
     r"scenarios/t1-mau.yaml:{line}: stages\[3\].id: stage 'end-bad' cannot be reached", "- id: end-bad"),
    ("missing rubric", "rubric: thu-hoach", "rubric: khong-co",
     r"scenarios/t1-mau.yaml:{line}: essay.rubric: unknown rubric 'khong-co'", "rubric: khong-co"),
    ("missing attachment", "file: data/bang.csv", "file: data/mat.csv",
     r"scenarios/t1-mau.yaml:{line}: attachments\[0\].file: file not found: data/mat.csv", "file: data/mat.csv"),
    ("topic not in the course", "topic: 1", "topic: 7",
     r"scenarios/t1-mau.yaml:{line}: topic: topic 7 is not in course 'khoa-thu'", "topic: 7"),
    ("broken YAML", "title: Tình huống mẫu", "title: [Tình huống mẫu",
     r"scenarios/t1-mau.yaml:{line}: broken YAML", None),
    ("unknown field", "title: Tình huống mẫu", "title: Tình huống mẫu\ntitel: lỗi chính tả",
     r"scenarios/t1-mau.yaml:{line}: titel: unknown field", "titel:"),
    ("wrong type", "points: 2", "points: hai",
     r"scenarios/t1-mau.yaml:{line}: stages\[0\].choices\[0\].points: Not a valid number", "points: hai"),
    ("unknown unit type", "title: Tình huống mẫu", "title: Tình huống mẫu\nunits:\n  bau_chon: {}",
     r"scenarios/t1-mau.yaml:{line}: units.bau_chon: unknown unit type 'bau_chon'", "bau_chon:"),
    ("a built-in under units", "title: Tình huống mẫu", "title: Tình huống mẫu\nunits:\n  essay: {}",
     r"scenarios/t1-mau.yaml:{line}: units.essay: unknown unit type 'essay'", "  essay: {}"),
    ("no ending", "  - id: end-good\n    prompt: Kết thúc tốt\n  - id: end-bad\n    prompt: Kết thúc chưa tốt\n",
     "", r"scenarios/t1-mau.yaml:\d+: stages\[0\].choices\[0\].next: unknown stage 's2'|no ending", None),
]


@pytest.mark.parametrize("what, old, new, pattern, marker", BREAKAGES, ids=[b[0] for b in BREAKAGES])
def test_each_breakage_exits_1_naming_file_line_and_field(tree, what, old, new, pattern, marker):
    path = tree / "scenarios" / "t1-mau.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    result = validate("scenarios", "rubrics")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    line = line_of(text, marker) if marker else r"\d+"
    assert re.search(pattern.format(line=line), result.output), result.output


def test_broken_yaml_points_at_the_offending_line(tree):
    path = tree / "scenarios" / "t1-mau.yaml"
    text = SCENARIO.replace("    prompt: Tiếp theo?", "    prompt: Tiếp theo?\n   bad: [x")
    path.write_text(text, encoding="utf-8")
    result = validate("scenarios/t1-mau.yaml")
    assert result.exit_code == 1
    assert f"scenarios/t1-mau.yaml:{line_of(text, 'bad: [x')}: broken YAML" in result.output


def test_bytes_that_are_not_utf8_name_the_line(tree):
    path = tree / "scenarios" / "t1-mau.yaml"
    path.write_bytes(SCENARIO.encode("utf-8").replace("Chọn hướng".encode(), "Ch\xf4n h\xfang".encode("latin-1")))
    result = validate("scenarios/t1-mau.yaml")
    assert result.exit_code == 1
    assert f"scenarios/t1-mau.yaml:{line_of(SCENARIO, 'Chọn hướng')}: not UTF-8" in result.output


def test_duplicate_keys_are_caught_not_silently_overwritten(tree):
    path = tree / "scenarios" / "t1-mau.yaml"
    path.write_text(SCENARIO.replace("title: Tình huống mẫu\n", "title: Một\ntitle: Hai\n"), encoding="utf-8")
    result = validate("scenarios/t1-mau.yaml")
    assert result.exit_code == 1 and "scenarios/t1-mau.yaml:5: title: duplicate key" in result.output


def test_a_broken_rubric_names_its_own_file(tree):
    (tree / "rubrics" / "thu-hoach.yaml").write_text(RUBRIC.replace("points: 2", "points: 0"), encoding="utf-8")
    result = validate("scenarios", "rubrics")
    assert result.exit_code == 1
    assert "rubrics/thu-hoach.yaml:" in result.output and "two levels have the same points" in result.output


def test_the_sanitiser_runs_on_load(tree):
    path = tree / "scenarios" / "t1-mau.yaml"
    path.write_text(SCENARIO.replace("Xã **Tân Hòa** vừa sáp nhập.",
                                     "Xã **Tân Hòa** <img src=x onerror=alert(1)><script>alert(2)</script>"),
                    encoding="utf-8")
    scenario = load_catalog(["scenarios"]).scenarios[0].scenario
    assert "<strong>Tân Hòa</strong>" in scenario.context_html
    assert "onerror" not in scenario.context_html and "<script" not in scenario.context_html


def test_text_is_nfc_normalised_on_load(tree):
    import unicodedata
    path = tree / "scenarios" / "t1-mau.yaml"
    path.write_text(unicodedata.normalize("NFD", SCENARIO), encoding="utf-8")
    scenario = load_catalog(["scenarios"]).scenarios[0].scenario
    assert scenario.title == "Tình huống mẫu" and unicodedata.is_normalized("NFC", scenario.title)


@pytest.mark.parametrize("kind, text", [("course", COURSE), ("rubric", RUBRIC), ("scenario", SCENARIO)])
def test_round_trip_load_dump_load(kind, text):
    first, _ = load_document(text.encode(), "x.yaml", kind)
    dumped = dump_document(first, kind)
    second, _ = load_document(dumped.encode(), "x.yaml", kind)
    assert second == first
    assert dump_document(second, kind) == dumped
