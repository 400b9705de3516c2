"""The vector store: one meaning vector per document, beside the index.

Lives in ``<index>/vectors/``::

    state.json      which files, how many rows: the commit point
    rows-<n>.f16    the vectors, ``rows × dim`` float16, appended to
    rows-<n>.ids    one JSON line per row: ``[document id, content hash]``

Crash safety follows the index's rules. Rows are appended past the committed
ones, flushed (``fsync``), and only then does a new ``state.json`` (written
aside, flushed, renamed into place) count them: a reader never sees a row that
was not committed, and a kill mid-write leaves only bytes past the committed
count, cut off by the next writer. A row belongs to one version of a document
(its content hash); searches use a row only while the index still holds that
version (:meth:`VectorView.vector`), so a replaced or deleted document's
old vector is never used even before ``hindi-search embed`` drops it.

Readers memory-map the float16 file (43 MB for 55,737 documents); scoring
uses a float32 copy of it made once per commit, because NumPy multiplies
float16 matrices without BLAS, ~40× slower (docs/performance.md).

Must not touch: a backend's internals. The ids and hashes it checks come
through the backend interface.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .vocabulary import fsync_directory

__all__ = ["VectorStore", "VectorView", "VectorWriter", "VectorsLocked", "VECTORS_DIR"]

#: The store's directory inside an index directory.
VECTORS_DIR = "vectors"
_STATE = "state.json"
_LOCK = "lock"
_FORMAT = 1


class VectorsLocked(RuntimeError):
    """Another process is writing vectors (``hindi-search embed`` or a service's background embedder)."""


@dataclass(frozen=True)
class _State:
    model: str
    dim: int
    number: int  # of the rows-<n> files
    rows: int
    ids_bytes: int

    @classmethod
    def empty(cls, model: str, dim: int) -> "_State":
        return cls(model, dim, 0, 0, 0)

    def data_name(self) -> str:
        return f"rows-{self.number}.f16"

    def ids_name(self) -> str:
        return f"rows-{self.number}.ids"


class VectorView:
    """The committed vectors at one moment: rows, their document ids and hashes."""

    def __init__(self, directory: str, state: _State) -> None:
        self.state = state
        self.model = state.model
        self.dim = state.dim
        self.ids: list[str] = []
        self.hashes: list[str] = []
        if state.rows:
            with open(os.path.join(directory, state.ids_name()), "rb") as f:
                lines = f.read(state.ids_bytes).splitlines()
            for line in lines[: state.rows]:
                doc_id, content_hash = json.loads(line)
                self.ids.append(doc_id)
                self.hashes.append(content_hash)
            self.data: np.ndarray = np.memmap(
                os.path.join(directory, state.data_name()), dtype="<f2", mode="r", shape=(state.rows, state.dim)
            )
        else:
            self.data = np.zeros((0, state.dim), dtype="<f2")
        #: The last row of each id (a document embedded again gets a new row).
        self.row_of: dict[str, int] = {doc_id: row for row, doc_id in enumerate(self.ids)}
        self._scoring: np.ndarray | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.row_of)

    def matrix(self) -> np.ndarray:
        """The vectors as float32 for scoring (made on first use; rows of replaced versions zeroed)."""
        with self._lock:
            if self._scoring is None:
                scoring = np.asarray(self.data, dtype=np.float32)
                latest = np.zeros(len(self.ids), dtype=bool)
                latest[list(self.row_of.values())] = True
                scoring[~latest] = 0.0
                self._scoring = scoring
            return self._scoring

    def vector(self, doc_id: str, content_hash: str) -> np.ndarray | None:
        """The vector of this version of ``doc_id``, or None."""
        row = self.row_of.get(doc_id)
        if row is None or self.hashes[row] != content_hash:
            return None
        return self.matrix()[row]

    def nearest(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` rows closest to ``query`` (cosine, best first)."""
        matrix = self.matrix()
        if not len(matrix) or k <= 0:
            return []
        scores = matrix @ query.astype(np.float32, copy=False)
        k = min(k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(int(row), float(scores[row])) for row in best]


class VectorStore:
    """The vectors of the index at ``index_path``; cheap to ask often (re-reads only after a commit)."""

    def __init__(self, index_path: str) -> None:
        self.directory = os.path.join(index_path, VECTORS_DIR)
        self._view: VectorView | None = None
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def view(self) -> VectorView | None:
        """The committed vectors now, or None when nothing was ever embedded."""
        path = os.path.join(self.directory, _STATE)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        stamp = (st.st_ino, st.st_mtime_ns)
        with self._lock:
            if self._view is None or stamp != self._stamp:
                self._view = VectorView(self.directory, _read_state(path))
                self._stamp = stamp
            return self._view

    def writer(self, model: str, dim: int, *, timeout: float = 0.0) -> "VectorWriter":
        """The one writer of the store (:class:`VectorsLocked` when another holds it)."""
        return VectorWriter(self.directory, model, dim, timeout=timeout)


def _read_state(path: str) -> _State:
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    if raw.get("format") != _FORMAT:
        raise ValueError(f"{path}: vector store format {raw.get('format')!r}, expected {_FORMAT}")
    return _State(raw["model"], int(raw["dim"]), int(raw["number"]), int(raw["rows"]), int(raw["ids_bytes"]))


class VectorWriter:
    """Appends rows and commits them; drops rows of documents no longer in the index.

    Vectors of another model (a different :attr:`Embedder.name`) are never mixed
    in: the first commit with a new model starts the store afresh."""

    def __init__(self, directory: str, model: str, dim: int, *, timeout: float = 0.0) -> None:
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self._lock_file = open(os.path.join(directory, _LOCK), "a+")
        if not _flock(self._lock_file, timeout):
            self._lock_file.close()
            raise VectorsLocked(f"{directory} is being written by another process")
        path = os.path.join(directory, _STATE)
        state = _read_state(path) if os.path.exists(path) else _State.empty(model, dim)
        #: The files of another model's vectors, removed once this writer's first commit replaces them.
        self._replaced: _State | None = None
        if state.model != model or state.dim != dim:
            self._replaced = state
            state = _State(model, dim, state.number + 1, 0, 0)
        self.state = state
        self.model, self.dim = model, dim
        self._pending_ids: list[bytes] = []
        self._pending: list[np.ndarray] = []
        self._known: dict[str, tuple[int, str]] | None = None

    def known(self) -> dict[str, str]:
        """``{id: content hash}`` of the committed rows (the latest per id)."""
        view = VectorView(self.directory, self.state)
        return {doc_id: view.hashes[row] for doc_id, row in view.row_of.items()}

    def add(self, items: Sequence[tuple[str, str]], vectors: np.ndarray) -> None:
        """Queue ``vectors`` for the documents ``items`` (``(id, content hash)`` each)."""
        if len(items) != len(vectors):
            raise ValueError("one vector per document")
        for doc_id, content_hash in items:
            self._pending_ids.append(json.dumps([doc_id, content_hash], ensure_ascii=False).encode("utf-8") + b"\n")
        self._pending.append(np.asarray(vectors, dtype="<f2").reshape(len(items), self.dim))

    def commit(self) -> int:
        """Make the queued rows visible to searches at once; how many were committed."""
        if not self._pending_ids and os.path.exists(os.path.join(self.directory, _STATE)):
            return 0
        state = self.state
        rows = np.concatenate(self._pending) if self._pending else np.zeros((0, self.dim), dtype="<f2")
        ids = b"".join(self._pending_ids)
        _append(os.path.join(self.directory, state.data_name()), state.rows * self.dim * 2, rows.tobytes())
        _append(os.path.join(self.directory, state.ids_name()), state.ids_bytes, ids)
        new = _State(self.model, self.dim, state.number, state.rows + len(rows), state.ids_bytes + len(ids))
        self._write_state(new)
        self._pending_ids, self._pending = [], []
        if self._replaced is not None:
            self._remove_files(self._replaced)
            self._replaced = None
        return len(rows)

    def keep_only(self, wanted: dict[str, str]) -> int:
        """Rewrite the store with the rows of ``wanted`` (``{id: content hash}``, the index's
        documents) only, when any other row is left; how many rows were dropped."""
        self.commit()
        view = VectorView(self.directory, self.state)
        keep = [row for doc_id, row in view.row_of.items() if wanted.get(doc_id) == view.hashes[row]]
        dropped = len(view.ids) - len(keep)
        if not dropped:
            return 0
        keep.sort()
        new = _State(self.model, self.dim, self.state.number + 1, 0, 0)
        ids = b"".join(json.dumps([view.ids[r], view.hashes[r]], ensure_ascii=False).encode("utf-8") + b"\n" for r in keep)
        data = np.asarray(view.data[keep], dtype="<f2") if keep else np.zeros((0, self.dim), dtype="<f2")
        _append(os.path.join(self.directory, new.data_name()), 0, data.tobytes())
        _append(os.path.join(self.directory, new.ids_name()), 0, ids)
        old = self.state
        self._write_state(_State(self.model, self.dim, new.number, len(keep), len(ids)))
        self._remove_files(old)
        return dropped

    def _remove_files(self, state: _State) -> None:
        for name in (state.data_name(), state.ids_name()):  # readers that mapped them keep them until they let go
            try:
                os.remove(os.path.join(self.directory, name))
            except FileNotFoundError:
                pass

    def _write_state(self, state: _State) -> None:
        path = os.path.join(self.directory, _STATE)
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump({"format": _FORMAT, "model": state.model, "dim": state.dim, "number": state.number,
                       "rows": state.rows, "ids_bytes": state.ids_bytes}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
        fsync_directory(self.directory)
        self.state = state

    def close(self) -> None:
        """Release the lock; queued rows not committed are dropped."""
        self._pending_ids, self._pending = [], []
        if not self._lock_file.closed:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()

    def __enter__(self) -> "VectorWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _append(path: str, committed: int, data: bytes) -> None:
    """Write ``data`` after the first ``committed`` bytes of ``path`` (cutting what a
    killed writer left past them) and flush it to disk."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.ftruncate(fd, committed)
        os.lseek(fd, committed, os.SEEK_SET)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _flock(f: Any, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= end:
                return False
            time.sleep(0.05)

