"""Essays (bài thu hoạch): word counts, sections, submission receipts.

A submitted body is never altered: counting and section finding work on a
normalised copy, the receipt hashes the exact bytes that were stored.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# Vietnamese counts words as syllables ("tiếng"), separated by spaces;
# a number such as 10.405 or 3,5 is one word, punctuation is none.
_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:\d+)?|\d+", re.UNICODE)
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_ROMAN_HEADING = re.compile(r"^\s*([IVXLC]+)[.)]\s+(\S.*)$")


def normalize(text: str) -> str:
    """NFC with invisible characters removed: what counting and search see."""
    return _ZERO_WIDTH.sub("", unicodedata.normalize("NFC", text))


def count_words(text: str) -> int:
    return len(_WORD.findall(normalize(text)))


def sha256(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _fold(text: str) -> str:
    """Case- and punctuation-insensitive form for comparing heading titles."""
    text = normalize(text).casefold()
    return " ".join(re.findall(r"[^\W_]+", text))


@dataclass(frozen=True)
class Section:
    title: str
    start: int      # character offsets of the section's body in the original text
    end: int

    def text_of(self, body: str) -> str:
        return body[self.start:self.end]


def _heading_title(line: str) -> str | None:
    for pattern in (_MD_HEADING, _ROMAN_HEADING):
        match = pattern.match(line)
        if match:
            return match.group(2)
    stripped = line.strip().rstrip(":")
    letters = [ch for ch in stripped if ch.isalpha()]
    if len(letters) >= 4 and stripped == stripped.upper() and len(stripped.split()) <= 15:
        return stripped
    return None


def find_section(body: str, title: str) -> Section | None:
    """The part of ``body`` under the heading that names ``title``.

    A heading is a Markdown heading, a Roman-numbered line ("III. ..."), an
    all-capitals line, or any line whose words are exactly the title's
    (numbered lists such as "1. ..." inside a section are not headings).
    The section runs to the next heading or the end.
    """
    wanted = _fold(title)
    if not wanted:
        return None
    offset, start, found_title = 0, None, ""   # found_title is set together with start
    for line in body.splitlines(keepends=True):
        heading = _heading_title(line)
        if start is not None and heading is not None:
            return Section(found_title, start, offset)
        if start is None:
            folded = _fold(line)
            numbered = re.sub(r"^(?:[ivxlc]+|\d+|[a-zđ])\s+", "", folded)
            if folded == wanted or numbered == wanted or (heading and wanted in _fold(heading)):
                start, found_title = offset + len(line), line.strip()
        offset += len(line)
    if start is not None:
        return Section(found_title, start, len(body))
    return None


def same_heading(a: str, b: str) -> bool:
    """Whether two heading titles are the same, whatever the case, punctuation or Markdown marks."""
    return bool(_fold(a)) and _fold(a) == _fold(b)


def outline(sections: tuple[str, ...] | list[str], recommendations_section: str | None = None) -> str:
    """What an empty essay starts from: the scenario's headings as Markdown, else the recommendations one."""
    headings = list(sections) or ([recommendations_section] if recommendations_section else [])
    return "".join(f"## {h.strip()}\n\n\n" for h in headings)


def content_words(body: str) -> int:
    """Words outside heading lines: an outline never filled in has none."""
    return sum(count_words(line) for line in body.splitlines() if _heading_title(line) is None)


def recommendations_problem(body: str, title: str | None) -> str | None:
    """"missing" when no heading names ``title``, "empty" when its section has no words, else None."""
    if not title:
        return None
    section = find_section(body, title)
    if section is None:
        return "missing"
    return "empty" if count_words(section.text_of(body)) == 0 else None


@dataclass(frozen=True)
class WordCheck:
    words: int
    min_words: int
    max_words: int | None

    @property
    def too_short(self) -> bool:
        return self.words < self.min_words

    @property
    def too_long(self) -> bool:
        return self.max_words is not None and self.words > self.max_words

    @property
    def ok(self) -> bool:
        return not (self.too_short or self.too_long)


def check_length(body: str, min_words: int = 0, max_words: int | None = None) -> WordCheck:
    return WordCheck(count_words(body), min_words, max_words)
