"""The essay's ``sections`` and ``recommendations_check``: loaded, checked, dumped only when not the default."""
import pytest

from lms_plugin.schemas import dump_document, load_document
from lms_plugin.schemas.files import ContentError
from tests.samples import SCENARIO


def load(extra: str):
    return load_document((SCENARIO + extra).encode(), "t1-mau.yaml", "scenario")[0]


def test_sections_and_the_check_load_and_round_trip():
    scenario = load('  recommendations_section: Kiến nghị, đề xuất\n  recommendations_check: warn\n'
                    '  sections: [Thực trạng, "Kiến nghị, đề xuất"]\n')
    assert scenario.essay.sections == ("Thực trạng", "Kiến nghị, đề xuất")
    assert scenario.essay.recommendations_check == "warn"
    again = load_document(dump_document(scenario, "scenario").encode(), "x.yaml", "scenario")[0]
    assert again == scenario


def test_the_defaults_stay_out_of_a_dumped_file():
    scenario = load("")
    assert (scenario.essay.sections, scenario.essay.recommendations_check) == ((), "refuse")
    dumped = dump_document(scenario, "scenario")
    assert "sections" not in dumped and "recommendations_check" not in dumped


@pytest.mark.parametrize("extra, message", [
    ("  recommendations_check: maybe\n", "essay.recommendations_check"),
    ("  recommendations_section: Kiến nghị, đề xuất\n  sections: [Thực trạng, Giải pháp]\n",
     "must include the recommendations_section 'Kiến nghị, đề xuất'"),
])
def test_a_wrong_check_or_sections_without_the_recommendations_heading_are_refused(extra, message):
    with pytest.raises(ContentError) as refused:
        load(extra)
    assert message in "\n".join(str(e) for e in refused.value.errors)
