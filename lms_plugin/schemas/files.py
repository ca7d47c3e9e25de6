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


def parse_yaml(raw: bytes, name: str) -> Located:
    """Decode strictly as UTF-8 and parse, keeping lines. Raises ContentError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise ContentError([FileError(name, line, "", f"not UTF-8 (byte 0x{raw[exc.start]:02x} "
                                      f"at column {column})")])
    text = text.removeprefix("\ufeff")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = " ".join(filter(None, [exc.context, exc.problem]))
        raise ContentError([FileError(name, line, "", f"broken YAML: {reason}")])
    except yaml.YAMLError as exc:
        raise ContentError([FileError(name, None, "", f"broken YAML: {exc}")])
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


def load_document(raw: bytes, name: str, kind: str) -> tuple[Any, Located]:
    """Bytes -> (core object, located YAML). Raises ContentError with every error found."""
    located = parse_yaml(raw, name)
    if not isinstance(located.data, dict):
        raise ContentError([FileError(name, 1, "", f"a {kind} file must be a YAML mapping of fields")])
    try:
        obj = SCHEMAS[kind]().load(located.data)
    except ValidationError as exc:
        errors = [FileError(name, located.line_of(path), field_path(path), _humane(msg))
                  for path, msg in _flatten(exc.messages)]
        raise ContentError(sorted(errors, key=lambda e: (e.line or 0, e.field)))
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
