"""An .xlsx roster is bounded before it is parsed: a zip bomb, a sheet claiming a million rows or a row of
millions of cells is refused in Vietnamese within a second or two and a few hundred megabytes."""
from __future__ import annotations

import io
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from lms_plugin.services import roster
from lms_plugin.services.errors import Invalid

ROOT = Path(__file__).resolve().parents[2]
MEMORY_CAP = 400 * 1024 * 1024
SHEET = "xl/worksheets/sheet1.xml"
HEADER = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def xlsx(*chunks: str | bytes) -> bytes:
    """A real workbook whose first sheet's XML is replaced by the given chunks (written as they come)."""
    book = Workbook()
    book.active.append(["Họ tên", "Xã"])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for info in source.infolist():
            if info.filename != SHEET:
                target.writestr(info, source.read(info))
        with target.open(SHEET, "w", force_zip64=True) as sheet:
            for chunk in chunks:
                sheet.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
    return out.getvalue()


def rows_xml(count: int, start: int = 2) -> str:
    return "".join(f'<row r="{n}">{cell(f"A{n}", f"Người {n}")}{cell(f"B{n}", "Tân Hòa")}</row>'
                   for n in range(start, start + count))


def sheet(rows: str, dimension: str | None = None) -> list[str]:
    head = f'{HEADER}<dimension ref="{dimension}"/>' if dimension else HEADER
    return [head, "<sheetData>", f'<row r="1">{cell("A1", "Họ tên")}{cell("B1", "Xã")}</row>', rows,
            "</sheetData></worksheet>"]


def zip_bomb() -> bytes:
    """About 150 MB of rows inflated from a megabyte or so."""
    row = b'<row><c t="inlineStr"><is><t>aaaaaaaaaaaaaaaaaaaa</t></is></c></row>'
    block = row * (1024 * 1024 // len(row))
    return xlsx(HEADER, "<sheetData>", *([block] * 150), "</sheetData></worksheet>")


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


READ = """
import sys
from lms_plugin.services import roster
from lms_plugin.services.errors import Invalid
try:
    rows = roster.read_roster("lop.xlsx", open(sys.argv[1], "rb").read())
    print("read", len(rows))
except Invalid as exc:
    print("refused", exc.message)
"""


def read_capped(raw: bytes, tmp_path: Path) -> str:
    path = tmp_path / "lop.xlsx"
    path.write_bytes(raw)
    done = subprocess.run([sys.executable, "-c", READ, str(path)], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, preexec_fn=_cap_memory)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_a_zip_bomb_is_refused_under_a_memory_cap_before_any_row_is_parsed(tmp_path):
    raw = zip_bomb()
    assert len(raw) < 2 * 1024 * 1024      # it passes the upload size limit
    answer = read_capped(raw, tmp_path)
    # the memory cap is the guarantee; wall time on a shared CI machine is not asserted (bench/ measures speed)
    assert answer == "refused Tệp Excel giải nén ra 150 MB, quá giới hạn 80 MB: hãy tách thành nhiều tệp nhỏ hơn"


def test_a_row_of_millions_of_cells_is_refused_under_a_memory_cap(tmp_path):
    cells = "".join(f"<c><v>{n}</v></c>" for n in range(700_000))     # 14 MB that hardly compress
    raw = xlsx(*sheet(f'<row r="2">{cells}</row>'))
    answer = read_capped(raw, tmp_path)
    assert answer == "refused Dòng 2 của tệp Excel có quá 1000 ô"


def test_a_declared_dimension_past_the_limit_is_refused_before_reading_rows():
    with pytest.raises(Invalid) as caught:
        roster.read_roster("lop.xlsx", xlsx(*sheet(rows_xml(3), dimension="A1:B1048576")))
    assert caught.value.message == f"Tệp có quá {roster.MAX_ROWS} dòng"


def test_rows_past_the_limit_are_refused_and_the_limit_itself_is_read(monkeypatch):
    monkeypatch.setattr(roster, "MAX_ROWS", 20_000)          # the check is the same at 100,000, only slower
    at_limit = xlsx(*sheet(rows_xml(roster.MAX_ROWS)))
    rows = roster.read_roster("lop.xlsx", at_limit)
    assert len(rows) == roster.MAX_ROWS and rows[-1].name == f"Người {roster.MAX_ROWS + 1}"
    with pytest.raises(Invalid) as caught:
        roster.read_roster("lop.xlsx", xlsx(*sheet(rows_xml(roster.MAX_ROWS + 1))))
    assert caught.value.message == "Tệp có quá 20000 dòng"


def test_rows_listed_far_apart_stop_at_the_limit():
    """One row at 2 and one at 900,000: openpyxl would fill the gap with empty rows; the reading stops."""
    with pytest.raises(Invalid) as caught:
        roster.read_roster("lop.xlsx", xlsx(*sheet(rows_xml(1) + rows_xml(1, start=900_000))))
    assert caught.value.message == f"Tệp có quá {roster.MAX_ROWS} dòng"


def test_an_ordinary_workbook_still_reads():
    book = Workbook()
    book.active.append(["Họ tên", "Xã", "Vai trò"])
    book.active.append(["Trần Văn An", "Phú Mỹ", "học viên"])
    raw = io.BytesIO()
    book.save(raw)
    (row,) = roster.read_roster("lop.xlsx", raw.getvalue())
    assert (row.row, row.name, row.commune) == (2, "Trần Văn An", "Phú Mỹ")
    with pytest.raises(Invalid) as caught:
        roster.read_roster("lop.xlsx", b"PK\x03\x04 not a zip")
    assert caught.value.message == "Không đọc được tệp Excel (.xlsx)"
