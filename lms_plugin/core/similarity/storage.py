"""Saving and loading a fitted ReuseDetector as one numpy .npz (no pickle)."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
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
_READABLE = {"caselab-reuse-index-1", FORMAT}  # version 1 has no texts: passages are not extended


def save(detector: ReuseDetector, path: StrPath) -> None:
    e, index = detector.index_.entries, detector.index_
    arrays: dict[str, Any] = dict(
        format=np.array(FORMAT),
        params=np.array(json.dumps(detector.get_params())),
        ids=np.array(json.dumps(detector.ids_, ensure_ascii=False)),
        kinds=detector.kinds_, text_start=detector.text_start_, text_end=detector.text_end_,
        df_limit=np.array(detector.df_limit_), idf=detector.idf_,
        fp_hash=e.hash, fp_doc=e.doc, fp_pos=e.pos, fp_start=e.start, fp_end=e.end,
        keys=index.keys, shift=np.array(index.shift), stop=index.stop,
        **_csr("tfidf", detector.tfidf_), **_csr("search", detector.search_),
        **(_texts(detector.texts_) if detector.texts_ is not None else {}),
    )
    np.savez(path, **arrays)


def load(cls: type[ReuseDetector], path: StrPath) -> ReuseDetector:
    with np.load(path, allow_pickle=False) as z:
        if "format" not in z or str(z["format"]) not in _READABLE:
            raise ValueError(f"{path}: not a reuse index ({FORMAT})")
        detector = cls(**json.loads(str(z["params"])))
        detector.ids_ = json.loads(str(z["ids"]))
        detector.kinds_ = z["kinds"]
        detector.n_essays_ = int(np.sum(detector.kinds_ == 0))
        detector.text_start_, detector.text_end_ = z["text_start"], z["text_end"]
        detector.df_limit_ = int(z["df_limit"])
        detector.idf_ = z["idf"]
        entries = Fingerprints(z["fp_hash"], z["fp_doc"], z["fp_pos"], z["fp_start"], z["fp_end"])
        detector.index_ = FingerprintIndex(entries, z["keys"], int(z["shift"]), z["stop"])
        shape = (len(detector.ids_), detector.n_features)
        detector.tfidf_ = _read_csr(z, "tfidf", shape)
        detector.search_ = _read_csr(z, "search", shape)
        detector.texts_ = _read_texts(z) if "text_bytes" in z else None
        detector._tfidf_t = None
    return detector


def _texts(texts: Texts) -> dict[str, np.ndarray]:
    """Texts as one UTF-8 byte array and the byte offset where each ends."""
    encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
    ends = np.cumsum([len(b) for b in encoded], dtype=np.int64)
    return {"text_bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8), "text_ends": ends}


class StoredTexts:
    """The texts of a loaded index, kept as UTF-8 bytes and decoded one at a time when a
    passage's ends are read: a worker holding a 100,000-essay index does not hold them all
    as str objects (twice the size for Vietnamese)."""

    def __init__(self, blob: bytes, ends: np.ndarray):
        self._blob, self._ends = blob, ends

    def __len__(self) -> int:
        return int(self._ends.size)

    def __getitem__(self, i: int) -> str:
        lo = int(self._ends[i - 1]) if i > 0 else 0
        return self._blob[lo:int(self._ends[i])].decode("utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))


def _read_texts(z: Any) -> StoredTexts:   # z: numpy's NpzFile
    return StoredTexts(z["text_bytes"].tobytes(), z["text_ends"])


def _csr(name: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {f"{name}_data": m.data, f"{name}_indices": m.indices, f"{name}_indptr": m.indptr}


def _read_csr(z: Any, name: str, shape: tuple[int, int]) -> sp.csr_matrix:
    return sp.csr_matrix((z[f"{name}_data"], z[f"{name}_indices"], z[f"{name}_indptr"]), shape=shape)
