"""Content YAML is bounded: no anchors or aliases (the "billion laughs" bomb), and caps on size, depth and nodes.

Each refusal is a located ``file:line: message`` in Vietnamese, from the command line (exit 1, no traceback)
and from the lecturer's upload page (422), in well under two seconds and within a few hundred megabytes.
"""
from __future__ import annotations

import io
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms_plugin.schemas import files
from lms_plugin.schemas.files import ContentError, load_document, parse_yaml
from lms_plugin.store import models as m
from tests.samples import SCENARIO
from tests.web.conftest import app, client, demo, login  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]
MEMORY_CAP = 400 * 1024 * 1024


def bomb(levels: int = 9) -> str:
    """503 bytes that stand for 9**9 (387 million) strings once aliases are expanded."""
    names = "abcdefghijklmnop"
    lines = ["id: bom-alias", "title: Bom",
             f'{names[0]}: &{names[0]} ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip(names, names[1:levels]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_validate(path: Path) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", "from lms_plugin.cli import main; main()", "validate", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT, preexec_fn=_cap_memory)
    return done, time.monotonic() - started


def test_the_alias_bomb_is_refused_by_the_command_line_under_a_memory_cap_in_under_2_seconds(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_text(bomb(), encoding="utf-8")
    assert len(path.read_bytes()) < 600
    done, elapsed = run_validate(path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    assert "bom.yaml:3: YAML ở đây không dùng neo (&) và tham chiếu (*)" in done.stderr
    assert elapsed < 2.0 + _interpreter_start()


def _interpreter_start() -> float:
    """What starting Python and importing the command costs here (the check itself must take < 2 s)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import lms_plugin.cli"], capture_output=True, timeout=60, cwd=ROOT)
    return time.monotonic() - started


@pytest.mark.parametrize("text, line", [
    ("id: x\ntitle: &t Tiêu đề\nsummary: *t\n", 2),          # an anchor, even a harmless one
    ("id: x\nbase: {a: 1}\nmore:\n  <<: *base\n", 4),           # an alias to an unknown anchor, a merge key
])
def test_any_anchor_or_alias_is_refused_with_its_line(text, line):
    with pytest.raises(ContentError) as caught:
        parse_yaml(text.encode("utf-8"), "x.yaml")
    assert [str(e) for e in caught.value.errors] == [
        f"x.yaml:{line}: YAML ở đây không dùng neo (&) và tham chiếu (*): hãy viết thẳng nội dung"]


def test_deep_nesting_is_refused_at_the_line_it_passes_the_limit():
    text = "id: x\nstages:\n" + "".join("  " * i + "- \n" for i in range(1, 200))
    flow = "id: x\ntitle: " + "[" * 100_000 + "]" * 100_000 + "\n"
    for raw in (text, flow):
        started = time.monotonic()
        with pytest.raises(ContentError) as caught:
            parse_yaml(raw.encode("utf-8"), "x.yaml")
        assert time.monotonic() - started < 2
        (error,) = caught.value.errors
        assert error.line is not None and f"YAML lồng nhau quá {files.MAX_DEPTH} tầng" in str(error)


def test_too_many_nodes_and_too_many_bytes_are_refused():
    many = "id: x\nlist: [" + ",".join(["1"] * (files.MAX_NODES + 10)) + "]\n"
    with pytest.raises(ContentError) as caught:
        parse_yaml(many.encode("utf-8"), "x.yaml")
    assert "x.yaml:2: YAML có quá 20.000 phần tử" in str(caught.value)

    huge = b"id: x\ntitle: " + b"a" * files.MAX_BYTES + b"\n"
    with pytest.raises(ContentError) as caught:
        parse_yaml(huge, "x.yaml")
    assert str(caught.value) == f"x.yaml: tệp quá lớn: {len(huge)} byte, tối đa {files.MAX_BYTES} byte"


@pytest.mark.parametrize("value", ["1" * 5000, "2025-02-30"])
def test_a_value_python_cannot_convert_is_a_located_error_not_a_traceback(value):
    with pytest.raises(ContentError) as caught:
        parse_yaml(f"id: x\ntitle: {value}\n".encode(), "x.yaml")
    assert str(caught.value).startswith("x.yaml:2: giá trị không đọc được: ")


def test_the_shipped_content_and_the_examples_still_validate():
    for folder in ("scenarios rubrics", "docs/examples/khcn-cds"):
        done = subprocess.run([sys.executable, "-c", "from lms_plugin.cli import main; main()", "validate",
                               *folder.split()], capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 0, done.stderr
    load_document(SCENARIO.encode("utf-8"), "t1-mau.yaml", "scenario")


@contextmanager
def memory_cap(extra: int = MEMORY_CAP):
    """This process may grow by ``extra`` bytes at most while inside (soft limit; restored after)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as status:
        size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (size + extra, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def test_the_lecturer_upload_answers_422_with_the_located_message(client, demo, session):
    login(client, "lecturer1")
    before = session.scalar(select(func.count(m.ScenarioVersion.id)))
    started = time.monotonic()
    with memory_cap():
        response = client.post("/lecturer/scenarios/upload", content_type="multipart/form-data",
                               data={"file": (io.BytesIO(bomb().encode("utf-8")), "bom.yaml")})
    assert time.monotonic() - started < 2
    assert response.status_code == 422
    assert "bom.yaml:3: YAML ở đây không dùng neo (&amp;) và tham chiếu (*)" in response.text
    assert session.scalar(select(func.count(m.ScenarioVersion.id))) == before


def test_a_huge_file_on_disk_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from pathlib import Path

    from lms_plugin.services.catalog import load_catalog
    huge = tmp_path / "scenarios" / "t1-lon.yaml"
    huge.parent.mkdir()
    huge.write_bytes(b"id: t1-lon\n" + b"#" * (2 * 1024 * 1024))
    read = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or real(self))
    catalog = load_catalog([tmp_path / "scenarios"])
    assert "t1-lon.yaml" not in read
    assert any("tệp quá lớn" in str(e) for e in catalog.errors)
