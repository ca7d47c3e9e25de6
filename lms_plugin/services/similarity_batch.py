"""Batch reuse check over JSONL files (the logic of ``caselab similarity``).

Input lines are ``{"id": ..., "text": ...}``; output lines are
``{"a", "b", "b_kind", "score", "passages": [{"a": [start, end], "b": [start, end]}]}``
for every directed pair (a essay, b essay or reference) with score >= min_score.
Offsets are str indices into the original texts.
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tqdm import tqdm

from lms_plugin.core.similarity import Match, ReuseDetector


class BatchInputError(ValueError):
    """A bad input line (message reads ``path:line: what is wrong``)."""


@dataclass(frozen=True)
class BatchSummary:
    essays: int
    references: int
    excluded: int
    skipped_lines: int
    pairs_written: int
    seconds: float


def read_documents(path: Path, on_error: str, stderr: IO[str]) -> tuple[list[tuple[object, str]], int]:
    """(id, text) pairs of a JSONL file and the number of skipped lines."""
    docs: list[tuple[object, str]] = []
    seen: set = set()
    skipped = 0
    for number, problem, doc in _parse_lines(path):
        if problem is None and doc[0] in seen:
            problem = f"duplicate id {doc[0]!r}"
        if problem is not None:
            message = f"{path}:{number}: {problem}"
            if on_error == "stop":
                raise BatchInputError(message)
            print(f"skipped {message}", file=stderr)
            skipped += 1
            continue
        seen.add(doc[0])
        docs.append(doc)
    return docs, skipped


def _parse_lines(path: Path) -> Iterator[tuple[int, str | None, tuple]]:
    try:
        handle = open(path, encoding="utf-8")
    except OSError as exc:
        raise BatchInputError(f"{path}: cannot read: {exc.strerror}") from exc
    with handle:
        for number, line in enumerate(_lines(handle, path), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not valid JSON ({exc.msg})", ()
                continue
            if not isinstance(record, dict):
                yield number, "expected an object with \"id\" and \"text\"", ()
            elif "id" not in record or not isinstance(record["id"], (str, int)) or isinstance(record["id"], bool):
                yield number, "\"id\" must be a string or an integer", ()
            elif not isinstance(record.get("text"), str):
                yield number, "\"text\" must be a string", ()
            else:
                yield number, None, (record["id"], record["text"])


def _lines(handle: IO[str], path: Path) -> Iterator[str]:
    try:
        yield from handle
    except UnicodeDecodeError as exc:
        raise BatchInputError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc


def match_record(match: Match) -> dict:
    return {
        "a": match.a,
        "b": match.b,
        "b_kind": match.b_kind,
        "score": round(match.score, 6),
        "passages": [{"a": [p.a_start, p.a_end], "b": [p.b_start, p.b_end]} for p in match.passages],
    }


def run_batch(input_path, output_path, reference_path=None, exclude_path=None, min_score: float = 0.1,
              on_error: str = "stop", progress: bool = True, stderr: IO[str] = sys.stderr,
              detector: ReuseDetector | None = None, boilerplate_share: float = 0.1) -> BatchSummary:
    """Check every essay of ``input_path`` against the others and the
    references; write the matches to ``output_path`` (JSONL).

    ``on_error="stop"`` raises ``BatchInputError`` on the first bad line;
    ``"skip"`` reports it on ``stderr`` and goes on. Without ``detector``, the engine's defaults with
    ``boilerplate_share`` (text in more than this share of the essays never counts).
    """
    if on_error not in ("stop", "skip"):
        raise ValueError("on_error must be 'stop' or 'skip'")
    if not 0 <= min_score <= 1:
        raise ValueError("min_score must be between 0 and 1")
    started = time.perf_counter()
    essays, skipped = read_documents(Path(input_path), on_error, stderr)
    references: list[tuple[object, str]] = []
    exclude: list[tuple[object, str]] = []
    if reference_path is not None:
        references, more = read_documents(Path(reference_path), on_error, stderr)
        skipped += more
    if exclude_path is not None:
        exclude, more = read_documents(Path(exclude_path), on_error, stderr)
        skipped += more
    clash = {d[0] for d in essays} & {d[0] for d in references}
    if clash:
        raise BatchInputError(f"{reference_path}: ids also used by essays: {sorted(map(str, clash))[:5]}")

    engine = detector or ReuseDetector(boilerplate_share=boilerplate_share)
    with tqdm(total=len(essays) + len(references), unit="doc", desc="fingerprinting",
              file=stderr, disable=not progress) as bar:
        engine.fit(essays, exclude=exclude, references=references, on_progress=bar.update)
    if progress:
        print("comparing pairs...", file=stderr)
    matches = [m for m in engine.pairs(min_score) if m.score >= min_score]
    with open(output_path, "w", encoding="utf-8") as out:
        for match in tqdm(matches, unit="pair", desc="writing", file=stderr, disable=not progress):
            out.write(json.dumps(match_record(match), ensure_ascii=False) + "\n")
    return BatchSummary(len(essays), len(references), len(exclude), skipped, len(matches),
                        time.perf_counter() - started)
