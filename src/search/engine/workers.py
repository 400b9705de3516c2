"""Worker processes that index shares of each batch as segments of their own.

Owns: :class:`SegmentBuilders` (routing documents to workers, collecting their
segments and word counts at commit) and the functions that run inside a worker.

Must not touch: the ingest's own writer beyond handing it the workers'
segments (:attr:`_SegmentWriter.extra_segments`).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

import whoosh.index

from ..vocabulary import Vocabulary
from .backend import IndexWriteFailed
from .schema import _text_options, shared_analyzer
from .writing import _SegmentWriter, _codec


def _watch_parent(parent: int) -> None:
    """In a worker: exit when the ingest process is gone (e.g. ``kill -9``), never linger.

    Workers ignore SIGINT and SIGTERM (a terminal's Ctrl-C and systemd's stop reach
    the whole process group): the ingest process handles them, finishes its batch
    with the workers' help, then shuts them down.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


#: In a worker process: the segment it is writing for the current batch, and
#: the vocabulary counts of its documents (kept for the whole run, as it
#: remembers how each word normalises; its counts are taken at each commit).
_WORKER_WRITER: Any = None


_WORKER_VOCABULARY: Vocabulary | None = None


def _worker_add(index_dir: str, docs: list[dict[str, str]], limitmb: int) -> None:
    """In a worker: add ``docs`` to this worker's segment of the current batch, and count their words."""
    global _WORKER_WRITER, _WORKER_VOCABULARY
    if _WORKER_WRITER is None:
        ix = whoosh.index.open_dir(index_dir)
        _WORKER_WRITER = _SegmentWriter(ix, _lk=False, limitmb=limitmb, codec=_codec())
        if _WORKER_VOCABULARY is None:
            _WORKER_VOCABULARY = Vocabulary(shared_analyzer(_text_options(ix.schema)))
        _WORKER_WRITER.vocabulary = _WORKER_VOCABULARY
    for fields in docs:
        _WORKER_WRITER.add_document(**fields)


def _worker_finish() -> tuple[Any, dict[str, Any]]:
    """In a worker: finish this batch's segment; return it (None if it got no documents)
    and the vocabulary counts of its documents (:meth:`Vocabulary.take_counts`)."""
    global _WORKER_WRITER
    writer, _WORKER_WRITER = _WORKER_WRITER, None
    if writer is None or _WORKER_VOCABULARY is None:
        return None, {}
    return writer._finalize_segment(), _WORKER_VOCABULARY.take_counts()


class SegmentBuilders:
    """Worker processes that index shares of each batch as segments of their own.

    Documents are routed as they arrive, in chunks, to the worker with the
    least work queued; while every worker has ``MAX_QUEUED`` chunks waiting,
    the ingest process (which also reads, checks and hashes every document)
    indexes the document itself, so the work balances itself between the
    processes whatever else runs on the machine. Each process writes one
    segment per batch and counts the vocabulary of the documents it indexed;
    at commit the workers' segments join the ingest's own in the new table of
    contents and their word counts join its vocabulary. Runs that add fewer
    than ``MIN_PARALLEL_DOCS`` documents never start a worker.

    Whoosh's ``MpWriter`` (``procs>1``) waits forever when a worker dies;
    here every call to a worker is a future, so a dead or failing worker
    raises :class:`IndexWriteFailed` in the ingest, which then cancels the
    batch. Workers are spawned (they inherit no file descriptors, so never
    the ingest lock) and exit by themselves when the ingest process dies.
    """

    MIN_PARALLEL_DOCS = 1000
    CHUNK = 200
    #: Chunks a worker may have waiting before the ingest process indexes documents itself.
    MAX_QUEUED = 2

    def __init__(self, index_dir: str, workers: int, limitmb: int = 256) -> None:
        self.index_dir = index_dir
        self.workers = workers
        self.limitmb = limitmb
        self._pools: list[ProcessPoolExecutor] = []
        self._chunks: list[list[dict[str, str]]] = [[] for _ in range(workers)]
        self._futures: list[Future] = []
        self._queued: list[list[Future]] = [[] for _ in range(workers)]
        self._seen = 0

    def route(self, fields: dict[str, str]) -> bool:
        """Take ``fields`` for a worker (True), or leave it to the ingest process (False).

        A worker that takes a document also counts its words for the vocabulary.
        """
        self._seen += 1
        if self._seen <= self.MIN_PARALLEL_DOCS:
            return False
        worker = min(range(self.workers), key=self._backlog)
        if self._backlog(worker) >= self.MAX_QUEUED * self.CHUNK:
            return False
        chunk = self._chunks[worker]
        chunk.append(fields)
        if len(chunk) >= self.CHUNK:
            self._send(worker)
        return True

    def _backlog(self, worker: int) -> int:
        """Documents given to ``worker`` that it has not indexed yet."""
        queued = self._queued[worker]
        while queued and queued[0].done():
            queued.pop(0)
        return len(queued) * self.CHUNK + len(self._chunks[worker])

    def _send(self, worker: int) -> None:
        if not self._pools:
            context = multiprocessing.get_context("spawn")
            self._pools = [
                ProcessPoolExecutor(1, mp_context=context, initializer=_watch_parent, initargs=(os.getpid(),))
                for _ in range(self.workers)
            ]
        chunk, self._chunks[worker] = self._chunks[worker], []
        try:
            future = self._pools[worker].submit(_worker_add, self.index_dir, chunk, self.limitmb)
        except BrokenProcessPool as exc:
            raise IndexWriteFailed(f"an indexing worker process died ({exc})") from exc
        self._futures.append(future)
        self._queued[worker].append(future)

    def finish(self, while_waiting: Callable[[], bool] | None = None) -> Callable[[], tuple[list[Any], list[dict[str, Any]]]]:
        """Tell the workers to write this batch's segments; returns the call that waits for
        them and gives their segments and vocabulary counts, or raises
        :class:`IndexWriteFailed` if any worker failed.

        The ingest process writes its own segment between the two, while the workers write theirs.
        While it waits for them, it calls ``while_waiting`` (e.g. to read the next
        records ahead) until that returns False or the workers are done.
        """
        for worker, chunk in enumerate(self._chunks):
            if chunk:
                self._send(worker)
        if not self._pools:
            return lambda: ([], [])
        futures, self._futures = self._futures, []
        self._queued = [[] for _ in range(self.workers)]
        try:
            finishing = [pool.submit(_worker_finish) for pool in self._pools]
        except BrokenProcessPool as exc:
            raise IndexWriteFailed(f"an indexing worker process died ({exc})") from exc

        def collect() -> tuple[list[Any], list[dict[str, Any]]]:
            if while_waiting is not None:
                while not all(f.done() for f in finishing) and while_waiting():
                    pass
            try:
                concurrent.futures.wait(futures + finishing)
                for f in futures:
                    f.result()
                finished = [f.result() for f in finishing]
                return [seg for seg, _ in finished if seg is not None], [counts for _, counts in finished if counts]
            except BrokenProcessPool as exc:
                raise IndexWriteFailed(f"an indexing worker process died ({exc})") from exc
            except Exception as exc:
                raise IndexWriteFailed(f"an indexing worker process failed: {exc!r}") from exc

        return collect

    def close(self) -> None:
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)
        self._pools = []
