"""Saving and loading a fitted ReuseDetector, without pickle.

Two forms:

* ``index.npz``: one numpy archive, read whole into memory (a single file to hand around);
* a folder of ``.npy`` arrays and ``meta.json``, opened memory-mapped: several worker processes
  reading one saved index share its pages through the operating system's cache instead of each
  holding a copy, and opening it costs milliseconds whatever its size. The transposed paraphrase
  matrix is saved too, so no worker computes it again.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import scipy.sparse as sp

from .fingerprints import Fingerprints
from .index import FingerprintIndex

if TYPE_CHECKING:  # the detector imports this module
    from .detector import ReuseDetector

StrPath = str | os.PathLike[str]


class Texts(Protocol):
    """What the detector reads of its texts: a list after fit, StoredTexts after load."""

    def __len__(self) -> int: ...
    def __getitem__(self, i: int, /) -> str: ...
    def __iter__(self) -> Iterator[str]: ...

FORMAT = "caselab-reuse-index-2"
FOLDER_FORMAT = "caselab-reuse-index-3"
_READABLE = {"caselab-reuse-index-1", FORMAT}  # version 1 has no texts: passages are not extended
META = "meta.json"


def save(detector: ReuseDetector, path: StrPath) -> None:
    """``path`` ending in ``.npz``: one archive; anything else: a folder written whole, then renamed into
    place (a reader never sees half of it; the folder must not exist yet)."""
    if str(path).endswith(".npz"):
        _save_npz(detector, path)
    else:
        _save_folder(detector, Path(path))


def load(cls: type[ReuseDetector], path: StrPath) -> ReuseDetector:
    if Path(path).is_dir():
        return _load_folder(cls, Path(path))
    return _load_npz(cls, path)


def _arrays(detector: ReuseDetector) -> dict[str, Any]:
    e, index = detector.index_.entries, detector.index_
    return dict(
        kinds=detector.kinds_, text_start=detector.text_start_, text_end=detector.text_end_, idf=detector.idf_,
        fp_hash=e.hash, fp_doc=e.doc, fp_pos=e.pos, fp_start=e.start, fp_end=e.end,
        keys=index.keys, stop=index.stop, excluded=detector.excluded_,
        **_csr("tfidf", detector.tfidf_), **_csr("search", detector.search_),
    )


def _save_npz(detector: ReuseDetector, path: StrPath) -> None:
    arrays: dict[str, Any] = dict(
        format=np.array(FORMAT),
        params=np.array(json.dumps(detector.get_params())),
        ids=np.array(json.dumps(detector.ids_, ensure_ascii=False)),
        df_limit=np.array(detector.df_limit_), shift=np.array(detector.index_.shift),
        cohort_essays=np.array(detector.cohort_essays_),
        **_arrays(detector),
        **(_texts(detector.texts_) if detector.texts_ is not None else {}),
    )
    np.savez(path, **arrays)


def _load_npz(cls: type[ReuseDetector], path: StrPath) -> ReuseDetector:
    with np.load(path, allow_pickle=False) as z:
        if "format" not in z or str(z["format"]) not in _READABLE:
            raise ValueError(f"{path}: not a reuse index ({FORMAT})")
        meta = {"params": json.loads(str(z["params"])), "ids": json.loads(str(z["ids"])),
                "df_limit": int(z["df_limit"]), "shift": int(z["shift"])}
        if "cohort_essays" in z:
            meta["cohort_essays"] = int(z["cohort_essays"])
        detector = _assemble(cls, meta, z)
        detector.texts_ = _read_texts(z) if "text_bytes" in z else None
    return detector


def _save_folder(detector: ReuseDetector, path: Path) -> None:
    if path.exists():
        raise FileExistsError(f"{path}: a saved index is never overwritten")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.mkdir(parents=True)
    arrays = _arrays(detector)
    arrays.update(_csr("tfidf_t", detector._transposed_tfidf()))
    for name, values in arrays.items():
        np.save(tmp / f"{name}.npy", np.ascontiguousarray(values))
    if detector.texts_ is not None:
        _write_texts(detector.texts_, tmp)
    meta = {"format": FOLDER_FORMAT, "params": detector.get_params(), "ids": detector.ids_,
            "df_limit": detector.df_limit_, "shift": detector.index_.shift,
            "cohort_essays": detector.cohort_essays_, "texts": detector.texts_ is not None}
    (tmp / META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    try:
        os.rename(tmp, path)
    except OSError:         # written meanwhile by another process
        shutil.rmtree(tmp, ignore_errors=True)
        raise FileExistsError(f"{path}: a saved index is never overwritten") from None


def _load_folder(cls: type[ReuseDetector], path: Path) -> ReuseDetector:
    meta = json.loads((path / META).read_text(encoding="utf-8"))
    if meta.get("format") != FOLDER_FORMAT:
        raise ValueError(f"{path}: not a reuse index ({FOLDER_FORMAT})")
    arrays = _MappedArrays(path)
    detector = _assemble(cls, meta, arrays)
    detector.texts_ = StoredTexts(arrays["text_bytes"], arrays["text_ends"]) if meta["texts"] else None
    detector._tfidf_t = _read_csr(arrays, "tfidf_t", (detector.n_features, len(detector.ids_)))
    return detector


class _MappedArrays:
    """The ``.npy`` arrays of a saved folder, memory-mapped read-only when read."""

    def __init__(self, path: Path):
        self.path = path

    def __contains__(self, name: str) -> bool:
        return (self.path / f"{name}.npy").exists()

    def __getitem__(self, name: str) -> np.ndarray:
        values = np.load(self.path / f"{name}.npy", mmap_mode="r", allow_pickle=False)
        # np.memmap would make every slice of it a memmap too; a plain view of the mapping does not
        return np.asarray(values) if values.size else np.array(values)


def _assemble(cls: type[ReuseDetector], meta: dict[str, Any], z: Any) -> ReuseDetector:
    detector = cls(**meta["params"])
    detector.ids_ = meta["ids"]
    detector._numbers = None
    detector.kinds_ = z["kinds"]
    detector.n_essays_ = int(np.sum(detector.kinds_ == 0))
    detector.cohort_essays_ = int(meta.get("cohort_essays", detector.n_essays_))
    detector.text_start_, detector.text_end_ = z["text_start"], z["text_end"]
    detector.df_limit_ = int(meta["df_limit"])
    detector.idf_ = z["idf"]
    entries = Fingerprints(z["fp_hash"], z["fp_doc"], z["fp_pos"], z["fp_start"], z["fp_end"])
    detector.index_ = FingerprintIndex(entries, z["keys"], int(meta["shift"]), z["stop"])
    detector.excluded_ = z["excluded"] if "excluded" in z else np.zeros(0, np.uint64)
    shape = (len(detector.ids_), detector.n_features)
    detector.tfidf_ = _read_csr(z, "tfidf", shape)
    detector.search_ = _read_csr(z, "search", shape)
    detector._tfidf_t = None
    return detector


def _texts(texts: Texts) -> dict[str, np.ndarray]:
    """Texts as one UTF-8 byte array and the byte offset where each ends."""
    encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
    ends = np.cumsum([len(b) for b in encoded], dtype=np.int64)
    return {"text_bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8), "text_ends": ends}


def _write_texts(texts: Texts, folder: Path) -> None:
    """The texts' UTF-8 bytes straight into the folder: texts read from a saved index are copied as they are
    stored, a run of neighbours at a time, never decoded or held whole in memory."""
    pieces = list(_byte_runs(texts))
    sizes = np.concatenate([size for _, size in pieces]) if pieces else np.zeros(0, np.int64)
    ends = np.cumsum(sizes, dtype=np.int64)
    np.save(folder / "text_ends.npy", ends)
    out = np.lib.format.open_memmap(folder / "text_bytes.npy", mode="w+", dtype=np.uint8,
                                    shape=(int(ends[-1]) if ends.size else 0,))
    lo = 0
    for raw, _ in pieces:
        out[lo:lo + len(raw)] = np.frombuffer(raw, dtype=np.uint8)
        lo += len(raw)
    out.flush()
    del out


def _byte_runs(texts: Texts) -> Iterator[tuple[bytes | memoryview, np.ndarray]]:
    """(bytes of consecutive texts, each one's size): a stored run is one slice of its bytes."""
    if isinstance(texts, ChainedTexts):
        for part in texts.parts:
            yield from _byte_runs(part)
    elif isinstance(texts, StoredTexts):
        yield from texts.runs(np.arange(len(texts)))
    elif isinstance(texts, SelectedTexts) and isinstance(texts.texts, StoredTexts):
        yield from texts.texts.runs(texts.positions)
    else:
        for i in range(len(texts)):
            raw = raw_text(texts, i)
            yield raw, np.array([len(raw)], dtype=np.int64)


def raw_text(texts: Texts, i: int) -> bytes | memoryview:
    """Text ``i`` as UTF-8 bytes (a view into a saved index's bytes when it comes from one)."""
    if isinstance(texts, StoredTexts):
        return texts.raw(i)
    if isinstance(texts, (ChainedTexts, SelectedTexts)):
        part, j = texts.locate(i)
        return raw_text(part, j)
    return texts[i].encode("utf-8", "surrogatepass")


class StoredTexts:
    """The texts of a loaded index, kept as UTF-8 bytes and decoded one at a time when a
    passage's ends are read: a worker holding a 100,000-essay index does not hold them all
    as str objects (twice the size for Vietnamese)."""

    def __init__(self, blob: bytes | np.ndarray, ends: np.ndarray):
        self._blob, self._ends = memoryview(blob).cast("B"), ends     # type: ignore[arg-type]  # an array is a buffer

    def __len__(self) -> int:
        return int(self._ends.size)

    def raw(self, i: int) -> memoryview:
        lo = int(self._ends[i - 1]) if i > 0 else 0
        return self._blob[lo:int(self._ends[i])]

    def runs(self, positions: np.ndarray) -> Iterator[tuple[memoryview, np.ndarray]]:
        """The texts at ``positions`` as runs of neighbours: (their bytes, each one's size)."""
        if positions.size == 0:
            return
        starts = np.concatenate([[0], self._ends[:-1]])
        cuts = np.flatnonzero(np.diff(positions) != 1) + 1
        for run in np.split(positions, cuts):
            lo, hi = int(starts[run[0]]), int(self._ends[run[-1]])
            yield self._blob[lo:hi], (self._ends[run] - starts[run]).astype(np.int64)

    def __getitem__(self, i: int) -> str:
        return str(self.raw(i), "utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))


class SelectedTexts:
    """Some texts of another sequence, by position (a merge leaves out replaced essays)."""

    def __init__(self, texts: Texts, positions: np.ndarray):
        self.texts, self.positions = texts, positions

    def __len__(self) -> int:
        return int(self.positions.size)

    def locate(self, i: int) -> tuple[Texts, int]:
        return self.texts, int(self.positions[i])

    def __getitem__(self, i: int) -> str:
        return self.texts[int(self.positions[i])]

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))


class ChainedTexts:
    """Texts of several parts read as one sequence (a loaded index that was added to)."""

    def __init__(self, parts: Sequence[Texts]):
        self.parts = list(parts)
        self._starts = np.cumsum([0] + [len(p) for p in self.parts])

    def __len__(self) -> int:
        return int(self._starts[-1])

    def locate(self, i: int) -> tuple[Texts, int]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        part = int(np.searchsorted(self._starts, i, side="right")) - 1
        return self.parts[part], i - int(self._starts[part])

    def __getitem__(self, i: int) -> str:
        part, j = self.locate(i)
        return part[j]

    def __iter__(self) -> Iterator[str]:
        for part in self.parts:
            yield from part


def chain_texts(texts: Texts | None, more: list[str]) -> Texts | None:
    """``texts`` followed by ``more``; None stays None (an index saved without texts)."""
    if texts is None:
        return None
    if isinstance(texts, list):
        return [*texts, *more]
    return ChainedTexts([texts, more])


def _read_texts(z: Any) -> StoredTexts:   # z: numpy's NpzFile
    return StoredTexts(z["text_bytes"].tobytes(), z["text_ends"])


def _csr(name: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {f"{name}_data": m.data, f"{name}_indices": m.indices, f"{name}_indptr": m.indptr}


def _read_csr(z: Any, name: str, shape: tuple[int, int]) -> sp.csr_matrix:
    # scipy checks the arrays' types and bounds but keeps them as they are (memory-mapped ones included)
    return sp.csr_matrix((z[f"{name}_data"], z[f"{name}_indices"], z[f"{name}_indptr"]), shape=shape, copy=False)
