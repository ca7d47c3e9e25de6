"""Read a content file (bytes) into a core object, or into errors that name file, line and field.

Every failure is a FileError such as
``scenarios/x.yaml:14: stages[1].choices[0].next: unknown stage 's9'`` —
never a traceback, whatever the bytes are.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

import yaml
from marshmallow import Schema, ValidationError

from ..core.scenarios import Problem
from .content import CourseSchema, RubricSchema, ScenarioSchema

SCHEMAS: dict[str, type[Schema]] = {
    "course": CourseSchema,
    "scenario": ScenarioSchema,
    "rubric": RubricSchema,
}


@dataclass(frozen=True)
class FileError:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


def field_path(path: tuple) -> str:
    """("stages", 1, "next") -> "stages[1].next"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class Located:
    """Parsed YAML plus the line of every field path in it."""

    data: Any
    lines: dict[tuple, int]

    def line_of(self, path: tuple) -> int | None:
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.lines:
                return self.lines[path[:cut]]
        return None


class ContentError(Exception):
    def __init__(self, errors: list[FileError]):
        super().__init__("\n".join(map(str, errors)))
        self.errors = errors


def _nfc(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    if isinstance(value, dict):
        return {_nfc(k): _nfc(v) for k, v in value.items()}
    return value


def _index_lines(node: yaml.Node, path: tuple, lines: dict, problems: list[Problem]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                lines[path + (key,)] = key_node.start_mark.line + 1
                problems.append(Problem(path + (key,), "duplicate key"))
            seen.add(key)
            lines[path + (key,)] = key_node.start_mark.line + 1
            _index_lines(value_node, path + (key,), lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, path + (i,), lines, problems)


# Limits: a content file is written by a person. Anchors and aliases would let a few hundred bytes stand for
# billions of nodes (an "alias bomb") once the tree is walked for lines and NFC, so they are refused outright;
# size, depth and node count are capped so that any accepted file is cheap to walk.
MAX_BYTES = 1024 * 1024
MAX_DEPTH = 50
MAX_NODES = 20_000


def N_(msgid: str) -> str:
    """Marks a msgid for extraction (the Vietnamese text is the message; the catalogue has the English)."""
    return msgid


TOO_BIG = N_("tệp quá lớn: %(size)s byte, tối đa %(max)s byte")
NO_ALIASES = N_("YAML ở đây không dùng neo (&) và tham chiếu (*): hãy viết thẳng nội dung")
TOO_DEEP = N_("YAML lồng nhau quá %(max)s tầng")
TOO_MANY = N_("YAML có quá %(max)s phần tử")
BAD_VALUE = N_("giá trị không đọc được: %(detail)s")


class _Refused(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases and stops at MAX_DEPTH levels or MAX_NODES nodes.

    The check is in the compose step, before any node is built or constructed, so a refused file
    costs no more than reading it once.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        line = event.start_mark.line + 1 if event.start_mark else 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(line, NO_ALIASES)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Refused(line, TOO_MANY % {"max": f"{MAX_NODES:,}".replace(",", ".")})
        if self._depth >= MAX_DEPTH:
            raise _Refused(line, TOO_DEEP % {"max": MAX_DEPTH})
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node, deep=False):
        # A number of 5,000 digits or a date such as 2025-02-30 raise ValueError inside PyYAML: name the line.
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            raise _Refused(node.start_mark.line + 1, BAD_VALUE % {"detail": str(exc)[:120]}) from None


def parse_yaml(raw: bytes, name: str) -> Located:
    """Decode strictly as UTF-8 and parse within the limits above, keeping lines. Raises ContentError."""
    if len(raw) > MAX_BYTES:
        raise ContentError([FileError(name, None, "", TOO_BIG % {"size": len(raw), "max": MAX_BYTES})])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise ContentError([FileError(name, line, "", f"not UTF-8 (byte 0x{raw[exc.start]:02x} "
                                      f"at column {column})")]) from None
    text = text.removeprefix("\ufeff")
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except _Refused as exc:
        raise ContentError([FileError(name, exc.line, "", exc.message)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = mark.line + 1 if mark else None
        reason = " ".join(filter(None, [exc.context, exc.problem]))
        raise ContentError([FileError(name, at, "", f"broken YAML: {reason}")]) from None
    except yaml.YAMLError as exc:
        raise ContentError([FileError(name, None, "", f"broken YAML: {exc}")]) from None
    finally:
        loader.dispose()
    lines: dict[tuple, int] = {}
    problems: list[Problem] = []
    if node is not None:
        _index_lines(node, (), lines, problems)
    located = Located(_nfc(data), lines)
    if problems:
        raise ContentError([FileError(name, located.line_of(p.path), field_path(p.path), p.message)
                            for p in problems])
    return located


def _flatten(messages: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            sub = path if key == "_schema" else path + (key,)
            out.extend(_flatten(value, sub))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [(path, m) for m in messages]
    if isinstance(messages, list):
        return [item for m in messages for item in _flatten(m, path)]
    return [(path, str(messages))]


def _humane(message: str) -> str:
    return {"Unknown field.": "unknown field (check the spelling against docs/authoring-scenarios.md)",
            "Missing data for required field.": "missing (required)"}.get(message, message)


# Fields the store keeps in String(N) columns (store/models.py), so a longer value is an error here, located,
# rather than a database error on import. "*" stands for any list index.
STORED_LENGTHS: dict[str, dict[tuple, int]] = {
    "course": {("id",): 120, ("title",): 300},
    "rubric": {("id",): 120, ("title",): 300},
    "scenario": {("id",): 120, ("title",): 300, ("topic",): 40, ("stages", "*", "id"): 120,
                 ("attachments", "*", "file"): 300, ("attachments", "*", "title"): 300},
}
TOO_LONG = N_("dài %(n)s ký tự; tối đa %(max)s ký tự")


def _values_at(data: Any, pattern: tuple, path: tuple = ()):
    if not pattern:
        yield path, data
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        for i, item in enumerate(data if isinstance(data, list) else []):
            yield from _values_at(item, rest, path + (i,))
    elif isinstance(data, dict) and head in data:
        yield from _values_at(data[head], rest, path + (head,))


def _too_long(located: Located, name: str, kind: str) -> list[FileError]:
    errors = []
    for pattern, max_len in STORED_LENGTHS.get(kind, {}).items():
        for path, value in _values_at(located.data, pattern):
            if isinstance(value, (str, int)) and len(str(value)) > max_len:
                errors.append(FileError(name, located.line_of(path), field_path(path),
                                        TOO_LONG % {"n": len(str(value)), "max": max_len}))
    return errors


def load_document(raw: bytes, name: str, kind: str) -> tuple[Any, Located]:
    """Bytes -> (core object, located YAML). Raises ContentError with every error found."""
    located = parse_yaml(raw, name)
    if not isinstance(located.data, dict):
        raise ContentError([FileError(name, 1, "", f"a {kind} file must be a YAML mapping of fields")])
    too_long = _too_long(located, name, kind)
    if too_long:
        raise ContentError(too_long)
    try:
        obj = SCHEMAS[kind]().load(located.data)
    except ValidationError as exc:
        errors = [FileError(name, located.line_of(path), field_path(path), _humane(msg))
                  for path, msg in _flatten(exc.messages)]
        raise ContentError(sorted(errors, key=lambda e: (e.line or 0, e.field))) from None
    own = obj.problems() if hasattr(obj, "problems") else []
    if own:
        raise ContentError(locate(own, located, name))
    return obj, located


def locate(problems: list[Problem], located: Located, name: str) -> list[FileError]:
    return [FileError(name, located.line_of(p.path), field_path(p.path), p.message) for p in problems]


def dump_document(obj: Any, kind: str) -> str:
    """A core object as YAML text in the file format."""
    data = SCHEMAS[kind]().dump(obj)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
