"""Files sent for download: the name goes into Content-Disposition through werkzeug (RFC 6266 quoting,
RFC 5987 ``filename*`` for non-ASCII names), after the characters no file name needs are replaced."""
from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator

from flask import Response, send_file, stream_with_context

from .session import reading

# Control characters, what Windows forbids in names (\ / : * ? " < > |) and ';' (a naive parser splits on it).
UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f\\/:*?"<>|;]')


def download_name(name: str, fallback: str = "tep") -> str:
    """The last path part of ``name``, NFC, unsafe characters as '_'; never empty or a dot name."""
    base = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    safe = UNSAFE.sub("_", base).strip(" .")
    return safe[:200] or fallback


def attachment(content: bytes, media_type: str | None, name: str) -> Response:
    response = send_file(io.BytesIO(content), mimetype=media_type or "application/octet-stream",
                         as_attachment=True, download_name=download_name(name))
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def streamed(chunks, media_type: str, name: str) -> Response:
    """A download produced piece by piece (a CSV of 100,000 rows never sits in memory)."""
    response = Response(chunks, mimetype=media_type)
    response.headers.set("Content-Disposition", "attachment", filename=download_name(name))
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def export(chunks: Iterator[bytes], media_type: str, name: str) -> Response:
    """An export streamed as it is produced, reading the database until the last chunk (then the request's
    session ends); never stored by a proxy or the browser's cache."""
    response = streamed(stream_with_context(reading(chunks)), media_type, name)
    response.headers["Cache-Control"] = "no-store"
    return response
