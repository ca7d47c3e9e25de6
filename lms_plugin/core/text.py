"""Vietnamese normalisation and syllable tokenisation with offsets.

Every token keeps the character span it came from in the ORIGINAL text, so a
match can be highlighted where the student typed it.

Folding rules (applied per character through one precomputed table):
  * Unicode compatibility forms and case are folded (``Ａ`` -> ``a``);
  * Cyrillic and Greek letters that look like Latin ones become Latin;
  * a syllable is its letters without tone marks plus ONE tone for the whole
    syllable, so the tone's position does not matter (old ``hoà`` and new
    ``hòa``, ``thuý``/``thúy``, ``khoẻ``/``khỏe`` are the same syllable);
  * zero-width and other format characters are ignored (they neither split
    nor change a word); every other non-letter, non-digit splits words.

Text not in NFC (e.g. NFD from some keyboards) is composed cluster by
cluster, keeping the map back to the original offsets.

``tokenize`` serves single texts; ``hash_syllables`` is the vectorised path
used by the similarity engine for many texts at once.
"""
from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Token", "tokenize", "normalize", "hash_syllables", "SyllableHashes"]

# Packed table entry: bits 0-15 folded code point (0 = word separator),
# bits 16-18 tone, bit 19 "ignore" (invisible: no split, no contribution).
_CP_MASK = 0xFFFF
_TONE_SHIFT = 16
_IGNORE = 1 << 19
_TABLE_SIZE = 0x10000  # code points above the BMP are separators

# Tone marks as combining characters -> tone id (0 = level tone).
_TONES = {"\u0300": 1, "\u0301": 2, "\u0303": 3, "\u0309": 4, "\u0323": 5}
_TONE_MARKS = {v: k for k, v in _TONES.items()}

_LOOKALIKES = dict(zip(
    # Cyrillic
    "аеорсухіјѕԁһԛԝкмнтвєїӏ"
    # Greek (after lower-casing)
    "αβεικνορτυχγη",
    "aeopcyxijsdhqwkmhtbeil"
    "abeikvoptuxyn",
))

_COMBINING_RUN = re.compile(r"[^\u0300-\u036f][\u0300-\u036f]+|[\u0300-\u036f]+")


def _fold_char(ch: str) -> tuple[int, int, bool]:
    """(folded code point or 0, tone, ignore) for one character."""
    cat = unicodedata.category(ch)
    if cat in ("Cf", "Cc") and ch not in "\t\n\r\x00" and ord(ch) >= 0x7F:
        return 0, 0, True  # zero-width space/joiner, BOM, soft hyphen...
    if cat == "Mn":  # stray mark left after NFC (never in Vietnamese): invisible
        return 0, 0, True
    if cat[0] not in "LN":
        return 0, 0, False
    compat = unicodedata.normalize("NFKC", ch)
    if len(compat) == 1:
        ch = compat
    low = ch.lower()
    if len(low) == 1:
        ch = low
    parts = unicodedata.normalize("NFD", ch)
    base, marks = parts[0], parts[1:]
    base = _LOOKALIKES.get(base, base)
    tone = 0
    kept = ""
    for mark in marks:
        if mark in _TONES and tone == 0:
            tone = _TONES[mark]
        else:
            kept += mark
    letter = unicodedata.normalize("NFC", base + kept)
    if len(letter) != 1:
        letter = base
    return ord(letter) & _CP_MASK, tone, False


@functools.cache
def _table() -> np.ndarray:
    table = np.zeros(_TABLE_SIZE + 1, dtype=np.uint32)
    for cp in range(_TABLE_SIZE):
        if 0xD800 <= cp < 0xE000:
            continue
        folded, tone, ignore = _fold_char(chr(cp))
        table[cp] = folded | (tone << _TONE_SHIFT) | (_IGNORE if ignore else 0)
    return table


_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd, so invertible modulo 2**64


@functools.cache
def _hash_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per UTF-16 code unit: a pseudo-random odd 64-bit value for letters (0
    for separators and ignored characters), and tone | 8 * ignored."""
    packed = _table()[:_TABLE_SIZE]
    # derived with splitmix64, not a random generator, so saved indexes stay
    # valid whatever numpy version computes the hashes later
    per_letter = _mix(np.arange(_TABLE_SIZE, dtype=np.uint64) + np.uint64(0x5EED_CA5E)) | np.uint64(1)
    folded = packed & _CP_MASK
    values = np.where(folded != 0, per_letter[folded], np.uint64(0))
    tone = ((packed >> _TONE_SHIFT) & 7).astype(np.uint8) | np.where(packed & _IGNORE, 8, 0).astype(np.uint8)
    values[0xD800:0xE000] = 0  # surrogate halves never occur in the fast path
    return values, tone


class _Powers:
    """BASE**i and BASE**-i modulo 2**64, grown on demand; shared by every thread of the process.

    Both tables live in one tuple, replaced (never changed) under a lock when a longer slice needs
    more: a reader takes the tuple once and so never pairs a grown ``up`` with a short ``down``
    (two threads growing one table at once once left a worker failing every check). The first
    tables already cover a long essay, so the lock is rarely taken."""

    _INITIAL = 1 << 16

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables = self._both(self._INITIAL)

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        tables = self._tables
        if tables[0].size < n:
            with self._lock:
                tables = self._tables           # another thread may have grown them meanwhile
                if tables[0].size < n:
                    tables = self._both(max(n, 2 * tables[0].size))
                    self._tables = tables
        return tables

    def _both(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        inverse = np.uint64(pow(int(_BASE), -1, 2**64))
        return self._powers(_BASE, size), self._powers(inverse, size)

    @staticmethod
    def _powers(base: np.uint64, size: int) -> np.ndarray:
        out = np.ones(size, dtype=np.uint64)
        np.cumprod(np.full(size - 1, base, dtype=np.uint64), out=out[1:])
        return out


_POWERS = _Powers()


def _compose(text: str) -> tuple[str, np.ndarray | None, np.ndarray | None]:
    """NFC text plus, when it differs, each NFC char's original [start, end)."""
    if unicodedata.is_normalized("NFC", text):
        return text, None, None
    pieces: list[str] = []
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    last = 0
    for m in _COMBINING_RUN.finditer(text):
        if m.start() > last:
            pieces.append(text[last:m.start()])
            rng = np.arange(last, m.start())
            starts.append(rng)
            ends.append(rng + 1)
        seg = unicodedata.normalize("NFC", m.group())
        pieces.append(seg)
        # every composed char points to the whole cluster it came from
        starts.append(np.full(len(seg), m.start()))
        ends.append(np.full(len(seg), m.end()))
        last = m.end()
    if last < len(text):
        pieces.append(text[last:])
        rng = np.arange(last, len(text))
        starts.append(rng)
        ends.append(rng + 1)
    out = "".join(pieces)
    if not unicodedata.is_normalized("NFC", out):  # rare: other canonical forms
        return _compose_slow(text)
    return out, np.concatenate(starts), np.concatenate(ends)


def _compose_slow(text: str) -> tuple[str, np.ndarray, np.ndarray]:
    pieces, starts, ends = [], [], []
    for m in re.finditer(r".[\u0300-\u036f]*", text, re.S):
        seg = unicodedata.normalize("NFC", m.group())
        pieces.append(seg)
        starts += [m.start()] * len(seg)
        ends += [m.end()] * len(seg)
    return "".join(pieces), np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


@dataclass(frozen=True)
class SyllableHashes:
    """Syllables of many texts: hash and original [start, end) per syllable.

    Syllables of text ``i`` are ``hashes[bounds[i]:bounds[i+1]]``; offsets
    are relative to the start of text ``i``.
    """

    hashes: np.ndarray  # uint64
    starts: np.ndarray  # int32
    ends: np.ndarray  # int32
    bounds: np.ndarray  # int64, len(texts) + 1


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _code_units(text: str) -> np.ndarray:
    """UTF-16 code units, one per str index; astral characters become U+FFFF
    (a separator) so indices still match the Python string."""
    units = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    if units.size != len(text):
        units = np.minimum(_code_points(text), 0xFFFF).astype(np.uint16)
    return units


def _syllable_spans(is_letter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends (exclusive) of the runs of letters."""
    padded = np.empty(is_letter.size + 2, dtype=bool)
    padded[0] = padded[-1] = False
    padded[1:-1] = is_letter
    edges = np.flatnonzero(padded[1:] != padded[:-1])  # start, end, start, end...
    return edges[0::2], edges[1::2]


_SLICE_CHARS = 1 << 18  # texts are hashed in slices that fit the CPU cache


def hash_syllables(texts: Sequence[str]) -> SyllableHashes:
    """Hash every syllable of every text, vectorised over slices of texts."""
    texts = list(texts)
    groups, size, lo = [], 0, 0
    for i, t in enumerate(texts):
        size += len(t) + 1
        if size >= _SLICE_CHARS:
            groups.append((lo, i + 1))
            lo, size = i + 1, 0
    if lo < len(texts) or not groups:
        groups.append((lo, len(texts)))
    if len(groups) == 1:
        return _hash_slice(texts)
    # one slice at a time keeps every temporary array in the CPU cache
    parts = [_hash_slice(texts[a:b]) for a, b in groups]
    bounds = [np.zeros(1, np.int64)]
    total = 0
    for part in parts:
        bounds.append(part.bounds[1:] + total)
        total += part.hashes.size
    return SyllableHashes(
        np.concatenate([p.hashes for p in parts]),
        np.concatenate([p.starts for p in parts]),
        np.concatenate([p.ends for p in parts]),
        np.concatenate(bounds),
    )


def _hash_slice(texts: Sequence[str]) -> SyllableHashes:
    """Hash every syllable of every text in one vectorised pass.

    A syllable's letters hash polynomially: sum of value(letter) *
    BASE**position (``np.add.reduceat``; separators are worth 0), times
    BASE**-start so the hash does not depend on where the syllable sits (BASE
    is odd, hence invertible modulo 2**64).  The tone is summed separately
    over the syllable, so its placement is irrelevant.
    """
    letter_values, tone_table = _hash_tables()
    composed = [_compose(t) for t in texts]
    lengths = np.fromiter((len(c[0]) for c in composed), dtype=np.int64, count=len(texts))
    doc_starts = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=doc_starts[1:])  # +1 for the separator
    units = _code_units("\x00".join(c[0] for c in composed) + "\x00")
    tones = tone_table[units]
    position = None  # compacted index -> joined index, when characters were dropped
    if np.any(tones >= 8):
        units, tones, position = _drop_ignored(units, tones)
    values = letter_values[units]
    del units
    starts, ends = _syllable_spans(values != 0)
    if starts.size == 0:
        z = np.zeros(0, np.int32)
        return SyllableHashes(np.zeros(0, np.uint64), z, z, np.zeros(len(texts) + 1, np.int64))
    up, down = _POWERS.get(values.size)
    np.multiply(values, up[:values.size], out=values)
    # separators are worth 0, so each segment from one start to the next
    # sums exactly its syllable's letters (and tones)
    letters = np.add.reduceat(values, starts)
    letters *= down[starts]
    del values
    tone_sum = np.add.reduceat(tones, starts).astype(np.uint64)
    hashes = _mix(letters ^ (tone_sum * np.uint64(0xD6E8FEB86659FD93)))
    if position is not None:
        starts = position[starts]
        ends = position[ends - 1] + 1
    doc_of = np.searchsorted(doc_starts, starts, side="right") - 1
    bounds = np.searchsorted(doc_of, np.arange(len(texts) + 1), side="left")
    starts = starts - doc_starts[doc_of]
    ends = ends - doc_starts[doc_of]
    starts, ends = _back_to_original(composed, bounds, starts, ends)
    return SyllableHashes(hashes, starts.astype(np.int32), ends.astype(np.int32), bounds.astype(np.int64))


def _drop_ignored(units: np.ndarray, tones: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Remove invisible characters; returns the kept units, tones, positions."""
    keep = tones < 8
    position = np.flatnonzero(keep)
    return units[keep], tones[keep], position


def _back_to_original(composed: list[tuple[str, np.ndarray | None, np.ndarray | None]], bounds: np.ndarray,
                      starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Translate offsets of texts that were recomposed to NFC."""
    for i, (_, orig_start, orig_end) in enumerate(composed):
        if orig_start is None or orig_end is None:   # both or neither: the text was NFC already
            continue
        lo, hi = bounds[i], bounds[i + 1]
        starts[lo:hi] = orig_start[starts[lo:hi]]
        ends[lo:hi] = orig_end[ends[lo:hi] - 1]
    return starts, ends


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads sums of table values over all bits."""
    x = x ^ (x >> np.uint64(30))
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


@dataclass(frozen=True)
class Token:
    """A normalised syllable and its [start, end) span in the original text."""

    text: str
    start: int
    end: int


_VOWELS = set("aăâeêioôơuưy")
_MARKED = set("ăâêôơư")


def _tone_position(letters: str) -> int:
    """Index of the vowel that carries the tone (the 'new' placement rule)."""
    idx = [i for i, c in enumerate(letters) if c in _VOWELS]
    if letters[:2] in ("qu", "gi") and len(idx) > 1 and idx[0] == 1:
        idx = idx[1:]
    if not idx:
        return -1
    for i in reversed(idx):
        if letters[i] in _MARKED:
            return i
    ends_in_vowel = idx[-1] == len(letters) - 1
    if len(idx) >= 2 and (not ends_in_vowel or letters[idx[-2]:idx[-1] + 1] in ("oa", "oe", "uy")):
        return idx[-1]
    if len(idx) >= 3:
        return idx[1]
    return idx[0]


def _syllable_text(packed: np.ndarray) -> str:
    letters = "".join(chr(int(c) & _CP_MASK) for c in packed)
    tone = int(np.max((packed >> _TONE_SHIFT) & 7)) if packed.size else 0
    if tone == 0:
        return letters
    at = _tone_position(letters)
    if at < 0:
        return letters
    return unicodedata.normalize("NFC", letters[:at + 1] + _TONE_MARKS[tone] + letters[at + 1:])


def tokenize(text: str) -> list[Token]:
    """Normalised syllables of ``text`` with their spans in ``text``."""
    table = _table()
    nfc, orig_start, orig_end = _compose(text)
    packed = table[np.minimum(_code_points(nfc), _TABLE_SIZE)]
    visible = np.flatnonzero((packed & _IGNORE) == 0)
    packed = packed[visible]
    starts, ends = _syllable_spans((packed & _CP_MASK) != 0)
    tokens = []
    for s, e in zip(starts.tolist(), ends.tolist()):
        a, b = int(visible[s]), int(visible[e - 1]) + 1
        if orig_start is not None and orig_end is not None:
            a, b = int(orig_start[a]), int(orig_end[b - 1])
        tokens.append(Token(_syllable_text(packed[s:e]), a, b))
    return tokens


def normalize(text: str) -> str:
    """The normalised syllables of ``text`` joined by single spaces."""
    return " ".join(t.text for t in tokenize(text))
