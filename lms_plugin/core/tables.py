"""Data tables attached to scenarios: CSV bytes to rows a host can show."""
from __future__ import annotations

import csv
import io


def csv_rows(content: bytes, max_rows: int | None = None) -> list[list[str]] | None:
    """The rows of a UTF-8 CSV (header first), or None when it cannot be read as one.

    With ``max_rows``, a longer table gives None: hosts then offer it as a download.
    """
    try:
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error):
        return None
    if not rows or (max_rows is not None and len(rows) > max_rows):
        return None
    return rows
