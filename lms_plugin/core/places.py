"""Vietnam's provinces and communes after the reorganisation of 1 July 2025: 34 provinces and cities, 3,321
communes, wards and special zones (xã, phường, đặc khu), with their official names and codes.

The catalogue is the data of the ``vietnam-provinces`` package (its nested JSON file), read once, when first
asked for. Names are found as people type them: marks and case aside (core/folding.py), with or without the
kind in front ("phuong hoan kiem", "Hoàn Kiếm", "Phường Hoàn Kiếm" are one ward; "ha noi", "TP Hà Nội",
"Thành phố Hà Nội" one city). A commune's bare name may be shared by communes of several provinces (there is a
"Tân Hòa" in more than one): without the province it is ambiguous and not found.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from .folding import fold

PACKAGE = "vietnam-provinces"
# the kinds a name may start with, folded, longest first ("thanh pho" before "tp")
PROVINCE_KINDS = ("thanh pho", "tinh", "tp")
COMMUNE_KINDS = ("dac khu", "phuong", "thi tran", "xa")
_NOT_A_LETTER = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Province:
    code: int
    name: str            # official: "Thành phố Hà Nội", "Tỉnh Gia Lai"
    short: str           # without the kind: "Hà Nội"
    kind: str            # "thành phố trung ương" | "tỉnh"


@dataclass(frozen=True)
class Commune:
    code: int
    name: str            # official: "Phường Hoàn Kiếm", "Xã Tân Hòa", "Đặc khu Phú Quốc"
    short: str           # "Hoàn Kiếm"
    kind: str            # "xã" | "phường" | "đặc khu"
    province_code: int
    province: str        # the province's official name


@dataclass(frozen=True)
class Source:
    """Where the catalogue comes from, for the docs and the pages: "Danh mục đơn vị hành chính ngày …"."""
    package: str         # "vietnam-provinces"
    version: str         # the package's version: "2025.10.1"
    data_date: date      # the day its data was taken from the official registry


def key(text: str | None) -> str:
    """``text`` as it is compared: marks, case, punctuation and extra spaces aside ("TP. Hà  Nội" -> "tp ha noi")."""
    return " ".join(_NOT_A_LETTER.sub(" ", fold(text)).split())


def _without_kind(folded: str, kinds: tuple[str, ...]) -> str:
    for kind in kinds:
        if folded.startswith(kind + " "):
            return folded[len(kind) + 1:]
    return folded


def _short(name: str, kinds: tuple[str, ...]) -> str:
    """The official name without its kind ("Phường Hoàn Kiếm" -> "Hoàn Kiếm"), marks kept."""
    words = name.split()
    for kind in kinds:
        n = len(kind.split())
        if key(" ".join(words[:n])) == kind and len(words) > n:
            return " ".join(words[n:])
    return name


@dataclass(frozen=True)
class _Catalogue:
    provinces: tuple[Province, ...]
    communes: dict[int, tuple[Commune, ...]]                 # by province code
    province_by_key: dict[str, Province]                     # full and bare keys
    commune_by_full: dict[str, tuple[Commune, ...]]          # "phuong hoan kiem"
    commune_by_short: dict[str, tuple[Commune, ...]]         # "hoan kiem"
    source: Source


@cache
def _catalogue() -> _Catalogue:
    import vietnam_provinces  # ~0.1 s to import (an enum of every code): only when first asked for

    with open(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH, encoding="utf-8") as f:
        data = json.load(f)
    provinces: list[Province] = []
    communes: dict[int, tuple[Commune, ...]] = {}
    by_key: dict[str, Province] = {}
    by_full: dict[str, list[Commune]] = {}
    by_short: dict[str, list[Commune]] = {}
    for item in sorted(data, key=lambda p: p["code"]):
        name = item["name"]
        if item["division_type"] == "tỉnh" and not key(name).startswith("tinh "):
            name = "Tỉnh " + name            # the package writes a province's name bare ("Phú Thọ")
        province = Province(item["code"], name, _short(name, ("thanh pho", "tinh")), item["division_type"])
        provinces.append(province)
        by_key[key(province.name)] = by_key[key(province.short)] = province
        found = []
        for ward in sorted(item["wards"], key=lambda w: w["code"]):
            commune = Commune(ward["code"], ward["name"], _short(ward["name"], COMMUNE_KINDS),
                              ward["division_type"], province.code, province.name)
            found.append(commune)
            by_full.setdefault(key(commune.name), []).append(commune)
            by_short.setdefault(key(commune.short), []).append(commune)
        communes[province.code] = tuple(found)
    by_key.setdefault("hcm", by_key[key("Hồ Chí Minh")])     # "TP HCM", "TP.HCM": as it is written everywhere
    source = Source(PACKAGE, vietnam_provinces.__version__, date.fromisoformat(vietnam_provinces.__data_version__))
    return _Catalogue(tuple(provinces), communes, by_key, {k: tuple(v) for k, v in by_full.items()},
                      {k: tuple(v) for k, v in by_short.items()}, source)


def source() -> Source:
    return _catalogue().source


def provinces() -> tuple[Province, ...]:
    """The 34 provinces and cities, by official code (Hà Nội first)."""
    return _catalogue().provinces


def find_province(text: str | None) -> Province | None:
    """The province ``text`` names ("ha noi", "TP Hà Nội", "Tỉnh Gia Lai", "gia lai"), or None."""
    folded = key(text)
    if not folded:
        return None
    by_key = _catalogue().province_by_key
    return by_key.get(folded) or by_key.get(_without_kind(folded, PROVINCE_KINDS))


def _province_of(province: Province | str | int | None) -> Province | None:
    if province is None or isinstance(province, Province):
        return province
    if isinstance(province, int):
        return next((p for p in provinces() if p.code == province), None)
    return find_province(province)


def communes_of(province: Province | str | int) -> tuple[Commune, ...]:
    """The communes, wards and special zones of a province (given as itself, its code or its name), by code;
    none for a province the catalogue does not know."""
    found = _province_of(province)
    return _catalogue().communes.get(found.code, ()) if found else ()


def communes_named(text: str | None, province: Province | str | int | None = None) -> tuple[Commune, ...]:
    """Every commune ``text`` may name (of ``province`` when given): with its kind ("Xã Tân Hòa") the communes
    of that kind and name, else (or when none of that kind has it) those of that bare name."""
    folded = key(text)
    if not folded:
        return ()
    catalogue = _catalogue()
    found = catalogue.commune_by_full.get(folded, ())
    if not found:
        found = catalogue.commune_by_short.get(_without_kind(folded, COMMUNE_KINDS), ())
    if not found:                                  # a bare name that starts like a kind: "Xà Phiên" typed "xa phien"
        found = catalogue.commune_by_short.get(folded, ())
    if province is not None:
        within = _province_of(province)
        found = tuple(c for c in found if within is not None and c.province_code == within.code)
    return found


def find_commune(text: str | None, province: Province | str | int | None = None) -> Commune | None:
    """The one commune ``text`` names (in ``province`` when given), or None: unknown, or ambiguous without the
    province ("Tân Hòa" is a commune of several provinces)."""
    found = communes_named(text, province)
    return found[0] if len(found) == 1 else None
