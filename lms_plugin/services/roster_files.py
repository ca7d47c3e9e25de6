"""The files a roster import keeps between two requests, in the instance folder, for an hour at most.

- The uploaded roster, named by its sha256: the organiser checks the dry run of one file, and "Nhập" imports
  exactly that file (the confirmation carries only the digest; a name that is not 64 hex digits is refused,
  so no path can be slipped in, and the content is hashed again before it is used).
- The new accounts' sign-in links (a CSV), under a random name, handed out once: reading it deletes it.

Both folders are swept of files older than KEEP_SECONDS whenever one is written.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from pathlib import Path

from .errors import N_, Invalid

KEEP_SECONDS = 3600
UPLOADS, LINKS = "roster-uploads", "roster-links"
KINDS = ("csv", "xlsx")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_TICKET = re.compile(r"[A-Za-z0-9_-]{32}")


def _folder(instance: str | os.PathLike, name: str) -> Path:
    folder = Path(instance) / name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _sweep(folder: Path, now: float) -> None:
    for path in folder.iterdir():
        try:
            if now - path.stat().st_mtime > KEEP_SECONDS:
                path.unlink()
        except FileNotFoundError:
            pass                                     # another worker swept it first


def _write(path: Path, data: bytes) -> None:
    """Written whole or not at all, readable by this user only."""
    temporary = path.with_name(f".{secrets.token_hex(8)}.part")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


def kind_of(filename: str) -> str:
    return "xlsx" if (filename or "").lower().endswith(".xlsx") else "csv"


def keep_upload(instance: str | os.PathLike, filename: str, raw: bytes) -> tuple[str, str]:
    """Keep an uploaded roster; (digest, kind) name it in the confirmation form."""
    folder = _folder(instance, UPLOADS)
    _sweep(folder, time.time())
    digest, kind = hashlib.sha256(raw).hexdigest(), kind_of(filename)
    _write(folder / f"{digest}.{kind}", raw)
    return digest, kind


GONE = N_("Tệp đã kiểm tra không còn trên máy chủ (quá một giờ hoặc đã nhập): hãy tải lên lại")


def upload(instance: str | os.PathLike, digest: str, kind: str) -> tuple[str, bytes]:
    """The kept roster (a file name for its kind, its bytes); Invalid when the names are not ours, the file
    expired, or its content no longer has this digest."""
    if not _DIGEST.fullmatch(digest or "") or kind not in KINDS:
        raise Invalid("Yêu cầu nhập không hợp lệ", {"file": ["bad digest"]})
    path = _folder(instance, UPLOADS) / f"{digest}.{kind}"
    try:
        if time.time() - path.stat().st_mtime > KEEP_SECONDS:
            raise FileNotFoundError
        raw = path.read_bytes()
    except FileNotFoundError:
        raise Invalid(GONE, {"file": ["gone"]}) from None
    if hashlib.sha256(raw).hexdigest() != digest:
        raise Invalid(GONE, {"file": ["changed"]})
    return f"roster.{kind}", raw


def discard_upload(instance: str | os.PathLike, digest: str, kind: str) -> None:
    if _DIGEST.fullmatch(digest or "") and kind in KINDS:
        (_folder(instance, UPLOADS) / f"{digest}.{kind}").unlink(missing_ok=True)


def keep_links(instance: str | os.PathLike, text: str) -> str:
    """Keep the links CSV for one download; the ticket names it."""
    folder = _folder(instance, LINKS)
    _sweep(folder, time.time())
    ticket = secrets.token_urlsafe(24)
    _write(folder / f"{ticket}.csv", text.encode("utf-8"))
    return ticket


def take_links(instance: str | os.PathLike, ticket: str) -> bytes | None:
    """The links CSV, once: it is deleted as it is read. None when unknown, taken or expired."""
    if not _TICKET.fullmatch(ticket or ""):
        return None
    path = _folder(instance, LINKS) / f"{ticket}.csv"
    taken = path.with_name(f".{ticket}.{secrets.token_hex(8)}.taken")
    try:
        os.replace(path, taken)                      # one download wins, even with two at once
    except FileNotFoundError:
        return None
    try:
        if time.time() - taken.stat().st_mtime > KEEP_SECONDS:
            return None
        return taken.read_bytes()
    finally:
        taken.unlink(missing_ok=True)
