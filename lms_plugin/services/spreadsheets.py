"""Reading an uploaded .xlsx within fixed bounds, checked before openpyxl builds anything.

An .xlsx is a zip of XML: 1 MB can inflate to hundreds of megabytes, and openpyxl
builds every cell of a row (and the whole tree of the other parts) before
using it. So, in this order: the zip's declared sizes and compression ratios
(zipfile never inflates a member past its declared size); one streaming expat
pass over every XML part that counts, without building anything: a sheet's
declared dimension, its rows and the cells of each row, the elements of the
other parts; and only then openpyxl in read-only mode, stopping after the row limit.
"""
from __future__ import annotations

import io
import itertools
import zipfile
from xml.parsers import expat

from .errors import N_, Invalid

MAX_UNCOMPRESSED = 80 * 1024 * 1024   # a 100,000-row roster is about 40 MB of XML
MAX_RATIO = 100                       # real sheets compress 5–30×; a bomb, hundreds or thousands
MAX_CELLS_PER_ROW = 1000              # far more than any list of people; keeps one row cheap to build
MAX_ROW_ELEMENTS = 150_000            # rows a sheet may list at all (formatted empty rows included)
MAX_ELEMENTS = {"xl/sharedStrings.xml": 2_000_000}   # XML elements per other part, so openpyxl's trees stay small
OTHER_PART_ELEMENTS = 200_000
COLUMNS_READ = 50                     # cells kept per row (a roster uses six)

UNREADABLE = N_("Không đọc được tệp Excel (.xlsx)")


class _TooBig(Exception):
    pass


def _check_archive(raw: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Invalid(UNREADABLE, {"file": ["not a workbook"]}) from None
    members = archive.infolist()
    total = sum(info.file_size for info in members)
    if total > MAX_UNCOMPRESSED:
        raise Invalid("Tệp Excel giải nén ra %(mb)s MB, quá giới hạn %(max)s MB: hãy tách thành nhiều tệp nhỏ hơn",
                      {"file": ["too large uncompressed"]},
                      mb=round(total / 1024 / 1024), max=MAX_UNCOMPRESSED // 1024 // 1024)
    for info in members:
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise Invalid("Tệp Excel có phần nén bất thường (%(name)s); hãy mở bằng Excel và lưu lại",
                          {"file": ["suspicious compression"]}, name=info.filename[:80])
    return archive


def _too_many_rows(data_rows: int) -> Invalid:
    return Invalid("Tệp có quá %(n)s dòng", {"file": ["too many rows"]}, n=data_rows)


def _row_number(ref: str) -> int:
    digits = "".join(ch for ch in ref.rsplit(":", 1)[-1] if ch.isdigit())
    return int(digits[:9]) if digits else 0


class _Scan:
    """expat callbacks for one XML part: counts, never builds. Raises _TooBig(Invalid) on the first excess."""

    def __init__(self, name: str, data_rows: int):
        self.sheet = name.startswith("xl/worksheets/")
        self.budget = MAX_ELEMENTS.get(name, OTHER_PART_ELEMENTS)
        self.data_rows = data_rows
        self.elements = self.rows = self.row_elements = self.cells = 0
        self.row_ref = ""

    def start(self, name: str, attrs: dict) -> None:
        local = name.rsplit(":", 1)[-1]
        if not self.sheet:
            self.elements += 1
            if self.elements > self.budget:
                raise _TooBig(Invalid(UNREADABLE, {"file": ["too many elements"]}))
        elif local == "dimension" and _row_number(attrs.get("ref", "")) > self.data_rows + 1:
            raise _TooBig(_too_many_rows(self.data_rows))
        elif local == "row":
            self.cells, self.row_ref = 0, attrs.get("r", "")
            self.row_elements += 1
            if self.row_elements > MAX_ROW_ELEMENTS:
                raise _TooBig(Invalid("Tệp Excel có quá %(n)s dòng kể cả dòng trống: hãy xoá các dòng thừa "
                                      "rồi lưu lại", {"file": ["too many rows"]}, n=MAX_ROW_ELEMENTS))
        elif local == "c":
            self.cells += 1
            if self.cells == 1:
                self.rows += 1
                if self.rows > self.data_rows + 1:
                    raise _TooBig(_too_many_rows(self.data_rows))
            if self.cells > MAX_CELLS_PER_ROW:
                raise _TooBig(Invalid("Dòng %(row)s của tệp Excel có quá %(n)s ô", {"file": ["too many cells"]},
                                      row=self.row_ref[:9] or self.rows, n=MAX_CELLS_PER_ROW))


def _scan_parts(archive: zipfile.ZipFile, data_rows: int) -> None:
    """One streaming pass over every XML part, before openpyxl parses any of them."""
    for info in archive.infolist():
        if not info.filename.endswith((".xml", ".rels")):
            continue
        scan = _Scan(info.filename, data_rows)
        parser = expat.ParserCreate()
        parser.StartElementHandler = scan.start
        try:
            with archive.open(info) as source:
                while chunk := source.read(256 * 1024):
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
        except _TooBig as exc:
            raise exc.args[0] from None
        except (expat.ExpatError, zipfile.BadZipFile, OSError, EOFError, RuntimeError):
            raise Invalid(UNREADABLE, {"file": ["broken part"]}) from None


def read_first_sheet(raw: bytes, data_rows: int) -> list[list]:
    """Cell values of the first sheet: a header and at most ``data_rows`` rows (more: Invalid), COLUMNS_READ columns."""
    from openpyxl import load_workbook
    with _check_archive(raw) as archive:
        _scan_parts(archive, data_rows)
    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for a file that is not a workbook
        raise Invalid(UNREADABLE, {"file": ["not a workbook"]}) from None
    try:
        if not book.worksheets:
            raise Invalid(UNREADABLE, {"file": ["no sheet"]})
        rows = book.worksheets[0].iter_rows(max_col=COLUMNS_READ, values_only=True)
        table = [list(row) for row in itertools.islice(rows, data_rows + 2)]   # header + limit + 1
    finally:
        book.close()
    if len(table) > data_rows + 1:
        raise _too_many_rows(data_rows)
    return table
