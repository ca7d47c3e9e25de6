"""The JSONL batch (logic of ``caselab similarity``)."""
import io
import json
import re

import pytest
from vietnamese_samples import OWN_VIEWS, SCENARIO, SOURCE, UNRELATED

from lms_plugin.services.similarity_batch import BatchInputError, run_batch


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


@pytest.fixture
def essays(tmp_path):
    sentences = re.split(r"(?<=\.)\s+", SOURCE)
    rows = [
        {"id": "an", "text": SCENARIO + " " + SOURCE},
        {"id": "binh", "text": SCENARIO + " " + OWN_VIEWS[0] + " " + " ".join(sentences[2:6])},
        {"id": 7, "text": SCENARIO + " " + UNRELATED[0]},
    ]
    return write_jsonl(tmp_path / "essays.jsonl", rows), {r["id"]: r["text"] for r in rows}


def test_writes_directed_pairs_with_offsets_into_the_original(tmp_path, essays):
    path, texts = essays
    refs = write_jsonl(tmp_path / "refs.jsonl", [{"id": "law", "text": UNRELATED[0]}])
    base = write_jsonl(tmp_path / "base.jsonl", [{"id": "scenario", "text": SCENARIO}])
    out = tmp_path / "report.jsonl"
    summary = run_batch(path, out, reference_path=refs, exclude_path=base, min_score=0.1, progress=False)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert summary.pairs_written == len(rows) and summary.essays == 3 and summary.references == 1
    got = {(r["a"], r["b"], r["b_kind"]) for r in rows}
    assert got == {("an", "binh", "essay"), ("binh", "an", "essay"), (7, "law", "reference")}
    all_texts = {**texts, "law": UNRELATED[0]}
    for r in rows:
        assert set(r) == {"a", "b", "b_kind", "score", "passages"} and r["score"] >= 0.1
        for p in r["passages"]:
            a_text = all_texts[r["a"]][p["a"][0]:p["a"][1]]
            b_text = all_texts[r["b"]][p["b"][0]:p["b"][1]]
            assert a_text == b_text and len(a_text) > 30


def test_bad_line_stops_with_path_and_line(tmp_path):
    path = write_jsonl(tmp_path / "essays.jsonl", [{"id": "a", "text": SOURCE}, "{not json", {"id": "c"}])
    with pytest.raises(BatchInputError, match=r"essays\.jsonl:2: not valid JSON"):
        run_batch(path, tmp_path / "out.jsonl", progress=False)


def test_bad_lines_are_skipped_and_reported(tmp_path):
    path = write_jsonl(tmp_path / "essays.jsonl", [
        {"id": "a", "text": SOURCE}, "{not json", {"id": "c"}, {"id": "a", "text": "x"}, [1, 2],
        {"id": "b", "text": OWN_VIEWS[0] + " " + SOURCE},
    ])
    err = io.StringIO()
    summary = run_batch(path, tmp_path / "out.jsonl", on_error="skip", progress=False, stderr=err)
    messages = err.getvalue().splitlines()
    assert summary.skipped_lines == 4 and summary.essays == 2
    assert [m.split(": ")[0] for m in messages] == [f"skipped {path}:{n}" for n in (2, 3, 4, 5)]
    assert "duplicate id 'a'" in messages[2]


def test_progress_bar_goes_to_the_given_stream(tmp_path, essays):
    path, _ = essays
    err = io.StringIO()
    run_batch(path, tmp_path / "out.jsonl", progress=True, stderr=err)
    assert "fingerprinting" in err.getvalue()


def test_missing_file_is_a_clean_error(tmp_path):
    with pytest.raises(BatchInputError, match="cannot read"):
        run_batch(tmp_path / "nope.jsonl", tmp_path / "out.jsonl", progress=False)


def test_the_command_reports_a_text_most_essays_share_only_when_told_it_is_not_boilerplate(tmp_path):
    from click.testing import CliRunner

    from lms_plugin.cli import main
    block = " ".join(re.split(r"(?<=\.)\s+", SOURCE)[1:6])
    own = [s for text in [*UNRELATED, *OWN_VIEWS] for s in re.split(r"(?<=\.)\s+", text)]
    rows = [{"id": f"hv{i}", "text": own[i] + " " + block} for i in range(8)]
    path = write_jsonl(tmp_path / "essays.jsonl", rows)

    def pairs(*extra):
        out = tmp_path / "report.jsonl"
        result = CliRunner().invoke(main, ["similarity", "--input", str(path), "--output", str(out), "--quiet",
                                           *extra])
        assert result.exit_code == 0, result.output
        assert "8 essay(s), 0 reference(s), 0 excluded, 0 bad line(s) skipped" in result.output
        return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]

    assert pairs() == []                                   # in all 8 essays: boilerplate by default
    found = pairs("--boilerplate-share", "1")
    assert {r["a"] for r in found} == {f"hv{i}" for i in range(8)} and all(r["score"] > 0.5 for r in found)
    refused = CliRunner().invoke(main, ["similarity", "--input", str(path), "--output", str(tmp_path / "x"),
                                        "--boilerplate-share", "0"])
    assert refused.exit_code == 2 and "--boilerplate-share" in refused.output
