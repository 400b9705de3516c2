"""A cache of passage vectors for the benchmarks, so re-running an evaluation
does not embed 55,737 documents again (~95 minutes on two cores).

Vectors are keyed by :func:`search.embedding.passage_key` (the model's name and
the exact passage text), so a change of model or of how passages are cut
misses the cache instead of reading stale vectors. The cache is a directory of
append-only ``*.vec`` files (one per writing process), each a run of records:
20-byte key, then ``dim`` float16 values. A record cut short by a kill is
ignored when read.

:class:`CachedEmbedder` wraps the product's embedder: passages found in the
cache are answered from it, the rest are embedded and appended, so the
product's own ``embed`` code path runs either way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from search.embedding import Embedder, passage_key

KEY_BYTES = 20


class VectorCache:
    """``{passage key: float16 vector}`` stored under ``directory``."""

    def __init__(self, directory: str | os.PathLike[str], dim: int, *, writer: str = "main") -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.dim = dim
        self._record = KEY_BYTES + 2 * dim
        self._vectors: dict[bytes, np.ndarray] = {}
        for path in sorted(self.directory.glob("*.vec")):
            self._read(path)
        self._out = open(self.directory / f"{writer}-{os.getpid()}.vec", "ab")

    def _read(self, path: Path) -> None:
        data = path.read_bytes()
        whole = len(data) - len(data) % self._record
        records = np.frombuffer(data[:whole], dtype=np.uint8).reshape(-1, self._record)
        vectors = records[:, KEY_BYTES:].copy().view("<f2")
        for key, vector in zip(records[:, :KEY_BYTES], vectors):
            self._vectors[key.tobytes()] = vector

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, key: bytes) -> np.ndarray | None:
        return self._vectors.get(key)

    def add(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        halves = np.asarray(vectors, dtype="<f2")
        for key, vector in zip(keys, halves):
            self._out.write(key + vector.tobytes())
            self._vectors[key] = vector
        self._out.flush()

    def close(self) -> None:
        self._out.close()


class CachedEmbedder:
    """An :class:`~search.embedding.Embedder` answering passages from a :class:`VectorCache`."""

    def __init__(self, inner: Embedder, cache: VectorCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.dim = inner.dim
        self.hits = self.misses = 0

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.queries(texts)

    def passage_text(self, title: str, body: str) -> str:
        return self.inner.passage_text(title, body)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        keys = [passage_key(self.name, text) for text in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing = []
        for row, key in enumerate(keys):
            vector = self.cache.get(key)
            if vector is None:
                missing.append(row)
            else:
                out[row] = vector
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = self.inner.passages([texts[row] for row in missing])
            out[missing] = fresh
            self.cache.add([keys[row] for row in missing], fresh)
        return out


def embed_with_cache(index_dir: str, cache_dir: str, *, max_tokens: int, log: Any) -> None:
    """Give every document of the index its vector as ``hindi-search embed`` does
    (:func:`search.embedding.embed_index`), passages embedded by an earlier run
    answered from ``cache_dir``."""
    from search.embedding import E5Embedder, embed_index
    from search.engine import open_index

    inner = E5Embedder(threads=1, max_tokens=max_tokens, processes=min(os.cpu_count() or 1, 2))
    embedder = CachedEmbedder(inner, VectorCache(cache_dir, inner.dim))
    index = open_index(index_dir)
    try:
        report = embed_index(index, embedder, batch=64)
    finally:
        index.close()
        inner.close()
        embedder.cache.close()
    print(f"# embedded {index_dir}: {report.summary()}; cache {embedder.hits:,} hits, {embedder.misses:,} misses",
          file=log, flush=True)
